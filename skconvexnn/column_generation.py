r"""Column generation: grow the pattern set of the convex program from a network.

Only the activation patterns of the optimal network's units matter; the dual
constraint :math:`\max_u |\Gamma^\top(\tilde X u)_+| \le \alpha` tells which
pattern is missing (:mod:`skconvexnn.certificates`). :func:`grow_network` starts
from a network (an lbfgs MLP), and in rounds

1. searches the loss gradient :math:`\Gamma` at the network's outputs for units
   that violate the dual constraint (:func:`~skconvexnn.certificates.find_violating_units`);
2. with a ``solver``: solves the convex program over the patterns of the
   network's units, the violating patterns and the all-ones pattern, given
   the network itself as starting point (a feasible point whose program value
   is at most the network's ``J``; the built-in solver keeps it as its
   incumbent), and recovers the network; without one: adds the
   violating units with a common scale found by line search;
3. polishes the network by L-BFGS on ``J``, drops units too small to matter
   and merges units with the same activation pattern and output sign (one
   output; this never raises ``J``).

The best network seen is kept, so the result is never worse than the starting
network. Rounds stop when no violating unit is found, after ``max_rounds``,
when a round lowers ``J`` by less than ``min_gain`` relative, or at
``time_limit``.
"""

import time
import warnings
from dataclasses import replace

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from .certificates import find_violating_units
from .losses import SquaredError
from .network import (
    PRUNE_RTOL,
    forward,
    mlp_objective,
    network_to_groups,
    polish_network,
    recover_network,
)
from .operators import add_bias_column
from .patterns import unit_patterns
from .problem import ConvexReLUProgram

#: Relative size under which a recovered unit is dropped between rounds (the
#: interior-point solution keeps every group slightly non-zero).
ROUND_PRUNE_RTOL = 1e-2
#: Relative gap of the first round's solve (later rounds follow their gains;
#: rounds keep the best network, the last solve's gap is reported).
ROUND_TOL = 1e-3
#: A round that lowers J by less than this fraction made no progress: its
#: solve is retried 100x tighter, or the rounds stop.
MIN_PROGRESS = 1e-8
#: The round tolerance follows a tenth of the last round's relative gain,
#: down to this.
MIN_ROUND_TOL = 1e-8


def merge_units(coefs, intercepts, X):
    r"""Merge hidden units with the same activation pattern and output sign.

    Units :math:`a (w^\top x + b)_+` and :math:`a' (w'^\top x + b')_+` with the
    same pattern on ``X`` and output weights of the same sign (one output)
    become one unit with group :math:`|a|(w, b) + |a'|(w', b')`, rescaled so its
    weight and output norms balance: the function is unchanged on ``X`` and
    the weight-decay penalty does not increase. Units that are zero on every
    row of ``X`` or have a zero output weight are dropped.

    Parameters
    ----------
    coefs, intercepts : lists of ndarrays in MLP layout, one output
    X : ndarray of shape (n, d)

    Returns
    -------
    coefs, intercepts : lists of ndarrays
    """
    W1, W2 = coefs
    b1 = intercepts[0]
    active = X @ W1 + b1 > 0
    groups = {}
    for j in np.flatnonzero(active.any(axis=0) & (W2[:, 0] != 0)):
        key = (np.packbits(active[:, j]).tobytes(), W2[j, 0] > 0)
        groups.setdefault(key, []).append(j)
    units, outs = [], []
    for (_, positive), members in groups.items():
        u = sum(abs(W2[j, 0]) * np.append(W1[:, j], b1[j]) for j in members)
        norm = np.linalg.norm(u[:-1])
        if norm == 0.0:
            continue
        units.append(u / np.sqrt(norm))
        outs.append(np.sqrt(norm) if positive else -np.sqrt(norm))
    d = W1.shape[0]
    U = np.array(units).reshape(-1, d + 1)
    return (
        [np.ascontiguousarray(U[:, :d].T), np.array(outs).reshape(-1, 1)],
        [U[:, d].copy(), intercepts[1].copy()],
    )


def _scale_new_units(Z, E, n_new, Y, loss, alpha, sample_weight):
    """Common scale ``tau`` of new units whose outputs sum to ``tau * E``,
    minimising ``loss(Z + tau E) + alpha * tau * n_new`` (0 if none helps)."""
    from scipy.optimize import minimize_scalar

    def value(tau):
        return loss.value(Z + tau * E, Y, sample_weight) + alpha * tau * n_new

    curvature = float(sample_weight @ np.sum(E * E, axis=1))
    slope = -float(np.sum(loss.gradient(Z, Y, sample_weight) * E)) - alpha * n_new
    if slope <= 0 or curvature <= 0:
        return 0.0
    grid = slope / curvature * np.geomspace(1e-3, 1e2, 16)
    values = [value(t) for t in grid]
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = minimize_scalar(value, bounds=(lo, hi), method="bounded")
    tau = float(res.x) if res.fun <= values[i] else float(grid[i])
    return tau if value(tau) < value(0.0) else 0.0


def _add_units(coefs, intercepts, units, X, Y, loss, alpha, sample_weight):
    """Append violating ``units`` (gate, sign, output, value) with a common scale."""
    Z = forward(coefs, intercepts, X)
    gates = np.array([unit[0] for unit in units]).T  # (d + 1, k)
    signs = np.array([unit[1] for unit in units])
    outputs = np.array([unit[2] for unit in units])
    H = np.maximum(X @ gates[:-1] + gates[-1], 0.0) * signs
    E = np.zeros_like(Z)
    np.add.at(E.T, outputs, H.T)
    tau = _scale_new_units(Z, E, len(units), Y, loss, alpha, sample_weight)
    if tau == 0.0:
        return None
    root = np.sqrt(tau)
    W2 = np.zeros((len(units), Y.shape[1]))
    W2[np.arange(len(units)), outputs] = root * signs
    return (
        [np.hstack([coefs[0], root * gates[:-1]]), np.vstack([coefs[1], W2])],
        [np.concatenate([intercepts[0], root * gates[-1]]), intercepts[1]],
    )


def _round_program(program, start, solver):
    """The program a round's ``solver`` solves: ``program`` itself, or, for a
    loss the solver does not take but which has a squared-loss
    ``majorizer`` (the multinomial log-loss), the majorizer at ``start``:
    its minimiser never raises ``program``'s objective (a
    majorization-minimization step; the L-BFGS polish that follows works on
    the loss itself)."""
    loss = program.loss
    if solver.handles(program) or not hasattr(loss, "majorizer"):
        return program
    targets, weights = loss.majorizer(
        program.outputs(*start), program.Y, program.sample_weight
    )
    return replace(program, Y=targets, sample_weight=weights, loss=SquaredError())


def _solve_over_patterns(coefs, intercepts, units, program_args, solver, deadline):
    """Solve the program over the network's and the new units' patterns,
    started from the network; return the recovered network (groups below
    ``ROUND_PRUNE_RTOL`` of the largest pruned), program, result."""
    own = np.vstack([coefs[0], intercepts[0]])
    new = np.array([unit[0] for unit in units]).T.reshape(own.shape[0], -1)
    D, gates, index = unit_patterns(
        add_bias_column(program_args["X"]),
        np.hstack([own, new]),
        fit_intercept=program_args["fit_intercept"],
    )
    program = ConvexReLUProgram(patterns=D, gates=gates, **program_args)
    start = network_to_groups(coefs, intercepts, program, index[: own.shape[1]])
    if deadline is not None:  # the rounds share the fit's time limit
        solver.time_limit = max(deadline - time.perf_counter(), 1e-3)
    with warnings.catch_warnings():
        # a round that stops early still returns a feasible point; the
        # rounds keep the best network
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = solver.solve(_round_program(program, start, solver), init=start)
    if program.objective(result.V, result.W, result.c) > program.objective(*start):
        result = replace(result, V=start[0], W=start[1], c=start[2])
    coefs, intercepts = recover_network(
        result.V, result.W, result.c, program, prune_rtol=ROUND_PRUNE_RTOL
    )
    return coefs, intercepts, program, result


def grow_network(
    X,
    Y,
    sample_weight,
    coefs,
    intercepts,
    *,
    loss,
    alpha,
    solver=None,
    formulation="relu",
    fit_intercept=True,
    max_rounds=10,
    min_gain=MIN_PROGRESS,
    n_units=20,
    polish_iter=500,
    time_limit=None,
    random_state=None,
    log=None,
    on_round=None,
):
    """Column generation from a starting network (see the module docstring).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n, m)
        Encoded targets.
    sample_weight : ndarray of shape (n,)
    coefs, intercepts : lists of ndarrays in MLP layout
        Starting network (its output intercept is set to 0 when
        ``fit_intercept=False``).
    loss : BaseLoss
    alpha : float
    solver : BaseSolver or None
        Solver of the convex program in each round; None grows the network
        by line search and L-BFGS only. Its ``tol`` is lowered after every
        round to a tenth of the relative gain of that round (not below
        ``MIN_ROUND_TOL``), so that each solve is accurate enough to show the
        next, smaller gain.
    formulation : {"relu", "gated"}, default="relu"
    fit_intercept : bool, default=True
    max_rounds : int, default=10
    min_gain : float, default=MIN_PROGRESS
        The rounds stop after one that lowers ``J`` by a positive fraction
        below ``min_gain`` (one that lowers it by less than ``MIN_PROGRESS``
        is first retried with a tighter solve).
    n_units : int, default=20
        Violating units (distinct patterns) added per round and output.
    polish_iter : int, default=500
        L-BFGS iterations per round (four times as many on the start network).
    time_limit : float or None
        Seconds after which no new round starts.
    random_state : int, RandomState instance or None
    log : callable or None
        Called with a message after every round.
    on_round : callable or None
        ``on_round(coefs, intercepts, record)`` after the polishing of the
        start network and after every round, with the network and a record
        (``stage``, ``J`` of that network, the ``violation`` found at the start
        of the round, ``n_neurons`` at its start, ``n_added``); a true return
        value stops the rounds (the best network so far is returned).

    Returns
    -------
    coefs, intercepts : lists of ndarrays
        The best network found (never worse than the starting one).
    last : tuple (program, result) or None
        The last convex program solved and its ``SolverResult``.
    history : list of dict
        Per round: ``J`` and ``violation`` at the start of the round,
        ``n_neurons``, ``n_added`` and elapsed ``time``.
    """
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    rng = check_random_state(random_state)
    m = Y.shape[1]
    if not fit_intercept:  # the program has no output intercept
        intercepts = [intercepts[0], np.zeros(m)]
    args = (X, Y, loss, alpha, sample_weight)
    program_args = dict(
        X=X,
        Y=Y,
        loss=loss,
        alpha=alpha,
        sample_weight=sample_weight,
        formulation=formulation,
        fit_intercept=fit_intercept,
    )

    def tidy(coefs, intercepts, max_iter):
        coefs, intercepts, J = polish_network(
            coefs,
            intercepts,
            *args,
            max_iter=max_iter,
            fit_intercept=fit_intercept,
            deadline=deadline,
        )
        if m == 1:
            coefs, intercepts = merge_units(coefs, intercepts, X)
            J = mlp_objective(coefs, intercepts, *args)
        return coefs, intercepts, J

    best = (mlp_objective(coefs, intercepts, *args), coefs, intercepts)
    coefs, intercepts, J = tidy(coefs, intercepts, 4 * polish_iter)
    if J < best[0]:
        best = (J, coefs, intercepts)
    start_record = dict(
        stage="polished start",
        J=J,
        violation=np.nan,
        n_neurons=coefs[0].shape[1],
        n_added=0,
    )
    if on_round is not None and on_round(coefs, intercepts, start_record):
        return best[1], best[2], None, []
    last, history = None, []
    last_violation = np.inf
    for _ in range(max_rounds):
        if deadline is not None and time.perf_counter() > deadline:
            break
        G = loss.gradient(forward(coefs, intercepts, X), Y, sample_weight)
        search = find_violating_units(
            X,
            G,
            alpha,
            start_gates=np.vstack([coefs[0], intercepts[0]]),
            n_units=n_units,
            fit_intercept=fit_intercept,
            random_state=rng,
        )
        record = dict(
            J=J,
            violation=search.violation,
            n_neurons=coefs[0].shape[1],
            n_added=0,
            time=time.perf_counter() - start,
        )
        history.append(record)
        if not search.units:
            if J > best[0]:
                # this network is not the best one: search from the best
                J, coefs, intercepts = best
                continue
            break
        if solver is not None:
            J_before = J
            coefs, intercepts, program, result = _solve_over_patterns(
                coefs,
                intercepts,
                search.units,
                program_args,
                solver,
                deadline,
            )
            last = (program, result)
        else:
            grown = _add_units(coefs, intercepts, search.units, *args)
            if grown is None:
                break
            coefs, intercepts = grown
        record["n_added"] = len(search.units)
        coefs, intercepts, J = tidy(coefs, intercepts, polish_iter)
        if solver is not None and J > J_before:
            # pruning the interior point's small groups cost more than the
            # round gained: try the unpruned solution
            full = recover_network(
                result.V, result.W, result.c, program, prune_rtol=PRUNE_RTOL
            )
            full = tidy(*full, polish_iter)
            if full[2] < J:
                coefs, intercepts, J = full
        record["time"] = time.perf_counter() - start
        if log is not None:
            log(
                f"round {len(history)}: violation {search.violation:.3g}, "
                f"J {J:.8g}, {coefs[0].shape[1]} neurons"
            )
        gain = (best[0] - J) / best[0]
        if solver is not None and gain > 0:
            # solve the next round to a gap below the gain this one brought
            solver.tol = float(np.clip(0.1 * gain, MIN_ROUND_TOL, solver.tol))
        progress = gain > MIN_PROGRESS
        if J < best[0]:
            best = (J, coefs, intercepts)
        after = dict(record, J=J, stage=f"round {len(history)}")
        if on_round is not None and on_round(coefs, intercepts, after):
            break
        if progress and gain < min_gain:
            break
        if not progress:
            if solver is not None and solver.tol > MIN_ROUND_TOL:
                # the round's solve may have been too coarse to show the
                # remaining gain: retry from the best network, 100x tighter
                solver.tol = max(MIN_ROUND_TOL, 0.01 * solver.tol)
                J, coefs, intercepts = best
                continue
            if not search.violation < 0.5 * last_violation:
                break
            # J has converged to the solver's accuracy but the dual violation
            # still falls fast: the next rounds can certify the optimum
        last_violation = search.violation
    return best[1], best[2], last, history
