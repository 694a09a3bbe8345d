"""Bad input gets a clear scikit-learn style error; odd but valid input fits."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor
from skconvexnn.solvers import conic

rng = np.random.RandomState(0)
X = rng.randn(20, 3)
y = X[:, 0] - np.maximum(X[:, 1], 0)


@pytest.mark.parametrize(
    "Xc, yc, error, match",
    [
        (np.where(X > 1.5, np.nan, X), y, ValueError, "NaN"),
        (X, np.where(y > 1, np.inf, y), ValueError, "infinity"),
        (np.empty((0, 3)), np.empty(0), ValueError, "0 sample"),
        (X, np.array(["a"] * 20), ValueError, "convert string"),
        (sp.csr_matrix(X), y, TypeError, "dense data is required"),
        (X[:, 0], y, ValueError, "2D array"),
    ],
    ids=["nan-X", "inf-y", "empty", "string-y", "sparse-X", "1d-X"],
)
def test_bad_input_is_a_clear_error(Xc, yc, error, match):
    with pytest.raises(error, match=match):
        ConvexReLURegressor(n_patterns=5, pattern_strategy="random").fit(Xc, yc)


@pytest.mark.parametrize(
    "Xc, yc",
    [
        (X[:1], y[:1]),
        (X[:, :1], y),
        (np.column_stack([X, np.ones(20)]), y),
        (X, np.ones(20)),
        (X * 1e8, y),
        (X * 1e-8, y),
    ],
    ids=[
        "one-sample",
        "one-feature",
        "constant-feature",
        "constant-target",
        "scale-1e8",
        "scale-1e-8",
    ],
)
def test_odd_valid_input_fits_to_the_mlp_objective(Xc, yc):
    est = ConvexReLURegressor(
        pattern_strategy="random", n_patterns=5, random_state=0
    ).fit(Xc, yc)
    pred = est.predict(Xc)
    assert np.all(np.isfinite(pred))
    # never worse than the best constant, a feasible network (zero units)
    best_constant = 0.5 * np.mean((yc - yc.mean()) ** 2)
    assert est.objective_ <= best_constant * (1 + 1e-6) + 1e-12


def test_single_class_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 2 classes"):
        ConvexReLUClassifier(pattern_strategy="random").fit(X, np.zeros(20))


def test_unfitted_estimator_raises_not_fitted():
    with pytest.raises(NotFittedError):
        ConvexReLURegressor(pattern_strategy="random").predict(X)
    with pytest.raises(NotFittedError):
        ConvexReLUClassifier(pattern_strategy="random").to_mlp()


def test_keyboard_interrupt_leaves_estimator_unfitted(monkeypatch):
    est = ConvexReLURegressor(
        n_patterns=5, solver="cvxpy", random_state=0, pattern_strategy="random"
    ).fit(X, y)

    def interrupted(self, compiled, backend, tol=None, time_limit=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(conic.ConicSolver, "_call_backend", interrupted)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.predict(X)


@pytest.mark.parametrize("scale", [1e8, 1e-8])
def test_badly_scaled_features_converge_or_get_a_scaling_hint(scale):
    import warnings

    est = ConvexReLURegressor(
        pattern_strategy="random",
        n_patterns=5,
        solver="ipm",
        max_iter=2,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X * scale, y)
    hinted = any("StandardScaler" in str(w.message) for w in caught)
    assert est.converged_ or hinted
    if scale > 1:
        assert hinted  # two iterations do not solve this program
    assert np.all(np.isfinite(est.predict(X * scale)))


@pytest.mark.parametrize(
    "params",
    [
        {"n_patterns": 0},
        {"alpha": -1.0},
        {"solver": "newton"},
        {"tol": 0.0},
        {"time_limit": -1.0},
    ],
    ids=["n_patterns-0", "alpha-negative", "unknown-solver", "tol-0", "time-negative"],
)
def test_invalid_parameters_are_named(params):
    from sklearn.utils._param_validation import InvalidParameterError

    name = next(iter(params))
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        ConvexReLURegressor(**params).fit(X, y)
