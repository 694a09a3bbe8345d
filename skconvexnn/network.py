r"""Two-layer ReLU networks in scikit-learn's MLP layout: recovery from the
convex solution, forward pass and the MLP objective.

A network is ``coefs = [W1 (d, h), W2 (h, m)]`` and
``intercepts = [b1 (h,), b2 (m,)]``, exactly the ``coefs_`` / ``intercepts_``
of :class:`~sklearn.neural_network.MLPRegressor` with one hidden layer and
``activation="relu"``.

Recovery (Pilanci & Ergen): a group :math:`u` of the convex program with
:math:`\lVert u[:d]\rVert > 0` becomes the hidden unit
:math:`u / \sqrt{\lVert u[:d]\rVert}` with output weight
:math:`\pm\sqrt{\lVert u[:d]\rVert}` (``+`` for ``v``, ``-`` for ``w``). The unit
then costs :math:`\tfrac{\alpha}{2}(\lVert w\rVert^2 + a^2) = \alpha\lVert u[:d]\rVert`
in the MLP penalty, its share of the convex penalty.
"""

import numpy as np

#: Groups whose weight norm is below this fraction of the largest are pruned.
PRUNE_RTOL = 1e-6


def recover_network(V, W, c, program, *, prune_rtol=PRUNE_RTOL, fold="linear"):
    """Turn a solution of the convex program into an MLP-layout network.

    Groups whose weight norm is below ``prune_rtol`` times the larger of the
    largest group norm and ``max|Y| / max_k ||Xt_k||`` are pruned. Such a group can
    only carry signal on the all-ones pattern, where it is a constant: that
    constant is folded into the output intercept.

    Parameters
    ----------
    V, W : ndarray of shape (m, P, d + 1)
    c : ndarray of shape (m,)
    program : ConvexReLUProgram or RobustProgram
    prune_rtol : float, default=PRUNE_RTOL
    fold : {"linear", "relu"}, default="linear"
        How a pruned group enters the output intercept. ``"linear"``: groups
        on the all-ones pattern add their bias (exact when the cone
        constraints hold: such a unit is linear); others are dropped.
        ``"relu"``: every pruned group adds ``max(bias, 0)``, the value of its
        unit when its weights vanish (programs without cone constraints).

    Returns
    -------
    coefs : list of two ndarrays, shapes (d, h) and (h, m)
    intercepts : list of two ndarrays, shapes (h,) and (m,)
    """
    d, m = program.n_features, program.n_outputs
    all_ones = program.patterns.all(axis=0)
    norms = [np.linalg.norm(U[..., :d], axis=-1) for U in (V, W)]
    largest = max((float(n.max()) for n in norms if n.size), default=0.0)
    # A group matters relative to the largest one, and in absolute terms
    # relative to the weight that would move outputs by the targets' scale.
    row_norm = float(np.linalg.norm(program.Xt, axis=1).max())
    target_scale = float(np.abs(program.Y).max(initial=0.0)) / row_norm
    threshold = prune_rtol * max(largest, target_scale)

    intercept = np.array(c, dtype=float, copy=True)
    hidden, out_cols, out_vals = [], [], []
    for sign, U, norm in zip((1.0, -1.0), (V, W), norms):
        keep = norm > threshold
        if threshold == 0.0:
            keep &= norm > 0
        if fold == "relu":
            bias = np.where(~keep, np.maximum(U[..., d], 0.0), 0.0)
        else:
            bias = np.where(~keep & all_ones[None, :], U[..., d], 0.0)
        intercept += sign * np.sum(bias, axis=1)
        j_idx, i_idx = np.nonzero(keep)
        root = np.sqrt(norm[j_idx, i_idx])
        hidden.append(U[j_idx, i_idx, :] / root[:, None])
        out_cols.append(j_idx)
        out_vals.append(sign * root)

    hidden = np.vstack(hidden)
    out_cols = np.concatenate(out_cols)
    out_vals = np.concatenate(out_vals)
    h = hidden.shape[0]
    W2 = np.zeros((h, m))
    W2[np.arange(h), out_cols] = out_vals
    coefs = [np.ascontiguousarray(hidden[:, :d].T), W2]
    intercepts = [hidden[:, d].copy(), intercept]
    return coefs, intercepts


def forward(coefs, intercepts, X):
    """Output-layer values (before any output activation).

    Parameters
    ----------
    coefs, intercepts : lists of ndarrays in MLP layout
    X : ndarray of shape (n, d)

    Returns
    -------
    Z : ndarray of shape (n, m)
    """
    H = np.maximum(X @ coefs[0] + intercepts[0], 0.0)
    return H @ coefs[1] + intercepts[1]


def mlp_objective(coefs, intercepts, X, Y, loss, alpha, sample_weight):
    """scikit-learn's MLP objective ``J`` of a network.

    ``J = loss(f(X), Y) / sum(s) + alpha / (2 sum(s)) * (||W1||^2 + ||W2||^2)``;
    biases are not penalised. With unit weights this is ``MLPRegressor``'s /
    ``MLPClassifier``'s ``loss_``.

    Parameters
    ----------
    coefs, intercepts : lists of ndarrays in MLP layout
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n, m)
        Encoded targets.
    loss : BaseLoss
    alpha : float
    sample_weight : ndarray of shape (n,)

    Returns
    -------
    J : float
    """
    Z = forward(coefs, intercepts, X)
    penalty = 0.5 * alpha * sum(float(np.sum(C * C)) for C in coefs)
    return (loss.value(Z, Y, sample_weight) + penalty) / float(sample_weight.sum())


def network_to_groups(coefs, intercepts, program, unit_pattern):
    """A feasible point of the ReLU program representing a network.

    Unit ``j`` with input weights ``(w_j, b_j)`` and output weights ``a_j`` is
    placed, for each output ``k`` with ``a_jk != 0``, in the group of its
    activation pattern: ``|a_jk| [w_j; b_j]`` is added to ``V`` (``a_jk > 0``) or
    ``W``. Units with the same pattern add up, which keeps the cone constraints
    and can only lower the penalty, so for one output the program's value at
    this point is at most the network's MLP objective. Units whose pattern is
    empty on the data are dropped (they are zero there).

    Parameters
    ----------
    coefs, intercepts : lists of ndarrays in MLP layout
    program : ConvexReLUProgram
    unit_pattern : ndarray of shape (h,), int
        Column of ``program.patterns`` that is unit ``j``'s pattern, -1 if none
        (as returned by ``patterns_from_gates(..., return_index=True)``).

    Returns
    -------
    V, W : ndarray of shape (m, P, d + 1)
    c : ndarray of shape (m,)
    """
    d, m, P = program.n_features, program.n_outputs, program.n_patterns
    V, W = np.zeros((m, P, d + 1)), np.zeros((m, P, d + 1))
    units = np.vstack([coefs[0], intercepts[0]])  # (d + 1, h)
    A = coefs[1]
    if A.shape[1] != m:
        raise ValueError(f"the network has {A.shape[1]} outputs, the program {m}")
    for j, i in enumerate(unit_pattern):
        if i < 0:
            continue
        for k in np.nonzero(A[j])[0]:
            target = V if A[j, k] > 0 else W
            target[k, i] += abs(A[j, k]) * units[:, j]
    return V, W, np.array(intercepts[1], dtype=float).reshape(m)


def _pack(coefs, intercepts):
    return np.concatenate(
        [coefs[0].ravel(), intercepts[0], coefs[1].ravel(), intercepts[1]]
    )


def _unpack(theta, d, h, m):
    sizes = np.cumsum([d * h, h, h * m])
    W1, b1, W2, b2 = np.split(theta, sizes)
    return [W1.reshape(d, h), W2.reshape(h, m)], [b1, b2]


def _stop_at(deadline):
    """An L-BFGS callback that ends the run once ``deadline`` has passed."""
    import time

    def callback(intermediate_result):
        if time.perf_counter() > deadline:
            raise StopIteration

    return callback


def polish_network(
    coefs,
    intercepts,
    X,
    Y,
    loss,
    alpha,
    sample_weight,
    *,
    max_iter=200,
    tol=1e-10,
    fit_intercept=True,
    deadline=None,
):
    """Lower the MLP objective ``J`` of a network by L-BFGS steps.

    This is the local optimisation ``MLPRegressor(solver="lbfgs")`` performs,
    started from the given network. It never returns a network with a larger
    ``J`` than the one it was given.

    Parameters
    ----------
    coefs, intercepts : lists of ndarrays in MLP layout
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n, m)
        Encoded targets.
    loss : BaseLoss
    alpha : float
    sample_weight : ndarray of shape (n,)
    max_iter : int, default=200
        L-BFGS iterations.
    tol : float, default=1e-10
        Projected-gradient tolerance of L-BFGS.
    deadline : float or None, default=None
        ``time.perf_counter()`` value after which L-BFGS stops (at the end of
        an iteration).
    fit_intercept : bool, default=True
        If False the output intercept is held at its given value.

    Returns
    -------
    coefs, intercepts : lists of ndarrays
    J : float
    """
    from scipy.optimize import minimize
    from threadpoolctl import threadpool_limits

    d, h = coefs[0].shape
    m = coefs[1].shape[1]
    scale = float(sample_weight.sum())

    def fun(theta):
        (W1, W2), (b1, b2) = _unpack(theta, d, h, m)
        A = X @ W1 + b1
        H = np.maximum(A, 0.0)
        Z = H @ W2 + b2
        value = loss.value(Z, Y, sample_weight)
        value += 0.5 * alpha * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dZ = loss.gradient(Z, Y, sample_weight)
        dA = (dZ @ W2.T) * (A > 0)
        grad = np.concatenate(
            [
                (X.T @ dA + alpha * W1).ravel(),
                dA.sum(axis=0),
                (H.T @ dZ + alpha * W2).ravel(),
                dZ.sum(axis=0) if fit_intercept else np.zeros(m),
            ]
        )
        return value / scale, grad / scale

    theta0 = _pack(coefs, intercepts)
    J0 = fun(theta0)[0]
    if h == 0 or max_iter == 0:
        return coefs, intercepts, J0
    # the products are small: a multi-threaded BLAS only adds overhead here
    with threadpool_limits(limits=1, user_api="blas"):
        res = minimize(
            fun,
            theta0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "maxfun": 2 * max_iter + 20, "gtol": tol},
            callback=None if deadline is None else _stop_at(deadline),
        )
    if not res.fun < J0:
        return coefs, intercepts, J0
    coefs, intercepts = _unpack(res.x, d, h, m)
    return [C.copy() for C in coefs], [b.copy() for b in intercepts], float(res.fun)
