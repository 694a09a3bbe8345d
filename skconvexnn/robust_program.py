r"""The convex program of ℓ∞-robust training of a two-layer ReLU network.

Binary labels :math:`y_k \in \{-1, +1\}`, perturbations :math:`\lVert\delta\rVert_\infty
\le \varepsilon` of the features (never of the bias coordinate), a
non-increasing convex loss :math:`\ell` of the margin (hinge, logistic). Groups
:math:`v_i, w_i \in \mathbb{R}^{d+1}`, output intercept :math:`c`, and 0/1
pattern rows :math:`D_{k\cdot}` give a lower bound :math:`m_k` on the worst-case
margin :math:`\min_\delta y_k f(x_k + \delta)` of the network
:math:`f(x) = \sum_i (\tilde x^\top v_i)_+ - \sum_i (\tilde x^\top w_i)_+ + c`.
The program is

.. math::

   \min_{v, w, c}\; \frac{1}{\sum_k s_k}\Big[\sum_k s_k\,\ell(m_k)
       + \alpha \sum_i \big(\lVert v_i[:d]\rVert_2 + \lVert w_i[:d]\rVert_2\big)\Big].

Two formulations define :math:`m_k` (write :math:`h = v, \bar h = w` for
:math:`y_k = +1` and :math:`h = w, \bar h = v` for :math:`y_k = -1`):

``"flip_tolerant"`` (no constraints; patterns may flip under the attack)
    :math:`m_k = \sum_i D_{ki}\tilde x_k^\top h_i
    - \varepsilon\lVert\sum_i D_{ki} h_i[:d]\rVert_1
    - \sum_i (\tilde x_k^\top \bar h_i + \varepsilon\lVert\bar h_i[:d]\rVert_1)_+ + y_k c`.
    Valid for *any* 0/1 matrix ``D`` because :math:`(t)_+ \ge D t` and
    :math:`(t)_+` is non-decreasing; the patterns are refined between solves
    (:func:`refine_patterns`), which never raises the optimum.

``"strict"`` (Bai, Gautam & Sojoudi: the attack cannot flip a pattern)
    :math:`m_k = y_k\big(\sum_i D_{ki}\tilde x_k^\top(v_i - w_i) + c\big)
    - \varepsilon\lVert\sum_i D_{ki}(v_i - w_i)[:d]\rVert_1` subject to
    :math:`(2D_{ki} - 1)\tilde x_k^\top u_i \ge \varepsilon\lVert u_i[:d]\rVert_1`
    for :math:`u = v, w`. At :math:`\varepsilon = 0` this is exactly the
    ``formulation="relu"`` program of
    :class:`~skconvexnn.ConvexReLUClassifier` on ±1 labels.

In both, :math:`m_k` is concave in :math:`(v, w, c)`, so the program is convex.
The program presents the margins as its one "output" with targets 1:
``loss.value(margins, 1)`` is :math:`\sum_k s_k \ell(m_k)` for the hinge loss
:math:`\max(0, 1 - m)` and the logistic loss :math:`\log(1 + e^{-m})`.
"""

from dataclasses import dataclass, field

import numpy as np

from .losses import BaseLoss
from .operators import add_bias_column
from .problem import ConvexReLUProgram

#: Formulations of the robust program.
ROBUST_FORMULATIONS = ("flip_tolerant", "strict")


@dataclass(frozen=True)
class RobustProgram:
    """Data of one binary robust program (no solver state).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
        Labels in {-1, +1}.
    patterns : ndarray of shape (n, P), bool
        Pattern rows ``D``.
    gates : ndarray of shape (d + 1, P)
        Gates that generated the initial patterns.
    loss : BaseLoss
        ``Hinge`` or ``BinaryLogLoss``, applied to the margins with target 1.
    alpha : float
    epsilon : float
        ℓ∞ radius, in the units of ``X``.
    sample_weight : ndarray of shape (n,)
    formulation : {"flip_tolerant", "strict"}
    """

    X: np.ndarray
    y: np.ndarray
    patterns: np.ndarray
    gates: np.ndarray
    loss: BaseLoss
    alpha: float
    epsilon: float
    sample_weight: np.ndarray
    formulation: str = "flip_tolerant"
    fit_intercept: bool = True
    Xt: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        if self.formulation not in ROBUST_FORMULATIONS:
            raise ValueError(
                f"formulation must be one of {ROBUST_FORMULATIONS}; "
                f"got {self.formulation!r}."
            )
        object.__setattr__(self, "Xt", add_bias_column(self.X))

    n_samples = property(lambda self: self.X.shape[0])
    n_features = property(lambda self: self.X.shape[1])
    n_patterns = property(lambda self: self.patterns.shape[1])
    n_outputs = property(lambda self: 1)
    scale = property(lambda self: float(self.sample_weight.sum()))

    @property
    def Y(self):
        """Targets of the margin "output": all ones."""
        return np.ones((self.n_samples, 1))

    def margins(self, V, W, c):
        """Robust margins :math:`m_k` of the program at ``(V, W, c)``.

        Parameters
        ----------
        V, W : ndarray of shape (P, d + 1)
        c : float

        Returns
        -------
        m : ndarray of shape (n,)
        """
        d, eps, D = self.n_features, self.epsilon, self.patterns
        pos = self.y > 0
        if self.formulation == "strict":
            U = V - W
            z = np.einsum("ki,ki->k", D, self.Xt @ U.T) + c
            return self.y * z - eps * np.abs(D @ U[:, :d]).sum(axis=1)
        m = np.empty(self.n_samples)
        for mask, H, Hbar, sign in ((pos, V, W, 1.0), (~pos, W, V, -1.0)):
            Xt = self.Xt[mask]
            help_ = help_bound(D[mask], Xt @ H.T, H[:, :d], eps)
            reach = Xt @ Hbar.T + eps * np.abs(Hbar[:, :d]).sum(axis=1)
            m[mask] = help_ - np.maximum(reach, 0.0).sum(axis=1) + sign * c
        return m

    def outputs(self, V, W, c):
        """Margins as an ``(n, 1)`` output matrix (``V, W`` of shape (1, P, p))."""
        return self.margins(V[0], W[0], float(c[0]))[:, None]

    #: ``alpha`` times the sum of group norms of the weight parts.
    penalty = ConvexReLUProgram.penalty

    def objective(self, V, W, c):
        """Value of the program (weighted mean loss of the margins + penalty)."""
        data = self.loss.value(self.outputs(V, W, c), self.Y, self.sample_weight)
        return (data + self.penalty(V, W)) / self.scale

    def constraint_violation(self, V, W):
        """Largest violation of the strict formulation's constraints, relative
        to ``max_k ||Xt_k|| * max_i ||u_i||`` (0 for ``"flip_tolerant"``)."""
        if self.formulation != "strict" or self.n_patterns == 0:
            return 0.0
        largest = max(float(np.linalg.norm(U, axis=-1).max()) for U in (V, W))
        if largest == 0.0:
            return 0.0
        d, S = self.n_features, np.where(self.patterns, 1.0, -1.0)
        worst = 0.0
        for U in (V[0], W[0]):
            slack = S * (self.Xt @ U.T) - self.epsilon * np.abs(U[:, :d]).sum(axis=1)
            worst = max(worst, float(np.max(-slack)))
        return worst / (float(np.linalg.norm(self.Xt, axis=1).max()) * largest)

    def with_patterns(self, patterns):
        """The same program over other pattern rows."""
        return RobustProgram(
            X=self.X,
            y=self.y,
            patterns=patterns,
            gates=self.gates,
            loss=self.loss,
            alpha=self.alpha,
            epsilon=self.epsilon,
            sample_weight=self.sample_weight,
            formulation=self.formulation,
        )


def help_bound(weights, pre, directions, epsilon):
    r"""Lower bound of the helping units' worst-case contribution, per sample:
    :math:`\sum_i w_{ki}\, p_{ki} - \varepsilon\lVert\sum_i w_{ki}
    u_i\rVert_1`.

    With 0/1 pattern rows as ``weights``, pre-activations
    :math:`p_{ki} = \tilde x_k^\top h_i` and the weight parts
    :math:`u_i = h_i[:d]` as ``directions``, it bounds
    :math:`\min_{\lVert\delta\rVert_\infty \le \varepsilon}
    \sum_i (\tilde x_k^\top h_i + \delta^\top u_i)_+` from below, since
    :math:`(t)_+ \ge D t` for :math:`D \in \{0, 1\}`. Non-negative weights
    scale the units (output weights of a network).

    Parameters
    ----------
    weights : ndarray of shape (n, P)
    pre : ndarray of shape (n, P)
    directions : ndarray of shape (P, d)
    epsilon : float

    Returns
    -------
    bound : ndarray of shape (n,)
    """
    weights = np.asarray(weights, dtype=float)
    value = np.einsum("ki,ki->k", weights, pre)
    if epsilon > 0:
        value -= epsilon * np.abs(weights @ directions).sum(axis=1)
    return value


def refine_patterns(program, V, W):
    """Better pattern rows for the flip-tolerant program at a solution.

    For every sample, among its current row, the units that stay active under
    every perturbation (:math:`\\tilde x^\\top h - \\varepsilon\\lVert h[:d]\\rVert_1
    > 0`) and the units active at the sample (:math:`\\tilde x^\\top h > 0`), keep
    the row with the largest help term. The solution's margins can only grow,
    so the re-solved program's optimum is at most the current one.

    Parameters
    ----------
    program : RobustProgram
    V, W : ndarray of shape (P, d + 1)

    Returns
    -------
    patterns : ndarray of shape (n, P), bool
    """
    d, eps = program.n_features, program.epsilon
    best = program.patterns.copy()
    pos = program.y > 0
    for mask, H in ((pos, V), (~pos, W)):
        pre = program.Xt[mask] @ H.T
        reach = eps * np.abs(H[:, :d]).sum(axis=1)
        rows = best[mask]
        value = help_bound(rows, pre, H[:, :d], eps)
        for D in (pre - reach > 0, pre > 0):
            candidate = help_bound(D, pre, H[:, :d], eps)
            better = candidate > value + 1e-12 * np.abs(value)
            rows[better] = D[better]
            value = np.maximum(value, candidate)
        best[mask] = rows
    return best
