"""Solvers of the convex program, behind one contract (see ``_base``)."""

from ._base import BaseSolver, SolverResult
from .admm import ADMMSolver
from .conic import ConicSolver
from .ipm import InteriorPointSolver

#: Solver name -> class. ``"auto"`` is resolved by :func:`choose_solver`.
SOLVERS = {"cvxpy": ConicSolver, "ipm": InteriorPointSolver, "admm": ADMMSolver}


def choose_solver(program):
    """The solver ``solver="auto"`` uses for ``program``: ``"cvxpy"``.

    cvxpy routes to a licensed commercial conic solver (MOSEK, Gurobi, ...)
    when one is installed, else to Clarabel, ECOS, SCS. The built-in
    interior-point method (``solver="ipm"``, squared loss) is many times faster
    and certifies its answer, but it can still stall on degenerate data (more
    features than samples, duplicated rows), so it is not chosen
    automatically yet.
    """
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
