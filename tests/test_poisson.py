"""loss="poisson": MLPRegressor(loss="poisson")'s objective, solved exactly.

Oracles: an independent cvxpy formulation with exponential cones, and
scikit-learn's own Poisson loss evaluated on the MLPRegressor from to_mlp()."""

import warnings

import numpy as np
import pytest
from oracles import cvxpy_oracle
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.neural_network._base import poisson_loss

from skconvexnn import ConvexReLURegressor
from skconvexnn.operators import add_bias_column
from skconvexnn.patterns import random_patterns


def _counts(n=80, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 3)
    mean = np.exp(0.8 * np.maximum(X[:, 0], 0) - 0.5 * X[:, 1])
    return X, rng.poisson(mean).astype(float)


@pytest.mark.parametrize("solver", ["cvxpy", "ipm"])
def test_poisson_objective_matches_independent_cvxpy(solver):
    X, y = _counts()
    alpha = 0.5
    reg = ConvexReLURegressor(
        "poisson",
        alpha=alpha,
        n_patterns=6,
        solver=solver,
        random_state=0,
        pattern_strategy="random",
    ).fit(X, y)
    D, _ = random_patterns(add_bias_column(X), 6, random_state=0)
    expected = cvxpy_oracle(X, y[:, None], D, "poisson", alpha, solver="CLARABEL")
    # Clarabel's exponential cones stop a little above the optimum: the fit
    # may be lower, never meaningfully higher
    assert reg.program_objective_ == pytest.approx(expected, rel=1e-4)
    assert reg.program_objective_ <= expected * (1 + 1e-7)


def test_poisson_solvers_agree_and_match_sklearn_loss():
    X, y = _counts(seed=1)
    alpha = 0.1
    fits = [
        ConvexReLURegressor(
            "poisson",
            alpha=alpha,
            n_patterns=10,
            solver=s,
            random_state=0,
            pattern_strategy="random",
        ).fit(X, y)
        for s in ("cvxpy", "ipm")
    ]
    assert fits[0].objective_ == pytest.approx(fits[1].objective_, rel=1e-6)
    for reg in fits:
        mlp = reg.to_mlp()
        assert isinstance(mlp, MLPRegressor) and mlp.loss == "poisson"
        np.testing.assert_allclose(mlp.predict(X), reg.predict(X), rtol=1e-12)
        assert np.all(reg.predict(X) > 0)
        # J from scikit-learn's own Poisson loss and its penalty convention
        penalty = sum(float(np.sum(W * W)) for W in mlp.coefs_)
        J = poisson_loss(y, mlp.predict(X)) + alpha * penalty / (2 * len(y))
        assert reg.objective_ == pytest.approx(J, rel=1e-10)


def test_poisson_mlp_strategy_never_worse_than_its_seed_networks():
    """The seeds are scikit-learn MLPRegressor(loss="poisson") fits with the
    documented random states; their loss_ is scikit-learn's own J."""
    X, y = _counts(seed=2)
    alpha = 0.1
    reg = ConvexReLURegressor(
        "poisson", alpha=alpha, n_patterns=10, pattern_strategy="mlp", random_state=0
    ).fit(X, y)
    seeds = np.random.RandomState(0).randint(2**31 - 1, size=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        losses = [
            MLPRegressor(
                loss="poisson",
                hidden_layer_sizes=(10,),
                alpha=alpha,
                solver="lbfgs",
                max_iter=200,
                random_state=int(seed),
            )
            .fit(X, y)
            .loss_
            for seed in seeds
        ]
    assert reg.objective_ <= min(losses) + 1e-9


@pytest.mark.parametrize("y", [np.r_[-1.0, np.ones(9)], np.zeros(10)])
def test_poisson_rejects_negative_or_all_zero_targets(y):
    X = np.random.RandomState(0).randn(10, 2)
    with pytest.raises(ValueError, match="non-negative targets"):
        ConvexReLURegressor("poisson", pattern_strategy="random").fit(X, y)
