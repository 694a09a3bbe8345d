"""skconvexnn: globally optimal two-layer ReLU networks for scikit-learn.

Training a two-layer ReLU network with weight decay is equivalent to a convex
program over activation patterns (Pilanci & Ergen). skconvexnn solves that
program and returns the network in scikit-learn's MLP layout.
"""

from .estimators import (
    ConvexReLUClassifier,
    ConvexReLURegressor,
    RobustConvexReLUClassifier,
)
from .exceptions import (
    InsufficientMemoryError,
    SolverFailedError,
    SolverLicenseWarning,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "ConvexReLUClassifier",
    "ConvexReLURegressor",
    "RobustConvexReLUClassifier",
    "InsufficientMemoryError",
    "SolverFailedError",
    "SolverLicenseWarning",
    "__version__",
]
