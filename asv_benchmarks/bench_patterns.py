"""Print a table: pattern strategies against the best of 10 lbfgs MLPs.

Run: ``python asv_benchmarks/bench_patterns.py [--quick] [--rows planted,diabetes]``.

Every row minimises the same objective, scikit-learn's MLP objective ``J``
(``MLPRegressor.loss_`` / ``MLPClassifier.loss_``), on one data set, in one
process, so times are side by side. The baseline is the best ``loss_`` of 10
``MLP*(hidden_layer_sizes=(100,), solver="lbfgs", max_iter=2000)`` fits
(random_state 0..9) and their total time. All fits, baseline included, run
with single-threaded BLAS (the fastest setting for these sizes on two cores:
multi-threaded OpenBLAS made width-100 MLP fits up to 20x slower here).

Columns: J, ``J / best MLP - 1`` (negative: better than every MLP), wall time
and its ratio to the 10 MLP fits, neurons, ``dual_violation_`` (largest
|Gamma^T (Xw + b)_+| / alpha - 1 found; <= 0: no violating unit found).

Data (X standardised; regression targets standardised):
planted    n=200, d=5, y = sum of 4 planted ReLUs + noise, alpha=0.2;
diabetes   load_diabetes (442 x 10), alpha=1;
friedman1  make_friedman1(500, 10, random_state=0), alpha=1;
cancer     load_breast_cancer (569 x 30), classifier, alpha=0.1.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor


def planted(n=200, d=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    W = rng.randn(d, 4)
    y = np.maximum(X @ W, 0) @ np.array([1.0, -1.0, 1.0, 0.5]) + 0.1 * rng.randn(n)
    return X, y


def load(name):
    if name == "planted":
        X, y = planted()
        alpha = 0.2
    elif name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
        alpha = 1.0
    elif name == "friedman1":
        X, y = make_friedman1(500, 10, random_state=0)
        alpha = 1.0
    else:
        X, y = load_breast_cancer(return_X_y=True)
        return StandardScaler().fit_transform(X), y, 0.1, True
    X = StandardScaler().fit_transform(X)
    return X, (y - y.mean()) / y.std(), alpha, False


def timed(fit):
    start = time.perf_counter()
    est = fit()
    return est, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="planted,diabetes,friedman1,cancer")
    parser.add_argument(
        "--quick", action="store_true", help="3 MLP seeds, fewer strategies"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    n_seeds = 3 if args.quick else 10
    header = (
        f"{'data':10s} {'method':34s} {'J':>12s} {'J/MLP-1':>9s} {'time s':>8s} "
        f"{'t/10MLP':>8s} {'neurons':>7s} {'dual viol':>9s}"
    )
    print(header)
    print("-" * len(header))
    for name in args.rows.split(","):
        X, y, alpha, classifier = load(name)
        MLP = MLPClassifier if classifier else MLPRegressor
        Conv = ConvexReLUClassifier if classifier else ConvexReLURegressor
        with threadpool_limits(limits=1, user_api="blas"):
            start = time.perf_counter()
            losses = [
                MLP(
                    hidden_layer_sizes=(100,),
                    solver="lbfgs",
                    alpha=alpha,
                    max_iter=2000,
                    random_state=seed,
                )
                .fit(X, y)
                .loss_
                for seed in range(n_seeds)
            ]
            t_mlp = time.perf_counter() - start
            best = min(losses)
            print(
                f"{name:10s} {f'best of {n_seeds} lbfgs MLPs':34s} {best:12.7f} "
                f"{0:9.2e} {t_mlp:8.2f} {1:8.2f} {100:7d} {'':>9s}"
            )
            methods = [
                ("default (cutting_plane, 5 rounds)", {}),
                (
                    "cutting_plane, 10 rounds, tol 0",
                    dict(max_rounds=10, round_tol=0.0),
                ),
            ]
            if not args.quick and not classifier:
                # (the log-loss program over the patterns of three MLPs
                # plus 100 random ones on cancer ran > 5 minutes, in dense
                # Newton factorisations of size P(d+1): regressors only)
                methods += [
                    ("mlp (3 seeds + 100 random)", dict(pattern_strategy="mlp")),
                    ("random, 100 gates", dict(pattern_strategy="random")),
                ]
            for label, params in methods:
                params = dict(params, alpha=alpha, random_state=0)
                if params.get("pattern_strategy") in ("mlp", "random"):
                    params["n_patterns"] = 100
                    params["solver"] = "ipm"
                est, t = timed(lambda: Conv(**params).fit(X, y))  # noqa: B023
                print(
                    f"{name:10s} {label:34s} {est.objective_:12.7f} "
                    f"{est.objective_ / best - 1:9.2e} {t:8.2f} {t / t_mlp:8.2f} "
                    f"{est.n_neurons_:7d} {est.dual_violation_:9.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
