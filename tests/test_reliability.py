"""Reliability: random small problems never break the contract; fits are
deterministic; a pickled model predicts identically in a fresh process."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor
from skconvexnn.exceptions import SolverLicenseWarning


@st.composite
def problems(draw):
    n = draw(st.integers(2, 25))
    d = draw(st.integers(1, 4))
    scale = 10.0 ** draw(st.integers(-3, 3))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    X = scale * rng.randn(n, d)
    n_classes = draw(st.integers(2, 3))
    labels = rng.randint(n_classes, size=n)
    labels[:n_classes] = np.arange(n_classes)[: min(n, n_classes)]
    y = rng.randn(n) * 10.0 ** draw(st.integers(-2, 2))
    return X, y, labels, seed


def _quiet_fit(est, X, y):
    with warnings.catch_warnings():
        # documented warnings only: non-convergence and the licence notice
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("error")  # anything else fails the test
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", SolverLicenseWarning)
        return est.fit(X, y)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(problems(), st.sampled_from(["ipm", "cvxpy", "admm"]))
def test_regressor_contract_on_random_problems(problem, solver):
    X, y, _, seed = problem
    est = _quiet_fit(
        ConvexReLURegressor(
            pattern_strategy="random",
            alpha=1e-2,
            n_patterns=4,
            solver=solver,
            max_iter=2000 if solver == "admm" else None,
            random_state=seed,
        ),
        X,
        y,
    )
    pred = est.predict(X)
    assert np.all(np.isfinite(pred))
    # never worse than the best constant (the network with zero units)
    best_constant = 0.5 * np.mean((y - y.mean()) ** 2)
    assert est.objective_ <= best_constant * (1 + 1e-6) + 1e-12


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_classifier_contract_on_random_problems(problem):
    X, _, labels, seed = problem
    est = _quiet_fit(
        ConvexReLUClassifier(
            alpha=1e-2, n_patterns=4, random_state=seed, pattern_strategy="random"
        ),
        X,
        labels,
    )
    proba = est.predict_proba(X)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert set(est.predict(X)) <= set(labels)
    # never worse than predicting the class frequencies (zero units)
    freq = np.bincount(labels) / len(labels)
    freq = freq[freq > 0]
    assert est.objective_ <= -np.sum(freq * np.log(freq)) * (1 + 1e-6) + 1e-12


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_same_random_state_gives_bit_identical_networks(n_jobs):
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    Y = np.column_stack([np.maximum(X[:, 0], 0), X[:, 1] - X[:, 2]])
    fits = [
        ConvexReLURegressor(
            alpha=1e-2,
            n_patterns=8,
            solver="ipm",
            n_jobs=jobs,
            random_state=3,
            pattern_strategy="random",
        ).fit(X, Y)
        for jobs in (1, n_jobs)
    ]
    for a, b in zip(
        fits[0].coefs_ + fits[0].intercepts_, fits[1].coefs_ + fits[1].intercepts_
    ):
        np.testing.assert_array_equal(a, b)


def test_pickle_predicts_identically_in_a_new_process(tmp_path):
    rng = np.random.RandomState(1)
    X = rng.randn(40, 3)
    y = (X[:, 0] + 0.3 * rng.randn(40) > 0).astype(int)
    est = ConvexReLUClassifier(
        alpha=1e-2, n_patterns=6, random_state=0, pattern_strategy="random"
    ).fit(X, y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(est))
    np.save(tmp_path / "X.npy", X)
    code = (
        "import pickle, sys, numpy as np;"
        f"est = pickle.loads(open({str(path)!r}, 'rb').read());"
        f"X = np.load({str(tmp_path / 'X.npy')!r});"
        "np.save(sys.argv[1], est.predict_proba(X))"
    )
    out = tmp_path / "proba.npy"
    subprocess.run([sys.executable, "-c", code, str(out)], check=True)
    np.testing.assert_array_equal(np.load(out), est.predict_proba(X))


@pytest.mark.parametrize("solver", ["ipm", "admm", "cvxpy"])
def test_time_limit_bounds_the_whole_fit(solver):
    import time

    from skconvexnn.exceptions import ConvergenceWarning

    rng = np.random.RandomState(0)
    X = rng.randn(1500, 10)
    y = np.maximum(X @ rng.randn(10), 0) + 0.1 * rng.randn(1500)
    est = ConvexReLURegressor(
        pattern_strategy="random",
        n_patterns=60,
        solver=solver,
        tol=1e-12,
        time_limit=2.0,
        random_state=0,
    )
    start = time.perf_counter()
    # (cvxpy alone needs about 5 s to compile this program, 60 s to solve it)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverLicenseWarning)
        with pytest.warns(ConvergenceWarning, match="time_limit"):
            est.fit(X, y)
    elapsed = time.perf_counter() - start
    assert elapsed <= 2.0 * 1.1
    assert est.constraint_violation_ == 0.0  # a usable, feasible model
    assert np.all(np.isfinite(est.predict(X)))


def test_cvxpy_under_a_time_limit_gives_the_same_model():
    # with a limit the conic solve runs in a child process; when it finishes
    # in time its answer is the one of an unlimited solve
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    y = np.stack([np.maximum(X @ rng.randn(3), 0), X[:, 0]], axis=1)
    params = dict(
        n_patterns=8, pattern_strategy="random", solver="cvxpy", random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SolverLicenseWarning)
        free = ConvexReLURegressor(**params).fit(X, y)
        limited = ConvexReLURegressor(time_limit=60.0, **params).fit(X, y)
    assert limited.converged_
    for a, b in zip(
        free.coefs_ + free.intercepts_, limited.coefs_ + limited.intercepts_
    ):
        np.testing.assert_array_equal(a, b)


def test_time_limit_bounds_cutting_plane_fits():
    import time

    rng = np.random.RandomState(0)
    X = rng.randn(1500, 10)
    y = np.maximum(X @ rng.randn(10), 0) + 0.1 * rng.randn(1500)
    # unbounded, this fit takes about 5 s (seed MLP, 2000 polishing steps, rounds)
    est = ConvexReLURegressor(
        alpha=1e-4,
        n_patterns=60,
        pattern_strategy="cutting_plane",
        time_limit=1.5,
        random_state=0,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    assert time.perf_counter() - start <= 1.5 * 1.1
    assert np.all(np.isfinite(est.predict(X)))
    # never worse than predicting the mean, even when stopped early
    assert est.objective_ <= 0.5 * np.var(y)


@pytest.mark.parametrize("solver", ["cvxpy", "admm"])
def test_time_limit_bounds_robust_fits(solver):
    import time

    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import MinMaxScaler

    from skconvexnn import RobustConvexReLUClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X = MinMaxScaler().fit_transform(X)
    # unbounded: about 60 s (cvxpy) and 120 s (admm) on two cores
    clf = RobustConvexReLUClassifier(
        0.05, solver=solver, time_limit=1.0, random_state=0
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    assert time.perf_counter() - start <= 1.0 * 1.1
    assert not clf.converged_
    assert np.all(np.isfinite(clf.decision_function(X)))
