"""asv benchmarks of the estimators (time, peak memory, objective reached)."""

import warnings

import numpy as np

from skconvexnn import (
    ConvexReLUClassifier,
    ConvexReLURegressor,
    RobustConvexReLUClassifier,
)


def make_data(n_samples, n_features, kind, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, n_features)
    W = rng.randn(n_features, 5)
    y = np.maximum(X @ W, 0).sum(axis=1) - np.maximum(-X @ W, 0)[:, 0]
    y = y + 0.1 * rng.randn(n_samples)
    if kind == "classification":
        y = (y > np.median(y)).astype(int)
    return X, y


class ConicFit:
    params = (["regression", "classification"], [200, 500])
    param_names = ["kind", "n_samples"]
    timeout = 600

    def setup(self, kind, n_samples):
        self.X, self.y = make_data(n_samples, 5, kind)
        Est = ConvexReLURegressor if kind == "regression" else ConvexReLUClassifier
        self.est = Est(alpha=0.1, n_patterns=20, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.fit(self.X, self.y)

    def time_fit(self, kind, n_samples):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.fit(self.X, self.y)

    def peakmem_fit(self, kind, n_samples):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.fit(self.X, self.y)

    def time_predict(self, kind, n_samples):
        self.est.predict(self.X)

    def track_objective(self, kind, n_samples):
        return self.est.objective_


class InteriorPointFit:
    """The built-in interior-point solver on the planted regression problem."""

    params = ([200, 1000], [1e-4, 1e-8])
    param_names = ["n_samples", "tol"]
    timeout = 600
    n_features, n_patterns = 10, 50

    def setup(self, n_samples, tol):
        self.X, self.y = make_data(n_samples, self.n_features, "regression")
        self.est = ConvexReLURegressor(
            alpha=1.0,
            n_patterns=self.n_patterns,
            pattern_strategy="random",
            solver="ipm",
            tol=tol,
            random_state=0,
        )

    def time_fit(self, n_samples, tol):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.fit(self.X, self.y)

    def peakmem_fit(self, n_samples, tol):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.fit(self.X, self.y)

    def track_dual_gap(self, n_samples, tol):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.fit(self.X, self.y)
        return self.est.dual_gap_


class InteriorPointWorkingRowsFit(InteriorPointFit):
    """The interior-point solver where it carries working rows (n >= 2k)."""

    params = ([10000], [1e-4])


class InteriorPointWoodburyFit(InteriorPointFit):
    """The interior-point solver where its Newton matrices go through the
    ``n x n`` Woodbury capacitance matrix (``n`` small against ``P(d+1)``)."""

    params = ([300], [1e-4, 1e-8])
    n_features, n_patterns = 30, 60


class ADMMFit:
    """The built-in ADMM solver on the planted regression problem: the gated
    program (where it is fast) and the ReLU program (capped iterations, so
    the time per iteration and the gap reached are tracked)."""

    params = (["gated", "relu"], [1000, 10000])
    param_names = ["formulation", "n_samples"]
    timeout = 600

    def setup(self, formulation, n_samples):
        self.X, self.y = make_data(n_samples, 10, "regression")
        self.est = ConvexReLURegressor(
            alpha=1.0,
            n_patterns=50,
            pattern_strategy="random",
            formulation=formulation,
            solver="admm",
            tol=1e-4,
            max_iter=500,
            random_state=0,
        )

    def _fit(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.fit(self.X, self.y)

    def time_fit(self, formulation, n_samples):
        self._fit()

    def peakmem_fit(self, formulation, n_samples):
        self._fit()

    def track_dual_gap(self, formulation, n_samples):
        self._fit()
        return self.est.dual_gap_


class PatternStrategyFit:
    """Objective and certificate reached by each pattern strategy, and the time
    it takes (regression, the planted problem, d=5, alpha=0.2)."""

    params = (["random", "mlp", "cutting_plane"],)
    param_names = ["pattern_strategy"]
    timeout = 600

    def setup(self, pattern_strategy):
        self.X, self.y = make_data(300, 5, "regression")
        self.est = ConvexReLURegressor(
            alpha=0.2,
            n_patterns=20,
            pattern_strategy=pattern_strategy,
            solver="ipm",
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.fit(self.X, self.y)

    def time_fit(self, pattern_strategy):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.fit(self.X, self.y)

    def track_objective(self, pattern_strategy):
        return self.est.objective_

    def track_dual_violation(self, pattern_strategy):
        return self.est.dual_violation_


class RobustFit:
    """ℓ∞-robust training on two moons (min-max scaled): fit time and memory,
    PGD and certified accuracy on the training data at the training radius."""

    params = ([0.0, 0.05],)
    param_names = ["epsilon"]
    timeout = 600

    def setup(self, epsilon):
        from sklearn.datasets import make_moons
        from sklearn.preprocessing import MinMaxScaler

        X, self.y = make_moons(n_samples=200, noise=0.2, random_state=0)
        self.X = MinMaxScaler().fit_transform(X)
        self.est = RobustConvexReLUClassifier(epsilon, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.fit(self.X, self.y)

    def time_fit(self, epsilon):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.fit(self.X, self.y)

    def peakmem_fit(self, epsilon):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.est.fit(self.X, self.y)

    def track_pgd_accuracy(self, epsilon):
        from skconvexnn.robustness import robust_score

        return robust_score(self.est, self.X, self.y, epsilon, random_state=0)

    def track_certified_accuracy(self, epsilon):
        from skconvexnn.robustness import certified_score

        return certified_score(self.est, self.X, self.y, epsilon)
