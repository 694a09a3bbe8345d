"""Conic back-ends through cvxpy: routing, licence probes, status handling.

This is the only module of skconvexnn that imports cvxpy, and it does so lazily.

Routing (``backend=None``): licensed commercial solvers first, in the order of
``COMMERCIAL_BACKENDS``, then the open ones of ``OPEN_BACKENDS``. A back-end is
used only if cvxpy reports it installed, it supports the cones the loss needs
(the log-losses need the exponential cone) and, for MOSEK and Gurobi, a licence
probe succeeds. The probe runs once per process and is cached. A back-end that
raises, fails, or returns no finite solution is skipped with a warning and the
next one is tried; a back-end that stops early (iteration or time limit,
inaccurate) but returns finite values is kept with a ``ConvergenceWarning``.
"""

import functools
import multiprocessing
import sys
import time
import warnings

import numpy as np
from joblib import Parallel, delayed

from ..exceptions import ConvergenceWarning, SolverFailedError, SolverLicenseWarning
from ._base import (
    BaseSolver,
    SolverResult,
    combine_blocks,
    fits_program,
    zero_solution,
)

#: Commercial back-ends, most preferred first. Used only when licensed.
COMMERCIAL_BACKENDS = ("MOSEK", "GUROBI", "COPT", "CPLEX", "XPRESS", "KNITRO")
#: Open back-ends, most preferred first.
OPEN_BACKENDS = ("CLARABEL", "ECOS", "SCS")


def installed_backends():
    """Names of the conic back-ends cvxpy reports as installed."""
    import cvxpy as cp

    return tuple(cp.installed_solvers())


@functools.cache
def licence_problem(backend):
    """Why ``backend`` cannot be used for lack of a licence, or None.

    Only MOSEK and Gurobi are probed (both answer in milliseconds). The answer
    is cached for the life of the process.
    """
    if backend == "MOSEK":
        try:
            import mosek

            with mosek.Env() as env:
                env.checkoutlicense(mosek.feature.pts)
        except Exception as exc:  # mosek.Error is not a cvxpy SolverError
            return f"{type(exc).__name__}: {exc}".strip()
    elif backend == "GUROBI":
        try:
            import gurobipy

            gurobipy.Env(params={"OutputFlag": 0}).dispose()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}".strip()
    return None


def _supports_cones(backend):
    """Whether a back-end handles second-order cones (all the programs need)."""
    from cvxpy.reductions.solvers.defines import SOLVER_MAP_CONIC

    interface = SOLVER_MAP_CONIC.get(backend)
    if interface is None:
        return False
    names = {c.__name__ for c in interface.SUPPORTED_CONSTRAINTS}
    return {"SOC", "NonNeg"} <= names


def route(backend=None):
    """Back-ends to try, in order, and the installed ones skipped for a licence.

    Parameters
    ----------
    backend : str or None
        A back-end requested by the user; it is tried first, then the open
        back-ends.

    Returns
    -------
    order : list of str
    unlicensed : dict
        Back-end name -> reason, for installed back-ends without a licence.
    """
    installed = set(installed_backends())
    if backend is not None:
        backend = backend.upper()
        if backend not in installed:
            raise ValueError(
                f"cvxpy_solver={backend!r} is not installed; installed cvxpy "
                f"solvers: {sorted(installed)}."
            )
        if not _supports_cones(backend):
            raise ValueError(
                f"cvxpy_solver={backend!r} cannot solve this program: it needs "
                "second-order cones."
            )
        preferred = (backend, *OPEN_BACKENDS)
    else:
        preferred = COMMERCIAL_BACKENDS + OPEN_BACKENDS
    order, unlicensed = [], {}
    for name in dict.fromkeys(preferred):
        if name not in installed or not _supports_cones(name):
            continue
        reason = licence_problem(name)
        if reason is not None:
            unlicensed[name] = reason
            continue
        order.append(name)
    return order, unlicensed


def _backend_options(backend, *, tol, max_iter, time_limit):
    """Translate tolerance and limits to each back-end's own options."""
    if backend == "CLARABEL":
        # qdldl: 1.1-4x faster than the default faer factorisation here
        # (measured at n = 150..1000, P = 50..100, 2 cores).
        opts = {
            "tol_gap_abs": 1e-6 * tol,  # objectives are O(1): the gap is relative
            "tol_gap_rel": tol,
            "tol_feas": tol,
            "direct_solve_method": "qdldl",
        }
        if max_iter is not None:
            opts["max_iter"] = max_iter
        if time_limit is not None:
            opts["time_limit"] = time_limit
    elif backend == "SCS":
        opts = {"eps_abs": tol, "eps_rel": tol}
        if max_iter is not None:
            opts["max_iters"] = max_iter
        if time_limit is not None:
            opts["time_limit_secs"] = time_limit
    elif backend == "ECOS":
        opts = {"abstol": tol, "reltol": tol, "feastol": tol}
        if max_iter is not None:
            opts["max_iters"] = max_iter
    elif backend == "MOSEK":
        params = {
            "MSK_DPAR_INTPNT_CO_TOL_REL_GAP": tol,
            "MSK_DPAR_INTPNT_CO_TOL_PFEAS": tol,
            "MSK_DPAR_INTPNT_CO_TOL_DFEAS": tol,
        }
        if max_iter is not None:
            params["MSK_IPAR_INTPNT_MAX_ITERATIONS"] = max_iter
        if time_limit is not None:
            params["MSK_DPAR_OPTIMIZER_MAX_TIME"] = time_limit
        opts = {"mosek_params": params}
    elif backend == "GUROBI":
        opts = {"BarConvTol": tol}
        if max_iter is not None:
            opts["BarIterLimit"] = max_iter
        if time_limit is not None:
            opts["TimeLimit"] = time_limit
    else:
        opts = {}
    return opts


def _loss_terms(cp, loss_name, Z, Y, sw, *, monotone=False):
    """Loss term of the program in the output variable ``Z`` and the
    constraints that define ``Z`` (exact for squared error and hinge).

    Smooth log-losses are not passed to the back-end as exponential cones
    (Clarabel returned "optimal" 12 % to 2x above the optimum on them); they are
    replaced by a second-order model in the step ``Z - Z0``, whose parameters
    the proximal-Newton loop of :class:`ConicSolver` updates. Writing the model
    in the step keeps its terms on the scale of the decrease, so the back-end's
    relative tolerance applies to what the loop measures.

    Returns
    -------
    expr : cvxpy expression
    step : cvxpy Variable or None
        ``Z - Z0`` for smooth losses.
    params : dict of cvxpy Parameters (empty for exact losses)
    """
    n, m = Y.shape
    if loss_name == "squared_error":
        expr = cp.sum_squares(cp.multiply(np.sqrt(sw)[:, None], Z - Y)) / (2 * m)
        return expr, {}
    if loss_name == "hinge":
        return cp.sum(cp.multiply(sw[:, None], cp.pos(1 - cp.multiply(Y, Z)))), {}
    if monotone:
        # One output (robust margins) and a loss decreasing in it: the model
        # g dz + h dz^2 / 2 = h (dz - dz*)^2 / 2 + const, kept at its minimum
        # beyond dz* = -g / h, so that it stays non-increasing and the
        # constraint Z <= margins is tight at the sub-problem's solution.
        T = cp.Parameter(n, name="target")  # Z0 - g / h
        A = cp.Parameter(n, nonneg=True, name="A")  # sqrt(s h)
        expr = 0.5 * cp.sum_squares(cp.multiply(A, cp.pos(T - Z[:, 0])))
        return expr, {"T": T, "A1": A}
    # <G, dZ> + 0.5 * sum_k ||A_k dZ_k||^2 with dZ = Z - Z0, A_k^T A_k = s_k H_k.
    G = cp.Parameter((n, m), name="grad")
    Z0 = cp.Parameter((n, m), name="Z0")
    A = [[cp.Parameter(n, name=f"A{a}{b}") for b in range(m)] for a in range(m)]
    dZ = Z - Z0
    rows = [sum(cp.multiply(A[a][b], dZ[:, b]) for b in range(m)) for a in range(m)]
    expr = cp.sum(cp.multiply(G, dZ)) + 0.5 * sum(cp.sum_squares(r) for r in rows)
    return expr, {"G": G, "A": A, "Z0": Z0}


def _hessian_factors(program, Z):
    """Per-sample factors ``A_k`` (m x m) with ``A_k^T A_k = s_k H_k``, where
    ``H_k`` is the Hessian of the loss in ``z_k``."""
    loss, sample_weight = program.loss, program.sample_weight
    n, m = Z.shape
    if hasattr(loss, "curvature"):  # separable: diagonal Hessian
        A = np.zeros((n, m, m))
        A[:, np.arange(m), np.arange(m)] = np.sqrt(
            loss.curvature(Z, program.Y, sample_weight)
        )
        return A
    # multinomial: H = diag(p) - p p^T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    H = P[:, :, None] * np.eye(m)[None] - P[:, :, None] * P[:, None, :]
    lam, Q = np.linalg.eigh(H)
    lam = np.clip(lam, 0.0, None) * sample_weight[:, None]
    return np.sqrt(lam)[:, :, None] * np.transpose(Q, (0, 2, 1))


def _relu_outputs(cp, program):
    """Variables, output columns, group norms and cone constraints of a
    :class:`~skconvexnn.problem.ConvexReLUProgram`."""
    n, d, m, P = (
        program.n_samples,
        program.n_features,
        program.n_outputs,
        program.n_patterns,
    )
    Xt, D = program.Xt, program.patterns.astype(float)
    c = cp.Variable(m, name="c") if program.fit_intercept else None
    V, W, columns, norms, constraints = [], [], [], [], []
    for j in range(m):
        if P == 0:
            z = np.zeros(n)
        else:
            Vj = cp.Variable((d + 1, P), name=f"V{j}")
            Wj = cp.Variable((d + 1, P), name=f"W{j}")
            V.append(Vj)
            W.append(Wj)
            XV, XW = Xt @ Vj, Xt @ Wj
            z = cp.sum(cp.multiply(D, XV - XW), axis=1)
            norms += [cp.norm(Vj[:d, :], 2, axis=0), cp.norm(Wj[:d, :], 2, axis=0)]
            if program.formulation == "relu":
                S = 2.0 * D - 1.0
                constraints += [cp.multiply(S, XV) >= 0, cp.multiply(S, XW) >= 0]
        if c is not None:
            z = z + c[j]
        columns.append(z)
    return (V, W, c), columns, norms, constraints


def _robust_margins(cp, program):
    """Variables, the concave robust margins, group norms and constraints of a
    :class:`~skconvexnn.robust_program.RobustProgram` (see its docstring)."""
    d, P, eps = program.n_features, program.n_patterns, program.epsilon
    Xt, D, y = program.Xt, program.patterns.astype(float), program.y
    V = cp.Variable((d + 1, P), name="V0")
    W = cp.Variable((d + 1, P), name="W0")
    c = cp.Variable(1, name="c")
    norms = [cp.norm(V[:d, :], 2, axis=0), cp.norm(W[:d, :], 2, axis=0)]
    constraints = []
    if program.formulation == "strict":
        U = V - W
        z = cp.sum(cp.multiply(D, Xt @ U), axis=1) + c[0]
        margin = cp.multiply(y, z)
        if eps > 0:
            margin = margin - eps * cp.sum(cp.abs(D @ U[:d, :].T), axis=1)
        S = 2.0 * D - 1.0
        for H in (V, W):
            reach = eps * cp.reshape(cp.norm1(H[:d, :], axis=0), (1, P), order="C")
            constraints.append(cp.multiply(S, Xt @ H) >= np.ones((len(y), 1)) @ reach)
        return ((V,), (W,), c), [margin], norms, constraints
    parts, order = [], []
    for mask, H, Hbar, sign in ((y > 0, V, W, 1.0), (y <= 0, W, V, -1.0)):
        if not mask.any():
            continue
        Xm, Dm = Xt[mask], D[mask]
        help_ = cp.sum(cp.multiply(Dm, Xm @ H), axis=1)
        if eps > 0:
            help_ = help_ - eps * cp.sum(cp.abs(Dm @ H[:d, :].T), axis=1)
            reach = cp.reshape(cp.norm1(Hbar[:d, :], axis=0), (1, P), order="C")
            hurt = cp.pos(Xm @ Hbar + eps * (np.ones((Xm.shape[0], 1)) @ reach))
        else:
            hurt = cp.pos(Xm @ Hbar)
        parts.append(help_ - cp.sum(hurt, axis=1) + sign * c[0])
        order.append(np.flatnonzero(mask))
    # margins in sample order
    perm = np.argsort(np.concatenate(order))
    margin = cp.hstack(parts)[perm] if len(parts) > 1 else parts[0]
    return ((V,), (W,), c), [margin], norms, constraints


def _monotone_model(grad, curvature, Z0):
    """Target ``Z0 - g / h`` and curvature ``h`` (weighted) of the
    non-increasing second-order model of a one-output loss."""
    curvature = np.maximum(curvature, 1e-12 * max(float(curvature.max()), 1e-300))
    return Z0[:, 0] - grad / curvature, curvature


class _CvxpyProgram:
    """A program compiled to cvxpy once; smooth losses as a parametrised
    second-order model (DPP, so re-solves skip recompilation)."""

    def __init__(self, program):
        import cvxpy as cp

        n, m = program.n_samples, program.n_outputs
        self.monotone = getattr(program, "epsilon", None) is not None
        if self.monotone:
            variables, columns, norms, constraints = _robust_margins(cp, program)
        else:
            variables, columns, norms, constraints = _relu_outputs(cp, program)
        # Outputs as their own variable: the loss then couples only the m
        # outputs of each sample (a sparse block in the KKT system) and the
        # dense n x Pp coupling appears once, in linear constraints. Robust
        # margins are concave: the (non-increasing) loss is applied to a
        # lower bound of them, tight at the optimum.
        Z = cp.Variable((n, m), name="Z")
        if self.monotone:
            constraints += [Z[:, 0] <= columns[0]]
        else:
            constraints += [Z[:, j] == columns[j] for j in range(m)]
        data, self.params = _loss_terms(
            cp,
            program.loss.name,
            Z,
            program.Y,
            program.sample_weight,
            monotone=self.monotone,
        )
        # Objectives are scaled to O(1) so that the back-end's tolerances are
        # relative ones: exact losses by the value of the zero network, the
        # Newton model (whose parameters carry the scale) by the current value.
        norm_sum = sum(cp.sum(nrm) for nrm in norms) if norms else 0
        if self.params:
            self.params["alpha"] = cp.Parameter(nonneg=True, name="alpha")
            objective = data + self.params["alpha"] * norm_sum
        else:
            V0, W0, c0 = zero_solution(program)
            unit = program.scale * max(program.objective(V0, W0, c0), 1e-300)
            objective = (data + program.alpha * norm_sum) / unit
        self.problem = cp.Problem(cp.Minimize(objective), constraints)
        self.variables = variables
        self.program = program

    @property
    def smooth(self):
        return bool(self.params)

    def set_expansion_point(self, Z0):
        """Second-order model of the smooth loss around outputs ``Z0``."""
        prog = self.program
        grad = prog.loss.gradient(Z0, prog.Y, prog.sample_weight)
        m = Z0.shape[1]
        unit = max(prog.loss.value(Z0, prog.Y, prog.sample_weight), 1e-300)
        if self.monotone:
            curvature = prog.loss.curvature(Z0, prog.Y, prog.sample_weight)[:, 0]
            target, curvature = _monotone_model(grad[:, 0], curvature, Z0)
            self.params["T"].value = target
            self.params["A1"].value = np.sqrt(curvature / unit)
            self.params["alpha"].value = prog.alpha / unit
            return
        A = _hessian_factors(prog, Z0)
        self.params["G"].value = grad / unit
        self.params["Z0"].value = Z0
        self.params["alpha"].value = prog.alpha / unit
        A /= np.sqrt(unit)
        for a in range(m):
            for b in range(m):
                self.params["A"][a][b].value = A[:, a, b]

    def values(self):
        """Current variable values as arrays ``(V, W, c)``, or None."""
        return _extract(self.program, self.variables)


def _extract(program, variables):
    V_vars, W_vars, c_var = variables
    m, P, p = program.n_outputs, program.n_patterns, program.n_features + 1
    V, W = np.zeros((m, P, p)), np.zeros((m, P, p))
    for j, (Vj, Wj) in enumerate(zip(V_vars, W_vars)):
        if Vj.value is None or Wj.value is None:
            return None
        V[j], W[j] = Vj.value.T, Wj.value.T
    c = np.zeros(m) if c_var is None else c_var.value
    if c is None:
        return None
    c = np.asarray(c, dtype=float).reshape(m)
    if not all(np.all(np.isfinite(a)) for a in (V, W, c)):
        return None
    return V, W, c


class ConicSolver(BaseSolver):
    """Solve the program with a conic solver through cvxpy.

    Parameters
    ----------
    backend : str or None, default=None
        cvxpy solver name (e.g. ``"CLARABEL"``, ``"MOSEK"``). None routes
        automatically (see module docstring). A requested back-end that is
        unlicensed or fails falls back to the open back-ends with a warning.
    tol : float, default=1e-8
        Relative gap and feasibility tolerance passed to the back-end.
    max_iter : int or None, default=None
        Iteration limit of the back-end (None: its default).
    time_limit : float or None, default=None
        Seconds, per output block, compilation included: on Linux the block
        is solved in a forked child process stopped at the limit.
    verbose : bool, default=False
        Let the back-end print its log.
    n_jobs : int or None, default=None
        Independent output blocks (separable losses with several outputs) are
        solved in parallel with joblib.
    """

    name = "cvxpy"
    supported_formulations = ("relu", "gated", "flip_tolerant", "strict")
    supported_losses = (
        "squared_error",
        "binary_log_loss",
        "multinomial_log_loss",
        "poisson",
        "hinge",
    )

    def __init__(
        self,
        backend=None,
        *,
        tol=1e-8,
        max_iter=None,
        time_limit=None,
        verbose=False,
        n_jobs=None,
    ):
        self.backend = backend
        self.tol = tol
        self.max_iter = max_iter
        self.time_limit = time_limit
        self.verbose = verbose
        self.n_jobs = n_jobs

    #: Proximal-Newton steps allowed for smooth losses.
    max_newton_steps = 50

    def memory_estimate(self, program):
        """cvxpy's canonicalisation plus the back-end's factorisation: about
        350 bytes per entry of ``F`` plus 32 MiB (measured peaks 290-320 bytes
        per entry for Clarabel at n = 1000-3000, d = 10), 150 without cone
        constraints, 800 for the strict robust program."""
        entries = (
            program.n_samples
            * program.n_patterns
            * (program.n_features + 1)
            * program.n_outputs
        )
        # the strict robust program adds l1-norm rows per group and sample:
        # measured 680 bytes per entry (n = 1500, d = 8, P = 31)
        per_entry = {"gated": 150, "strict": 800}.get(program.formulation, 350)
        return per_entry * entries + 2**25

    def _solve(self, program, *, init=None):
        # time_limit bounds the whole solve, compilation included
        self._deadline = (
            None if self.time_limit is None else time.perf_counter() + self.time_limit
        )
        order, unlicensed = route(self.backend)
        for name, reason in unlicensed.items():
            warnings.warn(
                f"cvxpy solver {name} is installed but not licensed ({reason}); "
                "skipping it. Install a licence, or choose another solver with "
                "cvxpy_solver=... to silence this warning.",
                SolverLicenseWarning,
                stacklevel=6,
            )
        if not order:
            raise SolverFailedError(
                "No usable conic solver: cvxpy reports "
                f"{sorted(installed_backends())} installed, none licensed with "
                "second-order cone support. Install clarabel or scs."
            )
        m = program.n_outputs
        if init is not None and not _usable_start(program, init):
            init = None
        if program.loss.separable and m > 1:
            blocks = Parallel(n_jobs=self.n_jobs)(
                delayed(self._solve_block_in_time)(
                    program.output_block(j),
                    order,
                    None if init is None else tuple(a[j : j + 1] for a in init),
                )
                for j in range(m)
            )
        else:
            blocks = [self._solve_block_in_time(program, order, init)]
        for block in blocks:
            for message in block.info.pop("messages"):
                warnings.warn(message, ConvergenceWarning, stacklevel=6)
        return combine_blocks(blocks)

    def _call_backend(self, compiled, backend, tol=None, time_limit=None):
        """One back-end solve. Returns (solution or None, status, iterations)."""
        deadline = getattr(self, "_deadline", None)
        if time_limit is None and deadline is not None:
            # what compilation and earlier back-ends left of the limit
            time_limit = max(1e-2, deadline - time.perf_counter())
        opts = _backend_options(
            backend,
            tol=self.tol if tol is None else tol,
            max_iter=self.max_iter,
            time_limit=time_limit,
        )
        if compiled.monotone:
            # Robust programs: Clarabel's default (faer) factorisation was 2.9x
            # faster than qdldl (breast_cancer, P = 50: 47 s vs 135 s).
            opts.pop("direct_solve_method", None)
        with warnings.catch_warnings():
            # cvxpy's own "may be inaccurate" warning: we report status ourselves
            warnings.simplefilter("ignore", UserWarning)
            compiled.problem.solve(solver=backend, verbose=self.verbose, **opts)
        status = compiled.problem.status
        solution = compiled.values() if status in _USABLE else None
        return solution, status, int(compiled.problem.solver_stats.num_iters or 0)

    def _newton(self, compiled, backend, init=None):
        """Proximal Newton on a smooth loss: each step solves the SOCP of the
        loss's second-order model plus the exact penalty and constraints, then
        a backtracking line search on the true program (the segment between
        two feasible points is feasible). Stops when the model decrease is
        below ``tol`` relative to the objective."""
        program = compiled.program
        V, W, c = zero_solution(program) if init is None else init
        f = program.objective(V, W, c)
        iters, status, converged = 0, "newton_step_limit", False
        # Inexact Newton: loose sub-problem tolerance far from the optimum,
        # tightened to ``tol`` as the decrement shrinks.
        sub_tol = max(self.tol, 1e-4)
        deadline = getattr(self, "_deadline", None)
        for step in range(1, self.max_newton_steps + 1):
            remaining = None
            if deadline is not None:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    status = "time_limit"
                    break
            compiled.set_expansion_point(program.outputs(V, W, c))
            solution, sub_status, it = self._call_backend(
                compiled, backend, sub_tol, remaining
            )
            iters += it
            if solution is None:
                return None, sub_status, iters, step
            if sub_status == "user_limit":
                # max_iter / time_limit bound the whole solve: keep the best
                # point so far (the line search below still may improve it).
                status = "user_limit"
            model_gap = self._model_decrease(compiled, (V, W, c), solution)
            # The sub-problem is solved to relative accuracy sub_tol, so a
            # decrease below a few times that is not resolved: stop there.
            scale = max(abs(f), 1e-12)
            if model_gap <= 10 * self.tol * scale and sub_tol <= self.tol:
                converged = True
                break
            sub_tol = max(self.tol, min(sub_tol, 1e-2 * model_gap / scale))
            if model_gap <= 10 * self.tol * scale:
                continue  # re-solve the same model at the final tolerance
            deltas = [new - old for new, old in zip(solution, (V, W, c))]
            t = 1.0
            while t > 1e-10:
                cand = tuple(x + t * dx for x, dx in zip((V, W, c), deltas))
                f_new = program.objective(*cand)
                if f_new <= f - 0.25 * t * model_gap:
                    break
                t *= 0.5
            else:  # no decrease along the Newton direction
                if sub_tol > self.tol:  # the step was inexact: solve it exactly
                    sub_tol = self.tol
                    continue
                # the back-end cannot resolve a better step: stationary to its
                # accuracy if the decrement is small, a failure otherwise
                converged = model_gap <= 1e-6 * scale
                if not converged and status != "user_limit":
                    status = "no_descent"
                break
            if t == 1.0:
                # Scale search: with weak regularisation the log-losses want
                # large logits and Newton grows them by O(1) per step. Scaling
                # the whole point keeps it feasible (the constraints are cones)
                # and often jumps several steps at the cost of a few objective
                # evaluations.
                while True:
                    bigger = tuple(2.0 * x for x in cand)
                    f_big = program.objective(*bigger)
                    if not f_big < f_new:
                        break
                    cand, f_new = bigger, f_big
            (V, W, c), f = cand, f_new
            if status == "user_limit":
                break
        # Convergence is judged by the Newton decrement, not by the back-end's
        # status on one sub-problem (an "inaccurate" intermediate step is
        # harmless: the line search only accepts decrease).
        return (V, W, c), "optimal" if converged else status, iters, step

    @staticmethod
    def _model_decrease(compiled, current, solution):
        """Decrease of the second-order model from ``current`` to ``solution``
        (the proximal-Newton decrement; >= 0 up to solver accuracy)."""
        program = compiled.program
        Z0 = program.outputs(*current)
        Z1 = program.outputs(*solution)
        grad = program.loss.gradient(Z0, program.Y, program.sample_weight)
        pen = program.penalty(*solution[:2]) - program.penalty(*current[:2])
        if compiled.monotone:
            curvature = program.loss.curvature(Z0, program.Y, program.sample_weight)
            target, curvature = _monotone_model(grad[:, 0], curvature[:, 0], Z0)
            before = np.maximum(target - Z0[:, 0], 0.0)
            after = np.maximum(target - Z1[:, 0], 0.0)
            quad = 0.5 * float(curvature @ (before**2 - after**2))
            return (quad - pen) / program.scale
        A = _hessian_factors(program, Z0)
        dZ = Z1 - Z0
        quad = 0.5 * float(np.sum(np.einsum("kab,kb->ka", A, dZ) ** 2))
        lin = float(np.sum(grad * dZ))
        return -(lin + quad + pen) / program.scale

    #: Seconds a child process may run past the deadline (plus 1 % of the
    #: limit) to send its result before it is stopped.
    grace = 0.02

    def _solve_block_in_time(self, program, order, init=None):
        """:meth:`_solve_block`, stopped at the deadline when there is one.

        cvxpy's compilation cannot be interrupted and on large programs alone
        can take longer than a short ``time_limit``. With a limit, on Linux, the
        block is solved in a forked child process (no pickling of the data, no
        re-import) that is terminated when the limit has passed; the result is
        then the starting point (``init``, or the zero network, both feasible)
        with status ``"time_limit"``. Elsewhere the block runs in this process
        and only the back-end's own time limit applies.
        """
        if self.time_limit is None or not _can_fork():
            return self._solve_block(program, order, init)
        context = multiprocessing.get_context("fork")
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(
            target=_solve_in_child, args=(self, program, order, init, sender)
        )
        with warnings.catch_warnings():
            # Python >= 3.12 warns that fork() from a threaded process may
            # deadlock; the child only runs cvxpy and the back-end, and is
            # terminated at the deadline whatever happens in it.
            warnings.simplefilter("ignore", DeprecationWarning)
            child.start()
        sender.close()
        try:
            wait = self._deadline - time.perf_counter()
            wait += self.grace + 0.01 * self.time_limit
            if receiver.poll(max(wait, 0.0)):
                try:
                    outcome, payload = receiver.recv()
                except EOFError:  # the child died without an answer
                    outcome, payload = "error", "the solver process exited"
                if outcome == "ok":
                    return payload
                raise SolverFailedError(f"cvxpy solve failed: {payload}")
        finally:
            if child.is_alive():
                child.terminate()
            child.join()
            receiver.close()
        V, W, c = zero_solution(program) if init is None else init
        return SolverResult(
            V=V,
            W=W,
            c=c,
            solver="cvxpy",
            status="time_limit",
            converged=False,
            n_iter=0,
            info={
                "messages": [
                    f"cvxpy did not finish compiling and solving within "
                    f"time_limit={self.time_limit:g}s and was stopped; the model "
                    "is the starting point ("
                    + ("the warm start" if init is not None else "the zero network")
                    + "). Increase time_limit, or use solver='ipm' or 'admm', "
                    "which need no compilation."
                ],
                "failures": [],
            },
        )

    def _solve_block(self, program, order, init=None):
        """Try back-ends in order on one program. Never warns: messages are
        returned in ``info["messages"]`` so that they survive process pools."""
        compiled = _CvxpyProgram(program)
        messages, failures = [], []
        for backend in order:
            try:
                if compiled.smooth:
                    solution, status, n_iter, steps = self._newton(
                        compiled, backend, init
                    )
                else:
                    solution, status, n_iter = self._call_backend(compiled, backend)
                    steps = 1
            except Exception as exc:  # SolverError, mosek.Error, licence errors…
                failures.append(f"{backend}: {type(exc).__name__}: {exc}")
                messages.append(
                    f"cvxpy solver {backend} failed ({type(exc).__name__}: {exc}); "
                    "trying the next solver."
                )
                continue
            if solution is None:
                failures.append(f"{backend}: status {status!r}")
                messages.append(
                    f"cvxpy solver {backend} returned status {status!r} without a "
                    "usable solution; trying the next solver."
                )
                continue
            converged = status == "optimal"
            if not converged:
                messages.append(
                    f"cvxpy solver {backend} stopped early with status {status!r}; "
                    "the model uses its last iterate. Increase max_iter or "
                    "time_limit, or loosen tol."
                )
            V, W, c = solution
            return SolverResult(
                V=V,
                W=W,
                c=c,
                solver=f"cvxpy:{backend}",
                status=status,
                converged=converged,
                n_iter=n_iter,
                info={
                    "messages": messages,
                    "failures": failures,
                    "newton_steps": steps,
                },
            )
        raise SolverFailedError(
            "No conic solver produced a usable solution: " + "; ".join(failures)
        )


_USABLE = ("optimal", "optimal_inaccurate", "user_limit")


def _can_fork():
    """Whether blocks can run in forked child processes (Linux only: fork is
    unsafe with macOS system libraries and absent on Windows)."""
    return sys.platform.startswith("linux")


def _solve_in_child(solver, program, order, init, sender):
    """Body of the child process of :meth:`ConicSolver._solve_block_in_time`."""
    try:
        outcome = ("ok", solver._solve_block(program, order, init))
    except Exception as exc:  # sent back as text: not every exception pickles
        outcome = ("error", f"{type(exc).__name__}: {exc}")
    sender.send(outcome)
    sender.close()


def _usable_start(program, init):
    """Whether ``init = (V, W, c)`` fits the program and is feasible."""
    if not fits_program(program, init):
        return False
    if program.formulation in ("relu", "strict"):
        return program.constraint_violation(init[0], init[1]) <= 1e-12
    return True
