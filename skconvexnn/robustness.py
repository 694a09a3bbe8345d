r"""Attacks and certificates for ReLU network classifiers under ℓ∞ perturbations.

Everything here reads a fitted classifier through its MLP-layout network
(``coefs_``, ``intercepts_``, ``classes_``): every classifier of skconvexnn and
scikit-learn's :class:`~sklearn.neural_network.MLPClassifier` with
``activation="relu"``. Perturbations ``delta`` satisfy
:math:`\lVert\delta\rVert_\infty \le \varepsilon` in the units of ``X`` as
given: scale the data first (e.g. ``MinMaxScaler``) and choose ``epsilon`` on
that scale.

- :func:`pgd_attack` and :func:`robust_score`: projected gradient ascent with
  random restarts (Madry et al.). An attack gives an *upper* bound on robust
  accuracy: a point it does not break may still be breakable.
- :func:`certified_margins` and :func:`certified_score`: a *lower* bound. For a
  one-hidden-layer network :math:`f(x) = \sum_j a_j (u_j^\top x + b_j)_+ + c`
  and any 0/1 vector :math:`D`,

  .. math::

     \min_{\lVert\delta\rVert_\infty\le\varepsilon} f(x + \delta) \ge
     \sum_{a_j > 0} D_j a_j (u_j^\top x + b_j)
     - \varepsilon\Big\lVert\sum_{a_j > 0} D_j a_j u_j\Big\rVert_1
     - \sum_{a_j < 0} |a_j| \big(u_j^\top x + b_j + \varepsilon\lVert u_j\rVert_1\big)_+ + c,

  because :math:`(t)_+ \ge D t` and :math:`(t)_+` is non-decreasing. Applied
  to the margin of the true class against every other class, a positive bound
  proves that no perturbation changes the prediction. This is the bound the
  robust program of :class:`~skconvexnn.RobustConvexReLUClassifier` trains.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_array, check_is_fitted

from .robust_program import help_bound

__all__ = ["certified_margins", "certified_score", "pgd_attack", "robust_score"]


def _network(estimator, X):
    """Validated ``(coefs, intercepts, X)`` of a fitted ReLU classifier."""
    check_is_fitted(estimator, ["coefs_", "intercepts_", "classes_"])
    activation = getattr(estimator, "activation", "relu")
    if activation != "relu":
        raise ValueError(
            f"The attack and the certificate need ReLU hidden units; the "
            f"estimator uses activation={activation!r}."
        )
    X = check_array(X, dtype=np.float64)
    d = estimator.coefs_[0].shape[0]
    if X.shape[1] != d:
        raise ValueError(
            f"X has {X.shape[1]} features, but the network expects {d} features."
        )
    return estimator.coefs_, estimator.intercepts_, X


def _label_index(estimator, y, n_samples):
    y = np.asarray(y)
    if y.shape != (n_samples,):
        raise ValueError(f"y must have shape ({n_samples},); got {y.shape}.")
    classes = estimator.classes_
    idx = np.searchsorted(classes, y)
    idx = np.clip(idx, 0, classes.size - 1)
    if not np.all(classes[idx] == y):
        unknown = np.setdiff1d(y, classes)
        raise ValueError(f"y contains labels not in classes_: {unknown[:5]!r}.")
    return idx


def _forward(coefs, intercepts, X):
    """Outputs and the ReLU masks of every hidden layer."""
    masks, A = [], X
    for W, b in zip(coefs[:-1], intercepts[:-1]):
        pre = A @ W + b
        mask = pre > 0
        masks.append(mask)
        A = np.where(mask, pre, 0.0)
    return A @ coefs[-1] + intercepts[-1], masks


def _attack_objective(Z, idx):
    """Per-sample attack objective (> 0 means misclassified) and its gradient
    with respect to the outputs ``Z``."""
    n, m = Z.shape
    rows = np.arange(n)
    G = np.zeros_like(Z)
    if m == 1:
        sign = np.where(idx == 1, 1.0, -1.0)
        G[:, 0] = -sign
        return -sign * Z[:, 0], G
    others = Z.copy()
    others[rows, idx] = -np.inf
    rival = np.argmax(others, axis=1)
    G[rows, rival] = 1.0
    G[rows, idx] -= 1.0
    return Z[rows, rival] - Z[rows, idx], G


def _input_gradient(coefs, masks, G):
    g = G @ coefs[-1].T
    for W, mask in zip(reversed(coefs[:-1]), reversed(masks)):
        g = np.where(mask, g, 0.0)
        g = g @ W.T
    return g


@validate_params(
    {
        "estimator": [object],
        "X": ["array-like"],
        "y": ["array-like"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "n_restarts": [Interval(Integral, 1, None, closed="left")],
        "step_size": [Interval(Real, 0, None, closed="neither"), None],
        "clip": [tuple, None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def pgd_attack(
    estimator,
    X,
    y,
    epsilon,
    *,
    n_steps=50,
    n_restarts=5,
    step_size=None,
    clip=None,
    random_state=None,
):
    """ℓ∞ projected-gradient attack with random restarts on a ReLU classifier.

    Each restart starts at a uniform random point of the ε-ball and takes
    ``n_steps`` signed-gradient steps on the margin of the best other class
    over the true class (binary: minus the signed margin), projecting back onto
    the ball (and onto ``clip``). The first misclassifying point found is kept;
    for points never broken, the one with the largest attack objective.

    Parameters
    ----------
    estimator : fitted classifier
        Any skconvexnn classifier, or an ``MLPClassifier`` with ReLU units.
    X : array-like of shape (n_samples, n_features)
        Clean inputs.
    y : array-like of shape (n_samples,)
        True labels (values of ``estimator.classes_``).
    epsilon : float
        Radius of the ℓ∞ ball, in the units of ``X``.
    n_steps : int, default=50
        Gradient steps per restart.
    n_restarts : int, default=5
        Random restarts.
    step_size : float or None, default=None
        Step length; None uses ``2.5 * epsilon / n_steps``.
    clip : tuple (low, high) or None, default=None
        Valid input range (e.g. ``(0, 1)`` for min-max scaled data).
    random_state : int, RandomState instance or None, default=None
        Seed of the random starts.

    Returns
    -------
    X_adv : ndarray of shape (n_samples, n_features)
        Perturbed inputs with ``|X_adv - X| <= epsilon`` elementwise.
    """
    coefs, intercepts, X = _network(estimator, X)
    idx = _label_index(estimator, y, X.shape[0])
    if epsilon == 0:
        return X.copy()
    rng = check_random_state(random_state)
    step = 2.5 * epsilon / n_steps if step_size is None else step_size
    low, high = X - epsilon, X + epsilon
    if clip is not None:
        low, high = np.maximum(low, clip[0]), np.minimum(high, clip[1])
    Z, _ = _forward(coefs, intercepts, X)
    best_value, _ = _attack_objective(Z, idx)
    best = X.copy()
    for _ in range(n_restarts):
        Xa = np.clip(X + rng.uniform(-epsilon, epsilon, size=X.shape), low, high)
        for _ in range(n_steps + 1):
            Z, masks = _forward(coefs, intercepts, Xa)
            value, G = _attack_objective(Z, idx)
            # keep the first success; otherwise the strongest point
            improve = (value > best_value) & (best_value <= 0)
            best[improve], best_value[improve] = Xa[improve], value[improve]
            grad = _input_gradient(coefs, masks, G)
            Xa = np.clip(Xa + step * np.sign(grad), low, high)
    return best


def robust_score(estimator, X, y, epsilon, **attack_params):
    """Accuracy under :func:`pgd_attack` (an upper bound on robust accuracy).

    Parameters
    ----------
    estimator : fitted classifier
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    epsilon : float
    **attack_params
        Passed to :func:`pgd_attack` (``n_steps``, ``n_restarts``,
        ``step_size``, ``clip``, ``random_state``).

    Returns
    -------
    score : float
        Fraction of samples classified correctly at their attacked point.
    """
    X_adv = pgd_attack(estimator, X, y, epsilon, **attack_params)
    return float(np.mean(estimator.predict(X_adv) == np.asarray(y)))


def _contrast_bound(pre, reach, U, a, c, epsilon):
    """Lower bound of ``sum_j a_j (pre_j + u_j^T delta)_+ + c`` per sample.

    ``pre`` (n, h), ``reach`` (h,) = epsilon * ||u_j||_1, ``U`` (d, h),
    ``a`` (n, h) per-sample output weights, ``c`` (n,).
    """
    help_ = np.maximum(a, 0.0)
    hurt = np.maximum(-a, 0.0)
    bound = c - np.sum(hurt * np.maximum(pre + reach, 0.0), axis=1)
    best = np.full(pre.shape[0], -np.inf)
    for D in (pre > 0, pre - reach > 0):
        value = help_bound(np.where(D, help_, 0.0), pre, U.T, epsilon)
        best = np.maximum(best, value)
    return bound + best


def certified_margins(estimator, X, y, epsilon):
    """Certified lower bounds on the worst-case margin of each sample.

    For two classes, a lower bound of :math:`\\min_\\delta s\\,f(x + \\delta)`
    with :math:`s = \\pm 1` the true class's sign; for more classes, of
    :math:`\\min_\\delta \\min_{l \\ne y} f_y(x + \\delta) - f_l(x + \\delta)`.
    A positive value proves that no perturbation with
    :math:`\\lVert\\delta\\rVert_\\infty \\le \\varepsilon` changes the
    prediction (see the module docstring). At ``epsilon=0`` it is the exact
    margin.

    Parameters
    ----------
    estimator : fitted classifier with one hidden ReLU layer
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    epsilon : float

    Returns
    -------
    margins : ndarray of shape (n_samples,)
    """
    coefs, intercepts, X = _network(estimator, X)
    if len(coefs) != 2:
        raise ValueError(
            "certified_margins needs a network with one hidden layer; this one "
            f"has {len(coefs) - 1}."
        )
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0; got {epsilon}.")
    idx = _label_index(estimator, y, X.shape[0])
    (U, A), (b, c) = coefs, intercepts
    pre = X @ U + b
    reach = epsilon * np.abs(U).sum(axis=0)
    n, m = X.shape[0], A.shape[1]
    if m == 1:
        sign = np.where(idx == 1, 1.0, -1.0)
        a = sign[:, None] * A[:, 0][None, :]
        return _contrast_bound(pre, reach, U, a, sign * c[0], epsilon)
    margins = np.full(n, np.inf)
    for other in range(m):
        rows = idx != other
        a = A[:, idx[rows]].T - A[:, other][None, :]
        bound = _contrast_bound(
            pre[rows], reach, U, a, c[idx[rows]] - c[other], epsilon
        )
        margins[rows] = np.minimum(margins[rows], bound)
    return margins


def certified_score(estimator, X, y, epsilon):
    """Fraction of samples whose prediction is certified correct at radius
    ``epsilon`` (a lower bound on robust accuracy; see
    :func:`certified_margins`).

    Parameters
    ----------
    estimator : fitted classifier with one hidden ReLU layer
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    epsilon : float

    Returns
    -------
    score : float
    """
    return float(np.mean(certified_margins(estimator, X, y, epsilon) > 0))
