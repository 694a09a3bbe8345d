r"""Built-in primal-dual interior-point solver for the squared loss.

The program of one output, with weights :math:`S`, the weighted centring
:math:`Q = S^{1/2}(I - \mathbf 1 s^\top / \textstyle\sum s)` that eliminates the
free intercept, and groups :math:`u_g` (``g < P``: the :math:`v_i`, ``g >= P``:
the :math:`w_i` of the ReLU formulation; the gated formulation has one group
per pattern), reads

.. math::

   \min_{u, t}\; \tfrac12 a^\top A a - b^\top a + f_0 + \alpha \sum_g t_g
   \quad\text{s.t.}\quad \sigma_g \circ \tilde X u_g \ge 0,\;
   (t_g, u_g[:d]) \in \mathcal Q^{d+1},

with :math:`a = \sum_g \epsilon_g e_{\pi(g)} \otimes u_g` (``epsilon = +1`` for
``v``, ``-1`` for ``w``), :math:`A = F^\top Q^\top Q F` of size ``P(d+1)``,
:math:`b = F^\top Q^\top Q y`, :math:`\sigma = 2D - 1`.

Structure used (the ``n x P(d+1)`` matrix ``F`` is never kept: ``A`` is
accumulated from row chunks):

* every linear cone row of group ``g`` has the same map up to sign, so the
  curvature of the barrier is :math:`B_g = \tilde X^\top \operatorname{diag}(z_g /
  s_g) \tilde X`, all ``G`` blocks in one matrix product with the row-wise outer
  products of :math:`\tilde X`;
* the epigraph variables :math:`t_g` are eliminated by a Schur complement of
  the Nesterov–Todd scaling of their cone;
* in the ReLU formulation the reduced Newton matrix
  :math:`\begin{bmatrix}A + K_v & -A\\ -A & A + K_w\end{bmatrix}` is solved
  through :math:`a = \Delta v - \Delta w`: one dense Cholesky factorisation of
  :math:`A + K_v S^{-1} K_w` with :math:`S = K_v + K_w` (size ``P(d+1)``;
  :math:`K_v S^{-1} K_w = (K_v^{-1} + K_w^{-1})^{-1}`, but only :math:`S`, which
  stays well conditioned near the optimum, is inverted) and ``(d+1) x (d+1)``
  solves per pattern, followed by iterative refinement on the whole reduced
  system.
  The factor is formed in single precision until refinement cannot reach the
  accuracy asked for, then in double precision.
* when the data has few rows against the program's size (``n^2 P(d+1)``
  below half of ``(P(d+1))^3 / 3``, e.g. the rounds of a cutting-plane fit:
  ``n = 569``, ``P(d+1) = 3751``), :math:`A = L^\top L` with ``L = QF`` of
  ``n`` rows and the Woodbury identity replace that factor by the ``n x n``
  capacitance matrix :math:`I + L B^{-1} L^\top` (``B`` the block-diagonal
  part, ``(d+1)``-square blocks inverted one by one); its directions are
  refined by conjugate gradients, and if they cannot reach the accuracy
  asked for (near-singular blocks), the dense factor takes over.

Iterations are Mehrotra predictor–corrector steps. Every iteration also builds
a *certificate*: a primal point made exactly feasible by shifting each group
along its gate (interior to its cone) and a dual-feasible point from the
iterate's residual and multipliers, whose dual value is a lower bound on the
program's optimum. The solver stops when the relative gap between the two is
below ``tol``, and returns the best feasible point with that certified gap.
"""

import time
import warnings
from contextlib import nullcontext
from functools import cached_property, partial, wraps

import numpy as np
from joblib import Parallel, delayed
from scipy import linalg
from threadpoolctl import ThreadpoolController, threadpool_limits

from ..exceptions import ConvergenceWarning
from ..operators import pattern_rmatvec
from ._base import (
    BaseSolver,
    SolverResult,
    add_to_block_diagonal,
    combine_blocks,
    fits_program,
    where_stopped,
    zero_solution,
)
from .newton import prox_newton

#: Rows of the ``n x P(d+1)`` block formed at a time when accumulating ``A``.
_CHUNK_ENTRIES = 2**22
#: Complementarity (relative to the objective) below which the iterate is
#: checked against every cone row of a screened program. Earlier iterates
#: violate rows they would not at the optimum; every growth restarts the
#: iterations (continued with the new rows, they stalled at gaps of 0.4-0.9:
#: n = 3 10^4, d = 20, P = 200, 64 starting rows).
_GROW_AT = 1e-2
#: The ReLU program's Newton matrix ``A + B`` (``B`` block diagonal) is
#: solved through the ``n x n`` capacitance matrix of the Woodbury identity
#: when its flop count, ``n^2 P(d+1) + n^3 / 3``, is below this fraction of a
#: dense Cholesky factorisation's, ``(P(d+1))^3 / 3``.
_WOODBURY_RATIO = 0.5
#: Rows whose weight is below this fraction of the largest are left out of
#: the Woodbury capacitance matrix (conjugate gradients on the exact system,
#: preconditioned by it, make up for them). Weighted least-squares models of
#: the log-loss (proximal Newton) weigh rows by the loss curvature, which on
#: nearly separated data spans many orders of magnitude.
#: Measured on the first cutting-plane round of breast_cancer (n = 569,
#: P(d+1) = 3379; 164 rows kept): 2.0 s instead of 3.0 s for the same 39
#: iterations and gap at tol 1e-3, the same gaps at 1e-4 and 1e-8.
_WOODBURY_ROW_RTOL = 1e-4


class InteriorPointSolver(BaseSolver):
    """Structure-exploiting primal-dual interior-point method.

    Exact for the sampled program: the returned point satisfies every cone
    constraint exactly and comes with a certified duality gap
    (``info["gap"]``, relative to the objective).

    Parameters
    ----------
    tol : float, default=1e-8
        Target relative duality gap (certified, not estimated).
    max_iter : int or None, default=None
        Iteration limit (None: 100).
    time_limit : float or None, default=None
        Seconds per output block; the best certified point so far is returned.
    verbose : bool, default=False
        Print one line per iteration.
    n_jobs : int or None, default=None
        Independent outputs are solved in parallel with joblib.
    working_rows : "auto", int or None, default="auto"
        Cone rows per pattern the iterations of the ReLU program carry: those
        whose hyperplanes are nearest to the pattern's gate and the ``d+1``
        farthest; an iterate near the working set's optimum that violates a
        row outside it doubles the sets and restarts the iterations. The
        answer and its certificate are those of the whole program.
        ``"auto"``: ``k = max(128, 1.5 (d+1) ln n) + d + 1`` when ``n >= 2k``,
        else every row. None: every row.
    certify_start : bool, default=True
        Compute the dual bound of a starting point ``init`` before iterating
        (an optimal start is then returned at once). Cutting-plane rounds
        turn it off: their start is not optimal for the round's program.
    newton_steps : int or None, default=None
        Proximal Newton steps for a smooth loss (None: until the Newton
        decrement is below ``tol``, at most 50). Cutting-plane rounds take
        one; the network is then polished on the loss itself.
    """

    name = "ipm"
    #: Smooth separable losses are solved by proximal Newton
    #: (:mod:`skconvexnn.solvers.newton`), each step one squared-loss solve.
    supported_losses = ("squared_error", "poisson", "binary_log_loss")
    #: Newton systems up to this size run with single-threaded BLAS: on two
    #: cores OpenBLAS's threads cost more than they give at this size
    #: (measured 1.66x faster at n=1000, d=10, P=101; asv_benchmarks).
    single_thread_size = 3000

    def __init__(
        self,
        *,
        tol=1e-8,
        max_iter=None,
        time_limit=None,
        verbose=False,
        n_jobs=None,
        working_rows="auto",
        certify_start=True,
        newton_steps=None,
    ):
        self.tol = tol
        self.working_rows = working_rows
        self.certify_start = certify_start
        self.newton_steps = newton_steps
        self.max_iter = max_iter
        self.time_limit = time_limit
        self.verbose = verbose
        self.n_jobs = n_jobs

    def memory_estimate(self, program):
        """Per output block: about ten ``P(d+1)``-square matrices (Gram matrix
        in double and single precision, Newton matrix, factor, temporaries),
        sixteen ``k x 2P`` arrays (slacks, multipliers, scalings, directions;
        ``k`` working rows per group, ``n`` without screening), the rows'
        copies (screened) or the row-wise outer products of ``[X, 1]`` (not
        screened) and the ``n``-row chunks of the certificates."""
        n, p, P = program.n_samples, program.n_features + 1, program.n_patterns
        G = 2 * P if program.formulation == "relu" else P
        blocks = min(program.n_outputs, max(1, self.n_jobs or 1))
        gram_chunk = 2 * min(n * P * p, _CHUNK_ENTRIES)
        k = self._screen(program)
        if k is None or k >= n:
            rows = 16 * n * G + n * p * p
        else:
            rows = 16 * k * G + 2 * G * k * p + n * P // 8
        chunks = 6 * min(n * G, _CHUNK_ENTRIES)
        return 8 * blocks * (10 * (P * p) ** 2 + rows + gram_chunk + chunks)

    def _solve(self, program, *, init=None):
        size = program.n_patterns * (program.n_features + 1)
        if size > self.single_thread_size:
            return self._solve_blocks(program, init, None)
        # one output at a time: its factorisations may use two threads
        # (measured: Cholesky of size 1100 in 6.6 ms vs 11.9 ms), never more
        # than BLAS is allowed now (e.g. inside a joblib worker)
        threads = min(2, _blas_thread_limit()) if program.n_outputs == 1 else 1
        with threadpool_limits(limits=1, user_api="blas"):
            return self._solve_blocks(program, init, threads)

    def _solve_blocks(self, program, init, factor_threads):
        m = program.n_outputs
        if init is not None and not fits_program(program, init):
            init = None
        if program.loss.name == "squared_error":
            solve = partial(self._solve_block, factor_threads=factor_threads)
        else:
            solve = self._solve_smooth
        if m == 1:
            blocks = [solve(program, init)]
        else:
            blocks = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                delayed(solve)(
                    program.output_block(j),
                    None if init is None else tuple(x[j : j + 1] for x in init),
                )
                for j in range(m)
            )
        for block in blocks:
            if not block.converged:
                reason = (
                    "no further progress is possible in double precision; "
                    if block.status == "stalled"
                    else ""
                )
                where = where_stopped(block.info)
                warnings.warn(
                    f"solver 'ipm' stopped with status {block.status!r} {where} "
                    f"(tol={self.tol:g}); {reason}the model uses the best feasible "
                    "point found. Increase max_iter or time_limit, or loosen tol.",
                    ConvergenceWarning,
                    stacklevel=5,
                )
        return combine_blocks(blocks)

    def _screen(self, program):
        """Cone rows per pattern the iterations start with (None: all)."""
        if self.working_rows == "auto":
            if program.formulation != "relu":
                return None
            n, p = program.n_samples, program.n_features + 1
            k = max(128, int(np.ceil(1.5 * p * np.log(n)))) + p
            return k if n >= 2 * k else None
        return self.working_rows

    def _solve_smooth(self, program, init):
        """One output with a smooth loss: proximal Newton, each step solved by
        this method to a tolerance tied to the Newton decrement. No
        certificate (``info["gap"]`` is NaN)."""
        deadline = (
            None if self.time_limit is None else time.perf_counter() + self.time_limit
        )

        def solve_quadratic(model, tol, start, time_limit):
            inner = InteriorPointSolver(
                tol=tol,
                max_iter=self.max_iter,
                time_limit=time_limit,
                certify_start=self.certify_start,
            )
            return inner._solve_block(model, start)

        (V, W, c), status, steps, iterations = prox_newton(
            program,
            solve_quadratic,
            tol=self.tol,
            deadline=deadline,
            init=init,
            max_steps=self.newton_steps,
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

    def _solve_block(self, program, init, factor_threads=1):
        max_iter = 100 if self.max_iter is None else self.max_iter
        deadline = (
            None if self.time_limit is None else time.perf_counter() + (self.time_limit)
        )
        started = time.perf_counter()
        data = _Quadratic(program, threads=factor_threads, screen=self._screen(program))
        assembly = time.perf_counter() - started
        if data.f0 <= 0.0 or data.n_groups == 0:
            # constant targets (or no pattern): the zero network is optimal
            V, W, c = zero_solution(program)
            c[:] = data.ybar
            return SolverResult(
                V, W, c, self.name, "optimal", True, 0, info={"gap": 0.0}
            )
        ipm = _PrimalDual(
            data,
            init=None if init is None else data.groups_from(init),
            tol=self.tol,
            factor_threads=factor_threads,
            certify_start=self.certify_start,
        )
        status = "max_iter"
        # below tol=1e-6 the face the iterate identifies is polished and
        # certified: in the ReLU program at a complementarity of 1e-6 and
        # once more at 1e-8 (the iterations alone stalled at 4e-8-2e-6 on
        # the benchmark programs); the gated iterations mostly reach the
        # tolerance on their own, faster than the polish (all their groups
        # move), so there only if they stop short
        polish = self.tol < 1e-6
        polish_at = 1e-6 if polish and data.relu else None
        polishes = 0
        for it in range(max_iter):
            # the certificate (a tenth of an iteration's cost) is built when
            # it can succeed (its gap tracks the iterate's complementarity)
            # and at every iteration of the end game, where the best primal
            # and dual points of several iterates add up
            complementarity = ipm.complementarity()
            endgame = complementarity <= max(10 * self.tol, 1e-3)
            if complementarity <= self.tol:
                ipm.sharpen()
            certified = it % 5 == 0 or endgame
            if certified:
                if data.relu and complementarity <= _GROW_AT:
                    # violations of 1e-2 (relative) are worth a restart at
                    # once; smaller ones once the certificate stalls on them
                    solved = complementarity <= 0.1 * self.tol and ipm.gap > self.tol
                    if ipm.grow(1e-6 if solved else 1e-2) and self.verbose:
                        print(f"ipm {it:3d}  working rows: {data.rows.per_group}")
                ipm.certify()
            if self.verbose:
                print(
                    f"ipm {it:3d}  primal {ipm.best_primal:.10e}  dual "
                    f"{ipm.best_dual:.10e}  gap {ipm.gap:.2e}  mu {ipm.mu:.2e}"
                )
            if certified and ipm.gap > self.tol and polish_at is not None:
                if complementarity <= polish_at:
                    ipm.polish(deadline)
                    # tried once more when the complementarity has fallen a
                    # hundredfold (on a degenerate program, n=1500, P=61,
                    # each failed try cost 1-4 s)
                    polishes += 1
                    polish_at = polish_at / 100 if polishes < 2 else None
                    if self.verbose:
                        print(f"ipm {it:3d}  polished face: gap {ipm.gap:.2e}")
            if certified and ipm.gap <= self.tol:
                status = "optimal"
                break
            if deadline is not None and time.perf_counter() > deadline:
                status = "time_limit"
                break
            if not ipm.step():
                if data.relu and ipm.grow(1e-6):
                    continue
                status = "stalled"
                break
        if status != "optimal":
            ipm.certify()
            if (
                polish
                and polishes < 2
                and ipm.gap > self.tol
                and ipm.complementarity() <= 1e-5
                and (deadline is None or time.perf_counter() < deadline)
            ):
                ipm.polish(deadline)
            if ipm.gap <= self.tol:
                status = "optimal"
        V, W, c = data.solution(ipm.best_point)
        return SolverResult(
            V,
            W,
            c,
            self.name,
            status,
            status == "optimal",
            ipm.iterations,
            info={
                "gap": float(ipm.gap),
                # cone rows per group the iterations carried at the end
                "working_rows": data.rows.per_group if data.relu else 0,
                # Newton matrices factored through the Woodbury capacitance
                # matrix, and as dense P(d+1)-square matrices; the rows of
                # the capacitance matrix (those weighing at least
                # _WOODBURY_ROW_RTOL of the heaviest)
                "factorizations": dict(ipm.factorizations),
                "capacitance_rows": (
                    data.heavy_Ft.shape[1] if ipm.factorizations["woodbury"] else 0
                ),
                "primal": float(ipm.best_primal * data.f0),
                "dual": float(ipm.best_dual * data.f0),
                # seconds: the data, the Newton matrices and their factors
                # (with the Gram matrix, formed by the first dense one), the
                # certificates and polishes, everything else
                # (triangular solves, refinement, O(n P) elementwise work)
                "time_split": {
                    "assembly": assembly,
                    "factorisation": ipm.timing["factor"],
                    "certificate": ipm.timing["certify"],
                    "solves_and_elementwise": time.perf_counter()
                    - started
                    - assembly
                    - ipm.timing["factor"]
                    - ipm.timing["certify"],
                },
            },
        )


class _Quadratic:
    """The centred quadratic data of one output's program, scaled so that the
    zero network has objective 1."""

    def __init__(self, program, threads=1, screen=None):
        Xt, D = program.Xt, program.patterns
        s = program.sample_weight
        y = program.Y[:, 0]
        n, p = Xt.shape
        P = D.shape[1]
        self.relu = program.formulation == "relu"
        self.Xt, self.D, self.s, self.n, self.p, self.P = Xt, D, s, n, p, P
        self.fit_intercept = program.fit_intercept
        if self.fit_intercept:
            self.ybar = float(s @ y) / s.sum()
            self.mean_F = pattern_rmatvec(Xt, D, s) / s.sum()  # (P, p)
        else:
            self.ybar = 0.0
            self.mean_F = np.zeros((P, p))
        yc = y - self.ybar
        self.yc = yc
        f0 = 0.5 * float(s @ (yc * yc))
        self.f0 = f0
        self.n_groups = (2 * P if self.relu else P) if P else 0
        if f0 <= 0.0 or P == 0:
            return
        self.threads = threads
        self.b = pattern_rmatvec(Xt, D, s * yc).ravel() / f0
        self.alpha = program.alpha / f0
        self.gates = program.gates.T  # (P, p)
        self.sign = np.r_[np.ones(P), -np.ones(P)] if self.relu else np.ones(P)
        self.pattern = np.r_[np.arange(P), np.arange(P)] if self.relu else np.arange(P)
        # With an intercept, the bias of a group on the all-ones pattern only
        # enters through its cone (the centred loss ignores it): the iterates
        # would drift along it. A small curvature (1e-8 alpha, the objective
        # scaled to 1) keeps it at the smallest feasible value; the
        # certificate is computed for the unregularised program.
        self.redundant = np.zeros(self.n_groups)
        # groups on the all-ones pattern: with an intercept their bias entry of
        # F^T S e is sum_k s_k e_k, exactly 0 for the centred residual
        self.centred_bias = np.zeros(self.n_groups, dtype=bool)
        if self.fit_intercept:
            self.centred_bias = D.all(axis=0)[self.pattern]
            # 1e-8 of alpha: its force on the bias, which the dual bound
            # must absorb through the group's multipliers, stays far below
            # alpha (at a fixed 1e-10 a tol=1e-8 solve with a scaled alpha
            # of 8e-6 stalled at 3e-5: n = 10^4, d = 10, P = 50)
            self.redundant[self.centred_bias] = max(1e-8 * self.alpha, 1e-18)
        # the cone rows the iterations carry (the certificates always check
        # every row)
        if not self.relu:
            self.rows = None
        elif screen is None or screen >= n:
            self.rows = _AllRows(self)
        else:
            self.rows = _ScreenedRows(self, screen)

    @cached_property
    def A(self):
        """The Gram matrix ``(QF)^T (QF) / f0`` (formed on first use: the
        Woodbury path needs it only for a face polish or a dense fallback)."""
        return self._gram(self.threads)

    @cached_property
    def Sigma(self):
        """``2D_g - 1`` of every group, shape (n, G) (formed on first use;
        the ReLU iterations need it at every step)."""
        return np.where(self.D[:, self.pattern], 1.0, -1.0)

    @cached_property
    def scaled_Ft(self):
        """``(QF)^T / sqrt(f0)`` of shape (P(d+1), n), whose Gram matrix is
        ``A`` (formed on first use, by the Woodbury path of small-``n``
        programs)."""
        return self._scaled_F(slice(None)).T  # a view: F's rows stay contiguous

    @cached_property
    def heavy_rows(self):
        """Rows weighing at least ``_WOODBURY_ROW_RTOL`` of the heaviest
        (a slice of all rows when every row does)."""
        heavy = self.s >= _WOODBURY_ROW_RTOL * self.s.max()
        return slice(None) if heavy.all() else np.flatnonzero(heavy)

    @property
    def n_heavy_rows(self):
        """How many rows ``heavy_rows`` holds."""
        rows = self.heavy_rows
        return self.n if isinstance(rows, slice) else rows.size

    @cached_property
    def heavy_Ft(self):
        """The columns ``heavy_rows`` of ``scaled_Ft``."""
        if isinstance(self.heavy_rows, slice):
            return self.scaled_Ft
        return np.ascontiguousarray(self.scaled_Ft[:, self.heavy_rows])

    def _scaled_F(self, rows):
        """Rows ``rows`` (a slice) of ``QF / sqrt(f0)``, shape (len, P(d+1))."""
        D, Xt, P, p = self.D[rows], self.Xt[rows], self.P, self.p
        F = (D[:, :, None] * Xt[:, None, :]).reshape(-1, P * p) - self.mean_F.ravel()
        F *= np.sqrt(self.s[rows] / self.f0)[:, None]
        return F

    @cached_property
    def mean_diag_A(self):
        return float(np.trace(self.A)) / len(self.A)

    @cached_property
    def gram_single(self):
        """``A`` in single precision (kept: converting costs as much as
        copying)."""
        return self.A.astype(np.float32)

    def gram(self, dtype):
        """A fresh copy of ``A`` in ``dtype``."""
        return self.gram_single.copy() if dtype == np.float32 else self.A.copy()

    @cached_property
    def outer(self):
        """Row-wise outer products of ``Xt``, shape (n, p * p)."""
        Xt = self.Xt
        return (Xt[:, :, None] * Xt[:, None, :]).reshape(Xt.shape[0], -1)

    def sigma(self, groups):
        """``2D_g - 1`` of the groups ``groups`` (a slice), shape (n, len)."""
        sign = self.D[:, self.pattern[groups]].astype(np.float64)
        sign *= 2.0
        sign -= 1.0
        return sign

    def group_chunks(self):
        """Slices of groups whose (n, chunk) arrays hold about 2**22 entries."""
        size = max(1, _CHUNK_ENTRIES // max(self.n, 1))
        return [slice(g, g + size) for g in range(0, self.n_groups, size)]

    def _gram(self, threads=1):
        """``A = (QF)^T (QF) / f0`` accumulated over row chunks of ``F``."""
        n, p, P = self.n, self.p, self.P
        A = np.zeros((P * p, P * p), order="F")
        rows = max(1, _CHUNK_ENTRIES // (P * p))
        with _blas_threads(threads):
            for start in range(0, n, rows):
                F = self._scaled_F(slice(start, start + rows))
                # F.T is Fortran-ordered: BLAS takes it without a copy
                A = linalg.blas.dsyrk(
                    1.0, F.T, beta=1.0, c=A, trans=0, lower=1, overwrite_c=1
                )
        A += np.tril(A, -1).T  # dsyrk filled the lower triangle
        return A.T  # the same symmetric matrix, C-ordered

    # --- maps between groups and the program's (V, W, c) -------------------
    def combine(self, U):
        """``a`` of shape (P, p) from groups ``U`` of shape (G, p)."""
        if self.relu:
            return U[: self.P] - U[self.P :]
        return U

    def groups_from(self, init):
        V, W, _ = init
        if self.relu:
            return np.concatenate([V[0], W[0]])
        return V[0] - W[0]

    def solution(self, U):
        """``(V, W, c)`` of the program from groups ``U``.

        With an intercept, the bias of a gated group on the all-ones pattern
        does not change the model (``c`` absorbs it); it is set to 0.
        """
        U = U.copy()
        if self.fit_intercept and not self.relu:
            U[self.redundant > 0, -1] = 0.0
        a = self.combine(U)
        c = self.ybar - float(np.sum(self.mean_F * a)) if self.fit_intercept else 0.0
        if self.relu:
            V, W = U[: self.P], U[self.P :]
        else:
            V, W = U, np.zeros_like(U)
        return V[None].copy(), W[None].copy(), np.array([c])

    # --- objective pieces ----------------------------------------------------
    def objective(self, U):
        """Scaled objective, the loss computed from the residual itself (the
        quadratic form loses accuracy for large iterates)."""
        a = self.combine(U)
        e = np.einsum("ij,ij->i", self.D, self.Xt @ a.T) - self.yc
        if self.fit_intercept:
            e = e - float(self.s @ e) / self.s.sum()
        value = 0.5 * float(self.s @ (e * e)) / self.f0
        return value + self.alpha * float(np.linalg.norm(U[:, :-1], axis=1).sum())

    def feasible(self, U):
        """Shift each group along its gate until every cone row is >= 0.

        The gate's cone values ``|Xt g|`` are positive off ties, so a shift by
        the largest ratio ``-slack / |Xt g|`` repairs the group; rounding is
        absorbed by enlarging the shift. A group that cannot be repaired this
        way (a violated row on which the gate is zero) is set to 0, which is
        always feasible.
        """
        if not self.relu:
            return U
        U = U.copy()
        for groups in self.group_chunks():
            U[groups] = self._feasible_chunk(U[groups], groups)
        return U

    def _feasible_chunk(self, U, groups):
        sig = self.sigma(groups)
        H = np.abs(self.Xt @ self.gates[self.pattern[groups]].T)  # sigma * Xt g >= 0
        Dg = self.D[:, self.pattern[groups]]
        for attempt in range(4):
            S = sig * (self.Xt @ U.T)
            bad = S < 0
            if not bad.any():
                return U
            with np.errstate(divide="ignore", invalid="ignore"):
                need = np.where(bad, -S / H, 0.0)
            need[bad & (H <= 0)] = np.inf
            tau = need.max(axis=0)
            # shifting changes the group's outputs D_g Xt u_g by tau D_g Xt g,
            # zeroing it by -D_g Xt u_g: take the smaller change (a far-off
            # iterate, e.g. a bias-only group, is better dropped than shifted)
            shift = tau * np.sqrt(np.sum(np.where(Dg, H * H, 0.0), axis=0))
            drop = np.sqrt(np.sum(np.where(Dg, S * S, 0.0), axis=0))
            tau[shift > drop] = np.inf
            fixable = np.isfinite(tau)
            gates = self.gates[self.pattern[groups]]
            # a shift below the rounding of U would not move it (a point on
            # its face violates rows by about 1e-18): at least 10^(attempt-15)
            # of the group's largest entry
            floor = 10.0 ** (attempt - 15) * np.abs(U).max(axis=1)
            floor /= np.maximum(np.abs(gates).max(axis=1), 1e-300)
            tau = np.maximum(tau * (1.0 + 1e-6 * 10**attempt), floor)
            tau = np.where(fixable & bad.any(axis=0), tau, 0.0)
            U += tau[:, None] * gates
            U[~fixable] = 0.0
        U[(sig * (self.Xt @ U.T) < 0).any(axis=0)] = 0.0
        return U

    def cone_term(self, Z):
        """``Xt^T (sigma_g * z_g)`` of every group for multipliers ``Z`` (n, G),
        shape (G, p)."""
        out = np.empty((self.n_groups, self.p))
        for groups in self.group_chunks():
            out[groups] = (self.sigma(groups) * Z[:, groups]).T @ self.Xt
        return out

    def dual_bound(self, U, Zterm):
        """A lower bound on the scaled optimum from the residual of ``U`` and
        the multipliers of the linear cone rows, given through their term
        ``Zterm = cone_term(Z)`` (None if gated).

        The dual of the program is
        ``max -r^T Q y - |r|^2/2`` over ``r`` and ``z >= 0`` such that every
        ``rho_g = eps_g (QF)_g^T r - Xt^T (sigma_g z_g)`` has a zero bias entry
        and ``|rho_g[:d]| <= alpha``. ``r`` is the scaled residual ``Q(Fa - y)``
        and ``z`` the multipliers, both repaired to satisfy the constraints.
        """
        grad, r_Qy, r_sq = self._residual(U)
        if self.relu:
            rho_free = self._rho_free(grad)
            rho = self._repair_bias(rho_free, Zterm)
            if rho is None:
                return -np.inf
        else:
            rho, r_Qy, r_sq = self._project_bias(grad, r_Qy, r_sq)
        largest = float(np.linalg.norm(rho[:, :-1], axis=1).max())
        theta_max = 1.0 if largest <= self.alpha else self.alpha / largest
        theta = min(max(-r_Qy / r_sq, 0.0), theta_max) if r_sq > 0 else 0.0
        return -theta * r_Qy - 0.5 * theta * theta * r_sq

    def _residual(self, U):
        """``(QF)^T r`` (shape (P, p)), ``r^T Q y`` and ``|r|^2`` for the
        scaled residual ``r = Q(Fa - y)`` of ``U``."""
        Xt, s = self.Xt, self.s
        a = self.combine(U)
        # r from the weighted, centred prediction error e; every product with
        # r is computed from e itself, not from A a (which loses accuracy
        # when the iterate is large)
        e = np.einsum("ij,ij->i", self.D, Xt @ a.T) - self.yc
        if self.fit_intercept:
            e = e - float(s @ e) / s.sum()
        grad = pattern_rmatvec(Xt, self.D, s * e) / self.f0
        return grad, float(s @ (e * self.yc)) / self.f0, float(s @ (e * e)) / self.f0

    def _rho_free(self, grad):
        """``eps_g (QF)_g^T r`` of every group, shape (G, p)."""
        rho_free = self.sign[:, None] * grad[self.pattern]
        # exact zero, not its rounding (which has either sign and, with
        # unequal sample weights, can exceed any relative threshold)
        rho_free[self.centred_bias, -1] = 0.0
        return rho_free

    def multipliers(self, U, threshold=1e-7):
        """Multipliers ``Z >= 0`` of the linear cone rows (shape (n, G)) that
        make the residual of a feasible ``U`` as dual feasible as they can.

        Stationarity asks ``rho_g = -alpha u_g[:d] / |u_g[:d]|`` (zero bias)
        for a non-zero group and ``|rho_g[:d]| <= alpha`` for a zero one, with
        ``z_g`` supported on the rows where ``u_g``'s cone value is zero (every
        row of a zero group): a non-negative least-squares problem with
        ``d + 1`` equations per group, the bias equation weighted up.
        """
        from scipy.optimize import nnls

        G, p = self.n_groups, self.p
        rho_free = self._rho_free(self._residual(U)[0])
        values = self.Xt @ U.T  # (n, G)
        norms = np.linalg.norm(U[:, :-1], axis=1)
        # groups below 1e-6 of the largest are the interior point's zeros;
        # rows below ``threshold`` of the largest cone value are active
        nonzero = norms > 1e-6 * norms.max()
        active = self.Sigma * values <= threshold * np.abs(values).max()
        weight = np.ones(p)
        weight[-1] = 1e3
        Z = np.zeros((self.n, G))
        # a zero group needs multipliers only if its residual term is outside
        # the alpha-ball (a bias defect alone is repaired by the bound); those
        # least-squares problems have n columns each: at most 2**22 in all
        outside = ~nonzero & (np.linalg.norm(rho_free[:, :-1], axis=1) > self.alpha)
        zero_budget = _CHUNK_ENTRIES // max(self.n, 1)
        for g in range(G):
            target = rho_free[g].copy()
            if nonzero[g]:
                target[:-1] += self.alpha * U[g, :-1] / norms[g]
                rows = np.flatnonzero(active[:, g])
            elif outside[g] and zero_budget > 0:
                zero_budget -= 1
                rows = np.arange(self.n)
            else:
                continue
            if rows.size == 0 or not target.any():
                continue
            # C order: scipy's nnls has failed on Fortran-ordered input
            B = np.ascontiguousarray(
                (self.Sigma[rows, g, None] * self.Xt[rows]).T * weight[:, None]
            )
            Z[rows, g] = nnls(B, weight * target, maxiter=50 * p)[0]
        return Z

    def _face_gram(self, E, groups, bases, offsets):
        """``E^T A E`` for the face map ``E`` of :meth:`polish`. Where the
        Woodbury path formed ``scaled_Ft`` (``A = L^T L``, ``L`` with ``n <
        P(d+1)`` rows), through ``L E``, one ``n x p`` block per group:
        ``E^T A E`` through ``A`` cost 56 s on breast_cancer with 385
        patterns (``P(d+1) = 11 935``, ``n = 569``) and formed ``A`` (7 s)."""
        if "scaled_Ft" not in self.__dict__:
            return E.T @ (self.A @ E)
        Ft, p = self.scaled_Ft, self.p
        LE = np.empty((Ft.shape[1], offsets[-1]))
        for j, g in enumerate(groups):
            i = self.pattern[g]
            LE[:, offsets[j] : offsets[j + 1]] = Ft[i * p : (i + 1) * p].T @ (
                self.sign[g] * bases[g]
            )
        return LE.T @ LE

    def polish(self, U, active, nonzero, max_steps=15, deadline=None):
        """Newton's method on the face of the cones that ``U`` identifies.

        Each group in ``nonzero`` moves in the null space of its active cone
        rows (:meth:`_face_rows` of ``active``, the ratios multiplier / slack
        of shape (n, G); None for the gated program), every other group is
        set to zero. On that face the objective is smooth, so
        Newton's method converges fast from an interior-point iterate whose
        gap is about 1e-7; a cone row that a step would cross stops it there
        and joins the face, a face row whose least-squares multiplier is
        negative at the face's minimiser leaves it (an active-set method
        started from the interior-point estimate of the face). The program
        can be flat along some directions (``v`` and ``w`` on one pattern,
        moved by the same multiple of ``v``): a ridge of 1e-10 of the
        Hessian's trace and a backtracking search on the objective keep
        the steps short there.

        Returns the last point (possibly infeasible by rounding; the caller
        makes it feasible and certifies it), early at ``deadline``.
        """
        p, d = self.p, self.p - 1
        U = np.where(nonzero[:, None], U, 0.0)
        groups = np.flatnonzero(nonzero)
        if groups.size == 0:
            return U
        norms = np.linalg.norm(U[:, :-1], axis=1)
        small = norms < 1e-3 * norms.max()  # see _face_rows
        rows = {g: self._face_rows(g, active, small[g]) for g in groups}
        bases = {}
        for _ in range(max_steps):
            if deadline is not None and time.perf_counter() > deadline:
                break
            for g in groups:
                if g not in bases:
                    M = self._face_matrix(g, rows[g])
                    # onto the face by the smallest change: its rows at
                    # 1e-13 of their scale (exactly 0 would leave half of
                    # them negative by rounding, and the shift into the cone
                    # that repairs them costs 1e-8 of the gap); a held bias
                    # keeps its value
                    value = 1e-13 * (np.abs(self.Xt[rows[g]]) @ np.abs(U[g]))
                    if self.redundant[g]:
                        value = np.r_[value, U[g, -1]]
                    bases[g] = N = _null_space(M, p)
                    U[g] = N @ (N.T @ U[g])
                    if len(M):
                        U[g] += np.linalg.lstsq(M, value, rcond=None)[0]
            dims = np.array([bases[g].shape[1] for g in groups])
            offsets = np.r_[0, np.cumsum(dims)]
            if offsets[-1] == 0:
                break
            # E maps the face coordinates to a (P p), its blocks eps_g N_g
            E = np.zeros((self.P * p, offsets[-1]))
            for j, g in enumerate(groups):
                i = self.pattern[g]
                E[i * p : (i + 1) * p, offsets[j] : offsets[j + 1]] = (
                    self.sign[g] * bases[g]
                )
            grad = E.T @ self._residual(U)[0].ravel()
            hess = self._face_gram(E, groups, bases, offsets)
            for j, g in enumerate(groups):
                N, sl = bases[g], slice(offsets[j], offsets[j + 1])
                norm = np.linalg.norm(U[g, :d])
                Nu = N[:d].T @ (U[g, :d] / norm)
                grad[sl] += self.alpha * Nu
                hess[sl, sl] += self.alpha * (N[:d].T @ N[:d] - np.outer(Nu, Nu)) / norm
            # a ridge of 1e-10 of the trace: flat directions are not
            # followed far (without it the steps ran into unrelated rows)
            ridge = 1e-10 * float(np.trace(hess))
            hess[np.diag_indices_from(hess)] += ridge
            try:
                step = -linalg.cho_solve(
                    linalg.cho_factor(hess, check_finite=False), grad
                )
            except linalg.LinAlgError:
                break
            dU = np.zeros_like(U)
            for j, g in enumerate(groups):
                dU[g] = bases[g] @ step[offsets[j] : offsets[j + 1]]
            t, blocked = 1.0, None
            if self.relu:
                sig = self.Sigma[:, groups]
                S = sig * (self.Xt @ U[groups].T)
                dS = sig * (self.Xt @ dU[groups].T)
                for j, g in enumerate(groups):
                    S[rows[g], j] = np.inf
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(dS < 0, S / -dS, np.inf)
                k = int(np.argmin(ratio))
                if ratio.flat[k] < 1.0:
                    t = max(float(ratio.flat[k]), 0.0)
                    blocked = np.unravel_index(k, ratio.shape)
            # backtracking on the objective itself (the quadratic model
            # misleads along directions of tiny curvature)
            current = self.objective(U)
            for _ in range(30):
                if self.objective(U + t * dU) <= current:
                    break
                t, blocked = 0.5 * t, None
            else:
                break
            U = U + t * dU
            if blocked is not None:
                g = groups[blocked[1]]
                rows[g] = np.r_[rows[g], blocked[0]]
                del bases[g]
            elif -float(grad @ step) < 1e-24:
                # stationary on the face: release the row of each group
                # whose multiplier is most negative, if any, and go on
                released = self._release_rows(U, groups, rows)
                if not released:
                    break
                for g in released:
                    del bases[g]
        return U

    def _release_rows(self, U, groups, rows):
        """Drop from each group's face the row with the most negative
        least-squares multiplier (below -1e-6 of the largest); returns the
        groups whose face changed."""
        d = self.p - 1
        grad = self._rho_free(self._residual(U)[0])
        released = []
        for g in groups:
            if len(rows[g]) == 0:
                continue
            target = grad[g].copy()
            target[:-1] += self.alpha * U[g, :-1] / np.linalg.norm(U[g, :d])
            M = self._face_matrix(g, rows[g])
            z = np.linalg.lstsq(M.T, target, rcond=None)[0][: len(rows[g])]
            k = int(np.argmin(z))
            if z[k] < -1e-6 * np.abs(z).max():
                rows[g] = np.delete(rows[g], k)
                released.append(g)
        return released

    def _face_matrix(self, g, rows):
        """The cone rows ``rows`` of group ``g`` as a matrix, plus the bias
        coordinate of a group on the all-ones pattern with an intercept (its
        bias changes neither loss nor norm: the face holds it fixed)."""
        M = self.Sigma[rows, g, None] * self.Xt[rows]
        if self.redundant[g]:
            M = np.vstack([M, np.eye(self.p)[-1:]])
        return M

    def _face_rows(self, g, active, small):
        """The active rows of group ``g`` (multiplier over slack, ``active``,
        above 1); empty for the gated program (``active`` None).

        A non-zero group cannot have ``p`` independent active rows. If it has,
        it is either shrinking to zero (``small``: every row is returned,
        which zeroes it) or not yet separated by the iterations: its
        strongest rows that leave it a ray are kept."""
        if active is None:
            return np.empty(0, dtype=int)
        rows = np.flatnonzero(active[:, g] > 1.0)
        M = self.Sigma[rows, g, None] * self.Xt[rows]
        if rows.size < self.p or _null_space(M, self.p).shape[1]:
            return rows
        if small:
            return np.arange(self.n)
        kept = []
        for k in rows[np.argsort(-active[rows, g])]:
            trial = kept + [k]
            dim = _null_space(self.Sigma[trial, g, None] * self.Xt[trial], self.p)
            if dim.shape[1] == 0:
                continue
            if dim.shape[1] < self.p - len(kept):
                kept = trial
            if dim.shape[1] == 1:
                break
        return np.array(kept, dtype=int)

    def _repair_bias(self, rho_free, Zterm):
        """Multipliers whose bias entries vanish: for each group, add mass
        ``|defect|`` on the row of the needed sign that keeps ``|rho[:d]|``
        smallest, or, without such a row, rescale the group's multipliers.
        Returns None if neither is possible."""
        rho = rho_free - Zterm
        defect = rho[:, -1]
        sign = np.sign(defect)
        X = self.Xt[:, :-1]
        sq_norms = np.sum(X * X, axis=1)[:, None]
        k = np.zeros(self.n_groups, dtype=int)
        ok = defect == 0
        for groups in self.group_chunks():
            sig = self.sigma(groups)
            # mass beta on row k changes rho by -beta * sigma_k * x~_k
            beta = np.abs(defect[groups])[None, :]
            cost = (
                -2 * beta * sign[None, groups] * (X @ rho[groups, :-1].T)
                + beta**2 * sq_norms
            )
            eligible = sig == sign[None, groups]
            k[groups] = np.argmin(np.where(eligible, cost, np.inf), axis=0)
            ok[groups] |= eligible[k[groups], np.arange(sig.shape[1])]
        rho[ok] -= defect[ok, None] * self.Xt[k[ok]]
        for g in np.flatnonzero(~ok):
            free = rho_free[g, -1]
            if abs(free) <= 1e-12 * np.abs(rho_free[g]).max():
                free = 0.0  # rounding of an exactly zero entry (all-ones pattern)
            kappa = free / Zterm[g, -1] if Zterm[g, -1] != 0 else np.nan
            if not np.isfinite(kappa) or kappa < 0:
                return None
            rho[g] = rho_free[g] - kappa * Zterm[g]
        rho[:, -1] = 0.0
        return rho

    def _project_bias(self, grad, r_Qy, r_sq):
        """Gated program: remove from ``r`` its component along ``Q D`` so that
        every pattern's bias entry of ``(QF)^T r`` vanishes. Returns the new
        ``(QF)^T r``, ``<r, Qy>`` and ``|r|^2``."""
        p, P = self.p, self.P
        bias = np.arange(P) * p + (p - 1)
        Abb = self.A[np.ix_(bias, bias)]
        lam = np.linalg.lstsq(Abb, grad[:, -1], rcond=None)[0]
        r_sq += -2 * float(lam @ grad[:, -1]) + float(lam @ Abb @ lam)
        r_Qy -= float(lam @ self.b[bias])
        grad = grad - (self.A[:, bias] @ lam).reshape(P, p)
        grad[:, -1] = 0.0
        return grad, r_Qy, max(r_sq, 0.0)


class _AllRows:
    """Every sample is a cone row of every group: the iterations' linear cone
    arrays have shape (n, G)."""

    def __init__(self, q):
        self.q = q
        self.shape = (q.n, q.n_groups)
        self.per_group = q.n

    def values(self, U):
        """Cone values ``sigma_g * (Xt u_g)`` of the rows."""
        return self.q.Sigma * (self.q.Xt @ U.T)

    def adjoint(self, Z):
        """``Xt^T (sigma_g * z_g)`` of every group, shape (G, p)."""
        return (self.q.Xt.T @ (self.q.Sigma * Z)).T

    def curvature(self, weights):
        """``Xt^T diag(w_g) Xt`` of every group, shape (G, p, p)."""
        q = self.q
        return (weights.T @ q.outer).reshape(q.n_groups, q.p, q.p)

    def dense(self, values):
        """Row values as an (n, G) array."""
        return values

    def grow(self, U, threshold):
        """Nothing to add."""
        return False


class _ScreenedRows:
    """A working set of cone rows per pattern: the iterations' linear cone
    arrays have shape (G, k), entry ``[g, j]`` the row ``index[pattern(g), j]``.

    A pattern's cone ``sigma_i * (Xt u) >= 0`` is cut out by few of its ``n``
    rows (measured on the planted problem, n = 10^4, d = 20, P = 200: the
    rows active at the solution rank at most 204th, 90 % of them below 84th,
    in the distance of their hyperplane to the pattern's gate). The set
    starts with the rows nearest to the gate's hyperplane (by angle) and the
    ``d+1`` farthest: they give the barrier curvature along the gate, which
    the near rows (almost orthogonal to it) do not; without them the Newton
    systems lost accuracy and stalled the gap (n = 5000: at 1.6e-4). It
    grows when an iterate violates rows outside it (:meth:`grow`), so the
    program solved is the whole one, at the cost of ``k`` instead of ``n``
    rows per group. Padding to a common ``k`` (a pattern with fewer rows
    left) is a zero row: the constraint ``0 >= 0``.
    """

    def __init__(self, q, k):
        self.q = q
        Xt, gates = q.Xt, q.gates
        inv_norm = 1.0 / np.maximum(np.linalg.norm(Xt, axis=1), 1e-300)
        self.inv_norm = inv_norm
        # a repeated row is the same constraint: only the first copy is a
        # candidate (with rows repeated 4 times the nearest 140 rows were 35
        # constraints, and the set had to grow to 560)
        distinct = np.unique(Xt, axis=0, return_index=True)[1]
        self.repeated = np.ones(q.n, dtype=bool)
        self.repeated[distinct] = False
        m = len(distinct)
        k = min(k, m)
        far = min(q.p, k // 2)
        near = k - far
        index = np.empty((q.P, k), dtype=np.intp)
        size = max(1, _CHUNK_ENTRIES // max(m, 1))
        for start in range(0, q.P, size):
            sl = slice(start, start + size)
            angle = np.abs(Xt[distinct] @ gates[sl].T) * inv_norm[distinct, None]
            if m <= k:  # every distinct row
                order = np.argsort(angle, axis=0)
            else:
                order = np.argpartition(angle, (near - 1, m - far - 1), axis=0)
            index[sl, :near] = distinct[order[:near].T]
            index[sl, near:] = distinct[order[m - far :].T]
        self.member = np.zeros((q.n, q.P), dtype=bool)
        self.member[index, np.arange(q.P)[:, None]] = True
        self._build(index)

    def _nearest(self, i, count, taken):
        """The ``count`` rows outside pattern ``i``'s set (and ``taken``)
        nearest (by angle) to its gate's hyperplane."""
        angle = np.abs(self.q.Xt @ self.q.gates[i]) * self.inv_norm
        angle[self.member[:, i] | self.repeated] = np.inf
        angle[taken] = np.inf
        count = min(count, int(np.isfinite(angle).sum()))
        if count <= 0:
            return np.empty(0, dtype=np.intp)
        return np.argpartition(angle, count - 1)[:count]

    def _build(self, index):
        """``index`` (P, k): the rows of each pattern, -1 padding (a zero
        row: the constraint ``0 >= 0``, which moves nothing)."""
        q = self.q
        self.index = index
        rows = index[q.pattern]  # (G, k)
        self.pad = rows < 0
        rows = np.where(self.pad, 0, rows)
        self.rows = rows
        sign = np.where(q.D[rows, q.pattern[:, None]], 1.0, -1.0)
        sign[self.pad] = 0.0
        self.X = q.Xt[rows]  # (G, k, p)
        self.X[self.pad] = 0.0
        self.signed = sign[:, :, None] * self.X
        self.shape = rows.shape
        self.per_group = rows.shape[1]

    def values(self, U):
        return np.matmul(self.signed, U[:, :, None])[:, :, 0]

    def adjoint(self, Z):
        return np.matmul(Z[:, None, :], self.signed)[:, 0, :]

    def curvature(self, weights):
        return np.matmul(np.swapaxes(self.X, 1, 2), weights[:, :, None] * self.X)

    def dense(self, values):
        out = np.zeros((self.q.n, self.q.n_groups))
        groups = np.broadcast_to(np.arange(self.q.n_groups)[:, None], self.shape)
        real = ~self.pad
        out[self.rows[real], groups[real]] = values[real]
        return out

    def grow(self, U, threshold):
        """If a group of ``U`` violates a row outside its set by more than
        ``threshold`` (relative to the norms of the row and of the largest
        group) plus what it violates its own rows by, every pattern's set
        doubles (by at least 32 rows): its most violated rows, then the next
        nearest to its gate. Few restarts are then needed from a set far
        too small. Returns True if rows were added."""
        q = self.q
        limit = max(32, self.index.shape[1])
        # rows normalised; violations below 1e-6 of the largest group are
        # rounding (a group shrinking to zero), which the final shift into
        # the cones absorbs
        own = (self.values(U) * self.inv_norm[self.rows]).min(axis=1)
        scale = np.linalg.norm(U, axis=1).max()
        floor = np.minimum(own, 0.0) - threshold * scale
        bad = [[] for _ in range(q.P)]
        for groups in q.group_chunks():
            pattern = q.pattern[groups]
            values = q.sigma(groups) * (q.Xt @ U[groups].T)
            values *= self.inv_norm[:, None]
            violated = values < floor[groups]
            violated[self.member[:, pattern]] = False
            for j in np.flatnonzero(violated.any(axis=0)):
                rows = np.flatnonzero(violated[:, j])
                bad[pattern[j]].extend(rows[np.argsort(values[rows, j])].tolist())
        if not any(bad):
            return False
        # every pattern grows (padding would cost as much as rows): by its
        # most violated rows, then the next rows nearest to its gate (an
        # iterate of a set far too small strays from the pattern's cone, and
        # rows near it are not the cone's facets)
        new = []
        for i in range(q.P):
            rows = np.unique(np.asarray(bad[i][: limit // 2], dtype=np.intp))
            new.append(np.r_[rows, self._nearest(i, limit - len(rows), rows)])
        k = self.index.shape[1]
        index = np.full((q.P, k + limit), -1, dtype=np.intp)
        index[:, :k] = self.index
        for i, rows in enumerate(new):
            index[i, k : k + len(rows)] = rows
            self.member[rows, i] = True
        self._build(index)
        return True


# --- second-order cones, vectorised over rows of shape (G, k) ----------------
def _soc_det_sqrt(x):
    """``sqrt(x0^2 - |x1|^2)``, computed as ``sqrt((x0 - |x1|)(x0 + |x1|))``."""
    nrm = np.linalg.norm(x[:, 1:], axis=1)
    return np.sqrt(np.maximum((x[:, 0] - nrm) * (x[:, 0] + nrm), 0.0))


def _jprod(u, v):
    """Jordan product ``u o v = (u^T v, u0 v1 + v0 u1)``."""
    out = np.empty_like(u)
    out[:, 0] = np.sum(u * v, axis=1)
    out[:, 1:] = u[:, :1] * v[:, 1:] + v[:, :1] * u[:, 1:]
    return out


def _jdiv(lam, r):
    """Solve ``lam o x = r`` for ``x`` (``lam`` in the cone's interior)."""
    det = (lam[:, 0] - np.linalg.norm(lam[:, 1:], axis=1)) * (
        lam[:, 0] + np.linalg.norm(lam[:, 1:], axis=1)
    )
    x = np.empty_like(r)
    x[:, 0] = (lam[:, 0] * r[:, 0] - np.sum(lam[:, 1:] * r[:, 1:], axis=1)) / det
    x[:, 1:] = (r[:, 1:] - x[:, :1] * lam[:, 1:]) / lam[:, :1]
    return x


def _soc_step(x, dx):
    """Largest ``t`` (capped at 1e30) with ``x + t dx`` in the cone, row-wise."""
    a = dx[:, 0] ** 2 - np.sum(dx[:, 1:] ** 2, axis=1)
    b = x[:, 0] * dx[:, 0] - np.sum(x[:, 1:] * dx[:, 1:], axis=1)
    c = _soc_det_sqrt(x) ** 2
    disc = b * b - a * c
    root = np.sqrt(np.maximum(disc, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = c / (-b - root)
        t2 = c / (-b + root)
    t = np.full(len(x), 1e30)
    for cand in (t1, t2):
        good = (disc >= 0) & np.isfinite(cand) & (cand > 0)
        t = np.where(good, np.minimum(t, cand), t)
    # also stay on the positive side (x0 + t dx0 >= 0)
    with np.errstate(divide="ignore"):
        t0 = np.where(dx[:, 0] < 0, -x[:, 0] / dx[:, 0], 1e30)
    return float(np.min(np.minimum(t, t0))) if len(x) else 1e30


def _lin_step(x, dx):
    """Largest ``t`` (capped at 1e30) with ``x + t dx >= 0`` for ``x > 0``."""
    worst = float(np.max(-dx / x)) if x.size else 0.0
    return 1.0 / worst if worst > 1e-30 else 1e30


class _NTScaling:
    """Nesterov–Todd scaling of the linear and second-order cones at (s, z)."""

    def __init__(self, s_lin, z_lin, s_soc, z_soc):
        if s_lin is not None:
            self.w_lin = np.sqrt(s_lin / z_lin)  # W (diagonal)
            self.lam_lin = np.sqrt(s_lin * z_lin)
        sn, zn = _soc_det_sqrt(s_soc), _soc_det_sqrt(z_soc)
        sb, zb = s_soc / sn[:, None], z_soc / zn[:, None]
        gamma = np.sqrt((1.0 + np.sum(sb * zb, axis=1)) / 2.0)
        Jzb = zb.copy()
        Jzb[:, 1:] *= -1
        wbar = (sb + Jzb) / (2.0 * gamma[:, None])  # the NT scaling point
        # W = beta * (2 v v^T - J) with v = (wbar + e) / sqrt(2 (wbar_0 + 1))
        v = wbar.copy()
        v[:, 0] += 1.0
        self.wb = v / np.sqrt(2.0 * (wbar[:, :1] + 1.0))
        self.beta = np.sqrt(sn / zn)
        self.lam_soc = self.apply(z_soc)

    def apply(self, v):
        """``W v`` on the second-order cones: ``beta (2 wb wb^T - J) v``."""
        Jv = v.copy()
        Jv[:, 1:] *= -1
        return self.beta[:, None] * (
            2 * self.wb * np.sum(self.wb * v, axis=1)[:, None] - Jv
        )

    def apply_inv(self, v):
        """``W^{-1} v``: ``(2 J wb wb^T J - J) v / beta``."""
        Jwb = self.wb.copy()
        Jwb[:, 1:] *= -1
        Jv = v.copy()
        Jv[:, 1:] *= -1
        return (2 * Jwb * np.sum(Jwb * v, axis=1)[:, None] - Jv) / self.beta[:, None]

    def inv_square(self):
        """``W^{-2}`` as matrices of shape (G, k, k)."""
        Jwb = self.wb.copy()
        Jwb[:, 1:] *= -1
        k = self.wb.shape[1]
        J = np.diag(np.r_[1.0, -np.ones(k - 1)])
        Winv = (2 * Jwb[:, :, None] * Jwb[:, None, :] - J) / self.beta[:, None, None]
        return Winv @ Winv


def _timed(key):
    """Decorator adding a method's run time to ``self.timing[key]``."""

    def decorate(method):
        @wraps(method)
        def timed(self, *args, **kwargs):
            started = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                self.timing[key] += time.perf_counter() - started

        return timed

    return decorate


class _PrimalDual:
    """Iterates of the Mehrotra predictor–corrector method on ``_Quadratic``."""

    step_fraction = 0.99

    def __init__(self, data, init=None, tol=1e-8, factor_threads=1, certify_start=True):
        self.data = data
        self.factor_threads = factor_threads
        # Newton directions are refined to a relative residual of
        # 0.1 min(tol, 1e-4) (1e-14 for tol < 1e-5), and a factorisation that
        # cannot reach min(tol, 1e-4) (1e-10) is refactored in double
        # precision. Measured (n=1000, d=10,
        # P=100, and the rounds of a cutting-plane fit): the tight setting
        # costs 1.5-3 times the time for the same iterations and gap; a
        # residual floor above tol stalls the dual residual above tol (a
        # round at tol=1.3e-5 stalled at 7e-5 with the floor at 1e-4); loose
        # settings below tol=1e-5 stalled early.
        self.single_products = tol >= 1e-5
        # the dual bound scales the residual's multipliers by about
        # 1 - |error| / alpha: a direction whose error exceeds tol * alpha
        # (absolute, in the scaled units) cannot certify tol. Relative
        # accuracy alone left single-precision solves at errors of 1e-6
        # when alpha is small against the loss of the zero network (large
        # n: at n = 10^5, d = 20, P = 200 the gap stalled at 3e-4). Asked
        # for only once the complementarity is below tol (:meth:`sharpen`):
        # from the start it cost 40-60 % more time (double-precision
        # factors) for the same iterations
        self.dual_accuracy = np.inf
        self.tol = tol
        if tol >= 1e-5:
            self.refine_accept = min(tol, 1e-4)
            self.refine_target = 0.1 * self.refine_accept
        else:
            self.refine_target, self.refine_accept = 1e-14, 1e-10
        q = data
        G, p = q.n_groups, q.p
        self.iterations = 0
        self.best_primal, self.best_dual = np.inf, -np.inf
        self.best_point = np.zeros((G, p))
        self.gap = np.inf
        self.precision = np.float32
        self.woodbury = _use_woodbury(q)
        self.factorizations = {"woodbury": 0, "dense": 0}
        self.timing = {"factor": 0.0, "certify": 0.0}
        if init is None:
            self._cold_start()
        else:
            self._warm_start(init, certify_start)

    # --- starting points ----------------------------------------------------
    def _cold_start(self):
        """CVXOPT's rule: solve the Newton system with W = I, then shift the
        slack and the multipliers into the interior of the cones."""
        q = self.data
        G, p = q.n_groups, q.p
        ones_lin = np.ones(q.rows.shape) if q.relu else None
        e_soc = np.zeros((G, p))
        e_soc[:, 0] = 1.0
        self.scaling = _NTScaling(ones_lin, ones_lin, e_soc, e_soc)
        self._factor()
        rhs_u = q.sign[:, None] * q.b.reshape(q.P, p)[q.pattern]
        rhs_t = -q.alpha * np.ones(G)
        U, T = self._solve_reduced(rhs_u, rhs_t)
        self.U, self.T = U, T
        s_lin, s_soc = self._G(U, T)
        # one shift for all cones (CVXOPT's rule): shifting the linear rows
        # and the second-order cones separately left the few second-order
        # cones far from the central path (first steps 0.001-0.09 at
        # n=10^4, d=20, P=200; with one shift 0.6-0.9, 93 -> 82 iterations;
        # n=1000: 36 -> 33)
        self.S, self.Ss = _shift_cones(s_lin, s_soc)
        self.Z, self.Zs = _shift_cones(None if s_lin is None else -s_lin, -s_soc)

    def _warm_start(self, U, certify=True):
        """A starting point ``U`` (e.g. a previous solution) becomes the
        incumbent: the solver never returns a worse point. With ``certify``
        its own dual bound (multipliers fitted by
        :meth:`_Quadratic.multipliers`) is computed first, so an optimal start
        is certified without iterating. The iterations start cold."""
        q = self.data
        U = q.feasible(U)
        self.best_primal, self.best_point = q.objective(U), U
        if certify and q.relu:
            # which rows are active depends on how accurate the start is:
            # the bound of each threshold is valid, the best is kept (from
            # solver output at gaps 2e-7 and 4e-5, n=200 and 1000)
            self.best_dual = max(
                q.dual_bound(U, q.cone_term(q.multipliers(U, threshold)))
                for threshold in (1e-7, 1e-5, 1e-3)
            )
        elif certify:
            self.best_dual = q.dual_bound(U, None)
        self._cold_start()

    # --- maps -----------------------------------------------------------------
    def _G(self, U, T):
        """``G x``: the linear cone values and the (t, u[:d]) cone vectors."""
        q = self.data
        s_lin = q.rows.values(U) if q.relu else None
        s_soc = np.concatenate([T[:, None], U[:, :-1]], axis=1)
        return s_lin, s_soc

    def _GT(self, z_lin, z_soc):
        """``G^T z`` split into its u part (G, p) and t part (G,)."""
        q = self.data
        gu = np.zeros((q.n_groups, q.p))
        if q.relu:
            gu += q.rows.adjoint(z_lin)
        gu[:, :-1] += z_soc[:, 1:]
        return gu, z_soc[:, 0].copy()

    def _hess(self, U, single=False):
        """``H x`` on the u part: ``eps_g (A a)_{pi(g)}``.

        ``single``: in single precision while the factor is and
        ``tol >= 1e-5`` (half the bytes read; its rounding, 1e-7 of
        ``|A| |a|``, is below the refinement's target of 0.1 tol). Only for
        the residuals of the refinement: the iterate's own dual residual in
        single precision stalled a solve at tol=3e-5 at a gap of 7e-5.
        On the Woodbury path always in double precision, as ``L^T (L a)``
        (the refinement of a double-precision solve stalled at the rounding
        of single-precision products, 1e-5 of the right-hand side)."""
        q = self.data
        a = q.combine(U).ravel()
        if self.woodbury:
            Aa = q.scaled_Ft @ (a @ q.scaled_Ft)
        elif single and self.single_products and self.precision == np.float32:
            Aa = q.gram_single @ a.astype(np.float32)
        else:
            Aa = q.A @ a
        Aa = Aa.reshape(q.P, q.p)
        out = q.sign[:, None] * Aa[q.pattern]
        out[:, -1] += q.redundant * U[:, -1]
        return out

    # --- Newton system --------------------------------------------------------
    @_timed("factor")
    def _factor(self):
        """Factor the reduced Newton matrix ``E^T A E + blkdiag(K_g)``.

        ``K_g`` is the barrier curvature of group ``g`` with its epigraph
        variable eliminated. The ReLU program is solved through
        ``a = dv - dw`` (one Cholesky of size ``P(d+1)``, after a symmetric
        diagonal scaling). The factor of ``K_v^-1 + K_w^-1`` used to be
        formed from the inverses of ``K_v`` and ``K_w``, which near the
        optimum lost accuracy and forced a factorisation of the full
        ``2P(d+1)`` system (measured: 60-140 ms each against 4-8 ms); through
        ``S = K_v + K_w`` the split stays as accurate as the full system
        was, to the end.
        """
        q, sc = self.data, self.scaling
        G, p, P = q.n_groups, q.p, q.P
        K = np.zeros((G, p, p))
        if q.relu:
            K += q.rows.curvature(sc.w_lin**-2)  # rows weighted by z/s
        W2 = sc.inv_square()
        self.W2 = W2
        K[:, :-1, :-1] += W2[:, 1:, 1:] - W2[:, 1:, :1] * W2[:, :1, 1:] / W2[:, :1, :1]
        K[:, -1, -1] += q.redundant
        self.K = K
        if q.relu:
            # (K_v^-1 + K_w^-1)^-1 = K_v S^-1 K_w with S = K_v + K_w: only
            # S is inverted, which stays well conditioned where K_v or K_w
            # alone does not (a row active for v is inactive for w)
            self.Sinv = _inv_spd(K[:P] + K[P:])
            # K_w S^-1 and K_v S^-1 for every solve (a three-operand einsum
            # per solve cost 2.4 ms at P = 120, d = 30; these products 0.03)
            self.KwS, self.KvS = K[P:] @ self.Sinv, K[:P] @ self.Sinv
            blocks = self.KvS @ K[P:]
            blocks = 0.5 * (blocks + np.swapaxes(blocks, 1, 2))
        else:
            blocks = K.copy()
            blocks[:, np.arange(p), np.arange(p)] += 1e-12 * q.mean_diag_A
        if self.woodbury and self._factor_woodbury(blocks):
            return
        diag = np.diag(q.A) + np.diagonal(blocks, axis1=1, axis2=2).ravel()
        scale = 1.0 / np.sqrt(np.maximum(diag, 1e-300))
        # formed directly in the factor's precision, scaled, then the
        # scaled blocks added: three passes over a P(d+1)-square matrix
        M = q.gram(self.precision)
        M *= scale[:, None].astype(M.dtype)
        M *= scale[None, :].astype(M.dtype)
        s_blocks = scale.reshape(P, p)
        add_to_block_diagonal(M, blocks * s_blocks[:, :, None] * s_blocks[:, None, :])
        with _blas_threads(self.factor_threads):
            self.chol = (_cholesky(M), scale)
        self.factorizations["dense"] += 1

    def _factor_woodbury(self, blocks):
        """Factor ``A + B`` (``B = blkdiag(blocks)``) for the Woodbury identity
        ``(A + B)^-1 = B^-1 - B^-1 L^T C^-1 L B^-1`` with ``A = L^T L`` (``L``
        has ``n`` rows) and the capacitance ``C = I + L B^-1 L^T``: one
        ``n x n`` factor instead of a ``P(d+1)``-square one. Returns False
        (and leaves the Woodbury path for good) if a block is not positive
        definite."""
        q = self.data
        Ft = q.heavy_Ft
        P, p, n = q.P, q.p, Ft.shape[1]
        try:
            Lb = np.linalg.cholesky(blocks)
        except np.linalg.LinAlgError:
            # a block K_v S^-1 K_w (positive semi-definite) can come out of
            # rounding with a tiny negative eigenvalue near the optimum: lift
            # the eigenvalues of every block to _BLOCK_FLOOR of its largest
            # (only the preconditioner changes; CG solves the exact system)
            lam, vec = np.linalg.eigh(blocks)
            floor = _BLOCK_FLOOR * np.maximum(lam[:, -1:], 1e-300)
            lam = np.maximum(lam, floor)
            try:
                Lb = np.linalg.cholesky(
                    (vec * lam[:, None, :]) @ np.swapaxes(vec, 1, 2)
                )
            except np.linalg.LinAlgError:
                self.woodbury = False
                return False
        Linv = np.linalg.solve(Lb, np.broadcast_to(np.eye(p), blocks.shape))
        Binv = np.swapaxes(Linv, 1, 2) @ Linv
        with _blas_threads(self.factor_threads):
            Y = (Linv @ Ft.reshape(P, p, n)).reshape(P * p, n)
            # Y is C-ordered: Y.T is Fortran-ordered and dsyrk forms Y^T Y
            C = linalg.blas.dsyrk(1.0, Y.T, trans=0, lower=1)
            C[np.diag_indices(n)] += 1.0
            self.chol = (Binv, _cholesky(C))
        self.factorizations["woodbury"] += 1
        return True

    def _solve_woodbury(self, rhs):
        Binv, capacitance = self.chol
        q = self.data
        Ft = q.heavy_Ft
        t = _bmv(Binv, rhs.reshape(q.P, q.p))
        w = linalg.cho_solve(capacitance, t.ravel() @ Ft, check_finite=False)
        return (t - _bmv(Binv, (Ft @ w).reshape(q.P, q.p))).ravel()

    def _apply_reduced(self, dU):
        """``(E^T A E + K) dU``."""
        return self._hess(dU, single=True) + _bmv(self.K, dU)

    def _solve_once(self, R):
        q = self.data
        P, p = q.P, q.p
        if q.relu:
            K, Sinv, Rv, Rw = self.K, self.Sinv, R[:P], R[P:]
            # a = dv - dw from (A + K_v S^-1 K_w) a = K_w S^-1 Rv - K_v S^-1 Rw,
            # then dv = S^-1 (Rv + Rw + K_w a) and dw = dv - a
            x = _bmv(self.KwS, Rv) - _bmv(self.KvS, Rw)
            a = self._cho_solve(x.ravel()).reshape(P, p)
            dV = _bmv(Sinv, Rv + Rw + _bmv(K[P:], a))
            dW = dV - a
            return np.concatenate([dV, dW])
        return self._cho_solve(R.ravel()).reshape(R.shape)

    def _cho_solve(self, rhs):
        if self.woodbury:
            return self._solve_woodbury(rhs)
        (factor, lower), scale = self.chol
        x = linalg.cho_solve(
            (factor, lower), (scale * rhs).astype(factor.dtype), check_finite=False
        )
        return scale * x

    def _solve_reduced(self, rhs_u, rhs_t, refine=10):
        """Solve ``(H + G^T W^-2 G) dx = rhs`` for (dU, dT), with iterative
        refinement on the reduced system until the residual stops shrinking."""
        W2 = self.W2
        R = rhs_u.copy()
        R[:, :-1] -= W2[:, 1:, 0] * (rhs_t / W2[:, 0, 0])[:, None]
        size = np.abs(R).max()
        target = min(self.refine_target * size, 0.1 * self.dual_accuracy)
        if self.woodbury:
            dU, res = self._pcg(R, target)
        else:
            dU, res = self._refine(R, target, refine)
        accept = min(self.refine_accept * size, self.dual_accuracy)
        if np.abs(res).max() > accept:
            # not accurate enough: leave single precision; in double precision
            # the direction is as accurate as it gets (factoring the full
            # 2P(d+1) system instead was 2-4 times slower at tol=1e-8 and
            # reached no smaller gap: n=1000, d=10, P=100, and P=305, d=5)
            if self.woodbury and np.abs(res).max() <= _CG_SLACK * accept:
                # CG (in double precision) stalled near the target: as
                # accurate as a dense factor's refinement gets, which is
                # accepted in double precision too
                return dU, _dT_of(W2, rhs_t, dU)
            if self.woodbury:
                # the identity lost accuracy (blocks of B near singular):
                # the dense factor from here on
                self.woodbury = False
                self._factor()
                return self._solve_reduced(rhs_u, rhs_t, refine)
            if self.precision == np.float64:
                return dU, _dT_of(W2, rhs_t, dU)
            self.precision = np.float64
            self._factor()
            return self._solve_reduced(rhs_u, rhs_t, refine)
        return dU, _dT_of(W2, rhs_t, dU)

    def _refine(self, R, target, steps):
        """Iterative refinement of the factor's solution of the reduced
        system until the residual is below ``target`` or stops shrinking;
        returns the direction and its residual."""
        dU = self._solve_once(R)
        res = R - self._apply_reduced(dU)
        for _ in range(steps):
            err = np.abs(res).max()
            if err <= target:
                break
            new = dU + self._solve_once(res)
            new_res = R - self._apply_reduced(new)
            if np.abs(new_res).max() >= err:
                break
            dU, res = new, new_res
        return dU, res

    def _pcg(self, R, target, max_iter=50):
        """Conjugate gradients on the reduced system, preconditioned by its
        Woodbury solve: near the optimum the identity loses digits along the
        weakly curved directions of ``B`` (a few), which refinement removed
        by a factor of 2 per step and CG removes in a few steps."""
        dU = self._solve_once(R)
        res = R - self._apply_reduced(dU)
        z = self._solve_once(res)
        d = z.copy()
        rz = float(np.sum(res * z))
        best = (np.abs(res).max(), dU, res)
        for _ in range(max_iter):
            if best[0] <= target or rz <= 0:
                break
            Md = self._apply_reduced(d)
            dMd = float(np.sum(d * Md))
            if dMd <= 0:
                break
            step = rz / dMd
            dU = dU + step * d
            res = res - step * Md
            err = np.abs(res).max()
            if err < best[0]:
                best = (err, dU, res)
            z = self._solve_once(res)
            rz, rz_old = float(np.sum(res * z)), rz
            d = z + (rz / rz_old) * d
        # the recursive residual drifts from the true one: recompute it
        dU = best[1]
        return dU, R - self._apply_reduced(dU)

    def _direction(self, r_xu, r_xt, rp_lin, rp_soc, ds_lin, ds_soc):
        """Search direction for a scaled centrality right-hand side ``ds``."""
        q, sc = self.data, self.scaling
        rho_soc = sc.apply_inv(ds_soc - sc.apply_inv(rp_soc))
        rho_lin = None
        if q.relu:
            rho_lin = (ds_lin - rp_lin / sc.w_lin) / sc.w_lin
        gu, gt = self._GT(rho_lin, rho_soc)
        dU, dT = self._solve_reduced(-r_xu + gu, -r_xt + gt)
        g_lin, g_soc = self._G(dU, dT)
        dZs = rho_soc - np.einsum("gij,gj->gi", self.W2, g_soc)
        dSs = g_soc + rp_soc
        dZ = dS = None
        if q.relu:
            dZ = rho_lin - g_lin / sc.w_lin**2
            dS = g_lin + rp_lin
        return dU, dT, dS, dZ, dSs, dZs

    def _max_step(self, dS, dZ, dSs, dZs):
        t = min(_soc_step(self.Ss, dSs), _soc_step(self.Zs, dZs))
        if self.data.relu:
            t = min(t, _lin_step(self.S, dS), _lin_step(self.Z, dZ))
        return t

    @property
    def m(self):
        """Degree of the cone: the linear rows carried and one per group."""
        q = self.data
        return (int(np.prod(q.rows.shape)) if q.relu else 0) + q.n_groups

    @property
    def mu(self):
        total = float(np.sum(self.Ss * self.Zs))
        if self.data.relu:
            total += float(np.sum(self.S * self.Z))
        return total / self.m

    def step(self):
        """One predictor–corrector step. Returns False if no progress is
        possible (the iterate is then left unchanged)."""
        try:
            with np.errstate(divide="raise", invalid="raise"):
                return self._step()
        except (np.linalg.LinAlgError, FloatingPointError, ValueError):
            return False

    def _step(self):
        q = self.data
        self.scaling = sc = _NTScaling(self.S, self.Z, self.Ss, self.Zs)
        self._factor()
        gu, gt = self._GT(self.Z, self.Zs)
        b_g = q.sign[:, None] * q.b.reshape(q.P, q.p)[q.pattern]
        r_xu = self._hess(self.U) - b_g - gu
        r_xt = q.alpha - gt
        s_lin, s_soc = self._G(self.U, self.T)
        rp_soc = s_soc - self.Ss
        rp_lin = s_lin - self.S if q.relu else None
        mu = self.mu
        # predictor (affine scaling)
        lam_lin = sc.lam_lin if q.relu else None
        aff = self._direction(
            r_xu,
            r_xt,
            rp_lin,
            rp_soc,
            None if lam_lin is None else -lam_lin,
            -sc.lam_soc,
        )
        dU, dT, dS, dZ, dSs, dZs = aff
        t_aff = min(1.0, self._max_step(dS, dZ, dSs, dZs))
        gap_aff = float(np.sum((self.Ss + t_aff * dSs) * (self.Zs + t_aff * dZs)))
        if q.relu:
            gap_aff += float(np.sum((self.S + t_aff * dS) * (self.Z + t_aff * dZ)))
        sigma = min(1.0, max(gap_aff / self.m / mu, 0.0) ** 3)
        # corrector
        ws_soc, wz_soc = sc.apply_inv(dSs), sc.apply(dZs)
        rc_soc = -_jprod(sc.lam_soc, sc.lam_soc) - _jprod(ws_soc, wz_soc)
        rc_soc[:, 0] += sigma * mu
        ds_soc = _jdiv(sc.lam_soc, rc_soc)
        ds_lin = None
        if q.relu:
            rc_lin = -lam_lin * lam_lin - (dS / sc.w_lin) * (dZ * sc.w_lin) + sigma * mu
            ds_lin = rc_lin / lam_lin
        dU, dT, dS, dZ, dSs, dZs = self._direction(
            r_xu, r_xt, rp_lin, rp_soc, ds_lin, ds_soc
        )
        t = min(1.0, self.step_fraction * self._max_step(dS, dZ, dSs, dZs))
        if not np.isfinite(t) or t < 1e-12:
            return False
        self.U = self.U + t * dU
        self.T = self.T + t * dT
        self.Ss = self.Ss + t * dSs
        self.Zs = self.Zs + t * dZs
        if q.relu:
            self.S = self.S + t * dS
            self.Z = self.Z + t * dZ
        self.iterations += 1
        return bool(np.all(np.isfinite(self.U)))

    def complementarity(self):
        """``s^T z`` relative to the iterate's objective: the duality gap of
        the iterate when it is feasible."""
        return self.m * self.mu / max(self.data.objective(self.U), 1e-12)

    @_timed("certify")
    def certify(self):
        """Update the best feasible point, the best dual bound and the gap."""
        q = self.data
        U = q.feasible(self.U)
        Zterm = q.rows.adjoint(self.Z) if q.relu else None
        self._record(U, q.dual_bound(self.U, Zterm))

    def sharpen(self):
        """Ask the Newton directions for the absolute accuracy the dual
        bound needs at ``tol`` (``0.1 tol alpha``)."""
        self.dual_accuracy = 0.1 * self.tol * self.data.alpha

    def grow(self, threshold):
        """Add the cone rows the iterate violates (by more than ``threshold``
        relative to the row's and the group's norms) to a screened working
        set (:meth:`_ScreenedRows.grow`) and restart the iterations on it
        (the best point and bound are kept). Returns True if rows were
        added."""
        q = self.data
        if not q.rows.grow(self.U, threshold):
            return False
        self._cold_start()
        return True

    def _record(self, U, dual):
        """Keep the feasible point ``U`` and the bound ``dual`` if better."""
        primal = self.data.objective(U)
        if primal < self.best_primal:
            self.best_primal, self.best_point = primal, U
        self.best_dual = max(self.best_dual, dual)
        self.gap = (self.best_primal - self.best_dual) / max(self.best_primal, 1e-12)

    @_timed("certify")
    def polish(self, deadline=None):
        """Certify the face the iterate has identified: Newton's method on it
        (:meth:`_Quadratic.polish`; groups below 1e-6 of the largest are
        zero, a cone row is active where its multiplier exceeds its slack),
        then the multipliers fitted on the active rows of the result. Near
        the optimum both the point and the bound are accurate to rounding,
        which the iterations themselves are not (they stall at gaps between
        1e-8 and 2e-6). A wrong face costs nothing but the time: the point and
        the bound are only kept if they are better."""
        q = self.data
        norms = np.linalg.norm(self.U[:, :-1], axis=1)
        if not norms.any():
            return
        active = q.rows.dense(self.Z / self.S) if q.relu else None
        with np.errstate(all="ignore"):
            U = q.polish(self.U, active, norms > 1e-6 * norms.max(), deadline=deadline)
        if not np.all(np.isfinite(U)):
            return
        U = q.feasible(U)
        Zterm = q.cone_term(q.multipliers(U, 1e-9)) if q.relu else None
        self._record(U, q.dual_bound(U, Zterm))


def _dT_of(W2, rhs_t, dU):
    """Back-substitute the epigraph variables eliminated from the Newton system."""
    return (rhs_t - np.sum(W2[:, 0, 1:] * dU[:, :-1], axis=1)) / W2[:, 0, 0]


def _shift_cones(lin, soc):
    """Shift every cone by the same multiple of its identity, 1 + the
    largest violation over all of them (CVXOPT's rule)."""
    nrm = np.linalg.norm(soc[:, 1:], axis=1)
    worst = float(np.max(nrm - soc[:, 0]))
    if lin is not None:
        worst = max(worst, -float(lin.min()))
    shift = 0.0 if worst < 0 else 1.0 + worst
    out = soc.copy()
    out[:, 0] += shift
    return (None if lin is None else lin + shift), out


def _null_space(M, p):
    """Orthonormal basis (p, k) of the null space of the rows ``M``."""
    if len(M) == 0:
        return np.eye(p)
    # Vt is p x p either way; the full U (len(M) squared: 10^8 entries for
    # a zero group's face at n = 10^4, 0.17 s per call) only when it is small
    _, sv, Vt = np.linalg.svd(M, full_matrices=len(M) < p)
    rank = int(np.sum(sv > 1e-10 * sv[0])) if sv.size else 0
    return Vt[rank:].T


_CONTROLLER = None


def _controller():
    """The process's threadpoolctl controller, created once (entering one of
    its contexts then costs microseconds)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def _blas_threads(limit):
    """Context limiting BLAS to ``limit`` threads (None: no change)."""
    if limit is None:
        return nullcontext()
    return _controller().limit(limits=limit, user_api="blas")


def _blas_thread_limit():
    """The number of threads BLAS may use now (1 if unknown)."""
    counts = [
        info["num_threads"]
        for info in _controller().info()
        if info.get("user_api") == "blas"
    ]
    return max(1, min(counts)) if counts else 1


def _bmv(M, x):
    """Batched matrix-vector products ``M[g] @ x[g]``."""
    return (M @ x[..., None])[..., 0]


#: Eigenvalue floor, relative to each block's largest, of the Woodbury
#: preconditioner's blocks when one is not numerically positive definite.
_BLOCK_FLOOR = 1e-12

#: A Woodbury direction whose CG residual stalls within this factor of the
#: accuracy asked for is accepted rather than handing over to the dense
#: factor (cancer, 385 patterns: CG stalled at 1.9e-12 for 1.5e-12, and the
#: dense factor of size 11 935 that took over cost 53 s, then 10 s per step).
_CG_SLACK = 10.0


def _use_woodbury(q):
    """Whether the ReLU program's Newton matrices are factored through the
    Woodbury identity: when ``n^2 P(d+1) + n^3 / 3``, its flop count (``n``
    the rows of the capacitance matrix, :attr:`_Quadratic.heavy_rows`), is below
    ``_WOODBURY_RATIO`` of a dense factorisation's (the dense factor runs in
    single precision at first, the capacitance matrix always in double). The
    gated program's blocks are singular in the bias (it has no cone rows):
    dense only."""
    if not q.relu:
        return False
    n, size = q.n_heavy_rows, q.P * q.p
    return bool(n * n * size + n**3 / 3 < _WOODBURY_RATIO * size**3 / 3)


def _inv_spd(K):
    """Inverse of a batch of symmetric positive definite matrices."""
    try:
        L = np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(K, hermitian=True)
    eye = np.broadcast_to(np.eye(K.shape[-1]), K.shape)
    Linv = np.linalg.solve(L, eye)
    return np.swapaxes(Linv, -1, -2) @ Linv


def _cholesky(M):
    """Cholesky factor of a diagonally scaled SPD matrix; near the optimum it
    can lose definiteness to rounding, then a growing multiple of the identity
    is added (iterative refinement against the true matrix corrects for it)."""
    for jitter in (0.0, 1e-12, 1e-10, 1e-8, 1e-6):
        try:
            return linalg.cho_factor(
                M + jitter * np.eye(len(M), dtype=M.dtype) if jitter else M,
                lower=True,
                check_finite=False,
            )
        except linalg.LinAlgError:
            continue
    raise np.linalg.LinAlgError("Newton matrix is not positive definite")
