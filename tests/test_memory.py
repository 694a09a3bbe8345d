"""The memory guard: every solver's estimate bounds its measured peak, and a
program too large for the chosen solver is refused with the estimate and the
solvers that would fit, before any work is done."""

import tracemalloc
import warnings

import numpy as np
import pytest
from test_ipm import _program

from skconvexnn import ConvexReLURegressor
from skconvexnn.exceptions import InsufficientMemoryError
from skconvexnn.solvers import ADMMSolver, ConicSolver, InteriorPointSolver, _base


def _peak(solver, program):
    """Peak bytes traced while ``solver`` solves ``program``."""
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solver.solve(program)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


@pytest.mark.parametrize("formulation", ["relu", "gated"])
@pytest.mark.parametrize("size", [(200, 5, 20), (1500, 8, 30)])
def test_estimates_bound_the_measured_peak(formulation, size):
    n, d, P = size
    program = _program(n=n, d=d, P=P, formulation=formulation)
    for solver in (
        ConicSolver("CLARABEL"),
        InteriorPointSolver(tol=1e-4),
        ADMMSolver(max_iter=100),
    ):
        assert solver.memory_estimate(program) >= _peak(solver, program), solver.name


def test_too_large_a_program_is_refused_with_the_estimate(monkeypatch):
    rng = np.random.RandomState(0)
    X, y = rng.randn(3000, 10), rng.randn(3000)
    program_bytes = ConicSolver().memory_estimate(
        _program(n=3000, d=10, P=40, formulation="relu")
    )
    # a machine with a third of what cvxpy needs here
    monkeypatch.setattr(_base, "available_memory", lambda: program_bytes / 3)
    est = ConvexReLURegressor(
        pattern_strategy="random", solver="cvxpy", n_patterns=40, random_state=0
    )
    with pytest.raises(InsufficientMemoryError, match="GiB") as info:
        est.fit(X, y)
    message = str(info.value)
    assert "solver 'cvxpy' would need about" in message
    assert "admm" in message  # the light built-in solver fits
    assert not hasattr(est, "coefs_")
    # the suggested solver runs on the same machine
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ConvexReLURegressor(
            pattern_strategy="random",
            solver="admm",
            n_patterns=40,
            max_iter=50,
            random_state=0,
        ).fit(X, y)


@pytest.mark.parametrize("formulation", ["flip_tolerant", "strict"])
@pytest.mark.parametrize("size", [(200, 5, 20), (1500, 8, 30)])
def test_robust_admm_estimate_bounds_the_measured_peak(formulation, size):
    from skconvexnn.losses import Hinge
    from skconvexnn.robust_program import RobustProgram

    n, d, P = size
    base = _program(n=n, d=d, P=P)
    program = RobustProgram(
        X=base.X,
        y=np.where(base.Y[:, 0] > np.median(base.Y[:, 0]), 1.0, -1.0),
        patterns=base.patterns,
        gates=base.gates,
        loss=Hinge(),
        alpha=0.1,
        epsilon=0.05,
        sample_weight=np.ones(n),
        formulation=formulation,
    )
    # two back-end iterations: the peak is the compilation and first factor
    for solver in (ConicSolver("CLARABEL", max_iter=2), ADMMSolver(max_iter=100)):
        assert solver.memory_estimate(program) >= _peak(solver, program), solver.name
