"""scikit-learn estimators (the only sub-package that imports ``sklearn.base``)."""

from ._classifier import ConvexReLUClassifier
from ._regressor import ConvexReLURegressor
from ._robust import RobustConvexReLUClassifier

__all__ = [
    "ConvexReLUClassifier",
    "ConvexReLURegressor",
    "RobustConvexReLUClassifier",
]
