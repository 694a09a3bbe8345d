"""scikit-learn estimators (the only sub-package that imports ``sklearn.base``)."""

from ._classifier import ConvexReLUClassifier
from ._regressor import ConvexReLURegressor

__all__ = ["ConvexReLUClassifier", "ConvexReLURegressor"]
