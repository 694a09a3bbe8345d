r"""Optimality certificates over *all* two-layer ReLU networks.

Let :math:`f` be a network, :math:`Z = f(X)` its outputs and
:math:`\Gamma = \nabla_Z L(Z, Y)` the gradient of the (weighted-sum) loss. A
ReLU unit :math:`u = (w, b)` with :math:`\lVert w\rVert_2 = 1` and output weight
:math:`\pm t` can lower the objective when added with a small :math:`t` exactly
when

.. math:: \lambda_j(u) = \big|\Gamma_{:, j}^\top (X w + b)_+\big| > \alpha

for some output :math:`j` (Pilanci & Ergen's dual constraint). Hence

* :func:`find_violating_units` searches for units with large
  :math:`\lambda_j(u)`: the *dual violation*
  :math:`\max_{j, u} \lambda_j(u) / \alpha - 1` is positive when one is found.
  For a fixed direction :math:`w` the best bias is found *exactly*, by sorting
  :math:`Xw` (the maximum of the piecewise-linear :math:`b \mapsto
  \Gamma^\top (Xw + b)_+` is at a kink); the direction is improved by local
  ascent from many starts. For one feature (``d = 1``) the directions
  :math:`w = \pm 1` are all there is, so the search is exact.
* :func:`global_lower_bound` turns the gradient into a dual-feasible point
  :math:`\mu = \theta \Gamma`, :math:`\theta = \min(1, \alpha / \max_u
  \lambda(u))`, whose dual value :math:`-L^*(\mu)` is a lower bound on the
  objective of *every* network of any width. It is a certificate only when the
  maximum over units is exact (``exact=True`` from the search, i.e. ``d = 1``);
  otherwise it is an estimate.
"""

import time
from typing import NamedTuple

import numpy as np
from scipy.special import expit, softmax
from sklearn.utils import check_random_state

from .losses import BinaryLogLoss, MultinomialLogLoss, PoissonLoss, SquaredError

#: Local-ascent steps of the violation search.
ASCENT_STEPS = 25
#: Values sorted per ascent step (starts times samples), at most.
MAX_SORTED = 4_000_000


def _best_bias(X, g, W, *, allow_all=True):
    r"""Best bias for every direction in ``W``, by one sort per direction.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    g : ndarray of shape (n,)
    W : ndarray of shape (d, S)
        Unit-norm directions.
    allow_all : bool
        Whether the all-active pattern (a linear unit) is allowed.

    Returns
    -------
    value : ndarray of shape (S,)
        :math:`\max_b |g^\top (X w + b)_+|`.
    sign : ndarray of shape (S,)
        Sign of :math:`g^\\top (X w + b)_+` at the maximiser.
    bias : ndarray of shape (S,)
    """
    S = X @ W  # (n, S)
    order = np.argsort(-S, axis=0, kind="stable")
    s_sorted = np.take_along_axis(S, order, axis=0)
    g_sorted = g[order]
    # bias -s_(j) activates the top j + 1 points: phi_j = sum_top g (s - s_(j))
    phi = np.cumsum(g_sorted * s_sorted, axis=0) - s_sorted * np.cumsum(
        g_sorted, axis=0
    )
    if not allow_all:
        phi[-1] = 0.0
    hi, lo = phi.argmax(axis=0), phi.argmin(axis=0)
    cols = np.arange(W.shape[1])
    up, down = phi[hi, cols], -phi[lo, cols]
    sign = np.where(up >= down, 1.0, -1.0)
    value = np.maximum(up, down)
    j = np.where(up >= down, hi, lo)
    bias = -s_sorted[j, cols]
    return value, sign, bias


def _ascent_step(X, g, W, sign, bias):
    """Move every direction to the maximiser of its current linear piece."""
    active = (X @ W + bias) >= 0  # (n, S)
    grad = X.T @ (active * g[:, None])  # sum_active g_k x_k, (d, S)
    # the bias is tied to the pivot point: subtract its share
    pivot = np.argmin(np.where(active, X @ W, np.inf), axis=0)
    mass = (active * g[:, None]).sum(axis=0)
    grad -= X[pivot].T * mass
    grad *= sign
    norm = np.linalg.norm(grad, axis=0)
    ok = norm > 0
    W = W.copy()
    W[:, ok] = grad[:, ok] / norm[ok]
    return W


def _start_directions(X, g, n_random, start_gates, rng):
    n, d = X.shape
    parts = [rng.standard_normal((d, n_random))]
    if start_gates is not None and start_gates.size:
        units = start_gates[:d]
        parts += [units, units + 0.3 * rng.standard_normal(units.shape)]
    parts.append((X.T @ g)[:, None])
    i, k = rng.randint(n, size=(2, n_random))
    parts.append((X[i] - X[k]).T)
    W = np.hstack(parts)
    norm = np.linalg.norm(W, axis=0)
    W = W[:, norm > 1e-12] / norm[norm > 1e-12]
    # every ascent step sorts n values per start: cap the work for large n
    cap = max(10, MAX_SORTED // (2 * n))
    if W.shape[1] > cap:
        W = W[:, rng.choice(W.shape[1], cap, replace=False)]
    return np.hstack([W, -W])


class ViolationSearch(NamedTuple):
    r"""Result of :func:`find_violating_units`.

    Attributes
    ----------
    violation : float
        :math:`\max_{j,u} \lambda_j(u)/\alpha - 1` over the units visited
        (``inf`` when ``alpha = 0`` and some :math:`\lambda > 0`).
    units : list of (gate, sign, output, value)
        Units with :math:`\lambda_j(u) > \alpha`, largest first, distinct
        activation patterns per output; ``gate`` of shape (d + 1,) with
        unit-norm weight part, ``sign`` the sign of the output weight that
        lowers the loss.
    correlations : ndarray of shape (m,)
        Largest :math:`\lambda_j(u)` found for each output.
    exact : bool
        True when the maxima are exact (one feature).
    """

    violation: float
    units: list
    correlations: np.ndarray
    exact: bool


def find_violating_units(
    X,
    G,
    alpha,
    *,
    start_gates=None,
    n_random=100,
    n_units=20,
    fit_intercept=True,
    random_state=None,
    deadline=None,
):
    r"""Search for units that violate the dual constraint, for each output.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    G : ndarray of shape (n, m)
        Gradient of the weighted-sum loss at the network outputs.
    alpha : float
        Penalty weight of the program (``alpha`` of the estimator).
    start_gates : ndarray of shape (d + 1, k) or None
        Gates to start the local ascent from (e.g. the network's own units);
        ``n_random`` random directions and ``n_random`` differences of data
        points are added.
    n_random : int, default=100
    n_units : int, default=20
        Largest number of units returned per output.
    fit_intercept : bool, default=True
        If False, the all-active pattern is excluded.
    random_state : int, RandomState instance or None
    deadline : float or None, default=None
        ``time.perf_counter()`` value after which the local ascent stops (the
        largest value found so far is reported: a smaller, still valid,
        violation).

    Returns
    -------
    result : ViolationSearch
    """
    rng = check_random_state(random_state)
    n, d = X.shape
    exact = d == 1
    correlations, units = np.zeros(G.shape[1]), []
    for j in range(G.shape[1]):
        g = G[:, j]
        if exact:
            W = np.array([[1.0, -1.0]])
            value, sign, bias = _best_bias(X, g, W, allow_all=fit_intercept)
        else:
            W = _start_directions(X, g, n_random, start_gates, rng)
            value, sign, bias = _best_bias(X, g, W, allow_all=fit_intercept)
            for _ in range(ASCENT_STEPS):
                if deadline is not None and time.perf_counter() > deadline:
                    break
                W_new = _ascent_step(X, g, W, sign, bias)
                v_new, s_new, b_new = _best_bias(X, g, W_new, allow_all=fit_intercept)
                better = v_new > value
                if not better.any():
                    break
                W[:, better] = W_new[:, better]
                value[better], sign[better] = v_new[better], s_new[better]
                bias[better] = b_new[better]
        correlations[j] = float(value.max(initial=0.0))
        # distinct patterns among the violating directions, largest first
        order = np.argsort(-value)
        order = order[value[order] > alpha]
        seen = set()
        for s in order if n_units > 0 else []:
            pattern = np.packbits(X @ W[:, s] + bias[s] >= 0).tobytes()
            key = (pattern, sign[s])
            if key in seen:
                continue
            seen.add(key)
            gate = np.append(W[:, s], bias[s])
            # the output weight that lowers the loss has the opposite sign
            units.append((gate, -float(sign[s]), j, float(value[s])))
            if len(seen) >= n_units:
                break
    best = float(correlations.max(initial=0.0))
    if alpha > 0:
        violation = best / alpha - 1.0
    else:
        violation = np.inf if best > 0 else -1.0
    units.sort(key=lambda unit: -unit[3])
    return ViolationSearch(violation, units, correlations, exact)


def global_lower_bound(Z, Y, loss, sample_weight, alpha, correlations):
    r"""Lower bound on the loss plus penalty of every network, from the dual.

    Parameters
    ----------
    Z : ndarray of shape (n, m)
        Outputs of a network whose output intercept is optimal (the
        gradient sums to zero over samples for every output).
    Y : ndarray of shape (n, m)
    loss : BaseLoss
        Squared error or a log-loss.
    sample_weight : ndarray of shape (n,)
    alpha : float
    correlations : ndarray of shape (m,)
        :math:`\max_u \lambda_j(u)` at ``Z`` for every output; the bound is
        certified only if these maxima are exact. A unit shared by several
        outputs has correlation vector norm at most their Euclidean norm.

    Returns
    -------
    bound : float
        On the scale of the MLP objective ``J`` (divided by the total weight);
        ``-inf`` for losses without a conjugate here.
    """
    largest = float(np.linalg.norm(correlations))
    theta = 1.0 if largest <= alpha else alpha / largest
    s = sample_weight[:, None]
    if isinstance(loss, SquaredError):
        m = Y.shape[1]
        mu = theta * loss.gradient(Z, Y, sample_weight)
        # L*(mu) = sum mu y + m mu^2 / (2 s)
        conj = float(np.sum(mu * Y) + m * np.sum(mu * mu / (2 * s)))
    elif isinstance(loss, (BinaryLogLoss, MultinomialLogLoss)):
        if isinstance(loss, BinaryLogLoss):
            P = expit(Z)
            P = np.hstack([P, 1 - P])
            T = np.hstack([Y, 1 - Y])
        else:
            P = softmax(Z, axis=1)
            T = Y
        Q = theta * P + (1 - theta) * T  # mu / s + y, on the simplex
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = np.where(Q > 0, Q * np.log(Q), 0.0)
        conj = float(np.sum(s * ent))
    elif isinstance(loss, PoissonLoss):
        # l(z) = e^z - y z + y log y - y:  l*(u) = q log q - q - (y log y - y)
        # at q = u + y = theta e^z + (1 - theta) y >= 0
        Q = theta * np.exp(Z) + (1 - theta) * Y
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = np.where(Q > 0, Q * np.log(Q), 0.0) - Q
            ent -= np.where(Y > 0, Y * np.log(Y), 0.0) - Y
        conj = float(np.sum(s * ent))
    else:
        return -np.inf
    return -conj / float(sample_weight.sum())


def optimal_shift(Z, Y, loss, sample_weight, *, n_steps=50):
    """Output shift ``delta`` (per output) minimising ``loss(Z + delta)``.

    Closed form for the squared error and the Poisson loss, Newton steps for
    the log-losses. At
    ``Z + delta`` the loss gradient sums to zero over samples, which the dual
    bound needs (the intercept is free in the MLP objective: even without
    one, hidden biases represent a constant at vanishing cost).

    Returns
    -------
    delta : ndarray of shape (m,)
    """
    s = sample_weight
    if isinstance(loss, SquaredError):
        return (s @ (Y - Z)) / s.sum()
    if isinstance(loss, PoissonLoss):  # sum_k s_k (e^(z_k + delta) - y_k) = 0
        return np.log(s @ Y) - np.log(s @ np.exp(Z))
    delta = np.zeros(Z.shape[1])
    for _ in range(n_steps):
        G = loss.gradient(Z + delta, Y, s)
        g = G.sum(axis=0)
        if isinstance(loss, BinaryLogLoss):
            H = np.atleast_2d(loss.curvature(Z + delta, Y, s).sum())
        else:  # multinomial: sum_k s_k (diag(p_k) - p_k p_k^T)
            P = G / s[:, None] + Y
            H = np.diag(s @ P) - (P * s[:, None]).T @ P
        H = H + 1e-12 * (np.trace(H) + 1e-300) * np.eye(len(g))
        step = np.linalg.lstsq(H, g, rcond=None)[0]
        delta = delta - step
        if np.abs(step).max() <= 1e-12 * (1 + np.abs(delta).max()):
            break
    return delta


def certify(X, Z, Y, loss, sample_weight, alpha, *, fit_intercept=True, **search):
    """Dual violation of a network and, when exact, a global lower bound.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Z : ndarray of shape (n, m)
        The network's outputs on ``X``.
    Y : ndarray of shape (n, m)
    loss : BaseLoss
    sample_weight : ndarray of shape (n,)
    alpha : float
    fit_intercept : bool, default=True
    **search
        Passed to :func:`find_violating_units` (``start_gates``,
        ``random_state``, ...).

    Returns
    -------
    violation : float
        Largest dual violation found at ``Z`` (see :func:`find_violating_units`).
    lower_bound : float
        Lower bound on ``J`` of every two-layer ReLU network of any width, or
        NaN when the search is not exact (``d > 1``) or the loss has no
        conjugate here (hinge).
    """
    found = find_violating_units(
        X,
        loss.gradient(Z, Y, sample_weight),
        alpha,
        fit_intercept=fit_intercept,
        **search,
    )
    if not found.exact or not isinstance(
        loss, (SquaredError, BinaryLogLoss, MultinomialLogLoss, PoissonLoss)
    ):
        return found.violation, np.nan
    Zc = Z + optimal_shift(Z, Y, loss, sample_weight)
    at_shift = find_violating_units(
        X, loss.gradient(Zc, Y, sample_weight), alpha, n_units=0
    )
    bound = global_lower_bound(Zc, Y, loss, sample_weight, alpha, at_shift.correlations)
    return found.violation, bound
