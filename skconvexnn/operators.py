r"""Matrix-free operators of the convex program.

With :math:`\tilde X = [X, 1]` (``n x p``, ``p = d + 1``) and boolean activation
patterns :math:`D = [d_1, \dots, d_P]` (``n x P``), the convex program acts on
the block matrix

.. math:: F = [\operatorname{diag}(d_1)\tilde X, \dots, \operatorname{diag}(d_P)\tilde X]
   \in \mathbb{R}^{n \times Pp},

and on the cone maps :math:`G_i = (2\operatorname{diag}(d_i) - I)\tilde X`.
These functions apply :math:`F`, :math:`F^\top` and :math:`G_i` using only
:math:`\tilde X` and :math:`D`: the ``n x Pp`` matrix is never formed. Work and
memory are ``O(n p P)`` and ``O(n P)``.

Group coefficients are stored as ``U`` of shape ``(P, p)``: row ``i`` is
:math:`u_i`, the last column the (unpenalised) hidden bias.
"""

import numpy as np


def add_bias_column(X):
    """Return :math:`\\tilde X = [X, 1]` of shape ``(n, d + 1)``."""
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def pattern_matvec(Xt, D, U):
    r"""Compute :math:`F u = \sum_i D_i \tilde X u_i`.

    Parameters
    ----------
    Xt : ndarray of shape (n, p)
    D : ndarray of shape (n, P), bool
    U : ndarray of shape (P, p)

    Returns
    -------
    z : ndarray of shape (n,)
    """
    return np.einsum("ij,ij->i", D, Xt @ U.T)


def pattern_rmatvec(Xt, D, r):
    r"""Compute :math:`F^\top r`, returned as ``(P, p)``: row ``i`` is
    :math:`\tilde X^\top D_i r`.

    Parameters
    ----------
    Xt : ndarray of shape (n, p)
    D : ndarray of shape (n, P), bool
    r : ndarray of shape (n,)

    Returns
    -------
    U : ndarray of shape (P, p)
    """
    return (D * r[:, None]).T @ Xt


def cone_slacks(Xt, D, U):
    r"""Cone constraint values :math:`(2D_i - I)\tilde X u_i`, column ``i``.

    The ReLU formulation requires every entry to be non-negative.

    Parameters
    ----------
    Xt : ndarray of shape (n, p)
    D : ndarray of shape (n, P), bool
    U : ndarray of shape (P, p)

    Returns
    -------
    S : ndarray of shape (n, P)
    """
    H = Xt @ U.T
    return np.where(D, H, -H)
