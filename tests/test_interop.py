"""The workflows users bring: pandas, cross-validation in parallel, joblib
back-ends, persistence, for every estimator."""

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_moons, make_regression
from sklearn.model_selection import cross_val_score

from skconvexnn import (
    ConvexReLUClassifier,
    ConvexReLURegressor,
    RobustConvexReLUClassifier,
)


def _cases():
    Xr, yr = make_regression(n_samples=60, n_features=3, noise=1.0, random_state=0)
    Xc, yc = make_moons(n_samples=60, noise=0.2, random_state=0)
    return [
        (
            ConvexReLURegressor(
                n_patterns=8, random_state=0, pattern_strategy="random"
            ),
            Xr,
            yr / yr.std(),
        ),
        (
            ConvexReLUClassifier(
                alpha=1e-2, n_patterns=8, random_state=0, pattern_strategy="random"
            ),
            Xc,
            yc,
        ),
        (RobustConvexReLUClassifier(0.05, n_patterns=8, random_state=0), Xc, yc),
    ]


@pytest.mark.parametrize("est, X, y", _cases())
def test_pandas_input_sets_feature_names(est, X, y):
    columns = [f"f{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    fitted = est.fit(frame, pd.Series(y))
    np.testing.assert_array_equal(fitted.feature_names_in_, columns)
    # same predictions as from the bare array, which sklearn warns about
    with pytest.warns(UserWarning, match="valid feature names"):
        from_array = fitted.predict(X)
    np.testing.assert_allclose(fitted.predict(frame), from_array)
    with pytest.raises(ValueError, match="feature names"):
        fitted.predict(frame.rename(columns={"f0": "other"}))


@pytest.mark.parametrize("est, X, y", _cases())
def test_cross_val_score_in_parallel_matches_serial(est, X, y):
    serial = cross_val_score(est, X, y, cv=3, n_jobs=1)
    parallel = cross_val_score(est, X, y, cv=3, n_jobs=2)
    np.testing.assert_allclose(parallel, serial, rtol=1e-10)


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_runs_under_joblib_backends(backend):
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    X3 = np.vstack([X, X + [2.0, 0.0]])
    y3 = np.r_[y, np.full(60, 2)]
    params = dict(
        loss="hinge",
        alpha=1e-2,
        n_patterns=6,
        random_state=0,
        pattern_strategy="random",
    )
    reference = ConvexReLUClassifier(**params, n_jobs=1).fit(X3, y3)
    with joblib.parallel_backend(backend, n_jobs=2):
        est = ConvexReLUClassifier(**params, n_jobs=2).fit(X3, y3)
    np.testing.assert_allclose(
        est.decision_function(X3), reference.decision_function(X3), atol=1e-8
    )


@pytest.mark.parametrize("est, X, y", _cases())
def test_joblib_persistence_keeps_predictions(est, X, y, tmp_path):
    est.fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert loaded.get_params() == est.get_params()


@pytest.mark.parametrize("est, X, y", _cases())
def test_skops_persistence_keeps_predictions(est, X, y, tmp_path):
    import skops.io as sio

    est.fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    # only our estimator classes need trusting: the state is numpy and numbers
    assert all(name.startswith("skconvexnn.estimators.") for name in untrusted)
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
