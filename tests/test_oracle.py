"""The estimators solve the sampled convex program: compare with an independent
cvxpy formulation of the same program (same patterns), written group by group
in tests/oracles.py."""

import numpy as np
import pytest
from oracles import cvxpy_oracle
from sklearn.datasets import make_blobs, make_moons

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor


def _patterns(est, X):
    return np.hstack([X, np.ones((X.shape[0], 1))]) @ est.gates_ >= 0


def _regression_data(n=30, d=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    y = np.maximum(X @ rng.randn(d) + 0.3, 0) - 0.5 * np.maximum(X[:, 0], 0)
    return X, y + 0.1 * rng.randn(n)


@pytest.mark.parametrize("formulation", ["relu", "gated"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_regressor_matches_oracle(formulation, fit_intercept):
    X, y = _regression_data()
    alpha = 0.05
    est = ConvexReLURegressor(
        alpha=alpha,
        n_patterns=8,
        formulation=formulation,
        fit_intercept=fit_intercept,
        random_state=0,
        pattern_strategy="random",
    ).fit(X, y)
    D = _patterns(est, X)
    assert D.shape[1] == est.n_patterns_
    expected = cvxpy_oracle(
        X,
        y[:, None],
        D,
        "squared_error",
        alpha,
        formulation=formulation,
        fit_intercept=fit_intercept,
    )
    assert est.program_objective_ == pytest.approx(expected, rel=1e-5)
    if formulation == "relu":
        # the recovered network reaches the program's value (to pruning)
        assert est.objective_ == pytest.approx(expected, rel=1e-5)
    else:
        # gated units are not ReLUs: the network can only be worse
        assert est.objective_ >= expected * (1 - 1e-6)


def test_regressor_sample_weight_matches_oracle():
    X, y = _regression_data(n=25)
    sw = np.random.RandomState(1).uniform(0.2, 3.0, size=25)
    est = ConvexReLURegressor(
        alpha=0.05, n_patterns=6, random_state=0, pattern_strategy="random"
    )
    est.fit(X, y, sample_weight=sw)
    expected = cvxpy_oracle(
        X, y[:, None], _patterns(est, X), "squared_error", 0.05, sample_weight=sw
    )
    assert est.objective_ == pytest.approx(expected, rel=1e-5)


def test_multioutput_regressor_matches_oracle():
    X, y = _regression_data(n=25)
    Y = np.column_stack([y, np.sin(X[:, 1])])
    est = ConvexReLURegressor(
        alpha=0.05, n_patterns=6, random_state=0, pattern_strategy="random"
    ).fit(X, Y)
    expected = cvxpy_oracle(X, Y, _patterns(est, X), "squared_error", 0.05)
    assert est.objective_ == pytest.approx(expected, rel=1e-5)
    assert est.coefs_[1].shape == (est.n_neurons_, 2)


_SCS = {"solver": "SCS", "eps_abs": 1e-10, "eps_rel": 1e-10, "max_iters": 200000}


@pytest.mark.parametrize(
    "loss, oracle_loss, oracle_opts",
    [
        ("log_loss", "binary_log_loss", _SCS),
        ("hinge", "hinge", {}),
        ("squared_error", "squared_error", {}),
    ],
)
def test_binary_classifier_matches_oracle(loss, oracle_loss, oracle_opts):
    X, y = make_moons(40, noise=0.2, random_state=0)
    alpha = 0.1
    est = ConvexReLUClassifier(
        loss, alpha=alpha, n_patterns=6, random_state=0, pattern_strategy="random"
    )
    est.fit(X, y)
    Y = y[:, None].astype(float) if loss == "log_loss" else 2.0 * y[:, None] - 1
    expected = cvxpy_oracle(X, Y, _patterns(est, X), oracle_loss, alpha, **oracle_opts)
    assert est.program_objective_ == pytest.approx(expected, rel=1e-5)
    assert est.objective_ == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "loss, oracle_loss, oracle_opts",
    [
        ("log_loss", "multinomial_log_loss", _SCS),
        ("hinge", "hinge", {}),
    ],
)
def test_multiclass_classifier_matches_oracle(loss, oracle_loss, oracle_opts):
    X, y = make_blobs(45, centers=3, random_state=0)
    alpha = 0.1
    est = ConvexReLUClassifier(
        loss, alpha=alpha, n_patterns=6, random_state=0, pattern_strategy="random"
    )
    est.fit(X, y)
    Y = np.eye(3)[y] if loss == "log_loss" else 2.0 * np.eye(3)[y] - 1
    expected = cvxpy_oracle(X, Y, _patterns(est, X), oracle_loss, alpha, **oracle_opts)
    assert est.program_objective_ == pytest.approx(expected, rel=1e-5)
    assert est.objective_ == pytest.approx(expected, rel=1e-5)


def test_gated_relaxes_relu():
    """Dropping the cone constraints can only lower the program's optimum."""
    X, y = _regression_data(n=40, d=3)
    values = {
        f: ConvexReLURegressor(
            alpha=0.05,
            n_patterns=10,
            formulation=f,
            random_state=0,
            pattern_strategy="random",
        )
        .fit(X, y)
        .program_objective_
        for f in ("relu", "gated")
    }
    assert values["gated"] <= values["relu"] * (1 + 1e-7)
