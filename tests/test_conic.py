"""Routing of the cvxpy back-ends: licences, failures, limits."""

import warnings

import numpy as np
import pytest

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor
from skconvexnn.exceptions import (
    ConvergenceWarning,
    SolverFailedError,
    SolverLicenseWarning,
)
from skconvexnn.solvers import conic


def _data(n=30, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 2)
    return X, np.maximum(X[:, 0], 0) - X[:, 1]


@pytest.fixture
def fake_unlicensed_mosek(monkeypatch):
    """MOSEK installed without a licence, as pip leaves it."""
    real = conic.installed_backends
    monkeypatch.setattr(conic, "installed_backends", lambda: tuple({"MOSEK", *real()}))
    monkeypatch.setattr(
        conic,
        "licence_problem",
        lambda name: (
            "Error: rescode.err_missing_license_file(1008)" if name == "MOSEK" else None
        ),
    )


def test_unlicensed_commercial_solver_falls_back_with_one_warning(
    fake_unlicensed_mosek,
):
    X, y = _data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = ConvexReLURegressor(
            n_patterns=5, solver="cvxpy", random_state=0, pattern_strategy="random"
        ).fit(X, y)
    licence = [w for w in caught if issubclass(w.category, SolverLicenseWarning)]
    assert len(licence) == 1
    assert "MOSEK" in str(licence[0].message)
    assert "licen" in str(licence[0].message)
    assert est.solver_ == "cvxpy:CLARABEL"
    assert est.converged_


def test_real_mosek_licence_probe_is_cached_and_fast():
    """On a machine with MOSEK installed the probe answers (True or a reason)
    without hanging; on one without, it says why."""
    import time

    start = time.perf_counter()
    first = conic.licence_problem("MOSEK")
    second = conic.licence_problem("MOSEK")
    assert first == second
    assert time.perf_counter() - start < 10


def test_explicit_uninstalled_solver_is_a_clear_error():
    X, y = _data()
    with pytest.raises(ValueError, match="not installed.*installed cvxpy solvers"):
        ConvexReLURegressor(cvxpy_solver="NOT_A_SOLVER", pattern_strategy="random").fit(
            X, y
        )


def test_explicit_solver_without_second_order_cones_is_rejected():
    X, y = _data()
    # cvxpy's SCIPY back-end (linear programs only) is installed with scipy
    with pytest.raises(ValueError, match="second-order cones"):
        ConvexReLURegressor(cvxpy_solver="SCIPY", pattern_strategy="random").fit(X, y)


def test_explicit_solver_is_used():
    X, y = _data()
    est = ConvexReLURegressor(
        n_patterns=4, cvxpy_solver="scs", random_state=0, pattern_strategy="random"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.solver_ == "cvxpy:SCS"


def test_failing_backend_falls_back_to_next(monkeypatch):
    X, y = _data()
    real = conic.ConicSolver._call_backend

    def broken_clarabel(self, compiled, backend, tol=None):
        if backend == "CLARABEL":
            raise RuntimeError("simulated crash")
        return real(self, compiled, backend, tol)

    monkeypatch.setattr(conic.ConicSolver, "_call_backend", broken_clarabel)
    with pytest.warns(ConvergenceWarning, match="CLARABEL failed.*simulated crash"):
        est = ConvexReLURegressor(
            n_patterns=4, solver="cvxpy", random_state=0, pattern_strategy="random"
        ).fit(X, y)
    assert est.solver_ in ("cvxpy:ECOS", "cvxpy:SCS")
    assert np.all(np.isfinite(est.predict(X)))


def test_every_backend_failing_raises_clear_error(monkeypatch):
    X, y = _data()

    def broken(self, compiled, backend, tol=None):
        raise RuntimeError(f"{backend} simulated crash")

    monkeypatch.setattr(conic.ConicSolver, "_call_backend", broken)
    est = ConvexReLURegressor(
        n_patterns=4, solver="cvxpy", random_state=0, pattern_strategy="random"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(SolverFailedError, match="No conic solver produced"):
            est.fit(X, y)
    assert not hasattr(est, "coefs_")  # not half-fitted


@pytest.mark.parametrize("Estimator", [ConvexReLURegressor, ConvexReLUClassifier])
def test_iteration_limit_warns_and_keeps_usable_model(Estimator):
    X, y = _data()
    if Estimator is ConvexReLUClassifier:
        y = (y > 0).astype(int)
    est = Estimator(
        n_patterns=6,
        pattern_strategy="random",
        max_iter=3,
        solver="cvxpy",
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="stopped early"):
        est.fit(X, y)
    assert not est.converged_
    assert np.all(np.isfinite(est.predict(X)))
    assert np.isfinite(est.objective_)
