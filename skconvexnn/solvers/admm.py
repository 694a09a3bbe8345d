r"""Built-in ADMM solver: matrix-free, parallel over blocks of patterns.

For one output the squared-loss program, centred to eliminate the free
intercept and scaled so that the zero network has objective 1 (the data of
:class:`~skconvexnn.solvers.ipm._Quadratic`), reads

.. math::

   \min_{u}\; \tfrac12 a^\top A a - b^\top a + 1
       + \alpha \sum_g \lVert u_g[:d]\rVert_2
   \quad\text{s.t.}\quad \sigma_g \circ \tilde X u_g \ge 0,

with groups :math:`u_g` (the :math:`v_i` then the :math:`w_i`), :math:`a_i =
v_i - w_i`, :math:`A = F^\top Q^\top Q F` and :math:`\sigma = 2D - 1`. ADMM
(Bai, Gautam & Sojoudi) splits it with a copy :math:`z_g = u_g` that carries the
group norm and slacks :math:`S = \sigma \circ \tilde X U \ge 0` that carry the
cones. One iteration is

1. the :math:`u`-update, a linear system. Because :math:`\sigma_g^2 = 1`, the
   cone term of every group has the same matrix
   :math:`K = \tilde X^\top \tilde X`, and the system splits exactly in
   :math:`a = v - w` and :math:`v + w`: **one dense Cholesky factor** of
   :math:`2A + I_P \otimes (\rho I + \rho_s K)` (size ``P(d+1)``, formed once;
   again only when the penalty changes) and the ``(d+1) x (d+1)`` inverse of
   :math:`\rho I + \rho_s K`;
2. the group soft-threshold of :math:`z` and the projection of :math:`S` onto
   the non-negative orthant (over-relaxed);
3. the scaled dual updates.

``A`` is the only ``P(d+1)``-square object; it is accumulated in double
precision from row chunks of ``F`` (``F`` itself, ``n x P(d+1)``, is never
formed). The ``n x 2P`` cone arrays (single precision when ``n P (d+1)`` is
large) are kept and processed in blocks of groups: each block needs ``Xt``, its
columns of ``D`` and its own slacks, so blocks run in parallel with joblib
(threads by default; any joblib backend, e.g. loky or dask, gives the same
numbers because the blocks do not depend on ``n_jobs``). Memory: ``O(n P + n d + (P d)^2)``.

A dense factor (not conjugate gradients) is used because ``A`` is dense and
badly conditioned (patterns overlap), and one factorisation serves every
iteration: at ``P(d+1) = 4200`` it takes 0.3 s, less than one pass over the
cone arrays at ``n = 10^5``.

Stopping is *certified*: at every check (every ``check_every`` iterations at
first, then every tenth of the iterations so far) the iterate is projected
group by group onto its cone (non-negative least squares over a working set of
rows), shifted along its gate until exactly feasible, and a dual-feasible point
is built from the residual and the cone multipliers :math:`-\rho_s N`; their
values bracket the sampled program's optimum, and the solver stops when the
relative gap is at most ``tol``. It always returns the best feasible point seen.
Smooth losses (binary log-loss, Poisson) are solved by proximal Newton
(:mod:`~skconvexnn.solvers.newton`), each step one warm-started ADMM solve.
The ℓ∞-robust programs (hinge and logistic losses) and the hinge loss of the
standard program (the strict robust program at epsilon 0, one output at a
time) have their own splitting, in :mod:`~skconvexnn.solvers.robust_admm`;
there ``tol`` bounds relative residuals, and no certified gap is computed.
"""

import time
import warnings
from contextlib import nullcontext

import numpy as np
from joblib import Parallel, delayed
from scipy import linalg, optimize
from threadpoolctl import threadpool_limits

from ..exceptions import ConvergenceWarning
from ..robust_program import ROBUST_FORMULATIONS
from ._base import (
    BaseSolver,
    SolverResult,
    add_to_block_diagonal,
    combine_blocks,
    fits_program,
    where_stopped,
    zero_solution,
)
from .ipm import _Quadratic
from .newton import prox_newton
from .robust_admm import ROBUST_LOSSES, robust_memory_estimate, solve_robust

#: Entries of an ``n x block`` cone array processed by one task.
_BLOCK_ENTRIES = 2**20
#: Above this many entries of ``F`` (``n P (d+1)``) the cone arrays are kept
#: in single precision (half the memory and passes; ADMM does not reach the
#: accuracy where it matters). ``A`` is always accumulated in double
#: precision: in single precision (n = 10^5) the certified gap stalled at
#: 1.7e-4 with the residuals at 1e-15.
_SINGLE_PRECISION_ENTRIES = 2**26


#: ``rho_s K`` relative to ``rho I`` at the start.
CONE_WEIGHT = 10.0
#: Residual balancing keeps the penalty within this factor of its start.
RHO_RANGE = 10.0


class ADMMSolver(BaseSolver):
    """Matrix-free ADMM over blocks of patterns, with a certified stop.

    Parameters
    ----------
    tol : float or None, default=None
        Target relative duality gap of the sampled program (certified for the
        squared loss; for smooth losses, the relative Newton decrement);
        None means 1e-4. For robust programs and the hinge loss: the relative
        primal and dual residuals, None meaning 1e-5.
    max_iter : int or None, default=None
        ADMM iterations per solve (None: 10 000).
    time_limit : float or None, default=None
        Seconds; the best feasible point so far is returned with a
        ConvergenceWarning.
    verbose : bool, default=False
        Print residuals, penalty and gap at every check.
    n_jobs : int or None, default=None
        Blocks of patterns processed in parallel by joblib (threads unless a
        ``joblib.parallel_backend`` context says otherwise). The result does
        not depend on it.
    relaxation : float, default=1.6
        Over-relaxation factor in (0, 2).
    check_every : int, default=10
        Iterations between certificates (and penalty updates) at the start;
        later every tenth of the iterations done so far.
    adaptive_rho : bool, default=True
        Rescale the penalty when the primal and dual residuals differ by more
        than a factor 10 (residual balancing; refactors the system).
    """

    name = "admm"
    supported_losses = ("squared_error", "poisson", "binary_log_loss")
    supported_formulations = ("relu", "gated", *ROBUST_FORMULATIONS)

    @classmethod
    def losses_for(cls, formulation):
        if formulation in ROBUST_FORMULATIONS:
            return ROBUST_LOSSES
        return (*cls.supported_losses, "hinge")

    def __init__(
        self,
        *,
        tol=None,
        max_iter=None,
        time_limit=None,
        verbose=False,
        n_jobs=None,
        relaxation=1.6,
        check_every=10,
        adaptive_rho=True,
    ):
        self.tol = tol
        self.max_iter = max_iter
        self.time_limit = time_limit
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.relaxation = relaxation
        self.check_every = check_every
        self.adaptive_rho = adaptive_rho

    @property
    def _tol(self):
        """Gap tolerance (squared loss, Newton decrements)."""
        return 1e-4 if self.tol is None else self.tol

    @property
    def _residual_tol(self):
        """Residual tolerance (robust programs, hinge)."""
        return 1e-5 if self.tol is None else self.tol

    def memory_estimate(self, program):
        """The Gram matrix and its factor (``P(d+1)``-square), the signed
        slacks and duals with a step's copies (``n x 2P``, single precision
        above ``n P (d+1) = 2^26``) and the certificate's chunks."""
        if _robust_splitting(program):  # one output block at a time
            return robust_memory_estimate(program)
        n, p, P = program.n_samples, program.n_features + 1, program.n_patterns
        G = 2 * P if program.formulation == "relu" else P
        itemsize = 4 if n * P * p > _SINGLE_PRECISION_ENTRIES else 8
        cones = 4 * n * G * itemsize if program.formulation == "relu" else 0
        chunks = 8 * min(n * G, 8 * 2**22) + 16 * min(n * P * p, 2**22)
        return 8 * (4 * (P * p) ** 2 + 4 * n * p) + cones + chunks + 2**20

    def _solve(self, program, *, init=None):
        if init is not None and not fits_program(program, init):
            init = None
        deadline = (
            None if self.time_limit is None else time.perf_counter() + self.time_limit
        )
        if _robust_splitting(program):
            # robust programs (one output), and each hinge output as the strict
            # robust program at epsilon 0 (gated: without its cones)
            solve = self._solve_robust
        elif program.loss.name != "squared_error":
            solve = self._solve_smooth
        else:
            solve = self._solve_block
        blocks = []
        for j in range(program.n_outputs):
            block = program if program.n_outputs == 1 else program.output_block(j)
            start = None if init is None else tuple(x[j : j + 1] for x in init)
            blocks.append(solve(block, start, deadline))
        if solve == self._solve_robust:  # it warns with its residuals
            return combine_blocks(blocks)
        for block in blocks:
            if not block.converged:
                where = where_stopped(block.info)
                warnings.warn(
                    f"solver 'admm' stopped with status {block.status!r} {where} "
                    f"(tol={self._tol:g}); the model uses the best feasible point "
                    "found. Increase max_iter or time_limit, loosen tol, or use "
                    "solver='ipm' for an exact solution.",
                    ConvergenceWarning,
                    stacklevel=5,
                )
        return combine_blocks(blocks)

    def _solve_robust(self, program, init, deadline):
        """A robust program, or one hinge output, by the splitting of
        :mod:`~skconvexnn.solvers.robust_admm`; ``tol`` bounds the relative
        primal and dual residuals."""
        max_iter = 10_000 if self.max_iter is None else self.max_iter
        (V, W, c), status, n_iter, info = solve_robust(
            program,
            init=init,
            tol=self._residual_tol,
            max_iter=max_iter,
            deadline=deadline,
            relaxation=self.relaxation,
            verbose=self.verbose,
        )
        if status != "optimal":
            warnings.warn(
                f"solver 'admm' stopped with status {status!r} after {n_iter} "
                f"iterations (relative residuals {info['r_primal']:.1e} primal, "
                f"{info['r_dual']:.1e} dual; tol={self._residual_tol:g}); the "
                "model uses its last iterate. Increase max_iter or time_limit, "
                "or loosen tol.",
                ConvergenceWarning,
                stacklevel=5,
            )
        return SolverResult(
            V, W, c, self.name, status, status == "optimal", n_iter, info=info
        )

    def _solve_smooth(self, program, init, deadline):
        """Proximal Newton, each weighted least-squares step by ADMM started
        from the current point (no certificate: ``info["gap"]`` is NaN)."""

        def solve_quadratic(model, tol, start, time_limit):
            limit = None if time_limit is None else time.perf_counter() + time_limit
            return self._solve_block(model, start, limit, tol=tol)

        (V, W, c), status, steps, iterations = prox_newton(
            program, solve_quadratic, tol=self._tol, deadline=deadline, init=init
        )
        return SolverResult(
            V,
            W,
            c,
            self.name,
            status,
            status == "optimal",
            iterations,
            info={"gap": float("nan"), "newton_steps": steps},
        )

    def _solve_block(self, program, init, deadline, tol=None):
        tol = self._tol if tol is None else tol
        max_iter = 10_000 if self.max_iter is None else self.max_iter
        n, p, P = program.n_samples, program.n_features + 1, program.n_patterns
        single = n * P * p > _SINGLE_PRECISION_ENTRIES
        data = _Quadratic(program)
        if data.f0 <= 0.0 or data.n_groups == 0:
            V, W, c = zero_solution(program)
            c[:] = data.ybar
            return SolverResult(
                V, W, c, self.name, "optimal", True, 0, info={"gap": 0.0}
            )
        state = _ADMMState(
            data,
            None if init is None else data.groups_from(init),
            relaxation=self.relaxation,
            dtype=np.float32 if single else np.float64,
        )
        status = "max_iter"
        # parallel blocks: one BLAS thread each (nested threads oversubscribe;
        # measured 0.67x at n = 10^5 with both)
        blas = (
            threadpool_limits(limits=1, user_api="blas")
            if self.n_jobs not in (None, 1)
            else nullcontext()
        )
        with blas, Parallel(n_jobs=self.n_jobs, prefer="threads") as parallel:
            runner = _Runner(parallel, self.n_jobs)
            next_check = self.check_every
            while state.iterations < max_iter:
                certify = state.iterations + 1 >= next_check
                state.iterate(runner, check=certify)
                if certify and not state.finite:
                    status = "diverged"
                    break
                if certify:
                    if not state.certify(deadline):
                        status = "time_limit"
                        break
                    # a certificate (projections, dual repair) costs tens of
                    # iterations: space them by a tenth of the iterations so
                    # far (a schedule that does not depend on timing, so the
                    # iterates are reproducible)
                    next_check = state.iterations + max(
                        self.check_every, state.iterations // 10
                    )
                    if self.verbose:
                        print(
                            f"admm {state.iterations:5d}  primal "
                            f"{state.best_primal:.8e}  dual {state.best_dual:.8e}  "
                            f"gap {state.gap:.2e}  r_pri {state.r_primal:.1e}  "
                            f"r_dual {state.r_dual:.1e}  rho {state.rho:.2e}"
                        )
                    if state.gap <= tol:
                        status = "optimal"
                        break
                    if state.stalled():
                        status = "stalled"
                        break
                    if self.adaptive_rho:
                        state.balance()
                if deadline is not None and time.perf_counter() > deadline:
                    status = "time_limit"
                    break
        if status == "max_iter":
            # one more certified iterate (not after a time limit: the limit
            # is honoured, the best certified point so far is returned)
            state.iterate(runner=None, check=True)
            if state.finite and state.certify(deadline) and state.gap <= tol:
                status = "optimal"
        V, W, c = data.solution(state.best_point)
        return SolverResult(
            V,
            W,
            c,
            self.name,
            status,
            status == "optimal",
            state.iterations,
            info={
                "gap": float(state.gap),
                "primal": float(state.best_primal * data.f0),
                "dual": float(state.best_dual * data.f0),
                "raw_violation": float(state.raw_violation),
                "rho": float(state.rho),
                "refactorizations": state.factorizations,
            },
        )


def _robust_splitting(program):
    """Whether ``program`` is solved by :mod:`.robust_admm` (robust programs
    and the hinge loss) rather than by the certified splitting here."""
    return program.formulation in ROBUST_FORMULATIONS or program.loss.name == "hinge"


class _Runner:
    """Maps a function over blocks: a plain loop for one job, else joblib."""

    def __init__(self, parallel, n_jobs):
        self.parallel = parallel
        self.serial = n_jobs in (None, 1)

    def map(self, func, args):
        if self.serial:
            return [func(*a) for a in args]
        return self.parallel(delayed(func)(*a) for a in args)


def _cone_block(Xt, Dcols, U, S, N, relaxation, rho_s, check):
    """ADMM step of the cone slacks of one block of groups (pure function).

    Slacks and duals are kept *signed*, ``S = sigma * s`` and ``N = sigma *
    nu``: the cone ``s >= 0`` becomes ``S >= 0`` where ``D`` and ``S <= 0``
    elsewhere, and no product with ``sigma`` is needed.

    Parameters
    ----------
    Xt : (n, p) array, in the block's precision
    Dcols : (n, b) bool, the block's patterns
    U : (b, p) new u-iterate of the block's groups
    S, N : (n, b) signed slacks and scaled duals before the step
    check : bool
        Also return residuals, multipliers and the cone violation.

    Returns
    -------
    S, N : new signed slacks and duals
    H : (b, p) ``Xt^T (S - N)``, the cone term of the next u-update
    extra : None, or (primal_sq, dual, zterm, violation): the squared norm of
        ``Xt U - S``; ``Xt^T (S - S_old)``; ``Xt^T (sigma z)`` for the
        multipliers ``z = -rho_s nu``; the most negative ``sigma Xt u`` per
        group (before the step)
    """
    dtype = S.dtype
    GU = Xt @ U.T.astype(dtype)
    x = relaxation * GU
    x += (1.0 - relaxation) * S
    x += N
    S_new = np.minimum(x, 0.0)
    np.maximum(x, 0.0, out=S_new, where=Dcols)
    x -= S_new  # the new dual
    H = (S_new - x).T @ Xt
    extra = None
    if check:
        violation = np.where(Dcols, GU, -GU).min(axis=0)
        GU -= S_new
        primal_sq = float(np.sum(np.square(GU), dtype=np.float64))
        dual = (S_new - S).T @ Xt
        # multipliers z = -rho_s nu >= 0: sigma z = -rho_s N where feasible
        Z = np.minimum(x, 0.0)
        np.maximum(x, 0.0, out=Z, where=~Dcols)
        zterm = -rho_s * (Z.T @ Xt).astype(np.float64)
        extra = (
            primal_sq,
            dual.astype(np.float64),
            zterm,
            violation.astype(np.float64),
        )
    return S_new, x, H.astype(np.float64), extra


def _project_group(u, G, rounds=6):
    """Projection of ``u`` onto ``{x : G x >= 0}`` by non-negative least
    squares over a working set of rows: the rows ``u`` violates most, then
    those the last projection violates most, at most ``4 p`` new rows a round
    (an NNLS over every violated row was the bottleneck: 60 s of one
    certificate at n = 10^5, where early iterates violate thousands of rows
    per group). Returns the last projection (which the gate shift of
    ``_Quadratic.feasible`` then repairs) or ``u`` itself if NNLS fails."""
    cap = 4 * G.shape[1]
    x, slack, rows = u, G @ u, np.empty(0, dtype=np.intp)
    for _ in range(rounds):
        new = np.flatnonzero(slack < 0)
        if len(new) == 0:
            return x
        if len(new) > cap:
            new = new[np.argpartition(slack[new], cap)[:cap]]
        rows = np.union1d(rows, new)
        try:
            lam = optimize.nnls(G[rows].T, -u, maxiter=50 * G.shape[1])[0]
        except RuntimeError:  # iteration limit
            return x
        x = u + G[rows].T @ lam
        slack = G @ x
    return x


class _ADMMState:
    """Iterates of ADMM on a ``_Quadratic`` program."""

    def __init__(self, data, init, *, relaxation, dtype):
        q = self.data = data
        G, p, P, n = q.n_groups, q.p, q.P, q.n
        self.relaxation = relaxation
        self.dtype = dtype
        self.Xt = q.Xt.astype(dtype)
        self.iterations = 0
        self.factorizations = 0
        self.finite = True
        self.best_primal, self.best_dual, self.gap = np.inf, -np.inf, np.inf
        self.best_point = np.zeros((G, p))
        self.r_primal = self.r_dual = np.inf
        self.raw_violation = 0.0
        self.K = q.Xt.T @ q.Xt
        self.row_norm = float(np.linalg.norm(q.Xt, axis=1).max())
        # penalties: rho on the group copies, of the size of A's diagonal;
        # rho_s on the cone slacks, with rho_s K ten times rho I (best of
        # 1, 3, 10, 30, 100 on planted problems, n = 500 and 1000)
        self.rho = float(np.trace(q.A)) / (P * p)
        self.rho_s = CONE_WEIGHT * self.rho * p / float(np.trace(self.K))
        self.rho0 = self.rho
        self._factor()
        # the zero network is feasible: the incumbent is never worse than it
        # (nor than a starting point)
        self.best_primal = q.objective(self.best_point)
        U = np.zeros((G, p)) if init is None else q.feasible(init)
        if init is not None and q.objective(U) < self.best_primal:
            self.best_primal, self.best_point = q.objective(U), U
        self.U = U
        self.Z = U.copy()
        self.Lam = np.zeros((G, p)) if init is None else self._dual_guess(U)
        size = max(1, _BLOCK_ENTRIES // n)
        self.blocks = [slice(g, g + size) for g in range(0, G, size)] if q.relu else []
        # signed slacks and duals, one contiguous (n, block) array per block
        # of groups (blocks are independent; no strided copies)
        self.D_blocks = [
            np.ascontiguousarray(q.D[:, q.pattern[b]]) for b in self.blocks
        ]
        self.S = [self._slacks(U[b], Db) for b, Db in zip(self.blocks, self.D_blocks)]
        self.N = [np.zeros_like(S) for S in self.S]
        self.H = np.zeros((G, p))
        if q.relu:
            self._cone_terms()
        self.zterm = None

    def _dual_guess(self, U):
        """Scaled duals of the group copies for a warm start from ``U``: the
        subgradient ``alpha u[:d] / |u[:d]|`` of each non-zero group, and for a
        zero group the negative gradient of the loss clipped to the ball of
        radius ``alpha`` (exact for the gated program at its optimum)."""
        q = self.data
        d = q.p - 1
        grad = (q.A @ q.combine(U).ravel() - q.b).reshape(q.P, q.p)
        grad = q.sign[:, None] * grad[q.pattern]
        lam = np.zeros_like(U)
        norms = np.linalg.norm(U[:, :d], axis=1)
        live = norms > 0
        lam[live, :d] = q.alpha * U[live, :d] / norms[live, None]
        g = -grad[~live, :d]
        gn = np.linalg.norm(g, axis=1)
        lam[~live, :d] = g * np.minimum(1.0, q.alpha / np.maximum(gn, 1e-300))[:, None]
        return lam / self.rho

    # --- pieces ---------------------------------------------------------------
    def _slacks(self, U, D):
        """Signed slacks of groups ``U`` (patterns ``D``) projected onto the
        cones."""
        GU = self.Xt @ U.T.astype(self.dtype)
        S = np.minimum(GU, 0.0)
        np.maximum(GU, 0.0, out=S, where=D)
        return S

    def _cone_terms(self):
        for b, S, N in zip(self.blocks, self.S, self.N):
            self.H[b] = ((S - N).T @ self.Xt).astype(np.float64)

    def _factor(self):
        """Factor the u-system for the current penalties."""
        q = self.data
        p, P = q.p, q.P
        M = self.rho * np.eye(p) + (self.rho_s * self.K if q.relu else 0.0)
        self.M_inv = np.linalg.inv(M)  # symmetric, (d+1) x (d+1)
        if q.relu:
            system = 2.0 * q.A
            M_blocks = M
        else:
            system = q.A.copy()
            M_blocks = self.rho * np.eye(p)
        add_to_block_diagonal(system, M_blocks, count=P)
        self.factor = linalg.cho_factor(system, lower=True, overwrite_a=True)
        self.factorizations += 1

    def _u_update(self):
        q = self.data
        P, p = q.P, q.p
        m = self.Z - self.Lam
        r = self.rho * m
        if q.relu:
            r = r + self.rho_s * self.H
            rv, rw = r[:P], r[P:]
            a = self._solve(2.0 * q.b + (rv - rw).ravel()).reshape(P, p)
            s = (rv + rw) @ self.M_inv
            return np.concatenate([(s + a) / 2.0, (s - a) / 2.0])
        return self._solve(q.b + r.ravel()).reshape(P, p)

    def _solve(self, rhs):
        return linalg.cho_solve(self.factor, rhs, check_finite=False)

    # --- one iteration ----------------------------------------------------------
    def iterate(self, runner, check=False):
        """One ADMM iteration; with ``check``, also the residuals, the cone
        multipliers' term and the raw cone violation."""
        q = self.data
        d = q.p - 1
        U = self._u_update()
        Z_old = self.Z
        hat = self.relaxation * U + (1.0 - self.relaxation) * Z_old
        V = hat + self.Lam
        norms = np.linalg.norm(V[:, :d], axis=1)
        with np.errstate(divide="ignore"):
            shrink = np.maximum(1.0 - (q.alpha / self.rho) / norms, 0.0)
        Z = V.copy()
        Z[:, :d] *= shrink[:, None]
        self.Lam = V - Z
        self.Z = Z
        if q.relu:
            args = [
                (
                    self.Xt,
                    self.D_blocks[i],
                    U[b],
                    self.S[i],
                    self.N[i],
                    self.relaxation,
                    self.rho_s,
                    check,
                )
                for i, b in enumerate(self.blocks)
            ]
            if runner is None:
                out = [_cone_block(*a) for a in args]
            else:
                out = runner.map(_cone_block, args)
            extras = []
            for i, (b, (S, N, H, extra)) in enumerate(zip(self.blocks, out)):
                self.S[i], self.N[i], self.H[b] = S, N, H
                extras.append(extra)
        self.U = U
        self.iterations += 1
        if not check:
            return
        primal_sq = float(np.sum((U - Z) ** 2))
        dual = self.rho * (Z - Z_old)
        if q.relu:
            self.zterm = np.empty_like(U)
            violation = np.empty(q.n_groups)
            for b, (psq, dcone, zt, viol) in zip(self.blocks, extras):
                primal_sq += psq
                dual[b] += self.rho_s * dcone
                self.zterm[b] = zt
                violation[b] = viol
            # relative to the largest group, as program.constraint_violation
            scale = float(np.linalg.norm(U, axis=1).max()) * self.row_norm
            if scale > 0:
                self.raw_violation = max(0.0, float(-violation.min()) / scale)
        self.r_primal = np.sqrt(primal_sq)
        self.r_dual = float(np.linalg.norm(dual))
        self.finite = bool(
            np.isfinite(self.r_primal)
            and np.isfinite(self.r_dual)
            and np.all(np.isfinite(U))
        )

    def certify(self, deadline=None):
        """Update the best feasible point, the best dual bound and the gap.

        Returns False, leaving them unchanged, if ``deadline`` passes during
        the projections (one group's projection is the unit of work)."""
        q = self.data
        for candidate in (self.Z, self.U):
            projected = self._project(candidate, deadline)
            if projected is None:
                return False
            U = q.feasible(projected)
            primal = q.objective(U)
            if primal < self.best_primal:
                self.best_primal, self.best_point = primal, U
        dual = q.dual_bound(self.U, self.zterm if q.relu else None)
        self.best_dual = max(self.best_dual, dual)
        self.gap = (self.best_primal - self.best_dual) / max(self.best_primal, 1e-12)
        return True

    def _project(self, U, deadline=None):
        """Euclidean projection of every violated group onto its cone
        ``{u : sigma_g * Xt u >= 0}``, by non-negative least squares on the
        dual (``u + G^T lam``, ``lam >= 0``): an ADMM iterate violates many
        rows by a little, and shifting it along the gate alone moved the
        objective 40x more than this projection (n = 1000, P = 100)."""
        q = self.data
        if not q.relu:
            return U
        U = U.copy()
        live = np.flatnonzero(np.abs(U).sum(axis=1) > 0)
        for groups in q.group_chunks():
            ids = live[(live >= groups.start) & (live < groups.stop)]
            if len(ids) == 0:
                continue
            sig = np.where(q.D[:, q.pattern[ids]], 1.0, -1.0)
            S = sig * (q.Xt @ U[ids].T)
            for j in np.flatnonzero((S < 0).any(axis=0)):
                if deadline is not None and time.perf_counter() > deadline:
                    return None
                U[ids[j]] = _project_group(U[ids[j]], sig[:, j, None] * q.Xt)
        return U

    def stalled(self):
        """Whether the iterates stopped moving (residuals at rounding level)
        while the certificate has not closed."""
        scale = max(float(np.linalg.norm(self.Z)), 1e-300)
        return max(self.r_primal, self.r_dual / max(self.rho, 1e-300)) <= 1e-13 * scale

    def balance(self):
        """Residual balancing: rescale both penalties by the square root of the
        ratio of relative residuals when it exceeds 10 (OSQP's rule)."""
        q = self.data
        scale_p = max(
            float(np.linalg.norm(self.U)),
            float(np.linalg.norm(self.Z)),
            float(np.sqrt(sum(np.sum(S.astype(float) ** 2) for S in self.S))),
            1e-12,
        )
        scale_d = max(float(np.linalg.norm(self.rho * self.Lam)), 1e-12)
        if q.relu:
            norm_N = np.sqrt(sum(np.sum(N.astype(float) ** 2) for N in self.N))
            scale_d = max(scale_d, self.rho_s * float(norm_N))
        ratio = (self.r_primal / scale_p) / max(self.r_dual / scale_d, 1e-300)
        if not np.isfinite(ratio) or 0.1 <= ratio <= 10.0:
            return
        # stay within a factor RHO_RANGE of the starting penalty: far below it
        # the cones are barely enforced and the iterates drift (measured)
        low, high = self.rho0 / RHO_RANGE, self.rho0 * RHO_RANGE
        factor = float(np.clip(np.sqrt(ratio), low / self.rho, high / self.rho))
        if factor == 1.0:
            return
        self.rho *= factor
        self.rho_s *= factor
        self.Lam /= factor
        if q.relu:
            for N in self.N:
                N /= factor
            self._cone_terms()
        self._factor()
