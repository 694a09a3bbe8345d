"""The dual-violation search and the global lower bound, against brute force
and against the enumerated program solved by an independent cvxpy model."""

import numpy as np
import pytest
from oracles import all_1d_patterns, cvxpy_oracle
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor
from skconvexnn.certificates import (
    certify,
    find_violating_units,
    global_lower_bound,
    optimal_shift,
)
from skconvexnn.losses import BinaryLogLoss, SquaredError
from skconvexnn.network import forward


def brute_force_correlation(X, g, w, allow_all=True):
    """max_b |g^T (X w + b)_+| by trying every kink b = -x_k^T w (and the
    all-active limit), one loop per candidate."""
    s = X @ w
    best = 0.0
    for b in -s:
        active = s + b >= 0
        if active.all() and not allow_all:
            continue
        best = max(best, abs(float(g @ np.maximum(s + b, 0.0))))
    return best


def test_search_is_exact_in_one_dimension():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 1)
    g = rng.randn(40)
    g -= g.mean()
    found = find_violating_units(X, g[:, None], 0.1)
    expected = max(brute_force_correlation(X, g, np.array([w])) for w in (1.0, -1.0))
    assert found.exact
    assert found.correlations[0] == pytest.approx(expected, rel=1e-12)
    # every returned unit really has the reported correlation, and lowers the
    # loss with the reported output sign
    for gate, sign, _, value in found.units:
        h = np.maximum(X @ gate[:-1] + gate[-1], 0.0)
        assert -sign * (g @ h) == pytest.approx(value, rel=1e-10)


def test_search_matches_a_dense_scan_in_two_dimensions():
    rng = np.random.RandomState(1)
    X = rng.randn(60, 2)
    g = rng.randn(60)
    g -= g.mean()
    found = find_violating_units(X, g[:, None], 0.1, random_state=0)
    angles = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
    dense = max(
        brute_force_correlation(X, g, np.array([np.cos(a), np.sin(a)])) for a in angles
    )
    assert not found.exact
    assert found.correlations[0] >= dense * (1 - 1e-6)


@pytest.mark.parametrize("kind", ["regression", "binary"])
def test_global_bound_brackets_the_enumerated_optimum(kind):
    """For 1-D data the enumerated program is the global optimum over all
    networks. The bound from any network lies below it; at our fit the reported
    optimality gap covers the true gap and is tiny."""
    rng = np.random.RandomState(2)
    x = np.sort(rng.uniform(-2, 2, 25))
    X = x[:, None]
    alpha = 0.05
    if kind == "regression":
        y = np.sin(2 * x) + 0.1 * rng.randn(25)
        Y, loss, name = y[:, None], SquaredError(), "squared_error"
        est = ConvexReLURegressor(alpha=alpha, pattern_strategy="enumerate")
        mlps = [
            MLPRegressor(
                hidden_layer_sizes=(20,), solver="lbfgs", alpha=alpha, random_state=s
            )
            for s in range(3)
        ]
    else:
        y = (np.sin(3 * x) + 0.3 * rng.randn(25) > 0).astype(int)
        Y, loss, name = y[:, None].astype(float), BinaryLogLoss(), "binary_log_loss"
        est = ConvexReLUClassifier(alpha=alpha, pattern_strategy="enumerate")
        mlps = [
            MLPClassifier(
                hidden_layer_sizes=(20,), solver="lbfgs", alpha=alpha, random_state=s
            )
            for s in range(3)
        ]
    optimum = cvxpy_oracle(X, Y, all_1d_patterns(x), name, alpha)
    sw = np.ones(25)
    for mlp in mlps:
        mlp.set_params(max_iter=50).fit(X, y)
        Z = forward(mlp.coefs_, mlp.intercepts_, X)
        _, bound = certify(X, Z, Y, loss, sw, alpha)
        assert bound <= optimum + 1e-9
    est.fit(X, y)
    assert est.objective_ >= optimum - 1e-7
    assert est.optimality_gap_ >= est.objective_ - optimum - 1e-9
    assert est.optimality_gap_ < 1e-5
    assert est.dual_violation_ < 1e-3


def test_bound_needs_the_exact_maximum():
    """With the correlation overstated the bound only gets weaker (smaller);
    understated it is no certificate: the search must be exact for it."""
    rng = np.random.RandomState(3)
    X = rng.randn(30, 1)
    Y = rng.randn(30, 1)
    sw = np.ones(30)
    Z = np.zeros_like(Y) + optimal_shift(np.zeros_like(Y), Y, SquaredError(), sw)
    G = SquaredError().gradient(Z, Y, sw)
    exact = find_violating_units(X, G, 1.0).correlations
    b_exact = global_lower_bound(Z, Y, SquaredError(), sw, 1.0, exact)
    b_loose = global_lower_bound(Z, Y, SquaredError(), sw, 1.0, 2 * exact)
    assert b_loose <= b_exact
    # the zero-hidden network's J is an upper bound on the optimum
    J0 = float(np.mean((Z - Y) ** 2) / 2)
    assert b_exact <= J0 + 1e-12


@pytest.mark.parametrize("loss", [SquaredError(), BinaryLogLoss()])
def test_optimal_shift_zeroes_the_summed_gradient(loss):
    rng = np.random.RandomState(4)
    Z = rng.randn(50, 1)
    Y = (rng.rand(50, 1) > 0.3).astype(float)
    sw = rng.rand(50) + 0.5
    delta = optimal_shift(Z, Y, loss, sw)
    assert abs(loss.gradient(Z + delta, Y, sw).sum()) < 1e-9


def test_arrangement_enumeration_is_complete_in_two_and_three_dimensions():
    """Every pattern that 100 000 random gates produce is enumerated, and the
    count is Cover's bound for points in general position (less the empty
    pattern)."""
    from skconvexnn.operators import add_bias_column
    from skconvexnn.patterns import (
        count_arrangement_cells,
        enumerate_patterns,
        patterns_from_gates,
    )

    rng = np.random.RandomState(7)
    for n, d in [(12, 2), (14, 3)]:
        Xt = add_bias_column(rng.randn(n, d))
        D, gates = enumerate_patterns(Xt)
        np.testing.assert_array_equal(Xt @ gates >= 0, D)  # realised by its gate
        sampled, _ = patterns_from_gates(Xt, rng.randn(d + 1, 100_000))
        ours = {bytes(c) for c in np.packbits(D, axis=0).T}
        seen = {bytes(c) for c in np.packbits(sampled, axis=0).T}
        assert seen <= ours
        assert len(ours) == count_arrangement_cells(n, d) - 1


def test_enumerated_program_certifies_the_global_optimum_in_two_dimensions():
    """With every pattern of 2-D data the ipm's certified bound is a bound on
    the global optimum: the reported gap covers the distance to the cvxpy
    optimum over the same (complete) pattern set, and no lbfgs MLP beats it."""
    from skconvexnn.operators import add_bias_column
    from skconvexnn.patterns import enumerate_patterns

    rng = np.random.RandomState(8)
    X = rng.randn(14, 2)
    y = np.maximum(X[:, 0] - X[:, 1], 0) + 0.1 * rng.randn(14)
    alpha = 0.1
    est = ConvexReLURegressor(
        alpha=alpha, pattern_strategy="enumerate", solver="ipm"
    ).fit(X, y)
    D, _ = enumerate_patterns(add_bias_column(X))
    optimum = cvxpy_oracle(X, y[:, None], D, "squared_error", alpha)
    assert np.isfinite(est.optimality_gap_)
    assert est.optimality_gap_ >= est.objective_ - optimum - 1e-10
    assert est.optimality_gap_ < 1e-6
    for seed in range(3):
        mlp = MLPRegressor(
            hidden_layer_sizes=(30,),
            solver="lbfgs",
            alpha=alpha,
            max_iter=3000,
            random_state=seed,
        ).fit(X, y)
        assert mlp.loss_ >= optimum - 1e-9
