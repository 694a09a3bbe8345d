"""Robust classifier, its program, the PGD attack and the certificates.

Oracles: an independent sample-by-sample cvxpy formulation of the robust
program, the standard classifier at epsilon = 0, closed forms for linear
networks, and brute-force minimisation over a grid of the ε-ball in 2-D.
"""

import numpy as np
import pytest
from oracles import robust_cvxpy_oracle
from sklearn.base import BaseEstimator
from sklearn.datasets import make_blobs, make_moons
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import MinMaxScaler

from skconvexnn import ConvexReLUClassifier, RobustConvexReLUClassifier
from skconvexnn.losses import Hinge
from skconvexnn.operators import add_bias_column
from skconvexnn.patterns import random_patterns
from skconvexnn.robust_program import RobustProgram, refine_patterns
from skconvexnn.robustness import (
    certified_margins,
    certified_score,
    pgd_attack,
    robust_score,
)


def _moons(n=60, seed=0):
    X, y = make_moons(n_samples=n, noise=0.2, random_state=seed)
    return MinMaxScaler().fit_transform(X), y


def _blobs(n=60):
    X, y = make_blobs(n_samples=n, centers=3, cluster_std=1.5, random_state=0)
    return MinMaxScaler().fit_transform(X), y


class _Linear(BaseEstimator):
    """A network computing exactly w^T x + b with two ReLU units."""

    def __init__(self, w, b):
        self.coefs_ = [np.column_stack([w, -w]), np.array([[1.0], [-1.0]])]
        self.intercepts_ = [np.array([b, -b]), np.zeros(1)]
        self.classes_ = np.array([0, 1])
        self.w, self.b = w, b

    def fit(self, X, y):  # fitted at construction
        return self

    def predict(self, X):
        return (X @ self.w + self.b > 0).astype(int)


def _grid_min_margin(estimator, x, label, epsilon, steps=41):
    """min over a grid of the 2-D ε-ball of the margin (brute force)."""
    t = np.linspace(-epsilon, epsilon, steps)
    G = x + np.stack(np.meshgrid(t, t), axis=-1).reshape(-1, 2)
    H = np.maximum(G @ estimator.coefs_[0] + estimator.intercepts_[0], 0.0)
    Z = H @ estimator.coefs_[1] + estimator.intercepts_[1]
    idx = int(np.searchsorted(estimator.classes_, label))
    if Z.shape[1] == 1:
        return float(np.min((1.0 if idx == 1 else -1.0) * Z[:, 0]))
    others = np.delete(Z, idx, axis=1)
    return float(np.min(Z[:, idx] - others.max(axis=1)))


@pytest.mark.parametrize("formulation", ["flip_tolerant", "strict"])
@pytest.mark.parametrize("loss", ["hinge", "log_loss"])
def test_objective_matches_independent_cvxpy(formulation, loss):
    X, y = _moons(40)
    eps, alpha = 0.05, 1e-2
    clf = RobustConvexReLUClassifier(
        eps,
        loss=loss,
        alpha=alpha,
        n_patterns=6,
        formulation=formulation,
        n_refinements=0,
        random_state=0,
    ).fit(X, y)
    D, _ = random_patterns(add_bias_column(X), 6, random_state=0)
    expected = robust_cvxpy_oracle(
        X, np.where(y == 1, 1.0, -1.0), D, loss, alpha, eps, formulation
    )
    assert clf.objective_ == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(
    "data, loss", [(_moons, "hinge"), (_moons, "log_loss"), (_blobs, "hinge")]
)
def test_epsilon_zero_strict_is_the_standard_classifier(data, loss):
    X, y = data()
    robust = RobustConvexReLUClassifier(
        0.0, loss=loss, alpha=1e-3, formulation="strict", n_patterns=8, random_state=3
    ).fit(X, y)
    standard = ConvexReLUClassifier(
        pattern_strategy="random",
        loss=loss,
        alpha=1e-3,
        n_patterns=8,
        random_state=3,
        solver="cvxpy",
    ).fit(X, y)
    np.testing.assert_array_equal(robust.gates_, standard.gates_)
    assert robust.objective_ == pytest.approx(standard.program_objective_, rel=1e-4)
    assert np.mean(robust.predict(X) == standard.predict(X)) >= 0.95


def test_refinement_never_raises_the_bound():
    X, y = _moons(50)
    Xt = add_bias_column(X)
    D, gates = random_patterns(Xt, 10, random_state=0)
    rng = np.random.default_rng(0)
    program = RobustProgram(
        X=X,
        y=np.where(y == 1, 1.0, -1.0),
        patterns=D,
        gates=gates,
        loss=Hinge(),
        alpha=1e-3,
        epsilon=0.05,
        sample_weight=np.ones(len(y)),
    )
    for _ in range(5):
        V, W = rng.standard_normal((2, 1, D.shape[1], 3))
        c = rng.standard_normal(1)
        refined = program.with_patterns(refine_patterns(program, V[0], W[0]))
        assert np.all(
            refined.margins(V[0], W[0], c[0])
            >= program.margins(V[0], W[0], c[0]) - 1e-12
        )


def test_program_margins_bound_the_worst_case():
    """For ANY 0/1 pattern rows, the flip-tolerant margin is below the network's
    worst-case margin over the ε-ball (brute-force grid)."""
    X, y = _moons(20)
    rng = np.random.default_rng(1)
    P, eps = 5, 0.1
    D = rng.random((20, P)) < 0.5
    program = RobustProgram(
        X=X,
        y=np.where(y == 1, 1.0, -1.0),
        patterns=D,
        gates=np.zeros((3, P)),
        loss=Hinge(),
        alpha=1e-3,
        epsilon=eps,
        sample_weight=np.ones(20),
    )
    V, W = rng.standard_normal((2, P, 3))
    c = 0.3
    margins = program.margins(V, W, c)
    net = _Linear(np.zeros(2), 0.0)  # container for the network's arrays
    net.coefs_ = [np.hstack([V[:, :2].T, W[:, :2].T]), np.r_[np.ones(P), -np.ones(P)]]
    net.coefs_[1] = net.coefs_[1][:, None]
    net.intercepts_ = [np.r_[V[:, 2], W[:, 2]], np.array([c])]
    for k in range(20):
        worst = _grid_min_margin(net, X[k], y[k], eps)
        assert margins[k] <= worst + 1e-9


def test_certified_margins_linear_closed_form():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (200, 3))
    w, b = np.array([1.0, -2.0, 0.5]), 0.2
    y = (X @ w + b + 0.3 * rng.standard_normal(200) > 0).astype(int)
    net = _Linear(w, b)
    eps = 0.05
    signed = np.where(y == 1, 1.0, -1.0) * (X @ w + b)
    np.testing.assert_allclose(
        certified_margins(net, X, y, 0.0), signed, rtol=0, atol=1e-12
    )
    exact = signed - eps * np.abs(w).sum()
    robust = exact > 0
    assert certified_score(net, X, y, eps) == pytest.approx(robust.mean())
    # the attack finds the worst case of a linear model: robust accuracy exact
    assert robust_score(net, X, y, eps, n_restarts=1, random_state=0) == (
        pytest.approx(robust.mean())
    )


@pytest.mark.parametrize("data", [_moons, _blobs])
def test_certificate_is_a_lower_bound_on_a_grid(data):
    X, y = data(40)
    clf = RobustConvexReLUClassifier(0.08, n_patterns=8, random_state=0).fit(X, y)
    margins = certified_margins(clf, X, y, 0.08)
    for k in range(0, 40, 3):
        assert margins[k] <= _grid_min_margin(clf, X[k], y[k], 0.08) + 1e-9


@pytest.mark.parametrize("data", [_moons, _blobs])
def test_no_certified_point_is_broken_by_pgd(data):
    X, y = data(80)
    eps = 0.1
    clf = RobustConvexReLUClassifier(eps, n_patterns=10, random_state=0).fit(X, y)
    certified = certified_margins(clf, X, y, eps) > 0
    assert certified.mean() > 0.3  # the check is not vacuous
    X_adv = pgd_attack(clf, X, y, eps, n_steps=100, n_restarts=5, random_state=0)
    assert np.all(np.abs(X_adv - X) <= eps + 1e-12)
    assert np.all(clf.predict(X_adv)[certified] == y[certified])
    # the training certificate is the same computation
    assert clf.train_certified_accuracy_ == pytest.approx(certified.mean())


def test_robust_training_beats_standard_under_attack():
    X, y = _moons(120, seed=1)
    eps = 0.1
    robust = RobustConvexReLUClassifier(eps, n_patterns=15, random_state=0).fit(X, y)
    standard = ConvexReLUClassifier(
        loss="hinge",
        alpha=1e-3,
        n_patterns=15,
        random_state=0,
        solver="cvxpy",
        pattern_strategy="random",
    ).fit(X, y)
    kw = dict(n_steps=50, n_restarts=3, random_state=0)
    assert robust_score(robust, X, y, eps, **kw) > robust_score(
        standard, X, y, eps, **kw
    )
    assert certified_score(robust, X, y, eps) > certified_score(standard, X, y, eps)


def test_attack_works_on_mlp_classifier_and_respects_clip():
    X, y = _blobs(90)
    mlp = MLPClassifier(hidden_layer_sizes=(10,), max_iter=2000, random_state=0)
    mlp.fit(X, y)
    X_adv = pgd_attack(mlp, X, y, 0.2, clip=(0.0, 1.0), random_state=0)
    assert X_adv.min() >= 0.0 and X_adv.max() <= 1.0
    assert np.all(np.abs(X_adv - X) <= 0.2 + 1e-12)
    assert robust_score(mlp, X, y, 0.2, random_state=0) < mlp.score(X, y)
    assert np.all(certified_margins(mlp, X, y, 0.2) <= certified_margins(mlp, X, y, 0))


def test_bad_input():
    X, y = _moons(20)
    with pytest.raises(ValueError, match="epsilon"):
        RobustConvexReLUClassifier(-0.1).fit(X, y)
    with pytest.raises(ValueError, match="1 class"):
        RobustConvexReLUClassifier().fit(X, np.zeros(20))
    clf = RobustConvexReLUClassifier(n_patterns=4, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="not in classes_"):
        certified_margins(clf, X, np.full(20, 7), 0.1)
    with pytest.raises(ValueError, match="features"):
        pgd_attack(clf, X[:, :1], y, 0.1)
    tanh = MLPClassifier(hidden_layer_sizes=(3,), activation="tanh", solver="lbfgs")
    tanh.fit(X, y)
    with pytest.raises(ValueError, match="ReLU"):
        pgd_attack(tanh, X, y, 0.1)


def test_integer_sample_weight_is_repetition():
    X, y = _moons(30)
    weights = np.tile([0, 1, 2], 10)
    kw = dict(n_patterns=6, n_refinements=0, random_state=0)
    weighted = RobustConvexReLUClassifier(0.05, **kw).fit(X, y, sample_weight=weights)
    repeated = RobustConvexReLUClassifier(0.05, **kw).fit(
        np.repeat(X, weights, axis=0), np.repeat(y, weights)
    )
    # same gates (drawn for the same dimension), same program value
    np.testing.assert_array_equal(weighted.gates_, repeated.gates_)
    assert weighted.objective_ == pytest.approx(repeated.objective_, rel=1e-5)
