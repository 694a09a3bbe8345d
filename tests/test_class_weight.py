"""class_weight on the classifiers: the same fit as the matching sample_weight
(scikit-learn's compute_sample_weight), and integer weights as repeated rows."""

import numpy as np
import pytest
from sklearn.datasets import make_moons
from sklearn.utils.class_weight import compute_sample_weight

from skconvexnn import ConvexReLUClassifier, RobustConvexReLUClassifier


def _data():
    X, y = make_moons(n_samples=90, noise=0.25, random_state=0)
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:25]]  # imbalanced
    return X[keep], y[keep]


CASES = [
    lambda **kw: ConvexReLUClassifier(
        loss="squared_error",
        solver="cvxpy",
        alpha=1e-2,
        n_patterns=8,
        pattern_strategy="random",
        **kw,
    ),
    lambda **kw: ConvexReLUClassifier(
        alpha=1e-2, n_patterns=8, pattern_strategy="random", **kw
    ),
    lambda **kw: RobustConvexReLUClassifier(0.05, n_patterns=8, **kw),
]


@pytest.mark.parametrize("make", CASES)
@pytest.mark.parametrize("class_weight", ["balanced", {0: 0.5, 1: 2.0}])
def test_class_weight_equals_sample_weight(make, class_weight):
    X, y = _data()
    by_class = make(class_weight=class_weight, random_state=0).fit(X, y)
    by_sample = make(random_state=0).fit(
        X, y, sample_weight=compute_sample_weight(class_weight, y)
    )
    assert by_class.objective_ == pytest.approx(by_sample.objective_, rel=1e-9)
    np.testing.assert_allclose(
        by_class.decision_function(X), by_sample.decision_function(X), atol=1e-9
    )


def test_balanced_weights_move_the_boundary_towards_the_majority():
    X, y = _data()
    plain = CASES[0](random_state=0).fit(X, y)
    balanced = CASES[0](class_weight="balanced", random_state=0).fit(X, y)
    # recall of the minority class does not drop, and rises on this data
    minority = y == 1
    recall = lambda est: np.mean(est.predict(X[minority]) == 1)  # noqa: E731
    assert recall(balanced) > recall(plain)


def test_integer_class_weight_is_repetition():
    X, y = _data()
    weighted = CASES[0](class_weight={0: 1, 1: 3}, random_state=0).fit(X, y)
    reps = np.where(y == 1, 3, 1)
    repeated = CASES[0](random_state=0).fit(np.repeat(X, reps, 0), np.repeat(y, reps))
    assert weighted.objective_ == pytest.approx(repeated.objective_, rel=1e-5)
    np.testing.assert_allclose(
        weighted.decision_function(X), repeated.decision_function(X), atol=1e-4
    )


def test_class_weight_missing_a_class_is_an_error():
    X, y = _data()
    with pytest.raises(ValueError, match=r"classes, \[1\], are not in class_weight"):
        CASES[0](class_weight={0: 1.0, 7: 2.0}).fit(X, y)
