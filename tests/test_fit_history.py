"""fit_history_ and scikit-learn callbacks (sklearn.callback) during fit."""

import numpy as np
import pytest
from sklearn.datasets import make_moons, make_regression
from sklearn.metrics import accuracy_score, r2_score

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor

pytest.importorskip("sklearn.callback")  # scikit-learn >= 1.9


class Recorder:
    """A FitCallback that scores the network of every step on the training
    data with scikit-learn's metrics, and can ask to stop after ``stop_after``
    sub-tasks."""

    def __init__(self, metric, stop_after=None):
        self.metric, self.stop_after = metric, stop_after
        self.scores, self.tasks, self.torn_down = [], [], False

    def setup(self, estimator, context):
        self.scores, self.tasks = [], []

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
        pass

    def on_fit_task_end(
        self, estimator, context, *, X=None, y=None, fitted_estimator=None
    ):
        self.tasks.append(context.task_name)
        if fitted_estimator is not None:
            self.scores.append(self.metric(y, fitted_estimator.predict(X)))
        return self.stop_after is not None and len(self.tasks) >= self.stop_after

    def teardown(self, estimator, context):
        self.torn_down = True


def _regression():
    X, y = make_regression(n_samples=150, n_features=4, noise=5.0, random_state=0)
    return X, y / y.std()


def test_history_rows_and_final_row_match_the_fitted_attributes():
    X, y = _regression()
    reg = ConvexReLURegressor(
        alpha=1e-2, pattern_strategy="cutting_plane", random_state=0
    ).fit(X, y)
    rows = reg.fit_history_
    assert [r["stage"] for r in rows[:2]] == ["seed", "polished start"]
    assert rows[-1]["stage"] == "final"
    assert rows[-1]["objective"] == pytest.approx(reg.objective_, rel=1e-12)
    assert rows[-1]["dual_violation"] == reg.dual_violation_
    assert rows[-1]["n_neurons"] == reg.n_neurons_
    # the returned network is the best one seen
    assert reg.objective_ <= min(r["objective"] for r in rows) * (1 + 1e-12)
    times = [r["time"] for r in rows]
    assert times == sorted(times)


def test_callbacks_see_every_step_with_a_scorable_network():
    X, y = _regression()
    callback = Recorder(r2_score)
    reg = ConvexReLURegressor(
        alpha=1e-2, pattern_strategy="cutting_plane", random_state=0
    ).set_callbacks(callback)
    reg.fit(X, y)
    assert callback.torn_down
    assert len(callback.scores) == len(reg.fit_history_)
    # the last step's network is the fitted model
    assert callback.scores[-1] == pytest.approx(reg.score(X, y), rel=1e-12)


def test_a_callback_can_stop_the_rounds():
    X, y = _regression()
    free = ConvexReLURegressor(
        alpha=1e-3, pattern_strategy="cutting_plane", random_state=0
    ).fit(X, y)
    assert sum(r["stage"].startswith("round") for r in free.fit_history_) >= 2
    stopped = ConvexReLURegressor(
        alpha=1e-3, pattern_strategy="cutting_plane", random_state=0
    ).set_callbacks(Recorder(r2_score, stop_after=2))
    stopped.fit(X, y)
    stages = [r["stage"] for r in stopped.fit_history_]
    assert stages == ["seed", "polished start", "final"]


def test_classifier_callbacks_get_labels_and_classes():
    X, y = make_moons(n_samples=80, noise=0.2, random_state=0)
    y = np.where(y == 1, "yes", "no")
    callback = Recorder(accuracy_score)
    clf = ConvexReLUClassifier(
        pattern_strategy="random", alpha=1e-2, n_patterns=8, random_state=0
    ).set_callbacks(callback)
    clf.fit(X, y)
    assert [r["stage"] for r in clf.fit_history_] == ["solve", "final"]
    assert callback.scores[-1] == pytest.approx(clf.score(X, y))


def test_scoring_monitor_logs_one_score_per_step():
    from sklearn.callback import ScoringMonitor

    X, y = _regression()
    monitor = ScoringMonitor(scoring="r2")
    reg = ConvexReLURegressor(
        alpha=1e-2, pattern_strategy="cutting_plane", random_state=0
    ).set_callbacks(monitor)
    reg.fit(X, y)
    rows = monitor.get_logs().data
    steps = [r["task_name"] for r in rows if r["task_name"] != "fit"]
    assert steps == [r["stage"] for r in reg.fit_history_[:-1]]
    final = next(r for r in rows if r["task_name"] == "fit")
    assert final["r2"] == pytest.approx(r2_score(y, reg.predict(X)), rel=1e-12)


def test_progress_bar_runs_through_a_fit(capsys):
    """scikit-learn's ProgressBar (needs rich, a test dependency only)."""
    from sklearn.callback import ProgressBar

    X, y = _regression()
    reg = ConvexReLURegressor(
        alpha=1e-2, pattern_strategy="cutting_plane", random_state=0
    ).set_callbacks(ProgressBar())
    reg.fit(X, y)
    assert "ConvexReLURegressor - fit" in capsys.readouterr().out
    assert reg.fit_history_[-1]["stage"] == "final"
