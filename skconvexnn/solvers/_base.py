"""Solver contract: ``solve(program, *, init=None) -> SolverResult``.

A solver validates that it supports the program (loss and formulation), then
runs ``_solve``. It knows nothing about estimators: no ``fit_intercept`` logic
beyond what the program states, no label encoding, no network recovery.
"""

import os
import time
from dataclasses import dataclass, field

import numpy as np

from ..exceptions import InsufficientMemoryError

#: Fraction of the available memory a solve may plan to use.
MEMORY_FRACTION = 0.8


def available_memory():
    """Bytes of memory available to this process (Linux: ``MemAvailable``;
    elsewhere the physical memory), or None when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _gib(n_bytes):
    return f"{n_bytes / 2**30:.2f} GiB"


@dataclass
class SolverResult:
    """Solution of a convex program and how it was obtained.

    Attributes
    ----------
    V, W : ndarray of shape (m, P, d + 1)
        Group coefficients.
    c : ndarray of shape (m,)
        Output intercepts.
    solver : str
        Name of the back-end that produced the solution, e.g. ``"cvxpy:CLARABEL"``.
    status : str
        ``"optimal"`` or the back-end's status when it stopped early.
    converged : bool
        Whether the back-end reports convergence to its tolerance.
    n_iter : int
        Iterations of the back-end (summed over independent blocks).
    solve_time : float
        Wall time in seconds.
    info : dict
        Back-end specific details (plain Python values only).
    """

    V: np.ndarray
    W: np.ndarray
    c: np.ndarray
    solver: str
    status: str
    converged: bool
    n_iter: int
    solve_time: float = 0.0
    info: dict = field(default_factory=dict)


def add_to_block_diagonal(M, blocks, count=None, start=0):
    """Add ``blocks`` to consecutive ``p x p`` diagonal blocks of ``M`` in place.

    Parameters
    ----------
    M : ndarray of shape (N, N)
    blocks : ndarray of shape (G, p, p), or (p, p) added ``count`` times
    count : int or None
        Number of diagonal blocks when ``blocks`` is a single block.
    start : int, default=0
        Row (and column) of ``M`` where the first block starts.
    """
    blocks = np.asarray(blocks)
    if blocks.ndim == 2:
        blocks = np.broadcast_to(blocks, (count, *blocks.shape))
    G, p, _ = blocks.shape
    view = M[start : start + G * p, start : start + G * p].view()
    view.shape = (G, p, G, p)  # raises instead of silently copying
    idx = np.arange(G)
    view[idx, :, idx, :] += blocks


def combine_blocks(blocks):
    """One result from the results of a program's independent output blocks
    (the largest certified gap when every block has one)."""
    if len(blocks) == 1:
        return blocks[0]
    info = {"blocks": [b.info for b in blocks]}
    if all("gap" in b.info for b in blocks):
        info["gap"] = max(b.info["gap"] for b in blocks)
    return SolverResult(
        V=np.concatenate([b.V for b in blocks]),
        W=np.concatenate([b.W for b in blocks]),
        c=np.concatenate([b.c for b in blocks]),
        solver=",".join(dict.fromkeys(b.solver for b in blocks)),
        status=",".join(dict.fromkeys(b.status for b in blocks)),
        converged=all(b.converged for b in blocks),
        n_iter=sum(b.n_iter for b in blocks),
        info=info,
    )


def where_stopped(info):
    """How far a built-in solver got, for its ConvergenceWarning."""
    if "newton_steps" in info:
        return f"after {info['newton_steps']} Newton steps"
    return f"at a certified relative gap of {info['gap']:.2e}"


def zero_solution(program):
    """The all-zero point (feasible for every formulation) as arrays."""
    shape = (program.n_outputs, program.n_patterns, program.n_features + 1)
    return np.zeros(shape), np.zeros(shape), np.zeros(program.n_outputs)


def fits_program(program, init):
    """Whether a starting point ``init = (V, W, c)`` has the program's shapes
    and finite values."""
    V, W, c = init
    shape = (program.n_outputs, program.n_patterns, program.n_features + 1)
    if V.shape != shape or W.shape != shape or c.shape != (program.n_outputs,):
        return False
    return all(np.all(np.isfinite(a)) for a in init)


class BaseSolver:
    """Base class of the solvers.

    Subclasses set ``supported_losses`` and ``supported_formulations`` and
    implement ``_solve``.
    """

    name = None
    supported_losses = ()
    supported_formulations = ("relu", "gated")

    @classmethod
    def losses_for(cls, formulation):
        """Losses this solver supports with ``formulation``."""
        return cls.supported_losses

    @classmethod
    def handles(cls, program):
        """Whether this solver supports the program's loss and formulation."""
        return (
            program.formulation in cls.supported_formulations
            and program.loss.name in cls.losses_for(program.formulation)
        )

    def fits_in_memory(self, program, available=None):
        """Whether the estimate is within ``MEMORY_FRACTION`` of the
        available memory (True when that is unknown)."""
        available = available_memory() if available is None else available
        if available is None:
            return True
        return self.memory_estimate(program) <= MEMORY_FRACTION * available

    def check_program(self, program):
        """Raise ValueError if the program is outside what this solver handles."""
        if program.formulation not in self.supported_formulations:
            raise ValueError(
                f"formulation {program.formulation!r} is not supported by solver "
                f"{self.name!r}; it supports {sorted(self.supported_formulations)}."
            )
        losses = self.losses_for(program.formulation)
        if program.loss.name not in losses:
            raise ValueError(
                f"loss {program.loss.name!r} is not supported by solver "
                f"{self.name!r}; it supports {sorted(losses)}."
            )

    def solve(self, program, *, init=None):
        """Solve ``program``.

        Parameters
        ----------
        program : ConvexReLUProgram
        init : tuple (V, W, c) or None
            Starting point; solvers that cannot warm start ignore it.

        Returns
        -------
        result : SolverResult
        """
        self.check_program(program)
        self.check_memory(program)
        start = time.perf_counter()
        result = self._solve(program, init=init)
        result.solve_time = time.perf_counter() - start
        return result

    def memory_estimate(self, program):
        """Estimated peak bytes of a solve of ``program`` (0 if unknown)."""
        return 0

    def check_memory(self, program):
        """Refuse, with the estimate, a program this solver cannot hold."""
        available = available_memory()
        if self.fits_in_memory(program, available):
            return
        from . import SOLVERS  # the other solvers' estimates, for the advice

        fits = []
        for name, cls in SOLVERS.items():
            other = cls()
            if (
                name != self.name
                and other.handles(program)
                and other.fits_in_memory(program, available)
            ):
                fits.append(
                    f"solver={name!r} (about {_gib(other.memory_estimate(program))})"
                )
        needed = self.memory_estimate(program)
        advice = "; use " + " or ".join(fits) if fits else "; no built-in solver fits"
        raise InsufficientMemoryError(
            f"solver {self.name!r} would need about {_gib(needed)} for this "
            f"program (n={program.n_samples} samples, P={program.n_patterns} "
            f"patterns, d+1={program.n_features + 1}), more than the "
            f"{_gib(available)} available{advice}, or reduce n_patterns or "
            "the number of samples."
        )

    def _solve(self, program, *, init=None):
        raise NotImplementedError
