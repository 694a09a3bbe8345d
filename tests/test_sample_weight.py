"""Integer sample weights are equivalent to repeated rows, and zero weights to
removed rows, on the samples that are in the program (positive weight)."""

import numpy as np
import pytest
from sklearn.datasets import make_moons

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor


def _weights_and_repeats(X, y, seed=0):
    sw = np.random.RandomState(seed).randint(0, 4, size=X.shape[0])
    return sw, X.repeat(sw, axis=0), y.repeat(sw)


def test_regressor_weights_equal_repetition():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = np.maximum(X[:, 0], 0) + np.sin(X[:, 1])
    sw, X_rep, y_rep = _weights_and_repeats(X, y)
    params = dict(alpha=0.05, n_patterns=10, pattern_strategy="random", random_state=0)
    weighted = ConvexReLURegressor(**params).fit(X, y, sample_weight=sw)
    repeated = ConvexReLURegressor(**params).fit(X_rep, y_rep)
    kept = sw > 0
    assert weighted.objective_ == pytest.approx(repeated.objective_, rel=1e-7)
    np.testing.assert_allclose(
        weighted.predict(X[kept]), repeated.predict(X[kept]), rtol=0, atol=1e-5
    )


def test_classifier_weights_equal_repetition():
    X, y = make_moons(40, noise=0.2, random_state=0)
    sw, X_rep, y_rep = _weights_and_repeats(X, y, seed=1)
    params = dict(alpha=0.1, n_patterns=8, pattern_strategy="random", random_state=0)
    weighted = ConvexReLUClassifier(**params).fit(X, y, sample_weight=sw)
    repeated = ConvexReLUClassifier(**params).fit(X_rep, y_rep)
    kept = sw > 0
    assert weighted.objective_ == pytest.approx(repeated.objective_, rel=1e-6)
    np.testing.assert_allclose(
        weighted.predict_proba(X[kept]), repeated.predict_proba(X[kept]), atol=1e-5
    )


def test_zero_weight_equals_removal():
    rng = np.random.RandomState(2)
    X = rng.randn(30, 2)
    y = np.abs(X[:, 0]) - X[:, 1]
    sw = np.ones(30)
    sw[::3] = 0
    params = dict(alpha=0.05, n_patterns=8, random_state=0)
    weighted = ConvexReLURegressor(**params).fit(X, y, sample_weight=sw)
    removed = ConvexReLURegressor(**params).fit(X[sw > 0], y[sw > 0])
    for a, b in zip(
        weighted.coefs_ + weighted.intercepts_, removed.coefs_ + removed.intercepts_
    ):
        np.testing.assert_allclose(a, b, atol=1e-9)


def test_all_zero_weights_rejected():
    X = np.random.RandomState(0).randn(5, 2)
    with pytest.raises(ValueError, match="non-zero"):
        ConvexReLURegressor(pattern_strategy="random").fit(
            X, X[:, 0], sample_weight=np.zeros(5)
        )
