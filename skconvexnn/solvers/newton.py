r"""Proximal Newton for smooth separable losses over a squared-loss solver.

For a one-output program with a smooth loss :math:`L` (Poisson, binary
log-loss), each step replaces :math:`L` by its second-order model at the
current outputs :math:`z^0`,

.. math::

   L(z) \approx L(z^0) + g^\top (z - z^0) + \tfrac12 (z - z^0)^\top H (z - z^0)
   = \tfrac12 \sum_k h_k (z_k - t_k)^2 + \text{const},
   \qquad t = z^0 - g / h,

which is a *weighted least-squares* program with the same patterns, cones
and penalty: sample weights :math:`h` (the loss curvature) and targets
:math:`t` (the working response of IRLS). A squared-loss solver solves it; a
backtracking line search on the true program along the segment to its
solution (feasible: the constraints are cones) makes every step a decrease.
It stops when the Newton decrement (the model's decrease) falls below
``tol`` times the objective.
"""

import time

import numpy as np

from ..losses import SquaredError
from ..problem import ConvexReLUProgram
from ._base import zero_solution

#: Newton steps allowed.
MAX_NEWTON_STEPS = 50


def _start(program):
    """The zero network with the best output intercept (a few Newton steps on
    the intercept alone), a starting point far better than ``z = 0``."""
    V, W, c = zero_solution(program)
    if not program.fit_intercept:
        return V, W, c
    s, Y, loss = program.sample_weight, program.Y, program.loss
    for _ in range(50):
        Z = np.broadcast_to(c, Y.shape)
        g = loss.gradient(Z, Y, s).sum(axis=0)
        h = loss.curvature(Z, Y, s).sum(axis=0)
        step = g / np.maximum(h, 1e-300)
        c = c - np.clip(step, -10.0, 10.0)
        if np.all(np.abs(step) <= 1e-12 * (1.0 + np.abs(c))):
            break
    return V, W, c


def prox_newton(
    program, solve_quadratic, *, tol, deadline=None, init=None, max_steps=None
):
    """Minimise a one-output program with a smooth separable loss.

    Parameters
    ----------
    program : ConvexReLUProgram
        One output; ``program.loss`` has ``gradient`` and ``curvature``.
    solve_quadratic : callable
        ``solve_quadratic(program, tol, init, time_limit) -> SolverResult`` for
        squared-loss programs.
    tol : float
        Relative Newton decrement at which to stop.
    deadline : float or None
        ``time.perf_counter()`` value after which to stop.
    init : tuple (V, W, c) or None
        Feasible starting point.
    max_steps : int or None
        Newton steps allowed (None: ``MAX_NEWTON_STEPS``).

    Returns
    -------
    point : tuple (V, W, c)
    status : str
        ``"optimal"``, ``"time_limit"``, ``"newton_step_limit"`` or
        ``"no_descent"``.
    steps : int
        Newton steps taken.
    inner_iterations : int
        Iterations of the squared-loss solver, summed.
    """
    loss, s, Y = program.loss, program.sample_weight, program.Y
    point = _start(program) if init is None else init
    f = program.objective(*point)
    pen = program.penalty(*point[:2])
    inner_tol, iterations = 1e-4, 0
    status, steps = "newton_step_limit", 0
    max_steps = MAX_NEWTON_STEPS if max_steps is None else max_steps
    while steps < max_steps:
        steps += 1
        remaining = None
        if deadline is not None:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                status = "time_limit"
                break
        Z0 = program.outputs(*point)
        g = loss.gradient(Z0, Y, s)[:, 0]
        h = loss.curvature(Z0, Y, s)[:, 0]
        h = np.maximum(h, 1e-12 * max(float(h.max()), 1e-300))
        model = ConvexReLUProgram(
            X=program.X,
            Y=(Z0[:, 0] - g / h)[:, None],
            patterns=program.patterns,
            gates=program.gates,
            loss=SquaredError(),
            alpha=program.alpha,
            sample_weight=h,
            formulation=program.formulation,
            fit_intercept=program.fit_intercept,
        )
        result = solve_quadratic(model, inner_tol, point, remaining)
        iterations += result.n_iter
        candidate = (result.V, result.W, result.c)
        dz = program.outputs(*candidate)[:, 0] - Z0[:, 0]
        new_pen = program.penalty(*candidate[:2])
        decrement = -(g @ dz + 0.5 * h @ (dz * dz) + new_pen - pen) / program.scale
        scale = max(abs(f), 1e-300)
        converged = decrement <= tol * scale
        if converged and inner_tol > tol and steps < max_steps:
            inner_tol = tol  # resolve the model exactly before concluding
            continue
        if not converged:
            # the model is solved to a relative gap inner_tol of its own
            # value: keep that error a small fraction of the decrement
            model_value = model.objective(*candidate) * model.scale
            inner_tol = float(
                np.clip(
                    0.01 * decrement * program.scale / max(model_value, 1e-300),
                    tol,
                    1e-4,
                )
            )
        # the step, even a converged one, is taken where it lowers the
        # objective (a last step allowed by max_steps must not be lost)
        t = 1.0
        while decrement > 0 and t > 1e-10:
            trial = tuple(a + t * (b - a) for a, b in zip(point, candidate))
            f_trial = program.objective(*trial)
            if f_trial <= f - 0.25 * t * decrement:
                point, f = trial, f_trial
                pen = program.penalty(*point[:2])
                break
            t *= 0.5
        else:
            if not converged:
                status = "no_descent"
                break
        if converged:
            if inner_tol <= tol:
                status = "optimal"
            break
    return point, status, steps, iterations
