r"""The convex program of a two-layer ReLU network with fixed activation patterns.

For outputs :math:`j = 1..m`, patterns :math:`D_i` and groups
:math:`v_{ij}, w_{ij} \in \mathbb{R}^{d+1}` the program is

.. math::

   \min_{v, w, c}\; \frac{1}{\sum_k s_k}\Big[ L\big(Z, Y\big)
       + \alpha \sum_{i,j} \big(\lVert v_{ij}[:d]\rVert_2 + \lVert w_{ij}[:d]\rVert_2\big)\Big],
   \qquad Z_{:, j} = \sum_i D_i \tilde X (v_{ij} - w_{ij}) + c_j,

subject to :math:`(2D_i - I)\tilde X v_{ij} \ge 0` and
:math:`(2D_i - I)\tilde X w_{ij} \ge 0` for ``formulation="relu"`` (no
constraints for ``"gated"``). ``L`` is a weighted-sum loss from
:mod:`skconvexnn.losses`. Dividing by :math:`\sum_k s_k` puts the value on the
scale of scikit-learn's MLP objective ``J``. Each output has its own groups, so
the recovered network has output weights with a single non-zero per neuron.
"""

from dataclasses import dataclass, field

import numpy as np

from .losses import BaseLoss
from .network import mlp_objective
from .operators import add_bias_column, cone_slacks, pattern_matvec


@dataclass(frozen=True)
class ConvexReLUProgram:
    """Data of one convex program (no solver state).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n, m)
        Encoded targets, one column per output.
    patterns : ndarray of shape (n, P), bool
    gates : ndarray of shape (d + 1, P)
        Gates that generated ``patterns``.
    loss : BaseLoss
    alpha : float
        Weight-decay strength, as ``alpha`` of scikit-learn's MLP.
    sample_weight : ndarray of shape (n,)
        Positive weights.
    formulation : {"relu", "gated"}
    fit_intercept : bool
        Whether the output intercept ``c`` is free (True) or fixed at 0.
    """

    X: np.ndarray
    Y: np.ndarray
    patterns: np.ndarray
    gates: np.ndarray
    loss: BaseLoss
    alpha: float
    sample_weight: np.ndarray
    formulation: str = "relu"
    fit_intercept: bool = True
    Xt: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "Xt", add_bias_column(self.X))

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def n_patterns(self):
        return self.patterns.shape[1]

    @property
    def n_outputs(self):
        return self.Y.shape[1]

    @property
    def scale(self):
        """Total sample weight; the program is divided by it."""
        return float(self.sample_weight.sum())

    def output_block(self, j):
        """The single-output program of output ``j`` (for separable losses).

        Its minimiser is the ``j``-th block of this program's minimiser: ``alpha``
        is rescaled by the loss's per-output weight.
        """
        return ConvexReLUProgram(
            X=self.X,
            Y=self.Y[:, [j]],
            patterns=self.patterns,
            gates=self.gates,
            loss=self.loss,
            alpha=self.alpha / self.loss.output_weight(self.n_outputs),
            sample_weight=self.sample_weight,
            formulation=self.formulation,
            fit_intercept=self.fit_intercept,
        )

    def outputs(self, V, W, c):
        """Model outputs ``Z`` of the convex program.

        Parameters
        ----------
        V, W : ndarray of shape (m, P, d + 1)
        c : ndarray of shape (m,)

        Returns
        -------
        Z : ndarray of shape (n, m)
        """
        Z = np.empty((self.n_samples, self.n_outputs))
        for j in range(self.n_outputs):
            Z[:, j] = pattern_matvec(self.Xt, self.patterns, V[j] - W[j]) + c[j]
        return Z

    def penalty(self, V, W):
        """``alpha`` times the sum of group norms of the weight parts."""
        d = self.n_features
        norms = np.linalg.norm(V[..., :d], axis=-1) + np.linalg.norm(
            W[..., :d], axis=-1
        )
        return self.alpha * float(norms.sum())

    def objective(self, V, W, c):
        """Value of the program, on the scale of the MLP objective ``J``."""
        Z = self.outputs(V, W, c)
        data = self.loss.value(Z, self.Y, self.sample_weight)
        return (data + self.penalty(V, W)) / self.scale

    def network_objective(self, coefs, intercepts):
        """MLP objective ``J`` of an MLP-layout network on this program's data."""
        return mlp_objective(
            coefs, intercepts, self.X, self.Y, self.loss, self.alpha, self.sample_weight
        )

    def constraint_violation(self, V, W):
        """Largest cone-constraint violation, relative to the solution's scale.

        Returns ``max(0, -min_i (2D_i - I) Xt u_i) / (max_k ||Xt_k|| * max_i ||u_i||)``
        over all groups ``u_i`` of ``V`` and ``W``: 0 for a feasible point of the
        ReLU formulation. For the gated formulation (no constraints) it
        measures how far its units are from ReLUs.
        """
        if self.n_patterns == 0:
            return 0.0
        largest = max(float(np.linalg.norm(U, axis=-1).max()) for U in (V, W))
        if largest == 0.0:
            return 0.0
        worst = max(
            float(np.max(-cone_slacks(self.Xt, self.patterns, U[j])))
            for U in (V, W)
            for j in range(U.shape[0])
        )
        row_norm = float(np.linalg.norm(self.Xt, axis=1).max())
        return max(0.0, worst) / (row_norm * largest)
