"""Estimator behaviour against scikit-learn's own MLP (objective, layout,
predictions) and in scikit-learn workflows."""

import warnings

import joblib
import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.datasets import load_iris, make_moons
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.neural_network._base import LOSS_FUNCTIONS
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor


def sklearn_mlp_objective(coefs, intercepts, X, y, alpha, kind):
    """J exactly as sklearn's MLP computes its loss_: sklearn's loss functions
    on the forward pass, plus alpha / (2 n) * sum of squared weights."""
    H = np.maximum(X @ coefs[0] + intercepts[0], 0)
    out = H @ coefs[1] + intercepts[1]
    if kind == "regression":
        data = LOSS_FUNCTIONS["squared_error"](y.reshape(out.shape), out)
    elif kind == "binary":
        data = LOSS_FUNCTIONS["binary_log_loss"](y.reshape(-1, 1), expit(out))
    else:
        data = LOSS_FUNCTIONS["log_loss"](np.eye(out.shape[1])[y], softmax(out, axis=1))
    penalty = 0.5 * alpha * sum(np.sum(C**2) for C in coefs) / X.shape[0]
    return data + penalty


def _curve(n=24, seed=0):
    rng = np.random.RandomState(seed)
    x = np.sort(rng.uniform(-2, 2, n))
    return x[:, None], np.sin(2 * x) + 0.3 * x + 0.05 * rng.randn(n)


def test_1d_enumerated_patterns_beat_every_lbfgs_mlp():
    """With every pattern of 1-D data the program is the global optimum over
    networks of any width: no lbfgs-trained MLP (10 seeds, width 50) at the same
    alpha gets a lower objective."""
    X, y = _curve()
    alpha = 1e-2
    est = ConvexReLURegressor(alpha=alpha, pattern_strategy="enumerate").fit(X, y)
    assert est.converged_
    ours = sklearn_mlp_objective(est.coefs_, est.intercepts_, X, y, alpha, "regression")
    assert ours == pytest.approx(est.objective_, rel=1e-10)
    mlp_values = []
    for seed in range(10):
        mlp = MLPRegressor(
            hidden_layer_sizes=(50,),
            solver="lbfgs",
            alpha=alpha,
            max_iter=5000,
            tol=1e-10,
            random_state=seed,
        ).fit(X, y)
        mlp_values.append(
            sklearn_mlp_objective(
                mlp.coefs_, mlp.intercepts_, X, y, alpha, "regression"
            )
        )
    assert ours <= min(mlp_values) * (1 + 1e-6), (ours, sorted(mlp_values)[:3])


@pytest.mark.parametrize(
    "make_est, data, kind",
    [
        (
            lambda: ConvexReLURegressor(
                alpha=0.1, n_patterns=10, random_state=0, pattern_strategy="random"
            ),
            "curve",
            "regression",
        ),
        (
            lambda: ConvexReLUClassifier(
                alpha=0.1, n_patterns=10, random_state=0, pattern_strategy="random"
            ),
            "moons",
            "binary",
        ),
        (
            lambda: ConvexReLUClassifier(
                alpha=0.1, n_patterns=10, random_state=0, pattern_strategy="random"
            ),
            "iris",
            "multiclass",
        ),
    ],
)
def test_objective_and_to_mlp_match_sklearn(make_est, data, kind):
    if data == "curve":
        X, y = _curve()
    elif data == "moons":
        X, y = make_moons(60, noise=0.2, random_state=0)
    else:
        X, y = load_iris(return_X_y=True)
        X = StandardScaler().fit_transform(X)[::2]
        y = y[::2]
    est = make_est().fit(X, y)
    expected = sklearn_mlp_objective(est.coefs_, est.intercepts_, X, y, est.alpha, kind)
    assert est.objective_ == pytest.approx(expected, rel=1e-10)

    mlp = est.to_mlp()
    assert isinstance(mlp, MLPRegressor if kind == "regression" else MLPClassifier)
    assert mlp.alpha == est.alpha
    for a, b in zip(mlp.coefs_ + mlp.intercepts_, est.coefs_ + est.intercepts_):
        assert a.shape == b.shape
    if kind == "regression":
        np.testing.assert_allclose(mlp.predict(X), est.predict(X), rtol=0, atol=1e-10)
    else:
        np.testing.assert_array_equal(mlp.predict(X), est.predict(X))
        np.testing.assert_allclose(
            mlp.predict_proba(X), est.predict_proba(X), rtol=0, atol=1e-10
        )
        assert mlp.loss_ == pytest.approx(est.objective_)
    # the MLP's own layout conventions
    assert est.coefs_[0].shape == (X.shape[1], est.n_neurons_)
    n_out = 1 if kind in ("regression", "binary") else 3
    assert est.coefs_[1].shape == (est.n_neurons_, n_out)


def test_classifier_attributes_and_probabilities():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)[::3]
    labels = np.array(["setosa", "versicolor", "virginica"])[y[::3]]
    clf = ConvexReLUClassifier(
        pattern_strategy="random", alpha=0.1, n_patterns=10, random_state=0
    ).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    np.testing.assert_allclose(
        softmax(clf.decision_function(X), axis=1), proba, rtol=1e-12
    )
    assert clf.score(X, labels) > 0.9
    assert clf.solver_.startswith("cvxpy:")
    assert clf.n_iter_ > 0


def test_hinge_classifier_has_no_predict_proba():
    X, y = make_moons(40, noise=0.1, random_state=0)
    clf = ConvexReLUClassifier(
        "hinge", alpha=1e-3, n_patterns=20, random_state=0, pattern_strategy="random"
    )
    assert not hasattr(clf.fit(X, y), "predict_proba")
    assert clf.score(X, y) > 0.9
    assert np.isnan(clf.to_mlp().loss_)


def test_zero_alpha_free_intercept_only():
    """Enormous alpha prunes every unit: the model is the best constant."""
    X, y = _curve()
    est = ConvexReLURegressor(
        pattern_strategy="random", alpha=1e6, n_patterns=5, random_state=0
    ).fit(X, y)
    assert est.n_neurons_ == 0
    np.testing.assert_allclose(est.predict(X), y.mean(), rtol=1e-6)
    mlp = est.to_mlp()  # an MLP needs one hidden unit: a zero one is added
    np.testing.assert_allclose(mlp.predict(X), est.predict(X), atol=1e-12)


def test_joblib_round_trip(tmp_path):
    X, y = make_moons(50, noise=0.2, random_state=1)
    clf = ConvexReLUClassifier(
        alpha=0.1, n_patterns=8, random_state=0, pattern_strategy="random"
    ).fit(X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.objective_ == clf.objective_


def test_pipeline_and_grid_search():
    X, y = make_moons(80, noise=0.25, random_state=0)
    pipe = make_pipeline(
        StandardScaler(),
        ConvexReLUClassifier(n_patterns=8, random_state=0, pattern_strategy="random"),
    )
    search = GridSearchCV(pipe, {"convexreluclassifier__alpha": [1e-2, 1.0]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["convexreluclassifier__alpha"] in (1e-2, 1.0)
    assert search.score(X, y) > 0.8
    assert len(search.cv_results_["mean_test_score"]) == 2


def test_warm_start_reuses_patterns():
    X, y = _curve(n=30)
    est = ConvexReLURegressor(
        pattern_strategy="random",
        alpha=0.1,
        n_patterns=12,
        random_state=0,
        warm_start=True,
    )
    gates = est.fit(X, y).gates_.copy()
    est.set_params(alpha=0.05, random_state=1).fit(X, y)
    np.testing.assert_array_equal(est.gates_, gates)
    cold = ConvexReLURegressor(
        pattern_strategy="random", alpha=0.05, n_patterns=12, random_state=1
    ).fit(X, y)
    assert not np.array_equal(cold.gates_, gates)


def test_same_random_state_same_network():
    X, y = make_moons(40, noise=0.2, random_state=0)
    a = ConvexReLUClassifier(
        alpha=0.1, n_patterns=8, random_state=3, pattern_strategy="random"
    ).fit(X, y)
    b = ConvexReLUClassifier(
        alpha=0.1, n_patterns=8, random_state=3, pattern_strategy="random"
    ).fit(X, y)
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(u, v)


def test_verbose_prints_stages(capsys):
    X, y = _curve(n=15)
    ConvexReLURegressor(
        pattern_strategy="random", alpha=0.1, n_patterns=4, random_state=0, verbose=1
    ).fit(X, y)
    out = capsys.readouterr().out
    for stage in ("patterns:", "solve:", "recovery:"):
        assert stage in out


def test_enumerate_refuses_intractable_arrangements():
    X = np.random.RandomState(0).randn(200, 5)
    with pytest.raises(ValueError, match="more than the limit"):
        ConvexReLURegressor(pattern_strategy="enumerate").fit(X, X[:, 0])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1.0}, "alpha"),
        ({"n_patterns": 0}, "n_patterns"),
        ({"solver": "sgd"}, "solver"),
        ({"formulation": "tanh"}, "formulation"),
    ],
)
def test_invalid_parameters(params, match):
    X, y = _curve(n=10)
    with pytest.raises(ValueError, match=match):
        ConvexReLURegressor(**params).fit(X, y)


@pytest.mark.parametrize("kind", ["regression", "binary"])
def test_mlp_strategy_is_at_least_as_good_as_its_seed_networks(kind):
    """pattern_strategy="mlp" solves over the patterns of lbfgs MLPs (seeds as
    documented in skconvexnn.patterns.mlp_seed_networks), starting from the
    best of them: its objective is never above any of those networks'."""
    if kind == "regression":
        X, y = _curve(n=60)
        X = np.column_stack([X, np.cos(3 * X[:, 0])])
        est = ConvexReLURegressor(
            alpha=0.1, n_patterns=8, pattern_strategy="mlp", random_state=4
        )
        Mlp = MLPRegressor
    else:
        X, y = make_moons(60, noise=0.25, random_state=0)
        est = ConvexReLUClassifier(
            alpha=0.1, n_patterns=8, pattern_strategy="mlp", random_state=4
        )
        Mlp = MLPClassifier
    est.fit(X, y)
    seeds = np.random.RandomState(4).randint(2**31 - 1, size=3)
    values = []
    for seed in seeds:
        mlp = Mlp(
            hidden_layer_sizes=(8,),
            solver="lbfgs",
            alpha=0.1,
            max_iter=200,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lbfgs iteration limit
            mlp.fit(X, y)
        values.append(
            sklearn_mlp_objective(mlp.coefs_, mlp.intercepts_, X, y, 0.1, kind)
        )
    # by construction never above; in practice strictly below (re-weighting and
    # merging units with equal patterns is optimal, not just feasible)
    assert est.objective_ < min(values) * (1 - 1e-4), (est.objective_, values)
    random = type(est)(
        alpha=0.1, n_patterns=8, pattern_strategy="random", random_state=4
    ).fit(X, y)
    assert est.objective_ < random.objective_


@pytest.mark.parametrize("n_classes", [2, 3])
def test_log_proba_is_the_log_of_proba_even_when_it_underflows(n_classes):
    # decision values of thousands (a confident network): probabilities
    # underflow to 0 and, as scikit-learn's check_classifiers_train asks (and
    # as MLPClassifier does), their logs are -inf at the same places
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=60, centers=n_classes, random_state=0)
    clf = ConvexReLUClassifier(
        n_patterns=8, random_state=0, pattern_strategy="random"
    ).fit(X, y)
    clf.coefs_[1] = clf.coefs_[1] * 1e4
    proba, log_proba = clf.predict_proba(X), clf.predict_log_proba(X)
    assert (proba == 0).any()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(log_proba, np.log(proba), rtol=1e-12)
    mlp = clf.to_mlp()
    np.testing.assert_allclose(proba, mlp.predict_proba(X), rtol=1e-9, atol=1e-12)
