r"""ADMM for the ℓ∞-robust program (:class:`~skconvexnn.robust_program.RobustProgram`).

With :math:`x = (U, c, \tau)` (the groups :math:`v_i, w_i` as rows of ``U``,
the output intercept, and for the flip-tolerant formulation at
:math:`\varepsilon > 0` one bound :math:`\tau_g \ge \lVert u_g[:d]\rVert_1`
per group), both formulations are

.. math::

   \min_x\; \sum_k s_k\,\ell\Big(a_k - \varepsilon\lVert T_k\rVert_1
       - \sum_i (R_{ki})_+\Big)
     + \alpha\sum_g \lVert u_g[:d]\rVert_2 + \iota_{\mathcal C}(Cx),

where ``a`` (``n``), ``T`` (``n x d``) and ``R`` (``n x P``, flip-tolerant
only) are linear in :math:`x` and :math:`Cx` collects the cone constraints:
the signed pre-activations :math:`\sigma_g\circ\tilde X u_g` with the weight
parts for ``"strict"`` (:math:`\min_k (\sigma_g\circ\tilde X u_g)_k \ge
\varepsilon\lVert u_g[:d]\rVert_1`), the pairs :math:`(\tau_g, u_g[:d])` for
the flip-tolerant ℓ1 cones. The hinge loss of the standard program
(:class:`~skconvexnn.problem.ConvexReLUProgram`, one output) is the strict
formulation at :math:`\varepsilon = 0` (``"gated"``: without cones; no
intercept when it is not fitted). The term :math:`\sum_i (R_{ki})_+` with
:math:`R_{ki} = \tilde x_k^\top \bar h_i + \varepsilon\tau_{\bar h_i}` is the
worst-case contribution of the units that hurt sample ``k``; it is exact at
the optimum because the margin decreases in :math:`\tau`.

ADMM splits the three terms from :math:`x` with copies :math:`z = Kx`; the
:math:`x`-update solves one linear system whose matrix
:math:`\sum_j w_j K_j^\top K_j` does not depend on the penalty, so it is
factored once (Cholesky, size :math:`2P(d+1) + 1 + 2P`) and residual balancing
costs nothing. Every proximal step is exact and vectorised:

* the loss of one sample's copy :math:`(a_k, T_k, R_k)`: with
  :math:`t = \lambda/\rho \ge 0` the multiplier of the margin,
  :math:`a = a^0 + t`, :math:`T = \operatorname{soft}(T^0, \varepsilon t)`,
  :math:`R = \operatorname{prox}_{t(\cdot)_+}(R^0)`, and the margin
  :math:`m(t)` is increasing, concave and piecewise linear, so the scalar
  condition :math:`\rho t \in -s_k\partial\ell(m(t))` is solved exactly for
  the hinge (the margin at every sorted kink from suffix sums, then the root
  on its segment) and by safeguarded Newton for the logistic loss;
* the group norm: group soft-thresholding of the weight parts;
* the cones: a one-dimensional monotone search for the soft-threshold level
  of the weight parts (bisection).

The returned point is the ADMM iterate :math:`x`: for the flip-tolerant
formulation every point is feasible and the best objective seen at the
checks is kept; for ``"strict"`` the remaining cone violation is reported by
the estimator (``constraint_violation_``). No duality gap is computed: ``tol``
bounds the relative primal and dual residuals. Convergence is slow on these
piecewise-linear programs when they are degenerate (hinge loss, small
``alpha``, strict cones): tens of thousands of iterations, with a
``ConvergenceWarning`` at ``max_iter``.
"""

import time

import numpy as np
from scipy import linalg
from scipy.special import expit

from ._base import add_to_block_diagonal

#: Losses of the robust program this solver handles.
ROBUST_LOSSES = ("hinge", "binary_log_loss")
#: Per formulation: weight of the cone copies relative to the loss copy, and
#: the initial penalty per unit of mean sample weight. The best of penalties
#: 0.003-1 and cone weights 0.1-100 on moons and blobs programs (n = 40-300,
#: alpha = 0.01-1, both losses, epsilon 0 and 0.05): the strict ℓ1 cones
#: (epsilon > 0) need the larger weight (without it the iterates sat 1e-4
#: below the optimum with a 1e-4 cone violation after 10 000 iterations); at
#: epsilon = 0 it left the dual residual at 3e-4 after 10 000.
SETTINGS = {"strict_l1": (10.0, 0.1), "other": (1.0, 0.03)}
#: Weight of the group-norm copy relative to the loss copy.
PENALTY_WEIGHT = 1.0
#: Residual balancing keeps the penalty within this factor of its start.
RHO_RANGE = 10.0
#: Rows of the pattern matrix ``F`` formed at once when accumulating its Gram.
_CHUNK_ENTRIES = 2**22


def robust_memory_estimate(program):
    """Peak bytes: the Gram matrix and its factor, the ``F`` chunks of its
    assembly, and about a dozen ``n x 2P`` arrays (copies, duals, products)."""
    n, p, P = program.n_samples, program.n_features + 1, program.n_patterns
    size = 2 * P * p + 1 + 2 * P
    return 8 * (3 * size**2 + 12 * n * 2 * P + 6 * n * p + _CHUNK_ENTRIES) + 2**20


def _soft(x, t):
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


def _pattern_gram(Xt, D):
    """``(F^T F, F^T 1)`` of ``F = [D_1 Xt, ..., D_P Xt]`` from row chunks."""
    n, p = Xt.shape
    P = D.shape[1]
    G = np.zeros((P * p, P * p))
    g = np.zeros(P * p)
    rows = max(1, _CHUNK_ENTRIES // max(P * p, 1))
    for start in range(0, n, rows):
        block = slice(start, start + rows)
        F = (D[block, :, None] * Xt[block, None, :]).reshape(-1, P * p)
        G += F.T @ F
        g += F.sum(axis=0)
    return G, g


class _RobustMaps:
    """The linear maps ``K_loss``, ``K_pen``, ``K_cone`` of a robust program,
    their adjoints and the weighted Gram matrix."""

    def __init__(self, program):
        self.Xt = program.Xt
        self.D = program.patterns.astype(float)
        self.s = program.sample_weight.astype(float)
        self.alpha = float(program.alpha)
        self.n, self.p = self.Xt.shape
        self.d = self.p - 1
        self.P = self.D.shape[1]
        if hasattr(program, "epsilon"):  # a RobustProgram
            self.y = program.y.astype(float)
            self.eps = float(program.epsilon)
            self.strict = program.formulation == "strict"
            self.cones = self.strict
        else:  # one hinge output of a ConvexReLUProgram: strict at epsilon 0
            self.y = program.Y[:, 0].astype(float)
            self.eps = 0.0
            self.strict = True
            self.cones = program.formulation == "relu"
        self.intercept = bool(getattr(program, "fit_intercept", True))
        self.use_tau = not self.strict and self.eps > 0
        self.pos = self.y > 0
        self.n_u = 2 * self.P * self.p
        self.size = self.n_u + 1 + (2 * self.P if self.use_tau else 0)
        if self.strict:
            self.sigma = np.tile(2.0 * self.D - 1.0, (1, 2))
        cone_weight, self.rho_start = SETTINGS[
            "strict_l1" if self.strict and self.eps > 0 else "other"
        ]
        self.weights = {"loss": 1.0, "pen": PENALTY_WEIGHT, "cone": cone_weight}
        self.has_cone = self.cones or self.use_tau

    # -- layout ------------------------------------------------------------
    def unpack(self, x):
        U = x[: self.n_u].reshape(2 * self.P, self.p)
        c = x[self.n_u]
        tau = x[self.n_u + 1 :] if self.use_tau else None
        return U, c, tau

    def pack(self, gU, gc, gtau=None):
        x = np.zeros(self.size)
        x[: self.n_u] = gU.ravel()
        x[self.n_u] = gc
        if self.use_tau and gtau is not None:
            x[self.n_u + 1 :] = gtau
        return x

    # -- forward maps ------------------------------------------------------
    def loss_map(self, x):
        """``(a, T, R)``; ``T`` is None at epsilon 0, ``R`` for the strict
        formulation."""
        U, c, tau = self.unpack(x)
        P, d, D, Xt, y = self.P, self.d, self.D, self.Xt, self.y
        if self.strict:
            net = U[:P] - U[P:]
            a = y * (np.einsum("ki,ki->k", D, Xt @ net.T) + c)
            return a, (D @ net[:, :d] if self.eps > 0 else None), None
        V, W = U[:P], U[P:]
        preV, preW = Xt @ V.T, Xt @ W.T
        pos = self.pos[:, None]
        helping = np.where(pos, preV, preW)  # h = v for y = +1, w for y = -1
        a = np.einsum("ki,ki->k", D, helping) + y * c
        T = np.where(pos, D @ V[:, :d], D @ W[:, :d]) if self.eps > 0 else None
        R = np.where(pos, preW, preV)
        if self.use_tau:
            R += self.eps * np.where(pos, tau[P:], tau[:P])
        return a, T, R

    def loss_adjoint(self, a, T, R):
        d, D, Xt = self.d, self.D, self.Xt
        gc = float(self.y @ a) if self.intercept else 0.0
        if self.strict:
            g_net = (D * (self.y * a)[:, None]).T @ Xt
            if T is not None:
                g_net[:, :d] += D.T @ T
            return self.pack(np.vstack([g_net, -g_net]), gc)
        pos, neg = self.pos, ~self.pos
        gV = (D[pos] * a[pos, None]).T @ Xt[pos]
        if T is not None:
            gV[:, :d] += D[pos].T @ T[pos]
        gV += R[neg].T @ Xt[neg]
        gW = (D[neg] * a[neg, None]).T @ Xt[neg]
        if T is not None:
            gW[:, :d] += D[neg].T @ T[neg]
        gW += R[pos].T @ Xt[pos]
        gtau = None
        if self.use_tau:
            gtau = self.eps * np.concatenate([R[neg].sum(axis=0), R[pos].sum(axis=0)])
        return self.pack(np.vstack([gV, gW]), gc, gtau)

    def pen_map(self, x):
        return self.unpack(x)[0].copy()

    def pen_adjoint(self, Z):
        return self.pack(Z, 0.0)

    def cone_map(self, x):
        """``(S, q)`` for ``"strict"`` (``q`` None at ε = 0), ``(tau, q)``
        for the flip-tolerant ℓ1 cones."""
        U, _, tau = self.unpack(x)
        q = U[:, : self.d].copy() if self.eps > 0 else None
        if self.strict:
            return self.sigma * (self.Xt @ U.T), q
        return tau.copy(), q

    def cone_adjoint(self, first, q):
        if self.strict:
            gU = (self.sigma * first).T @ self.Xt
            if q is not None:
                gU[:, : self.d] += q
            return self.pack(gU, 0.0)
        gU = np.zeros((2 * self.P, self.p))
        gU[:, : self.d] = q
        return self.pack(gU, 0.0, first)

    # -- Gram matrix -------------------------------------------------------
    def gram(self):
        r""":math:`\sum_j w_j K_j^\top K_j`, assembled block by block."""
        P, p, d, n_u = self.P, self.p, self.d, self.n_u
        Xt, D, eps = self.Xt, self.D, self.eps
        w = self.weights
        G = np.zeros((self.size, self.size))
        J = np.diag(np.r_[np.ones(d), 0.0])  # weight coordinates
        V, W = slice(0, P * p), slice(P * p, n_u)
        ci = n_u
        if self.strict:
            FF, f1 = _pattern_gram(Xt, D)
            if eps > 0:
                FF += np.kron(D.T @ D, J)
            for a, sa in ((V, 1.0), (W, -1.0)):
                G[ci, a] = G[a, ci] = w["loss"] * sa * f1
                for b, sb in ((V, 1.0), (W, -1.0)):
                    G[a, b] += w["loss"] * sa * sb * FF
            G[ci, ci] = w["loss"] * self.n
            if self.cones:
                K = Xt.T @ Xt + (J if eps > 0 else 0.0)
                add_to_block_diagonal(G, w["cone"] * K, count=2 * P)
        else:
            for rows, other, own, sign in (
                (self.pos, ~self.pos, V, 1.0),
                (~self.pos, self.pos, W, -1.0),
            ):
                FF, f1 = _pattern_gram(Xt[rows], D[rows])
                if eps > 0:
                    FF += np.kron(D[rows].T @ D[rows], J)
                G[own, own] += w["loss"] * FF
                G[ci, own] = G[own, ci] = w["loss"] * sign * f1
                # R: the other label's rows through this block's groups
                Xo = Xt[other]
                add_to_block_diagonal(
                    G, w["loss"] * (Xo.T @ Xo), count=P, start=own.start
                )
                if self.use_tau:
                    first = own.start // p  # group index of the block's start
                    col = Xo.sum(axis=0)
                    for i in range(P):
                        t = n_u + 1 + first + i
                        g = slice(own.start + i * p, own.start + (i + 1) * p)
                        G[t, g] = G[g, t] = w["loss"] * eps * col
                        G[t, t] += w["loss"] * eps**2 * Xo.shape[0]
            G[ci, ci] = w["loss"] * self.n
            if self.use_tau:
                add_to_block_diagonal(G, w["cone"] * J, count=2 * P)
                taus = np.arange(n_u + 1, self.size)
                G[taus, taus] += w["cone"]
        G[np.arange(n_u), np.arange(n_u)] += w["pen"]
        if not self.intercept:  # c stays 0: its row is the identity
            G[ci, :] = G[:, ci] = 0.0
            G[ci, ci] = 1.0
        return G

    # -- proximal steps ----------------------------------------------------
    def margin(self, a, T, R, t):
        """Margin after the loss prox with multiplier ``t`` (per sample)."""
        m = a + t
        if self.eps > 0:
            m -= self.eps * np.maximum(np.abs(T) - self.eps * t[:, None], 0.0).sum(1)
        if R is not None:
            m -= np.maximum(R - t[:, None], 0.0).sum(axis=1)
        return m

    def slope(self, a, T, R, t):
        """Right derivative of :meth:`margin` in ``t``."""
        g = np.ones_like(t)
        if self.eps > 0:
            g += self.eps**2 * (np.abs(T) > self.eps * t[:, None]).sum(axis=1)
        if R is not None:
            g += (R > t[:, None]).sum(axis=1)
        return g

    def _level(self, a0, T0, R0, level):
        r"""Per sample, the ``t`` with ``margin(t) = level``, exactly.

        The margin is :math:`a^0 + t - \sum_j \kappa_j(\beta_j - t)_+`, with
        kinks :math:`\beta = |T^0|/\varepsilon` (weight
        :math:`\varepsilon^2`) and :math:`\beta = R^0` (weight 1): increasing
        and piecewise linear. The kinks are sorted once; suffix sums give the
        margin at every kink and the root on its segment. Roots below 0
        come out below 0 (the caller clips).
        """
        kinks, weights = [], []
        if self.eps > 0:
            kinks.append(np.abs(T0) / self.eps)
            weights.append(np.full(T0.shape, self.eps**2))
        if R0 is not None:
            kinks.append(R0)
            weights.append(np.ones(R0.shape))
        if not kinks:
            return level - a0
        beta = np.maximum(np.hstack(kinks), 0.0)  # kinks below 0 never bind
        kappa = np.hstack(weights)
        order = np.argsort(beta, axis=1)
        beta = np.take_along_axis(beta, order, axis=1)
        kappa = np.take_along_axis(kappa, order, axis=1)
        n, K = beta.shape
        # suffix sums over the kinks above each one: S_k[j] = sum_{i >= j}
        S_k = np.zeros((n, K + 1))
        S_kb = np.zeros((n, K + 1))
        S_k[:, :K] = np.cumsum(kappa[:, ::-1], axis=1)[:, ::-1]
        S_kb[:, :K] = np.cumsum((kappa * beta)[:, ::-1], axis=1)[:, ::-1]
        # margin at each kink (kinks at or below it no longer count)
        at = a0[:, None] + beta - (S_kb[:, 1:] - beta * S_k[:, 1:])
        # first kink whose margin reaches the level; the root is on the
        # segment left of it, where the kinks j.. still count
        j = np.argmax(at >= level, axis=1)
        reached = np.take_along_axis(at, j[:, None], axis=1)[:, 0] >= level
        j = np.where(reached, j, K)
        rows = np.arange(n)
        slope = 1.0 + S_k[rows, j]
        # margin(t) = a0 + t - S_kb[j] + t S_k[j] on that segment
        return (level - a0 + S_kb[rows, j]) / slope

    def loss_prox(self, a0, T0, R0, rho, hinge, start=None):
        """Exact prox of ``sum_k s_k l(m_k)`` at the copy ``(a0, T0, R0)``.

        Returns the new copy and the multipliers ``t = lambda / rho``;
        ``start`` is a guess of ``t`` (used by the logistic loss)."""
        upper = self.s / rho  # t = lambda / rho, lambda in [0, s_k]
        if hinge:
            t = np.clip(self._level(a0, T0, R0, 1.0), 0.0, upper)
        else:
            # psi(t) = t - (s / rho) expit(-m(t)) is increasing: safeguarded
            # Newton, started from the previous multiplier (ADMM moves it little)
            t = 0.5 * upper if start is None else np.clip(start, 0.0, upper)
            lo, hi = np.zeros_like(a0), upper.copy()
            todo = np.ones(a0.shape, dtype=bool)
            previous = np.full(a0.shape, np.inf)  # |psi| one step earlier
            for _ in range(200):
                idx = np.flatnonzero(todo)
                if idx.size == 0:
                    break
                sub = (
                    a0[idx],
                    None if T0 is None else T0[idx],
                    None if R0 is None else R0[idx],
                )
                ti, up = t[idx], upper[idx]
                e = expit(-self.margin(*sub, ti))
                psi = ti - up * e
                done = np.abs(psi) <= 1e-13 * up
                lo[idx] = np.where(psi < 0, ti, lo[idx])
                hi[idx] = np.where(psi > 0, ti, hi[idx])
                new = ti - psi / (1.0 + up * e * (1.0 - e) * self.slope(*sub, ti))
                # bisect when Newton leaves the bracket or did not halve |psi|
                # (it can cycle where the margin has kinks)
                slow = np.abs(psi) > 0.5 * previous[idx]
                bad = (new <= lo[idx]) | (new >= hi[idx]) | slow
                new[bad] = 0.5 * (lo[idx][bad] + hi[idx][bad])
                previous[idx] = np.abs(psi)
                t[idx] = np.where(done, ti, new)
                todo[idx[done]] = False
        a = a0 + t
        T = _soft(T0, self.eps * t[:, None]) if self.eps > 0 else T0
        R = None
        if R0 is not None:
            R = np.where(R0 > t[:, None], R0 - t[:, None], np.minimum(R0, 0.0))
        return a, T, R, t

    def pen_prox(self, Z0, rho):
        Z = Z0.copy()
        norms = np.linalg.norm(Z0[:, : self.d], axis=1)
        shrink = np.maximum(1.0 - self.alpha / (rho * np.maximum(norms, 1e-300)), 0.0)
        Z[:, : self.d] *= shrink[:, None]
        return Z

    def cone_prox(self, first, q):
        """Projection onto the cones (Euclidean: both parts share a weight)."""
        if self.strict and q is None:
            return np.maximum(first, 0.0), None
        absq = np.abs(q)
        if self.strict:
            # (S_g, q_g) onto {S >= eps ||q||_1}: level mu of soft(q, mu) with
            # eps * sum_k (eps ||soft(q, mu)||_1 - S_k)_+ = mu
            def excess(mu, g):
                theta = np.maximum(absq[g] - mu[:, None], 0.0).sum(axis=1)
                short = np.maximum(self.eps * theta[None, :] - first[:, g], 0.0)
                return self.eps * short.sum(axis=0) - mu

            top = absq.max(axis=1)
        else:
            # (tau_g, q_g) onto {tau >= ||q||_1}: ||soft(q, nu)||_1 = tau + nu
            def excess(nu, g):
                theta = np.maximum(absq[g] - nu[:, None], 0.0).sum(axis=1)
                return theta - first[g] - nu

            top = np.maximum(absq.max(axis=1), -first)
        every = np.arange(q.shape[0])
        level = np.zeros(q.shape[0])
        # groups already in their cone keep level 0; at the top level the
        # weight part is 0, so a positive excess there means q = 0
        todo = np.flatnonzero(excess(level, every) > 0.0)
        at_top = excess(top[todo], todo) >= 0.0
        level[todo[at_top]] = top[todo[at_top]]
        todo = todo[~at_top]
        lo, hi = np.zeros(todo.size), top[todo]
        for _ in range(60):  # bisection of the decreasing excess
            mid = 0.5 * (lo + hi)
            above = excess(mid, todo) > 0.0
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
        level[todo] = 0.5 * (lo + hi)
        q_new = _soft(q, level[:, None])
        if self.strict:
            theta = np.abs(q_new).sum(axis=1)
            return np.maximum(first, self.eps * theta[None, :]), q_new
        return first + level, q_new


def solve_robust(
    program,
    *,
    init=None,
    tol=1e-6,
    max_iter=20_000,
    deadline=None,
    relaxation=1.6,
    rho=None,
    check_every=10,
    verbose=False,
):
    """ADMM on a robust program.

    Parameters
    ----------
    program : RobustProgram
    init : tuple (V, W, c) or None
        Starting point, shapes ``(1, P, d + 1)``, ``(1, P, d + 1)``, ``(1,)``.
    tol : float
        Relative primal and dual residual tolerance.
    max_iter : int
    deadline : float or None
        ``time.perf_counter()`` value at which to stop.
    relaxation : float
    rho : float or None
        Initial penalty (default: ``SETTINGS``, times the mean sample weight).
    check_every : int
    verbose : bool

    Returns
    -------
    (V, W, c) : arrays of shapes ``(1, P, d + 1)`` twice and ``(1,)``
    status : str
        ``"optimal"``, ``"max_iter"``, ``"time_limit"`` or ``"diverged"``.
    n_iter : int
    info : dict
    """
    maps = _RobustMaps(program)
    hinge = program.loss.name == "hinge"
    factor = linalg.cho_factor(maps.gram(), overwrite_a=True, check_finite=False)
    x = np.zeros(maps.size)
    if init is not None:
        V, W, c = init
        U = np.vstack([V[0], W[0]])
        tau = None
        if maps.use_tau:
            tau = np.abs(U[:, : maps.d]).sum(axis=1)
        x = maps.pack(U, float(c[0]), tau)
    rho0 = maps.rho_start * float(maps.s.mean()) if rho is None else float(rho)
    rho = rho0
    lam = None  # the loss multipliers over w["loss"], warm start of the prox

    def loss_prox(parts, rho_block):
        nonlocal lam
        *new, t = maps.loss_prox(
            *parts, rho_block, hinge, None if lam is None else lam / rho
        )
        lam = t * rho
        return new

    copies = [
        _Copy(maps.weights["loss"], maps.loss_map, maps.loss_adjoint, loss_prox, x),
        _Copy(
            maps.weights["pen"],
            lambda v: [maps.pen_map(v)],
            maps.pen_adjoint,
            lambda parts, rho_block: [maps.pen_prox(parts[0], rho_block)],
            x,
        ),
    ]
    if maps.has_cone:
        copies.append(
            _Copy(
                maps.weights["cone"],
                maps.cone_map,
                maps.cone_adjoint,
                lambda parts, rho_block: list(maps.cone_prox(*parts)),
                x,
            )
        )

    best_x, best_value = x.copy(), _objective(program, maps, x)
    status, it = "max_iter", 0
    r_primal = r_dual = np.inf
    for it in range(1, max_iter + 1):
        rhs = copies[0].rhs()
        for copy in copies[1:]:
            rhs += copy.rhs()
        x = linalg.cho_solve(factor, rhs, check_finite=False)
        check = it % check_every == 0
        for copy in copies:
            copy.update(x, relaxation, rho, keep_old=check)
        if not check:
            # the limit is checked every iteration (one costs milliseconds
            # at cancer size, a check's ten iterations a tenth of a second)
            if deadline is not None and time.perf_counter() > deadline:
                status = "time_limit"
                break
            continue
        if not np.all(np.isfinite(x)):
            status = "diverged"
            break
        # residuals (weighted, relative); at the optimum the copies' dual
        # terms cancel, so the dual residual is scaled by the largest one
        prim = scale_p = 0.0
        dz = None
        for copy in copies:
            prim += copy.weight * _norm2(_minus(copy.Kx, copy.z))
            scale_p += copy.weight * max(_norm2(copy.Kx), _norm2(copy.z))
            step = copy.weight * copy.adjoint(*_minus(copy.z, copy.old))
            dz = step if dz is None else dz + step
        dual_scale = max(
            np.linalg.norm(copy.weight * copy.adjoint(*copy.u)) for copy in copies
        )
        r_primal = np.sqrt(prim) / max(np.sqrt(scale_p), 1e-12)
        r_dual = np.linalg.norm(dz) / max(dual_scale, 1e-12)
        value = None
        if not maps.strict:
            value = _objective(program, maps, x)
            if value < best_value:
                best_x, best_value = x.copy(), value
        if verbose:
            if value is None:
                value = _objective(program, maps, x)
            print(
                f"robust admm {it:6d}  objective {value:.10g}"
                f"  r_pri {r_primal:.1e}  r_dual {r_dual:.1e}  rho {rho:.2e}"
            )
        if r_primal <= tol and r_dual <= tol:
            status = "optimal"
            break
        if deadline is not None and time.perf_counter() > deadline:
            status = "time_limit"
            break
        ratio = np.sqrt(r_primal / max(r_dual, 1e-300))
        if (ratio > 5.0 or ratio < 0.2) and (
            rho0 / RHO_RANGE <= rho * ratio <= rho0 * RHO_RANGE
        ):
            # scaled duals u = y / rho follow the penalty; the matrix does not
            for copy in copies:
                copy.u = [None if u is None else u / ratio for u in copy.u]
            rho *= ratio
    if maps.strict or status == "diverged" or not np.all(np.isfinite(x)):
        final = x if np.all(np.isfinite(x)) else best_x
    else:
        value = _objective(program, maps, x)
        final = x if value <= best_value else best_x
    U, c, _ = maps.unpack(final)
    P = maps.P
    info = {"r_primal": float(r_primal), "r_dual": float(r_dual), "rho": float(rho)}
    return (U[:P][None].copy(), U[P:][None].copy(), np.array([c])), status, it, info


def _minus(first, second):
    """Part-wise difference of two lists of arrays (``None`` parts kept)."""
    return [None if a is None else a - b for a, b in zip(first, second)]


def _norm2(parts):
    """Squared Euclidean norm of a list of arrays (``None`` parts skipped)."""
    return sum(float(np.sum(b * b)) for b in parts if b is not None)


class _Copy:
    """One ADMM copy ``z = K x`` of the splitting: its weight, map, adjoint and
    proximal step, the copy ``z`` and its scaled dual ``u`` (lists of arrays,
    ``None`` for absent parts)."""

    def __init__(self, weight, forward, adjoint, prox, x):
        self.weight, self.forward, self.adjoint, self.prox = (
            weight,
            forward,
            adjoint,
            prox,
        )
        self.z = list(forward(x))
        self.u = [None if b is None else np.zeros_like(b) for b in self.z]
        self.Kx = self.old = None

    def rhs(self):
        """This copy's term ``w K^T (z - u)`` of the x-update."""
        return self.weight * self.adjoint(*_minus(self.z, self.u))

    def update(self, x, relaxation, rho, keep_old=False):
        """Over-relaxed copy and scaled dual updates after the x-update."""
        if keep_old:
            self.old = self.z
        self.Kx = list(self.forward(x))
        hat = [
            None if k is None else relaxation * k + (1 - relaxation) * z
            for k, z in zip(self.Kx, self.z)
        ]
        new = self.prox(
            [None if h is None else h + u for h, u in zip(hat, self.u)],
            rho * self.weight,
        )
        self.u = [None if h is None else u + h - z for h, u, z in zip(hat, self.u, new)]
        self.z = new


def _objective(program, maps, x):
    U, c, _ = maps.unpack(x)
    P = maps.P
    return program.objective(U[:P][None], U[P:][None], np.array([c]))
