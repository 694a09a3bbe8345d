"""Built-in ADMM on the ℓ∞-robust program.

Oracles: an independent sample-by-sample cvxpy formulation of the program
(``oracles.robust_cvxpy_oracle``), the cvxpy route of the estimator, the
standard classifier at epsilon = 0, and cvxpy solutions of each proximal step.
"""

import time
import warnings

import numpy as np
import pytest
from oracles import robust_cvxpy_oracle
from sklearn.datasets import make_blobs, make_moons
from sklearn.preprocessing import MinMaxScaler

from skconvexnn import ConvexReLUClassifier, RobustConvexReLUClassifier
from skconvexnn.exceptions import ConvergenceWarning, SolverLicenseWarning
from skconvexnn.losses import BinaryLogLoss, Hinge
from skconvexnn.operators import add_bias_column
from skconvexnn.patterns import random_patterns
from skconvexnn.robust_program import RobustProgram
from skconvexnn.solvers.robust_admm import _RobustMaps

cp = pytest.importorskip("cvxpy")


def _moons(n=40, seed=0):
    X, y = make_moons(n_samples=n, noise=0.2, random_state=seed)
    return MinMaxScaler().fit_transform(X), y


def _program(formulation, epsilon, loss, n=30, P=5, seed=0):
    X, y = _moons(n, seed)
    D, gates = random_patterns(add_bias_column(X), P, random_state=seed)
    return RobustProgram(
        X=X,
        y=np.where(y == 1, 1.0, -1.0),
        patterns=D,
        gates=gates,
        loss=loss,
        alpha=0.1,
        epsilon=epsilon,
        sample_weight=np.random.default_rng(seed).uniform(0.5, 2.0, n),
        formulation=formulation,
    )


CASES = [(form, eps) for form in ("flip_tolerant", "strict") for eps in (0.0, 0.05)]


@pytest.mark.parametrize("formulation, epsilon", CASES)
@pytest.mark.parametrize("loss", ["hinge", "log_loss"])
def test_admm_matches_independent_cvxpy(formulation, epsilon, loss):
    X, y = _moons(40)
    alpha = 0.1
    clf = RobustConvexReLUClassifier(
        epsilon,
        loss=loss,
        alpha=alpha,
        n_patterns=6,
        formulation=formulation,
        n_refinements=0,
        solver="admm",
        random_state=0,
    ).fit(X, y)
    D, _ = random_patterns(add_bias_column(X), 6, random_state=0)
    expected = robust_cvxpy_oracle(
        X, np.where(y == 1, 1.0, -1.0), D, loss, alpha, epsilon, formulation
    )
    assert clf.converged_
    assert clf.solver_ == "admm"
    assert clf.objective_ == pytest.approx(expected, rel=1e-4)
    assert clf.constraint_violation_ <= 1e-4


# (strict with the hinge loss on these blobs: 1.7e-4 above cvxpy after 10 000
# iterations per class, with a ConvergenceWarning; see _hard_case)
@pytest.mark.parametrize(
    "formulation, loss", [("flip_tolerant", "hinge"), ("strict", "log_loss")]
)
def test_admm_and_cvxpy_routes_agree_multiclass(formulation, loss):
    X, y = make_blobs(n_samples=45, centers=3, cluster_std=1.5, random_state=0)
    X = MinMaxScaler().fit_transform(X)
    params = dict(
        epsilon=0.03,
        loss=loss,
        alpha=0.1,
        n_patterns=6,
        formulation=formulation,
        class_weight="balanced",
        n_refinements=0,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverLicenseWarning)
        conic = RobustConvexReLUClassifier(solver="cvxpy", **params).fit(X, y)
    admm = RobustConvexReLUClassifier(solver="admm", **params).fit(X, y)
    assert admm.converged_
    assert admm.objective_ == pytest.approx(conic.objective_, rel=1e-4)
    assert np.mean(admm.predict(X) == conic.predict(X)) >= 0.95


def test_admm_epsilon_zero_strict_is_the_standard_classifier():
    X, y = _moons(50)
    robust = RobustConvexReLUClassifier(
        0.0,
        alpha=0.1,
        formulation="strict",
        n_patterns=8,
        solver="admm",
        random_state=3,
    ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverLicenseWarning)
        standard = ConvexReLUClassifier(
            pattern_strategy="random",
            loss="hinge",
            alpha=0.1,
            n_patterns=8,
            random_state=3,
            solver="cvxpy",
        ).fit(X, y)
    assert robust.objective_ == pytest.approx(standard.program_objective_, rel=1e-4)


@pytest.mark.parametrize("formulation, epsilon", CASES)
def test_maps_adjoints_and_gram(formulation, epsilon):
    program = _program(formulation, epsilon, Hinge())
    maps = _RobustMaps(program)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(maps.size)
    blocks = [("loss", maps.loss_map, maps.loss_adjoint)]
    blocks.append(("pen", lambda v: (maps.pen_map(v),), maps.pen_adjoint))
    if maps.has_cone:
        blocks.append(("cone", maps.cone_map, maps.cone_adjoint))
    gram_x = np.zeros(maps.size)
    for name, forward, adjoint in blocks:
        Kx = forward(x)
        Y = [None if k is None else rng.standard_normal(k.shape) for k in Kx]
        lhs = sum(float(np.sum(k * v)) for k, v in zip(Kx, Y) if k is not None)
        assert lhs == pytest.approx(float(x @ adjoint(*Y)), rel=1e-12)
        gram_x += maps.weights[name] * adjoint(*Kx)
    np.testing.assert_allclose(maps.gram() @ x, gram_x, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("formulation, epsilon", CASES)
@pytest.mark.parametrize("loss", [Hinge(), BinaryLogLoss()], ids=["hinge", "log"])
def test_loss_prox_matches_cvxpy(formulation, epsilon, loss):
    program = _program(formulation, epsilon, loss, n=6, P=3)
    maps = _RobustMaps(program)
    rng = np.random.default_rng(1)
    a0 = rng.standard_normal(6) + 0.5
    T0 = rng.standard_normal((6, maps.d))
    R0 = None if maps.strict else rng.standard_normal((6, maps.P))
    rho = 0.7
    a, T, R, _ = maps.loss_prox(a0, T0, R0, rho, loss.name == "hinge")
    A, TT = cp.Variable(6), cp.Variable((6, maps.d))
    margin = A - epsilon * cp.sum(cp.abs(TT), axis=1)
    objective = cp.sum_squares(A - a0) + cp.sum_squares(TT - T0)
    if R0 is not None:
        RR = cp.Variable((6, maps.P))
        margin = margin - cp.sum(cp.pos(RR), axis=1)
        objective += cp.sum_squares(RR - R0)
    if loss.name == "hinge":
        data = cp.pos(1 - margin)
    else:
        data = cp.logistic(-margin)
    cp.Problem(cp.Minimize(maps.s @ data + 0.5 * rho * objective)).solve(
        solver="CLARABEL", tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11
    )
    np.testing.assert_allclose(a, A.value, atol=1e-5)
    np.testing.assert_allclose(T, TT.value, atol=1e-5)
    if R0 is not None:
        np.testing.assert_allclose(R, RR.value, atol=1e-5)


@pytest.mark.parametrize("formulation", ["flip_tolerant", "strict"])
def test_cone_projection_matches_cvxpy(formulation):
    program = _program(formulation, 0.3, Hinge(), n=7, P=2)
    maps = _RobustMaps(program)
    rng = np.random.default_rng(2)
    G, d = 2 * maps.P, maps.d
    q0 = rng.standard_normal((G, d))
    first0 = rng.standard_normal((7, G)) if maps.strict else rng.standard_normal(G)
    first, q = maps.cone_prox(first0, q0)
    for g in range(G):
        qq = cp.Variable(d)
        if maps.strict:
            s = cp.Variable(7)
            target, constraint = first0[:, g], [s >= 0.3 * cp.norm1(qq)]
        else:
            s = cp.Variable()
            target, constraint = first0[g], [s >= cp.norm1(qq)]
        cp.Problem(
            cp.Minimize(cp.sum_squares(s - target) + cp.sum_squares(qq - q0[g])),
            constraint,
        ).solve(solver="CLARABEL")
        got = first[:, g] if maps.strict else first[g]
        np.testing.assert_allclose(got, s.value, atol=1e-6)
        np.testing.assert_allclose(q[g], qq.value, atol=1e-6)


def _hard_case():
    # small alpha, strict hinge: a degenerate LP on which ADMM is slow
    X, y = _moons(40)
    return (
        X,
        y,
        dict(
            epsilon=0.05,
            alpha=1e-2,
            n_patterns=6,
            formulation="strict",
            solver="admm",
            random_state=0,
        ),
    )


def test_admm_limit_warns_and_leaves_a_usable_model():
    X, y, params = _hard_case()
    clf = RobustConvexReLUClassifier(max_iter=200, **params)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        clf.fit(X, y)
    assert not clf.converged_
    assert np.all(np.isfinite(clf.decision_function(X)))
    assert np.isfinite(clf.objective_)


def test_admm_time_limit():
    X, y, params = _hard_case()
    clf = RobustConvexReLUClassifier(time_limit=0.5, tol=1e-12, **params)
    start = time.perf_counter()
    with pytest.warns(ConvergenceWarning, match="time_limit"):
        clf.fit(X, y)
    assert time.perf_counter() - start <= 0.5 * 1.1 + 0.2
    assert np.all(np.isfinite(clf.decision_function(X)))
