"""The built-in interior-point solver against an independent cvxpy formulation
of the same sampled program (tests/oracles.py), plus its guarantees: exact
feasibility, a valid certified gap, incumbents, limits."""

import warnings

import numpy as np
import pytest
from oracles import cvxpy_oracle

from skconvexnn import ConvexReLURegressor
from skconvexnn.exceptions import ConvergenceWarning
from skconvexnn.losses import get_loss
from skconvexnn.operators import add_bias_column
from skconvexnn.patterns import random_patterns
from skconvexnn.problem import ConvexReLUProgram
from skconvexnn.solvers import InteriorPointSolver, choose_solver

TIGHT = dict(tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)


def _program(
    n=40,
    d=3,
    P=8,
    alpha=0.05,
    formulation="relu",
    fit_intercept=True,
    weights=False,
    outputs=1,
    seed=0,
):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    Y = np.column_stack(
        [
            np.maximum(X @ rng.randn(d) + 0.3, 0)
            - 0.5 * np.maximum(X[:, 0], 0)
            + 0.1 * rng.randn(n)
            for _ in range(outputs)
        ]
    )
    D, gates = random_patterns(
        add_bias_column(X), P, fit_intercept=fit_intercept, random_state=seed
    )[:2]
    sw = rng.uniform(0.2, 3.0, n) if weights else np.ones(n)
    return ConvexReLUProgram(
        X=X,
        Y=Y,
        patterns=D,
        gates=gates,
        loss=get_loss("squared_error"),
        alpha=alpha,
        sample_weight=sw,
        formulation=formulation,
        fit_intercept=fit_intercept,
    )


def _oracle(program):
    return cvxpy_oracle(
        program.X,
        program.Y,
        program.patterns,
        "squared_error",
        program.alpha,
        sample_weight=program.sample_weight,
        formulation=program.formulation,
        fit_intercept=program.fit_intercept,
        **TIGHT,
    )


def _assert_certified_optimum(program, result):
    """The result against cvxpy over the same program: its value and bound
    bracket the optimum, its certified gap bounds the true one, and it is
    exactly feasible."""
    optimum = _oracle(program)
    value = program.objective(result.V, result.W, result.c)
    lower = result.info["dual"] / program.scale
    assert lower <= optimum * (1 + 1e-9) and value >= optimum * (1 - 1e-9)
    assert (value - optimum) / value <= result.info["gap"] + 1e-9
    assert program.constraint_violation(result.V, result.W) == 0.0


def _assert_screened_agrees(program, screened, full):
    """A screened solve agrees with the every-row solve and with cvxpy over
    every row to 1e-7."""
    assert screened.converged and full.converged
    a = program.objective(screened.V, screened.W, screened.c)
    b = program.objective(full.V, full.W, full.c)
    assert abs(a - b) <= 1e-7 * b
    optimum = _oracle(program)  # cvxpy over every row
    assert abs(a - optimum) <= 1e-7 * optimum


@pytest.mark.parametrize("formulation", ["relu", "gated"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
def test_matches_oracle_and_is_exactly_feasible(formulation, fit_intercept, weights):
    program = _program(
        formulation=formulation, fit_intercept=fit_intercept, weights=weights
    )
    result = InteriorPointSolver(tol=1e-8).solve(program)
    value = program.objective(result.V, result.W, result.c)
    expected = _oracle(program)
    assert result.converged and result.info["gap"] <= 1e-8
    assert abs(value - expected) <= 1e-7 * expected
    if formulation == "relu":
        # every cone row >= 0 exactly, not up to a tolerance
        assert program.constraint_violation(result.V, result.W) == 0.0


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("formulation", ["relu", "gated"])
def test_tight_tolerance_is_reached_and_certified(seed, formulation):
    # programs large enough for the iterations alone to stall short of 1e-8
    # in double precision (they did at 4e-8-2e-6 before the face polish)
    program = _program(n=300, d=6, P=30, alpha=0.02, formulation=formulation, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = InteriorPointSolver(tol=1e-8).solve(program)
    assert result.converged and result.info["gap"] <= 1e-8
    # Clarabel at its default tolerances (the tight ones of _oracle end
    # "optimal_inaccurate" on some of these programs)
    optimum = cvxpy_oracle(
        program.X,
        program.Y,
        program.patterns,
        "squared_error",
        program.alpha,
        formulation=formulation,
    )
    value = program.objective(result.V, result.W, result.c)
    lower = result.info["dual"] / program.scale
    assert lower <= optimum * (1 + 1e-7) and value >= optimum * (1 - 1e-7)
    assert abs(value - optimum) <= 1e-7 * optimum
    if formulation == "relu":
        assert program.constraint_violation(result.V, result.W) == 0.0


@pytest.mark.parametrize("tol", [1e-1, 1e-3, 1e-8])
@pytest.mark.parametrize("formulation", ["relu", "gated"])
def test_certified_gap_bounds_the_true_gap(tol, formulation):
    program = _program(n=60, P=10, formulation=formulation, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = InteriorPointSolver(tol=tol).solve(program)
    optimum = _oracle(program)
    value = program.objective(result.V, result.W, result.c)
    lower = result.info["dual"] / program.scale
    assert lower <= optimum * (1 + 1e-9)
    assert value >= optimum * (1 - 1e-9)
    true_gap = (value - optimum) / value
    assert true_gap <= result.info["gap"] + 1e-9
    assert result.converged and result.info["gap"] <= tol


def test_multi_output_blocks_and_n_jobs_agree():
    program = _program(outputs=3, P=6)
    one = InteriorPointSolver(tol=1e-8, n_jobs=1).solve(program)
    two = InteriorPointSolver(tol=1e-8, n_jobs=2).solve(program)
    for a, b in zip((one.V, one.W, one.c), (two.V, two.W, two.c)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    value = program.objective(one.V, one.W, one.c)
    assert abs(value - _oracle(program)) <= 1e-7 * value


def test_start_point_is_never_worsened():
    program = _program(n=80, P=12)
    exact = InteriorPointSolver(tol=1e-8).solve(program)
    start_value = program.objective(exact.V, exact.W, exact.c)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        short = InteriorPointSolver(max_iter=2).solve(
            program, init=(exact.V, exact.W, exact.c)
        )
    assert program.objective(short.V, short.W, short.c) <= start_value * (1 + 1e-12)


@pytest.mark.parametrize("formulation", ["relu", "gated"])
@pytest.mark.parametrize("weights", [False, True])
def test_warm_start_from_the_optimum_is_certified_without_iterating(
    formulation, weights
):
    # the start's own dual bound (multipliers fitted to its residual) must
    # certify it: no iteration, and a lower bound below the independent optimum
    program = _program(n=80, P=12, formulation=formulation, weights=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        exact = InteriorPointSolver(tol=1e-9).solve(program)
    warm = InteriorPointSolver(tol=1e-6).solve(
        program, init=(exact.V, exact.W, exact.c)
    )
    optimum = _oracle(program)
    assert warm.converged and warm.n_iter == 0
    assert warm.info["gap"] <= 1e-6
    assert warm.info["dual"] / program.scale <= optimum * (1 + 1e-9)
    value = program.objective(warm.V, warm.W, warm.c)
    assert abs(value - optimum) <= 1e-6 * optimum


def test_warm_start_from_a_worse_point_still_converges():
    # a start that is not optimal is only an incumbent: the solve proceeds
    program = _program(n=80, P=12)
    rough = InteriorPointSolver(tol=1e-2).solve(program)
    zero_start = tuple(np.zeros_like(x) for x in (rough.V, rough.W, rough.c))
    result = InteriorPointSolver(tol=1e-7).solve(program, init=zero_start)
    optimum = _oracle(program)
    assert result.converged and result.n_iter > 0
    value = program.objective(result.V, result.W, result.c)
    assert abs(value - optimum) <= 1e-6 * optimum


def test_iteration_limit_warns_and_returns_a_feasible_point():
    program = _program(n=80, P=12)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        result = InteriorPointSolver(max_iter=3).solve(program)
    assert not result.converged and result.status == "max_iter"
    assert program.constraint_violation(result.V, result.W) == 0.0
    assert result.info["gap"] > 1e-8
    zero = program.objective(
        *[np.zeros_like(a) for a in (result.V, result.W)],
        np.zeros(1) + program.Y.mean(),
    )
    assert program.objective(result.V, result.W, result.c) <= zero


def test_time_limit_is_honoured():
    program = _program(n=400, d=5, P=40)
    with pytest.warns(ConvergenceWarning, match="time_limit"):
        result = InteriorPointSolver(time_limit=1e-6).solve(program)
    assert result.status == "time_limit"
    assert program.constraint_violation(result.V, result.W) == 0.0


def test_constant_target_gives_the_zero_network():
    program = _program()
    program = ConvexReLUProgram(
        X=program.X,
        Y=np.full_like(program.Y, 2.5),
        patterns=program.patterns,
        gates=program.gates,
        loss=program.loss,
        alpha=0.1,
        sample_weight=program.sample_weight,
    )
    result = InteriorPointSolver().solve(program)
    assert np.all(result.V == 0) and np.all(result.W == 0)
    assert result.c[0] == pytest.approx(2.5)


def test_rejects_losses_it_does_not_solve():
    program = _program()
    program = ConvexReLUProgram(
        X=program.X,
        Y=np.where(program.Y > 0, 1.0, -1.0),
        patterns=program.patterns,
        gates=program.gates,
        loss=get_loss("hinge"),
        alpha=0.1,
        sample_weight=program.sample_weight,
    )
    with pytest.raises(ValueError, match="not supported by solver 'ipm'"):
        InteriorPointSolver().solve(program)
    assert choose_solver(program) == "cvxpy"


def test_dense_data_with_more_features_than_samples_is_reported_honestly():
    # degenerate programs (d > n) may stall: the solver must say so and still
    # return a feasible point no worse than the zero network
    rng = np.random.RandomState(0)
    X, y = rng.randn(15, 30), rng.randn(15)
    est = ConvexReLURegressor(solver="ipm", random_state=0, pattern_strategy="random")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    if not est.converged_:
        assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
    zero_J = 0.5 * np.mean((y - y.mean()) ** 2)
    assert est.objective_ <= zero_J * (1 + 1e-12)


def test_estimator_ipm_agrees_with_cvxpy():
    rng = np.random.RandomState(3)
    X = rng.randn(120, 3)
    y = np.maximum(X @ [1.0, -2.0, 0.5], 0) + 0.05 * rng.randn(120)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        auto = ConvexReLURegressor(
            pattern_strategy="random",
            alpha=0.1,
            n_patterns=10,
            random_state=0,
            solver="ipm",
        ).fit(X, y)
    conic = ConvexReLURegressor(
        pattern_strategy="random",
        alpha=0.1,
        n_patterns=10,
        random_state=0,
        solver="cvxpy",
    ).fit(X, y)
    assert auto.solver_ == "ipm"
    # its default tol=1e-8, certified
    assert auto.converged_ and 0 <= auto.dual_gap_ <= 1e-8
    assert not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert np.isnan(conic.dual_gap_)
    assert auto.objective_ == pytest.approx(conic.objective_, rel=1e-6)


def test_binary_log_loss_by_proximal_newton_matches_cvxpy():
    from sklearn.datasets import make_moons

    from skconvexnn import ConvexReLUClassifier

    X, y = make_moons(n_samples=80, noise=0.2, random_state=0)
    fits = [
        ConvexReLUClassifier(
            pattern_strategy="random",
            alpha=1e-2,
            n_patterns=10,
            solver=solver,
            random_state=0,
        ).fit(X, y)
        for solver in ("ipm", "cvxpy")
    ]
    assert fits[0].converged_
    assert fits[0].program_objective_ == pytest.approx(
        fits[1].program_objective_, rel=1e-6
    )


def test_certifies_with_unequal_sample_weights():
    """With an intercept, the all-ones group's bias entry of the dual residual
    is exactly zero; its rounding used to break the dual repair when sample
    weights differ (certified gap 0.90 at the optimum)."""
    from sklearn.datasets import make_moons
    from sklearn.utils.class_weight import compute_sample_weight

    X, labels = make_moons(n_samples=90, noise=0.25, random_state=0)
    keep = np.r_[np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)[:25]]
    X, labels = X[keep], labels[keep]
    y = np.where(labels == 1, 1.0, -1.0)
    weights = compute_sample_weight("balanced", labels)
    D, gates = random_patterns(add_bias_column(X), 8, random_state=0)
    program = ConvexReLUProgram(
        X=X,
        Y=y[:, None],
        patterns=D,
        gates=gates,
        loss=get_loss("squared_error"),
        alpha=1e-2,
        sample_weight=weights,
    )
    result = InteriorPointSolver(tol=1e-6).solve(program)
    assert result.converged and result.info["gap"] <= 1e-6
    expected = cvxpy_oracle(
        X, y[:, None], D, "squared_error", 1e-2, sample_weight=weights
    )
    assert program.objective(result.V, result.W, result.c) == pytest.approx(
        expected, rel=1e-6
    )


def test_cost_split_accounts_for_the_solve():
    import time

    program = _program(n=200, P=12)
    start = time.perf_counter()
    result = InteriorPointSolver(tol=1e-8).solve(program)
    elapsed = time.perf_counter() - start
    split = result.info["time_split"]
    assert set(split) == {
        "assembly",
        "factorisation",
        "certificate",
        "solves_and_elementwise",
    }
    assert all(value >= 0 for value in split.values())
    assert split["factorisation"] > 0 and split["certificate"] > 0
    assert sum(split.values()) <= elapsed


@pytest.mark.parametrize("tol", [1e-4, 1e-8])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_screened_cone_rows_solve_the_whole_program(tol, fit_intercept):
    # 6 of 200 rows per pattern to start with: the first iterates violate
    # rows outside the set, which must join it; the answer is the whole
    # program's (cvxpy over every row), exactly feasible on every row
    program = _program(n=200, d=4, P=20, alpha=0.02, fit_intercept=fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = InteriorPointSolver(tol=tol, working_rows=6).solve(program)
    assert 6 < result.info["working_rows"] < 200
    assert result.info["gap"] <= tol
    _assert_certified_optimum(program, result)


def test_auto_working_rows_agree_with_every_row():
    # n = 600 >= 2k: "auto" screens (k = 132 of 600 rows per pattern)
    program = _program(n=600, d=3, P=20, alpha=0.02, seed=3)
    screened = InteriorPointSolver(tol=1e-8).solve(program)
    full = InteriorPointSolver(tol=1e-8, working_rows=None).solve(program)
    assert screened.info["working_rows"] < 600 == full.info["working_rows"]
    _assert_screened_agrees(program, screened, full)
    assert program.constraint_violation(screened.V, screened.W) == 0.0


def test_repeated_rows_are_one_constraint_of_the_working_set():
    # every row four times: the 132 working rows of a pattern are 132
    # distinct constraints (not 33), so the set covers what it covers
    # without repeats and the answer is the program's, as without screening
    program = _program(n=150, d=3, P=20, alpha=0.02, seed=5)
    repeated = ConvexReLUProgram(
        X=np.repeat(program.X, 4, axis=0),
        Y=np.repeat(program.Y, 4, axis=0),
        patterns=np.repeat(program.patterns, 4, axis=0),
        gates=program.gates,
        loss=program.loss,
        alpha=4 * program.alpha,
        sample_weight=np.ones(600),
    )
    screened = InteriorPointSolver(tol=1e-8, working_rows=40).solve(repeated)
    full = InteriorPointSolver(tol=1e-8, working_rows=None).solve(repeated)
    assert screened.info["working_rows"] == 40  # no row to add
    _assert_screened_agrees(repeated, screened, full)


@pytest.mark.parametrize("tol", [1e-4, 1e-8])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
def test_woodbury_newton_systems_solve_the_program(tol, fit_intercept, weights):
    # n = 30 samples, P(d+1) = 125: the Newton matrices are solved through
    # the 30 x 30 capacitance matrix of the Woodbury identity, at every
    # iteration but possibly the last (a wrong direction would send the solve
    # to the dense fallback at the first one)
    program = _program(
        n=30, d=4, P=25, alpha=0.05, fit_intercept=fit_intercept, weights=weights
    )
    result = InteriorPointSolver(tol=tol).solve(program)
    factorizations = result.info["factorizations"]
    assert factorizations["woodbury"] >= result.n_iter
    assert result.converged and result.info["gap"] <= tol
    _assert_certified_optimum(program, result)


def _log_loss_program(n=60, d=3, P=12, seed=3):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    y = (X[:, 0] - np.maximum(X[:, 1], 0) + 0.3 * rng.randn(n) > 0).astype(float)
    D, gates = random_patterns(add_bias_column(X), P, random_state=seed)[:2]
    return ConvexReLUProgram(
        X=X,
        Y=y[:, None],
        patterns=D,
        gates=gates,
        loss=get_loss("binary_log_loss"),
        alpha=0.02,
        sample_weight=np.ones(n),
    )


def _log_loss_optimum(program):
    return cvxpy_oracle(
        program.X,
        program.Y,
        program.patterns,
        "binary_log_loss",
        program.alpha,
        sample_weight=program.sample_weight,
        **TIGHT,
    )


def test_woodbury_log_loss_by_proximal_newton_matches_cvxpy():
    program = _log_loss_program(n=40, d=5, P=40, seed=2)
    result = InteriorPointSolver(tol=1e-8).solve(program)
    assert result.converged
    optimum = _log_loss_optimum(program)
    value = program.objective(result.V, result.W, result.c)
    assert abs(value - optimum) <= 1e-6 * optimum
    assert program.constraint_violation(result.V, result.W) == 0.0


@pytest.mark.parametrize("tol", [1e-4, 1e-8])
def test_woodbury_leaves_out_light_rows_and_still_solves_the_program(tol):
    # weights over nine orders of magnitude (as the log-loss curvature on
    # nearly separated data): rows below 1e-4 of the heaviest are left out of
    # the capacitance matrix and conjugate gradients on the exact system
    # make up for them; the answer is the certified optimum all the same
    from dataclasses import replace

    rng = np.random.RandomState(5)
    program = replace(
        _program(n=30, d=4, P=25, alpha=0.05),
        sample_weight=10.0 ** rng.uniform(-9, 0, 30),
    )
    light = program.sample_weight < 1e-4 * program.sample_weight.max()
    assert light.sum() >= 8
    result = InteriorPointSolver(tol=tol).solve(program)
    assert result.info["factorizations"]["woodbury"] >= result.n_iter
    assert result.info["capacitance_rows"] == 30 - light.sum()
    assert result.converged and result.info["gap"] <= tol
    _assert_certified_optimum(program, result)


def test_woodbury_preconditioner_survives_a_rounding_indefinite_block(monkeypatch):
    # K_v S^-1 K_w is positive semi-definite, but near the optimum rounding
    # can leave a block with a tiny negative eigenvalue; it used to send the
    # solve to the dense factor for good (53 s per factor at P(d+1) = 11 935).
    # Now the preconditioner's eigenvalues are floored and CG solves the
    # exact system: the same certified optimum, no dense factor
    from skconvexnn.solvers import ipm as ipm_module

    original = ipm_module._PrimalDual._factor_woodbury

    def indefinite(self, blocks):
        blocks = blocks.copy()
        lam, vec = np.linalg.eigh(blocks[0])
        blocks[0] -= (lam[0] + 1e-14 * lam[-1]) * np.outer(vec[:, 0], vec[:, 0])
        return original(self, blocks)

    monkeypatch.setattr(ipm_module._PrimalDual, "_factor_woodbury", indefinite)
    program = _program(n=30, d=4, P=25, alpha=0.05)
    result = InteriorPointSolver(tol=1e-8).solve(program)
    assert result.info["factorizations"]["dense"] == 0
    assert result.converged and result.info["gap"] <= 1e-8
    _assert_certified_optimum(program, result)


def test_face_polish_gram_through_the_rows_equals_the_gram_matrix():
    # the face polish forms E^T A E through A = L^T L (L: the n rows) where
    # the Woodbury path holds L; against the Gram matrix formed in chunks
    from skconvexnn.solvers.ipm import _Quadratic

    program = _program(n=30, d=4, P=25, alpha=0.05)
    q = _Quadratic(program)
    rng = np.random.RandomState(0)
    groups = np.array([0, 3, 7, q.n_groups - 1])
    bases = {g: np.linalg.qr(rng.randn(q.p, 1 + g % 3))[0] for g in groups}
    offsets = np.r_[0, np.cumsum([bases[g].shape[1] for g in groups])]
    E = np.zeros((q.P * q.p, offsets[-1]))
    for j, g in enumerate(groups):
        i = q.pattern[g]
        E[i * q.p : (i + 1) * q.p, offsets[j] : offsets[j + 1]] = q.sign[g] * bases[g]
    expected = E.T @ q._gram(1) @ E
    assert "scaled_Ft" not in q.__dict__
    assert q.scaled_Ft.shape == (q.P * q.p, q.n)  # the Woodbury path's rows
    got = q._face_gram(E, groups, bases, offsets)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_a_budget_of_one_newton_step_still_takes_it():
    # cutting-plane rounds take one proximal Newton step: it must be taken
    # even when its decrement is already below tol (it used to be dropped,
    # returning the start unchanged)
    program = _log_loss_program()
    optimum = _log_loss_optimum(program)
    near = InteriorPointSolver(tol=1e-3).solve(program)
    start = (near.V, near.W, near.c)
    f_start = program.objective(*start)
    assert f_start > optimum * (1 + 1e-7)
    solver = InteriorPointSolver(tol=1e-2, newton_steps=1, certify_start=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = solver.solve(program, init=start)
    assert result.info["newton_steps"] == 1
    value = program.objective(result.V, result.W, result.c)
    assert optimum * (1 - 1e-9) <= value < f_start
    assert program.constraint_violation(result.V, result.W) == 0.0
