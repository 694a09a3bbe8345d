"""Column generation (pattern_strategy="cutting_plane") and its building blocks,
against closed forms (linear splines in 1-D, the 1-D reduction of rank-one
data), an independent cvxpy model and scikit-learn's own MLP."""

import warnings

import numpy as np
import pytest
from oracles import all_1d_patterns, cvxpy_oracle
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.utils import check_random_state

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor
from skconvexnn.column_generation import merge_units
from skconvexnn.losses import SquaredError
from skconvexnn.network import forward, mlp_objective, polish_network


def _mlp(Est, X, y, alpha, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Est(solver="lbfgs", alpha=alpha, **kw).fit(X, y)


def test_merge_keeps_the_function_and_never_raises_the_objective():
    rng = np.random.RandomState(0)
    X = rng.randn(50, 3)
    y = np.abs(X[:, 0]) + 0.1 * rng.randn(50)
    mlp = _mlp(MLPRegressor, X, y, 0.5, hidden_layer_sizes=(40,), random_state=0)
    # duplicate a few units with the same pattern, split in weight
    coefs = [np.hstack([mlp.coefs_[0], mlp.coefs_[0][:, :5]]), None]
    coefs[1] = np.vstack([0.5 * mlp.coefs_[1], 0.5 * mlp.coefs_[1][:5]])
    coefs[1][40:] = 0.5 * mlp.coefs_[1][:5]
    coefs[1][5:40] = mlp.coefs_[1][5:]
    intercepts = [np.concatenate([mlp.intercepts_[0], mlp.intercepts_[0][:5]])]
    intercepts.append(mlp.intercepts_[1])
    args = (X, y[:, None], SquaredError(), 0.5, np.ones(50))
    merged = merge_units(coefs, intercepts, X)
    np.testing.assert_allclose(
        forward(*merged, X), forward(coefs, intercepts, X), atol=1e-12
    )
    assert mlp_objective(*merged, *args) <= mlp_objective(coefs, intercepts, *args)
    assert merged[0][0].shape[1] <= 40


def test_polish_continues_sklearn_lbfgs_on_the_same_objective():
    rng = np.random.RandomState(1)
    X = rng.randn(60, 4)
    y = np.maximum(X @ rng.randn(4), 0)
    mlp = _mlp(
        MLPRegressor, X, y, 0.3, hidden_layer_sizes=(15,), max_iter=30, random_state=0
    )
    args = (X, y[:, None], SquaredError(), 0.3, np.ones(60))
    assert mlp_objective(mlp.coefs_, mlp.intercepts_, *args) == pytest.approx(
        mlp.loss_, rel=1e-12
    )
    _, _, J = polish_network(mlp.coefs_, mlp.intercepts_, *args, max_iter=300)
    assert J < mlp.loss_


def _seed_mlp(Est, X, y, alpha, random_state):
    """The seed network the estimator documents: one lbfgs MLP of width 100,
    200 iterations, random_state drawn from ``random_state``."""
    seed = check_random_state(random_state).randint(2**31 - 1, size=1)[0]
    return _mlp(
        Est, X, y, alpha, hidden_layer_sizes=(100,), max_iter=200, random_state=seed
    )


@pytest.mark.parametrize(
    "Est, Conv",
    [(MLPRegressor, ConvexReLURegressor), (MLPClassifier, ConvexReLUClassifier)],
)
def test_cutting_plane_is_never_worse_than_its_seed_mlp(Est, Conv):
    rng = np.random.RandomState(2)
    X = rng.randn(80, 4)
    score = np.sin(X[:, 0]) + np.maximum(X[:, 1], 0) - X[:, 2] * X[:, 3]
    y = score if Conv is ConvexReLURegressor else (score > 0.3).astype(int)
    seed = _seed_mlp(Est, X, y, 0.5, random_state=3)
    est = Conv(alpha=0.5, pattern_strategy="cutting_plane", random_state=3).fit(X, y)
    assert est.objective_ <= seed.loss_ + 1e-12
    # the reported objective is sklearn's loss of the returned network
    assert est.to_mlp().loss_ == est.objective_
    assert np.isfinite(est.dual_violation_)


def test_one_dimensional_optimum_is_the_linear_spline_through_the_data():
    """Ergen & Pilanci / Savarese et al.: for 1-D data and alpha -> 0 the
    optimum interpolates the data by the linear spline with kinks at the data
    points; its weight-decay cost is the total variation V of its slopes (the
    global linear part is absorbed by splitting kinks between right- and
    left-facing units, possible when -s_1 lies between the sums of negative and
    positive slope changes). So J* = alpha V / n + O(alpha^2)."""
    rng = np.random.RandomState(4)
    n = 12
    x = np.sort(rng.uniform(-2, 2, n))
    y = rng.randn(n)
    slopes = np.diff(y) / np.diff(x)
    changes = np.diff(slopes)
    assert changes[changes < 0].sum() <= -slopes[0] <= changes[changes > 0].sum()
    alpha = 1e-7
    spline_J = alpha * np.abs(changes).sum() / n
    est = ConvexReLURegressor(
        alpha=alpha, pattern_strategy="enumerate", solver="ipm"
    ).fit(x[:, None], y)
    np.testing.assert_allclose(est.predict(x[:, None]), y, atol=1e-4)
    assert spline_J * (1 - 1e-4) <= est.objective_ <= spline_J * (1 + 1e-9)
    # rounds until no violating unit is found (the default stops after a
    # round that gains less than 1e-3)
    cut = ConvexReLURegressor(
        alpha=alpha, max_rounds=10, round_tol=0.0, random_state=0
    ).fit(x[:, None], y)
    assert spline_J * (1 - 1e-4) <= cut.objective_ <= spline_J * (1 + 1e-6)


def test_rank_one_data_reduces_to_the_one_dimensional_optimum():
    """For rank-one data X = t a^T (|a| = 1) only a^T w matters and |w| >=
    |a^T w|, so the global optimum is the 1-D optimum on t: solved here by an
    independent cvxpy model over every 1-D pattern. Cutting planes in d = 4
    must reach it and cannot go below it."""
    rng = np.random.RandomState(5)
    t = np.sort(rng.uniform(-2, 2, 30))
    a = rng.randn(4)
    a /= np.linalg.norm(a)
    X = t[:, None] * a[None, :]
    y = np.sin(2 * t) + 0.05 * rng.randn(30)
    alpha = 0.05
    optimum = cvxpy_oracle(
        t[:, None], y[:, None], all_1d_patterns(t), "squared_error", alpha
    )
    est = ConvexReLURegressor(
        alpha=alpha, pattern_strategy="cutting_plane", random_state=0
    ).fit(X, y)
    assert est.objective_ >= optimum - 1e-8
    assert est.objective_ <= optimum * (1 + 1e-4)


def test_cutting_plane_reaches_the_enumerated_optimum_in_one_dimension():
    rng = np.random.RandomState(6)
    x = np.sort(rng.uniform(-2, 2, 40))
    y = np.sin(3 * x) + 0.1 * rng.randn(40)
    alpha = 0.02
    optimum = cvxpy_oracle(
        x[:, None], y[:, None], all_1d_patterns(x), "squared_error", alpha
    )
    est = ConvexReLURegressor(
        alpha=alpha, max_rounds=10, round_tol=0.0, random_state=0
    ).fit(x[:, None], y)
    assert est.objective_ == pytest.approx(optimum, rel=1e-6)
    assert est.optimality_gap_ >= est.objective_ - optimum - 1e-10
    assert est.optimality_gap_ < 1e-6


def test_cutting_plane_is_deterministic_and_handles_several_outputs():
    rng = np.random.RandomState(7)
    X = rng.randn(60, 3)
    Y = np.c_[np.maximum(X[:, 0], 0), np.abs(X[:, 1]) - X[:, 2]]
    first, second = (
        ConvexReLURegressor(
            alpha=0.2, pattern_strategy="cutting_plane", random_state=1
        ).fit(X, Y)
        for _ in range(2)
    )
    for a, b in zip(
        first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_
    ):
        np.testing.assert_array_equal(a, b)
    seed = _seed_mlp(MLPRegressor, X, Y, 0.2, random_state=1)
    assert first.objective_ <= seed.loss_ + 1e-12
    assert first.predict(X).shape == Y.shape


def test_time_limited_seed_is_the_ordinary_fit_when_it_fits_the_budget():
    # the seed MLP under a generous limit is sklearn's own lbfgs fit, not a
    # restarted one (restarts changed the seed and the fit measurably)
    from skconvexnn.patterns import mlp_seed_networks

    rng = np.random.RandomState(0)
    X = rng.randn(120, 4)
    y = np.maximum(X @ rng.randn(4), 0) + 0.1 * rng.randn(120)
    args = dict(classifier=False, alpha=1e-3, width=20, n_networks=1, max_iter=200)
    [(free_coefs, _)] = mlp_seed_networks(X, y, random_state=0, **args)
    [(coefs, _)] = mlp_seed_networks(X, y, random_state=0, time_limit=60.0, **args)
    mlp = MLPRegressor(
        hidden_layer_sizes=(20,), solver="lbfgs", alpha=1e-3, max_iter=200
    )
    seed = check_random_state(0).randint(2**31 - 1, size=1)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.set_params(random_state=seed).fit(X, y)
    for A, B, C in zip(coefs, free_coefs, mlp.coefs_):
        np.testing.assert_array_equal(A, B)
        np.testing.assert_array_equal(A, C)
    # a tight limit stops lbfgs early: the network differs, within the limit
    import time

    start = time.perf_counter()
    [(tight, _)] = mlp_seed_networks(X, y, random_state=0, time_limit=1e-3, **args)
    assert time.perf_counter() - start < 1.0
    assert not np.array_equal(tight[0], coefs[0])


def test_rounds_without_a_convex_solve_report_their_polishes_as_iterations():
    # the hinge-loss rounds under solver="auto" run no convex solve (the
    # interior-point method neither takes nor majorizes that loss): n_iter_
    # counts the L-BFGS polishes (scikit-learn's common check asks
    # n_iter_ >= 1 of every estimator with max_iter)
    from sklearn.datasets import make_moons
    from sklearn.utils.estimator_checks import (
        check_non_transformer_estimators_n_iter,
    )

    X, y = make_moons(n_samples=120, noise=0.2, random_state=0)
    clf = ConvexReLUClassifier(loss="hinge", random_state=0)
    clf.fit(X, y)
    assert clf.solver_ == "lbfgs"
    rounds = [row for row in clf.fit_history_ if row["stage"].startswith("round")]
    assert clf.n_iter_ == 1 + len(rounds) >= 1
    check_non_transformer_estimators_n_iter("ConvexReLUClassifier", clf)


@pytest.mark.parametrize("round_tol, max_rounds", [(1e-2, 8), (0.0, 3), (1e-3, 1)])
def test_rounds_stop_after_a_small_gain_or_max_rounds(round_tol, max_rounds):
    rng = np.random.RandomState(8)
    X = rng.randn(120, 3)
    y = np.maximum(X @ rng.randn(3), 0) - np.maximum(X[:, 0] + 0.5, 0)
    y += 0.05 * rng.randn(120)
    est = ConvexReLURegressor(
        alpha=0.05, max_rounds=max_rounds, round_tol=round_tol, random_state=0
    ).fit(X, y)
    J = [
        row["objective"]
        for row in est.fit_history_
        if row["stage"] == "polished start" or row["stage"].startswith("round")
    ]
    rounds = len(J) - 1
    assert 1 <= rounds <= max_rounds
    gains = [(min(J[:k]) - J[k]) / min(J[:k]) for k in range(1, len(J))]
    # every round before the last gained at least round_tol (or nothing: a
    # round without progress is retried with a tighter solve) ...
    assert all(gain >= round_tol or gain <= 1e-8 for gain in gains[:-1])
    # ... and the last one less, unless the rounds ran out or found nothing
    assert gains[-1] < round_tol or rounds == max_rounds or est.dual_violation_ <= 0
    assert est.objective_ == pytest.approx(min(J), rel=1e-12)


def test_multinomial_rounds_are_majorization_steps():
    # a round of the multinomial log-loss solves a squared-loss majorizer at
    # the current point (Boehning's bound): checked against the loss itself
    # at random points, and each step never raises the program's objective
    # (MM with this bound is slow to converge: the polish does the rest)
    from sklearn.datasets import make_blobs

    from skconvexnn.column_generation import _round_program
    from skconvexnn.losses import get_loss
    from skconvexnn.operators import add_bias_column
    from skconvexnn.patterns import random_patterns
    from skconvexnn.problem import ConvexReLUProgram
    from skconvexnn.solvers import InteriorPointSolver
    from skconvexnn.solvers._base import zero_solution

    loss = get_loss("multinomial_log_loss")
    rng = np.random.RandomState(0)
    Y = np.eye(4)[rng.randint(4, size=50)]
    s = rng.uniform(0.5, 2.0, 50)
    for _ in range(20):
        Z, Z_new = 3 * rng.randn(2, 50, 4)
        targets, weights = loss.majorizer(Z, Y, s)
        bound = SquaredError().value(Z_new, targets, weights)
        touch = SquaredError().value(Z, targets, weights)
        assert loss.value(Z_new, Y, s) <= loss.value(Z, Y, s) + bound - touch + 1e-9

    X, y = make_blobs(60, centers=3, cluster_std=2.0, random_state=0)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    D, gates = random_patterns(add_bias_column(X), 8, random_state=0)[:2]
    program = ConvexReLUProgram(
        X=X,
        Y=np.eye(3)[y],
        patterns=D,
        gates=gates,
        loss=loss,
        alpha=0.1,
        sample_weight=np.ones(60),
    )
    optimum = cvxpy_oracle(
        X, np.eye(3)[y], D, "multinomial_log_loss", 0.1, sample_weight=np.ones(60)
    )
    solver = InteriorPointSolver(tol=1e-10)
    point = zero_solution(program)
    values = [program.objective(*point)]
    for _ in range(5):
        surrogate = _round_program(program, point, solver)
        assert surrogate.loss.name == "squared_error"
        result = solver.solve(surrogate)
        point = (result.V, result.W, result.c)
        values.append(program.objective(*point))
        assert program.constraint_violation(*point[:2]) == 0.0
    assert np.all(np.diff(values) < 0)
    assert values[-1] >= optimum * (1 - 1e-8)
