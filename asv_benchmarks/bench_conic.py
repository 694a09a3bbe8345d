"""Print a table of conic-path fits: time, objective, iterations.

Run: ``python asv_benchmarks/bench_conic.py [--quick]``. The synthetic problem is
a planted ReLU network plus noise (X ~ N(0, I)), the one the solver issues use.
"""

import argparse
import time
import warnings

import numpy as np

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor


def planted(n, d, seed=0, classification=False):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    W = rng.randn(d, 5)
    y = np.maximum(X @ W, 0).sum(axis=1) - 2 * np.maximum(X @ W[:, 0], 0)
    y = (y - y.mean()) / y.std() + 0.1 * rng.randn(n)
    return X, (y > 0).astype(int) if classification else y


def main(quick):
    sizes = (
        [(200, 5, 20), (1000, 10, 50)]
        if quick
        else [(200, 5, 20), (1000, 10, 50), (1000, 10, 100)]
    )
    print(
        f"{'estimator':<22}{'n':>6}{'d':>4}{'P':>5}{'time s':>9}{'objective J':>14}"
        f"{'iters':>7}{'units':>7}  solver"
    )
    for kind in ("regression", "classification"):
        for n, d, P in sizes:
            X, y = planted(n, d, classification=kind == "classification")
            Est = ConvexReLURegressor if kind == "regression" else ConvexReLUClassifier
            est = Est(
                alpha=1.0, n_patterns=P, pattern_strategy="random", random_state=0
            )
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X, y)
            elapsed = time.perf_counter() - start
            print(
                f"{Est.__name__:<22}{n:>6}{d:>4}{est.n_patterns_:>5}{elapsed:>9.2f}"
                f"{est.objective_:>14.6g}{est.n_iter_:>7}{est.n_neurons_:>7}  {est.solver_}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    main(parser.parse_args().quick)
