"""Solvers of the convex program, behind one contract (see ``_base``)."""

from ._base import BaseSolver, SolverResult
from .conic import ConicSolver

#: Solver name -> class. ``"auto"`` is resolved by the estimators.
SOLVERS = {"cvxpy": ConicSolver}

__all__ = ["SOLVERS", "BaseSolver", "ConicSolver", "SolverResult"]
