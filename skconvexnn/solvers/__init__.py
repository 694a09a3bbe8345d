"""Solvers of the convex program, behind one contract (see ``_base``)."""

from ._base import BaseSolver, SolverResult
from .admm import ADMMSolver
from .conic import ConicSolver
from .ipm import InteriorPointSolver

#: Solver name -> class. ``"auto"`` is resolved by :func:`choose_solver`.
SOLVERS = {"cvxpy": ConicSolver, "ipm": InteriorPointSolver, "admm": ADMMSolver}


#: ``n P (d+1)`` (entries of ``F``) up to which ``"auto"`` keeps cvxpy with an
#: open back-end: Clarabel takes a few seconds there and is the most robust
#: on small degenerate data (more features than samples, duplicated rows).
SMALL_PROGRAM = 200_000


def choose_solver(program):
    """The solver ``solver="auto"`` uses for ``program``.

    The rule, from ``asv_benchmarks/bench_solvers.py`` and ``bench_admm.py``
    (2 cores):

    1. a licensed commercial cvxpy back-end (MOSEK, Gurobi, ...) that fits in
       memory: ``"cvxpy"``;
    2. the gated formulation (a group lasso): ``"admm"``, which converges in
       tens of iterations and was the fastest solver measured at every size
       (n = 1000 to 10^5);
    3. small programs (``n P (d+1) <= SMALL_PROGRAM``): ``"cvxpy"`` (Clarabel),
       robust on degenerate small data;
    4. losses the interior-point method solves, if it fits in memory:
       ``"ipm"`` (11-120x faster than Clarabel at n = 1000-2000, certified);
    5. losses ADMM solves: ``"admm"`` (the lightest in memory);
    6. otherwise ``"cvxpy"``.
    """
    from .conic import COMMERCIAL_BACKENDS, route

    def handles(cls):
        return (
            program.loss.name in cls.supported_losses
            and program.formulation in cls.supported_formulations
        )

    cvxpy_fits = _fits_in_memory(ConicSolver(), program)
    if cvxpy_fits:
        order, _ = route(None)
        if order and order[0] in COMMERCIAL_BACKENDS:
            return "cvxpy"
    if program.formulation == "gated" and handles(ADMMSolver):
        return "admm"
    size = program.n_samples * program.n_patterns * (program.n_features + 1)
    if size <= SMALL_PROGRAM and cvxpy_fits:
        return "cvxpy"
    if handles(InteriorPointSolver) and _fits_in_memory(InteriorPointSolver(), program):
        return "ipm"
    if handles(ADMMSolver):
        return "admm"
    return "cvxpy"


def _fits_in_memory(solver, program):
    from ._base import MEMORY_FRACTION, available_memory

    available = available_memory()
    return available is None or solver.memory_estimate(program) <= (
        MEMORY_FRACTION * available
    )


__all__ = [
    "SOLVERS",
    "ADMMSolver",
    "BaseSolver",
    "ConicSolver",
    "InteriorPointSolver",
    "SolverResult",
    "choose_solver",
]
