"""scikit-learn's common estimator checks on every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skconvexnn import (
    ConvexReLUClassifier,
    ConvexReLURegressor,
    RobustConvexReLUClassifier,
)

ESTIMATORS = [
    ConvexReLURegressor(),
    ConvexReLUClassifier(),
    # 10 gates instead of 50 keep the ~60 checks under 30 s (the robust
    # program has n x P hinge terms); the checks do not depend on the count.
    RobustConvexReLUClassifier(n_patterns=10),
    # the default is column generation (an lbfgs seed network, interior-point
    # rounds, L-BFGS polishes); one convex solve over random patterns too
    ConvexReLURegressor(pattern_strategy="random"),
    ConvexReLUClassifier(pattern_strategy="random"),
]

# Why a check is expected to fail. Each reason is a property of the model, not
# of the code, and the property it would have checked is tested separately.
_NOT_UNIQUE_OFF_SAMPLE = (
    "The check fits 15 samples with 30 features and then predicts on points "
    "whose weight is zero, i.e. that are absent from the convex program. With "
    "d > n the group-lasso minimiser is not unique off the weighted sample, and "
    "the interior-point solver's choice among minimisers depends on how rows are "
    "repeated. Fitted values on positive-weight samples are unique and agree to "
    "1e-5 (the solver tolerance): see tests/test_sample_weight.py."
)


_LP_NOT_UNIQUE = (
    "With the hinge loss the robust program is a linear program plus group "
    "norms: its minimiser is not unique, and the interior-point back-end picks "
    "different minimisers for weighted and for repeated rows, so decision "
    "values differ beyond rtol=1e-7 although the optimal value agrees to 1e-5 "
    "(tests/test_robust.py::test_integer_sample_weight_is_repetition)."
)


_CLASS_WEIGHT_OPTIMUM = (
    "The check weighs class 0 by 1000 and the others by 1e-4 on blobs with "
    "cluster_std=20 and expects class 0 on > 87% of test points. The optimum of "
    "the weighted MLP objective (alpha=1e-4) still predicts class 1 in regions "
    "without class-0 points, where nothing opposes it: measured J = 1.1e-6 for "
    "the convex fit (84% class 0) vs 3.0e-5 for lbfgs MLPClassifier with the "
    "same weights (100% class 0), which stops far from that optimum. class_weight "
    "is tested against sample_weight and repetition in tests/test_class_weight.py."
)


_SEEDED_BY_LBFGS = (
    "pattern_strategy='cutting_plane' grows the network from an lbfgs MLP and "
    "polishes it by L-BFGS between rounds: a non-convex start. Weighted rows "
    "and repeated rows give the same objective but different rounding, L-BFGS "
    "follows different paths, and the local optimum it reaches (hence the "
    "patterns the rounds add) can differ: measured 2.3e-5 on 1 of 15 "
    "predictions. The convex program over given patterns is "
    "weight/repetition-exact (tests/test_sample_weight.py)."
)


def _expected_failed_checks(estimator):
    if isinstance(estimator, RobustConvexReLUClassifier):
        return {"check_sample_weight_equivalence_on_dense_data": _LP_NOT_UNIQUE}
    expected = {"check_sample_weight_equivalence_on_dense_data": _NOT_UNIQUE_OFF_SAMPLE}
    if estimator.pattern_strategy == "cutting_plane":
        # the classifier's seed network happens to pass it; the regressor's not
        expected = {}
        if isinstance(estimator, ConvexReLURegressor):
            expected["check_sample_weight_equivalence_on_dense_data"] = _SEEDED_BY_LBFGS
    if isinstance(estimator, ConvexReLUClassifier):
        expected["check_class_weight_classifiers"] = _CLASS_WEIGHT_OPTIMUM
    return expected


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
