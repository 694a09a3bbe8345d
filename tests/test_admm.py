"""The built-in ADMM solver against an independent cvxpy formulation of the same
sampled program (tests/oracles.py), plus its guarantees: a valid certificate,
feasibility, determinism across n_jobs and joblib backends, limits, faults."""

import time
import warnings
from dataclasses import replace

import joblib
import numpy as np
import pytest
from oracles import cvxpy_oracle
from test_ipm import TIGHT, _program

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor
from skconvexnn.exceptions import ConvergenceWarning, SolverLicenseWarning
from skconvexnn.losses import get_loss
from skconvexnn.problem import ConvexReLUProgram
from skconvexnn.solvers import ADMMSolver, ConicSolver, InteriorPointSolver
from skconvexnn.solvers import admm as admm_module


def _oracle(program, loss="squared_error"):
    return cvxpy_oracle(
        program.X,
        program.Y,
        program.patterns,
        loss,
        program.alpha,
        sample_weight=program.sample_weight,
        formulation=program.formulation,
        fit_intercept=program.fit_intercept,
        **TIGHT,
    )


def _value(program, result):
    return program.objective(result.V, result.W, result.c)


@pytest.mark.parametrize("formulation", ["relu", "gated"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
def test_matches_oracle_with_a_valid_certificate(formulation, fit_intercept, weights):
    program = _program(
        formulation=formulation, fit_intercept=fit_intercept, weights=weights
    )
    result = ADMMSolver(tol=1e-5).solve(program)
    value = _value(program, result)
    expected = _oracle(program)
    assert result.converged and result.status == "optimal"
    assert abs(value - expected) <= 1e-4 * expected
    # the certificate brackets the independent optimum
    assert result.info["dual"] / program.scale <= expected * (1 + 1e-9)
    assert (value - expected) / value <= result.info["gap"] + 1e-9
    if formulation == "relu":
        # the returned point satisfies every cone row exactly
        assert program.constraint_violation(result.V, result.W) == 0.0


@pytest.mark.parametrize("loss", ["binary_log_loss", "poisson"])
def test_smooth_losses_by_proximal_newton_match_oracle(loss):
    rng = np.random.RandomState(0)
    base = _program(n=50, P=6, seed=2)
    score = base.X[:, 0] - 0.5 * np.maximum(base.X[:, 1], 0)
    if loss == "poisson":
        Y = rng.poisson(np.exp(0.5 * score)).astype(float)[:, None]
    else:
        Y = (score + 0.3 * rng.randn(50) > 0).astype(float)[:, None]
    program = ConvexReLUProgram(
        X=base.X,
        Y=Y,
        patterns=base.patterns,
        gates=base.gates,
        loss=get_loss(loss),
        alpha=0.1,
        sample_weight=base.sample_weight,
    )
    result = ADMMSolver(tol=1e-5).solve(program)
    expected = cvxpy_oracle(program.X, program.Y, program.patterns, loss, program.alpha)
    assert _value(program, result) == pytest.approx(expected, rel=1e-4)
    # a convex combination of exactly feasible points (the line search), up
    # to rounding
    assert program.constraint_violation(result.V, result.W) <= 1e-12


def test_gated_objective_is_below_relu_objective():
    for seed in range(3):
        relu = _program(n=60, P=10, seed=seed)
        gated = _program(n=60, P=10, seed=seed, formulation="gated")
        relu_value = _value(relu, ADMMSolver(tol=1e-4).solve(relu))
        gated_value = _value(gated, ADMMSolver(tol=1e-4).solve(gated))
        assert gated_value <= relu_value * (1 + 1e-6)
        assert gated_value < relu_value  # the cones bind on these programs


def test_n_jobs_and_joblib_backends_give_identical_results(monkeypatch):
    # several pattern blocks even at this size
    monkeypatch.setattr(admm_module, "_BLOCK_ENTRIES", 200)
    program = _program(n=50, P=8, outputs=2)
    options = dict(tol=1e-5, max_iter=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = ADMMSolver(n_jobs=1, **options).solve(program)
        two = ADMMSolver(n_jobs=2, **options).solve(program)
        with joblib.parallel_backend("loky", n_jobs=2):
            loky = ADMMSolver(n_jobs=2, **options).solve(program)
    assert one.n_iter == two.n_iter == loky.n_iter
    for other in (two, loky):
        for a, b in zip((one.V, one.W, one.c), (other.V, other.W, other.c)):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_runs_on_a_local_dask_cluster(monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.setattr(admm_module, "_BLOCK_ENTRIES", 200)
    program = _program(n=50, P=8)
    options = dict(tol=1e-5, max_iter=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = ADMMSolver(n_jobs=1, **options).solve(program)
        with distributed.Client(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ):
            with joblib.parallel_backend("dask"):
                remote = ADMMSolver(n_jobs=2, **options).solve(program)
    assert remote.n_iter == local.n_iter
    np.testing.assert_allclose(remote.V, local.V, rtol=0, atol=1e-10)
    np.testing.assert_allclose(remote.c, local.c, rtol=0, atol=1e-10)


def test_iteration_limit_warns_and_returns_a_feasible_point():
    program = _program(n=80, P=12)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        result = ADMMSolver(max_iter=30).solve(program)
    assert not result.converged and result.n_iter >= 30
    assert program.constraint_violation(result.V, result.W) == 0.0
    zero = program.objective(
        np.zeros_like(result.V), np.zeros_like(result.W), program.Y.mean(axis=0)
    )
    assert _value(program, result) <= zero


def test_time_limit_is_honoured():
    program = _program(n=300, d=5, P=40, alpha=0.01)
    start = time.perf_counter()
    with pytest.warns(ConvergenceWarning, match="time_limit"):
        result = ADMMSolver(tol=1e-12, time_limit=0.3).solve(program)
    elapsed = time.perf_counter() - start
    assert result.status == "time_limit"
    assert elapsed < 0.3 * 1.1 + 0.2  # setup and one last certificate
    assert program.constraint_violation(result.V, result.W) == 0.0


def test_time_limit_interrupts_a_slow_certificate(monkeypatch):
    # a certificate projects every violated group onto its cone (at n = 10^5
    # one took 60 s): made slow here, the limit must still stop it
    program = _program(n=300, d=5, P=40, alpha=0.01)
    original = admm_module._project_group

    def slow(u, G, rounds=6):
        time.sleep(0.05)
        return original(u, G, rounds)

    monkeypatch.setattr(admm_module, "_project_group", slow)
    start = time.perf_counter()
    with pytest.warns(ConvergenceWarning, match="time_limit"):
        result = ADMMSolver(tol=1e-12, time_limit=0.5).solve(program)
    elapsed = time.perf_counter() - start
    # 80 groups at 0.05 s each: an uninterrupted certificate takes about 4 s
    assert result.status == "time_limit" and elapsed < 0.5 + 0.5
    assert program.constraint_violation(result.V, result.W) == 0.0


def test_divergence_stops_with_a_warning_and_a_finite_answer(monkeypatch):
    program = _program(n=60, P=8)
    original = admm_module._ADMMState._u_update
    calls = {"n": 0}

    def poisoned(self):
        calls["n"] += 1
        U = original(self)
        return U * np.nan if calls["n"] > 25 else U

    monkeypatch.setattr(admm_module._ADMMState, "_u_update", poisoned)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        result = ADMMSolver(tol=1e-12).solve(program)
    assert result.status == "diverged"
    for a in (result.V, result.W, result.c):
        assert np.all(np.isfinite(a))
    assert program.constraint_violation(result.V, result.W) == 0.0


@pytest.mark.parametrize("formulation", ["relu", "gated"])
def test_warm_start_from_the_solution(formulation):
    program = _program(n=80, P=10, formulation=formulation)
    first = ADMMSolver(tol=1e-5).solve(program)
    again = ADMMSolver(tol=1e-5).solve(program, init=(first.V, first.W, first.c))
    assert again.converged
    assert _value(program, again) <= _value(program, first) * (1 + 1e-12)
    if formulation == "gated":
        # the duals are rebuilt exactly from the point: a few iterations
        assert again.n_iter <= first.n_iter / 4


@pytest.mark.parametrize(
    "formulation, fit_intercept, outputs",
    [("relu", True, 1), ("relu", False, 1), ("gated", True, 2), ("gated", False, 2)],
)
def test_hinge_matches_oracle(formulation, fit_intercept, outputs):
    # (under the cones the first output of this data needs more than 40 000
    # iterations for tol=1e-6 — it is then 1e-5 above the optimum: ADMM is
    # slow on these piecewise-linear programs; the relu cases use the second)
    base = _program(n=50, P=6, seed=1, outputs=2)
    columns = slice(0, 2) if outputs == 2 else slice(1, 2)
    program = ConvexReLUProgram(
        X=base.X,
        Y=np.where(base.Y > np.median(base.Y, axis=0), 1.0, -1.0)[:, columns],
        patterns=base.patterns,
        gates=base.gates,
        loss=get_loss("hinge"),
        alpha=0.1,
        sample_weight=base.sample_weight,
        formulation=formulation,
        fit_intercept=fit_intercept,
    )
    result = ADMMSolver(tol=1e-6, max_iter=40_000).solve(program)
    assert result.converged
    assert _value(program, result) == pytest.approx(_oracle(program, "hinge"), rel=1e-4)
    if formulation == "relu":
        assert program.constraint_violation(result.V, result.W) <= 1e-5
    if not fit_intercept:
        assert np.all(result.c == 0.0)


def test_unsupported_loss_names_the_supported_ones():
    program = _program(outputs=2)
    program = ConvexReLUProgram(
        X=program.X,
        Y=np.eye(2)[(program.Y[:, 0] > program.Y[:, 1]).astype(int)],
        patterns=program.patterns,
        gates=program.gates,
        loss=get_loss("multinomial_log_loss"),
        alpha=0.1,
        sample_weight=program.sample_weight,
    )
    with pytest.raises(ValueError, match="not supported by solver 'admm'.*hinge"):
        ADMMSolver().solve(program)


def test_estimators_fit_with_admm_like_the_conic_solver():
    from sklearn.datasets import make_friedman1, make_moons

    X, y = make_friedman1(n_samples=80, n_features=5, random_state=0)
    # the reference at cvxpy's default tolerance (1e-8): at 1e-5 Clarabel
    # stops 2.7e-4 above the optimum here
    fits = [
        ConvexReLURegressor(
            alpha=0.5,
            n_patterns=8,
            solver=solver,
            tol=tol,
            random_state=0,
            pattern_strategy="random",
        ).fit(X, y)
        for solver, tol in (("admm", 1e-5), ("cvxpy", None))
    ]
    assert fits[0].solver_ == "admm" and fits[0].converged_
    assert fits[0].program_objective_ == pytest.approx(
        fits[1].program_objective_, rel=1e-4
    )
    assert fits[0].dual_gap_ <= 1e-5

    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    clf = [
        ConvexReLUClassifier(
            alpha=0.05,
            n_patterns=6,
            solver=solver,
            tol=tol,
            random_state=0,
            pattern_strategy="random",
        ).fit(X, y)
        for solver, tol in (("admm", 1e-5), ("cvxpy", None))
    ]
    assert clf[0].program_objective_ == pytest.approx(
        clf[1].program_objective_, rel=1e-4
    )
    np.testing.assert_array_equal(clf[0].predict(X), clf[1].predict(X))


def test_same_random_state_gives_bit_identical_models():
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=80, n_features=5, random_state=1)
    params = dict(
        alpha=0.5,
        n_patterns=8,
        pattern_strategy="random",
        solver="admm",
        max_iter=300,
        random_state=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = ConvexReLURegressor(n_jobs=1, **params).fit(X, y)
        b = ConvexReLURegressor(n_jobs=2, **params).fit(X, y)
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(ca, cb)


def test_auto_rule(monkeypatch):
    from skconvexnn.solvers import _base, choose_solver

    monkeypatch.setattr(_base, "available_memory", lambda: 64 * 2**30)
    assert choose_solver(_program()) == "cvxpy"  # small: Clarabel
    assert choose_solver(_program(formulation="gated")) == "cvxpy"
    large = _program(n=20000, d=5, P=40)
    assert choose_solver(large) == "ipm"
    # the two-class log-loss by the IPM's proximal Newton too (4-100x
    # faster than Clarabel's exponential cones, choose_solver's docstring)
    labels = np.where(large.Y > np.median(large.Y), 1.0, 0.0)
    log_loss = replace(large, Y=labels, loss=get_loss("binary_log_loss"))
    assert choose_solver(log_loss) == "ipm"
    # losses the IPM does not solve stay with cvxpy while it fits
    hinge = replace(large, Y=2 * labels - 1, loss=get_loss("hinge"))
    assert choose_solver(hinge) == "cvxpy"
    # a machine on which neither cvxpy nor the IPM holds this program, ADMM does
    light = ADMMSolver().memory_estimate(large)
    heavy = InteriorPointSolver().memory_estimate(large)
    assert light < heavy < ConicSolver().memory_estimate(large)
    available = (light + heavy) / 2 / _base.MEMORY_FRACTION
    monkeypatch.setattr(_base, "available_memory", lambda: available)
    assert choose_solver(large) == "admm"


def test_hinge_classifier_with_admm_matches_cvxpy():
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    # gated: ADMM converges in a few thousand iterations; with the cones this
    # program's residuals were still at 1e-4 after 20 000 (the relu hinge is
    # tested on programs above)
    params = dict(
        pattern_strategy="random",
        loss="hinge",
        formulation="gated",
        alpha=0.1,
        n_patterns=8,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverLicenseWarning)
        conic = ConvexReLUClassifier(solver="cvxpy", **params).fit(X, y)
    admm = ConvexReLUClassifier(solver="admm", tol=1e-6, **params).fit(X, y)
    assert admm.converged_
    assert admm.program_objective_ == pytest.approx(conic.program_objective_, rel=1e-4)
    assert np.mean(admm.predict(X) == conic.predict(X)) >= 0.95
