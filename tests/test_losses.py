"""Loss objects against scikit-learn's MLP loss functions and finite differences."""

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.neural_network._base import LOSS_FUNCTIONS

from skconvexnn.losses import (
    BinaryLogLoss,
    Hinge,
    MultinomialLogLoss,
    SquaredError,
    get_loss,
)

rng = np.random.RandomState(0)
N = 12
SW = rng.uniform(0.5, 2.0, N)


def _targets(loss, m):
    if isinstance(loss, BinaryLogLoss):
        return rng.randint(0, 2, (N, 1)).astype(float)
    if isinstance(loss, MultinomialLogLoss):
        return np.eye(m)[rng.randint(0, m, N)]
    if isinstance(loss, Hinge):
        return rng.choice([-1.0, 1.0], (N, m))
    return rng.randn(N, m)


@pytest.mark.parametrize(
    "loss, m",
    [
        (SquaredError(), 1),
        (SquaredError(), 3),
        (BinaryLogLoss(), 1),
        (MultinomialLogLoss(), 3),
        (Hinge(), 1),
        (Hinge(), 3),
    ],
)
def test_gradient_matches_finite_differences(loss, m):
    Y = _targets(loss, m)
    Z = rng.randn(N, m) * 2
    G = loss.gradient(Z, Y, SW)
    eps = 1e-6
    for k, j in [(0, 0), (3, m - 1), (7, 0)]:
        E = np.zeros_like(Z)
        E[k, j] = eps
        fd = (loss.value(Z + E, Y, SW) - loss.value(Z - E, Y, SW)) / (2 * eps)
        assert G[k, j] == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_values_match_sklearn_mlp_losses():
    """Weighted means of our sums are sklearn's MLP losses."""
    Z = rng.randn(N, 1)
    y = rng.randn(N, 1)
    ours = SquaredError().value(Z, y, SW) / SW.sum()
    assert ours == pytest.approx(LOSS_FUNCTIONS["squared_error"](y, Z, SW))

    yb = rng.randint(0, 2, (N, 1)).astype(float)
    ours = BinaryLogLoss().value(Z, yb, SW) / SW.sum()
    theirs = LOSS_FUNCTIONS["binary_log_loss"](yb, expit(Z), SW)
    assert ours == pytest.approx(theirs, rel=1e-10)

    Z3 = rng.randn(N, 3)
    Y3 = np.eye(3)[rng.randint(0, 3, N)]
    ours = MultinomialLogLoss().value(Z3, Y3, SW) / SW.sum()
    theirs = LOSS_FUNCTIONS["log_loss"](Y3, softmax(Z3, axis=1), SW)
    assert ours == pytest.approx(theirs, rel=1e-10)


def test_multioutput_squared_error_is_mlp_mean_over_outputs():
    Z, Y = rng.randn(N, 3), rng.randn(N, 3)
    ours = SquaredError().value(Z, Y, np.ones(N)) / N
    assert ours == pytest.approx(LOSS_FUNCTIONS["squared_error"](Y, Z))


def test_registry():
    assert isinstance(get_loss("hinge"), Hinge)
    with pytest.raises(ValueError, match="Unknown loss"):
        get_loss("cubic")
