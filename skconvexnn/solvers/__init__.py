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
    (2 cores, same process):

    1. a licensed commercial cvxpy back-end (MOSEK, Gurobi, ...) that fits in
       memory: ``"cvxpy"``;
    2. small programs (``n P (d+1) <= SMALL_PROGRAM``): ``"cvxpy"`` (Clarabel,
       a few seconds at most), robust on degenerate small data;
    3. losses the interior-point method solves (squared error; binary
       log-loss and Poisson by proximal Newton), if it fits in memory:
       ``"ipm"`` — at n = 1000, d = 10, P = 100 it was 71-84x faster than
       Clarabel on the ReLU program with the squared loss (certified
       3.8e-5-7.5e-5, each solver in its own process) and 22x on the gated
       one, and faster than ADMM on both (ADMM: 0.7-1.4x Clarabel on the ReLU
       program, 11-18x on the gated one); with its working rows it certified
       the ReLU program at n = 10^5, d = 20, P = 200 in 51 s (1.0 GiB). On the
       two-class log-loss (random patterns): breast_cancer, P = 31, 12-45 s
       against Clarabel's 88-196 s (alpha 0.1 and 1e-4); n = 1000, d = 10,
       P = 50: 3.3 s against 312 s; n = 3000, d = 20, P = 21: 6.3 s against
       436 s, the same objective; the Poisson loss at n = 1000, d = 10,
       P = 50: 2.2 s against 89 s;
    4. other losses (multi-class log-loss, hinge), if cvxpy fits in memory:
       ``"cvxpy"``;
    5. losses ADMM solves: ``"admm"``, the lightest in memory (no ``n x 2P``
       barrier arrays in double precision, single-precision slacks at
       scale);
    6. otherwise ``"cvxpy"``.
    """
    from .conic import COMMERCIAL_BACKENDS, route

    cvxpy_fits = ConicSolver().fits_in_memory(program)
    if cvxpy_fits:
        order, _ = route(None)
        if order and order[0] in COMMERCIAL_BACKENDS:
            return "cvxpy"
    size = program.n_samples * program.n_patterns * (program.n_features + 1)
    if size <= SMALL_PROGRAM and cvxpy_fits:
        return "cvxpy"
    ipm = InteriorPointSolver()
    ipm_fits = ipm.handles(program) and ipm.fits_in_memory(program)
    if ipm_fits:
        return "ipm"
    if cvxpy_fits:
        return "cvxpy"
    if ADMMSolver.handles(program):
        return "admm"
    return "cvxpy"


__all__ = [
    "SOLVERS",
    "ADMMSolver",
    "BaseSolver",
    "ConicSolver",
    "InteriorPointSolver",
    "SolverResult",
    "choose_solver",
]
