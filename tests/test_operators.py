"""Matrix-free operators against the explicitly formed block matrix."""

import numpy as np

from skconvexnn.operators import (
    add_bias_column,
    cone_slacks,
    pattern_matvec,
    pattern_rmatvec,
)
from skconvexnn.patterns import enumerate_patterns_1d, random_patterns


def _explicit_F(Xt, D):
    return np.hstack([np.diag(D[:, i].astype(float)) @ Xt for i in range(D.shape[1])])


def test_matvec_rmatvec_cone_against_explicit_matrix():
    rng = np.random.RandomState(0)
    Xt = add_bias_column(rng.randn(15, 3))
    D, _ = random_patterns(Xt, 7, random_state=0)
    U = rng.randn(D.shape[1], 4)
    F = _explicit_F(Xt, D)
    np.testing.assert_allclose(pattern_matvec(Xt, D, U), F @ U.ravel())
    r = rng.randn(15)
    np.testing.assert_allclose(pattern_rmatvec(Xt, D, r).ravel(), F.T @ r)
    for i in range(D.shape[1]):
        G = (2 * np.diag(D[:, i].astype(float)) - np.eye(15)) @ Xt
        np.testing.assert_allclose(cone_slacks(Xt, D, U)[:, i], G @ U[i])


def test_random_patterns_are_distinct_nonempty_and_include_linear_unit():
    Xt = add_bias_column(np.random.RandomState(1).randn(20, 2))
    D, gates = random_patterns(Xt, 40, random_state=0)
    assert D.any(axis=0).all()
    assert len({col.tobytes() for col in D.T}) == D.shape[1]
    assert D[:, 0].all()  # the all-ones pattern first
    np.testing.assert_array_equal(Xt @ gates >= 0, D)
    D2, _ = random_patterns(Xt, 40, fit_intercept=False, random_state=0)
    assert not D2.all(axis=0).any()


def test_1d_enumeration_is_complete():
    """Every threshold pattern of 1-D data, compared with brute force over a
    fine grid of gates."""
    x = np.array([0.3, -1.0, 2.0, 0.3, 1.1])
    Xt = add_bias_column(x[:, None])
    D, _ = enumerate_patterns_1d(Xt)
    ours = {col.tobytes() for col in D.T}
    brute = set()
    for w in (-1.0, 1.0):
        for b in np.linspace(-3, 3, 6001):
            col = Xt @ np.array([w, b]) >= 0
            if col.any():
                brute.add(col.tobytes())
    assert ours == brute
