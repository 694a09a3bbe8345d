"""Warnings and errors raised by skconvexnn."""

from sklearn.exceptions import ConvergenceWarning

__all__ = [
    "ConvergenceWarning",
    "SolverLicenseWarning",
    "SolverFailedError",
    "InsufficientMemoryError",
]


class SolverLicenseWarning(UserWarning):
    """A solver is installed but has no usable licence; another one is used."""


class SolverFailedError(RuntimeError):
    """No solver produced a usable solution of the convex program."""


class InsufficientMemoryError(MemoryError):
    """The chosen solver would need more memory than the machine has; the
    message gives the estimate and the solvers that would fit."""
