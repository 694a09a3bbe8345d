"""Data-free loss objects (datafits) of the convex program.

Every loss acts on the matrix of network outputs ``Z`` of shape
``(n_samples, n_outputs)`` and the encoded targets ``Y`` of the same shape,
and returns the *weighted sum* over samples ``sum_k s_k * l(z_k, y_k)``.
Dividing by ``sum(s)`` gives exactly the data term of scikit-learn's
:class:`~sklearn.neural_network.MLPRegressor` / ``MLPClassifier`` loss.

The losses hold no data. Solvers ask them for what they need (value,
gradient); the conic back-end translates them to cvxpy by their ``name``.
"""

import numpy as np
from scipy.special import expit, log_softmax, logsumexp, xlogy


class BaseLoss:
    """Interface of a loss on network outputs.

    Attributes
    ----------
    name : str
        Registry name, also the key under which solvers know the loss.
    separable : bool
        Whether the loss is a sum of independent terms, one per output column.
        Separable losses let the outputs be solved as independent programs.
    """

    name = None
    separable = True

    def value(self, Z, Y, sample_weight):
        """Weighted sum of the loss over samples.

        Parameters
        ----------
        Z : ndarray of shape (n_samples, n_outputs)
            Network outputs (before any link function).
        Y : ndarray of shape (n_samples, n_outputs)
            Encoded targets.
        sample_weight : ndarray of shape (n_samples,)
            Non-negative sample weights.

        Returns
        -------
        value : float
        """
        raise NotImplementedError

    def gradient(self, Z, Y, sample_weight):
        """Gradient of :meth:`value` with respect to ``Z`` (a subgradient if not
        differentiable).

        Returns
        -------
        grad : ndarray of shape (n_samples, n_outputs)
        """
        raise NotImplementedError

    def output_weight(self, n_outputs):
        """Factor applied to each output's term when there are ``n_outputs``.

        A separable loss with ``m`` outputs is ``output_weight(m)`` times the sum
        of its one-output losses; solving outputs separately must scale
        ``alpha`` by the inverse.
        """
        return 1.0

    def __repr__(self):
        return f"{type(self).__name__}()"


class SquaredError(BaseLoss):
    r"""Half mean squared error over outputs.

    .. math:: \sum_k s_k \frac{1}{2m} \lVert z_k - y_k \rVert_2^2

    with ``m = n_outputs``, as in ``MLPRegressor`` (which averages over outputs).
    """

    name = "squared_error"

    def value(self, Z, Y, sample_weight):
        R = Z - Y
        return float(sample_weight @ np.sum(R * R, axis=1)) / (2 * Y.shape[1])

    def gradient(self, Z, Y, sample_weight):
        return sample_weight[:, None] * (Z - Y) / Y.shape[1]

    def output_weight(self, n_outputs):
        return 1.0 / n_outputs


class BinaryLogLoss(BaseLoss):
    r"""Binary cross-entropy on logits, targets in {0, 1}.

    .. math:: \sum_k s_k \left(\log(1 + e^{z_k}) - y_k z_k\right)

    This is ``MLPClassifier``'s binary log-loss with a logistic output unit.
    """

    name = "binary_log_loss"

    def value(self, Z, Y, sample_weight):
        terms = np.logaddexp(0.0, Z) - Y * Z
        return float(sample_weight @ np.sum(terms, axis=1))

    def gradient(self, Z, Y, sample_weight):
        return sample_weight[:, None] * (expit(Z) - Y)

    def curvature(self, Z, Y, sample_weight):
        """Diagonal of the Hessian in ``Z``."""
        p = expit(Z)
        return sample_weight[:, None] * p * (1.0 - p)


class MultinomialLogLoss(BaseLoss):
    r"""Softmax cross-entropy on logits, one-hot targets.

    .. math:: \sum_k s_k \left(\log \sum_j e^{z_{kj}} - y_k^\top z_k\right)

    This is ``MLPClassifier``'s multiclass log-loss with a softmax output layer.
    Not separable across outputs.
    """

    name = "multinomial_log_loss"
    separable = False

    def value(self, Z, Y, sample_weight):
        terms = logsumexp(Z, axis=1) - np.sum(Y * Z, axis=1)
        return float(sample_weight @ terms)

    def gradient(self, Z, Y, sample_weight):
        return sample_weight[:, None] * (np.exp(log_softmax(Z, axis=1)) - Y)

    def majorizer(self, Z, Y, sample_weight):
        r"""Targets and sample weights of a squared loss that bounds this loss
        from above, touching it at ``Z`` (Böhning's bound).

        The Hessian of row :math:`k`, :math:`s_k(\operatorname{diag}(p_k) - p_k
        p_k^\top)`, is below :math:`\tfrac{s_k}{2} I`, so

        .. math::

            L(Z') \le L(Z) + \langle G, Z' - Z\rangle + \tfrac14 \sum_k s_k
            \lVert z'_k - z_k\rVert^2
            = \tfrac12 \sum_k \tfrac{s_k}{2} \lVert z'_k - t_k\rVert^2 + C,
            \qquad t = Z - 2 G / s,

        a squared loss separable across outputs: minimising it (with the same
        penalty and constraints) never raises the program's objective.

        Returns
        -------
        targets : ndarray of shape (n, m)
        weights : ndarray of shape (n,)
        """
        G = self.gradient(Z, Y, sample_weight)
        return Z - 2.0 * G / sample_weight[:, None], 0.5 * sample_weight


class PoissonLoss(BaseLoss):
    r"""Half Poisson deviance with a log link, targets :math:`y \ge 0`.

    .. math:: \sum_k s_k \sum_j \left(e^{z_{kj}} - y_{kj} z_{kj}
        + y_{kj}\log y_{kj} - y_{kj}\right)

    ``z`` is the network output and ``exp(z)`` the predicted mean: this is
    ``MLPRegressor(loss="poisson")``'s loss (summed over outputs), zero when
    ``exp(z) = y``.
    """

    name = "poisson"

    def value(self, Z, Y, sample_weight):
        terms = np.exp(Z) - Y * Z + xlogy(Y, Y) - Y
        return float(sample_weight @ np.sum(terms, axis=1))

    def gradient(self, Z, Y, sample_weight):
        return sample_weight[:, None] * (np.exp(Z) - Y)

    def curvature(self, Z, Y, sample_weight):
        """Diagonal of the Hessian in ``Z`` (the loss is separable)."""
        return sample_weight[:, None] * np.exp(Z)


class Hinge(BaseLoss):
    r"""Hinge loss summed over outputs, targets in {-1, +1}.

    .. math:: \sum_k s_k \sum_j \max(0, 1 - y_{kj} z_{kj})

    With several outputs this is one-vs-rest: one ±1 code column per class.
    """

    name = "hinge"

    def value(self, Z, Y, sample_weight):
        return float(sample_weight @ np.sum(np.maximum(0.0, 1.0 - Y * Z), axis=1))

    def gradient(self, Z, Y, sample_weight):
        return -sample_weight[:, None] * Y * (Y * Z < 1.0)


LOSSES = {
    cls.name: cls
    for cls in (SquaredError, BinaryLogLoss, MultinomialLogLoss, PoissonLoss, Hinge)
}


def get_loss(name):
    """Return a loss instance from its registry name.

    Parameters
    ----------
    name : str or BaseLoss
        One of ``LOSSES`` or an instance, returned unchanged.

    Returns
    -------
    loss : BaseLoss
    """
    if isinstance(name, BaseLoss):
        return name
    try:
        return LOSSES[name]()
    except KeyError:
        raise ValueError(
            f"Unknown loss {name!r}; available losses: {sorted(LOSSES)}."
        ) from None
