"""Print a table: spurious minima of MLP training against the convex fit.

Run: ``python asv_benchmarks/bench_spurious.py [--quick]``.

The planted-teacher problem of the landscape literature: ``x ~ N(0, I_k)``,
``y = sum_j relu(x_j)`` (no noise), ``alpha = 1e-3``. The teacher network (k
units ``e_j``, output weights 1) has data loss 0, so its objective is its
penalty at balanced scaling, ``J_teacher = alpha * k / n``; the global
optimum is at most that. For each ``k``: 20 seeds of
``MLPRegressor(hidden_layer_sizes=(width,), solver="lbfgs", max_iter=2000)``
at width ``k`` and 100 (J min / median / max, the fraction of seeds ending
above 1.5 J_teacher, total time), and one
``ConvexReLURegressor(pattern_strategy="cutting_plane")`` fit. All fits run
with single-threaded BLAS, side by side in one process.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_limits

from skconvexnn import ConvexReLURegressor

ALPHA = 1e-3
ROWS = ((4, 400), (6, 1000), (8, 2000))


def teacher_problem(k, n, seed=0):
    X = np.random.RandomState(seed).randn(n, k)
    return X, np.maximum(X, 0).sum(axis=1)


def mlp_runs(X, y, width, n_seeds=20):
    start = time.perf_counter()
    losses = [
        MLPRegressor(
            hidden_layer_sizes=(width,),
            alpha=ALPHA,
            solver="lbfgs",
            max_iter=2000,
            random_state=seed,
        )
        .fit(X, y)
        .loss_
        for seed in range(n_seeds)
    ]
    return np.array(losses), time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="k = 4 only")
    args = parser.parse_args()
    rows = ROWS[:1] if args.quick else ROWS
    header = (
        f"{'k':>2s} {'n':>5s} {'model':14s} {'J min/Jt':>9s} {'J med/Jt':>9s} "
        f"{'J max/Jt':>9s} {'>1.5 Jt':>7s} {'time s':>7s} {'units':>5s}"
    )
    print(header)
    print("-" * len(header))
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k, n in rows:
            X, y = teacher_problem(k, n)
            Jt = ALPHA * k / n
            for width in (k, 100):
                J, seconds = mlp_runs(X, y, width)
                print(
                    f"{k:2d} {n:5d} {f'MLP width {width}':14s} {J.min() / Jt:9.3f} "
                    f"{np.median(J) / Jt:9.3f} {J.max() / Jt:9.3f} "
                    f"{np.mean(J > 1.5 * Jt):7.2f} {seconds:7.2f} {width:5d}",
                    flush=True,
                )
            start = time.perf_counter()
            reg = ConvexReLURegressor(
                alpha=ALPHA, pattern_strategy="cutting_plane", random_state=0
            ).fit(X, y)
            seconds = time.perf_counter() - start
            ratio = reg.objective_ / Jt
            print(
                f"{k:2d} {n:5d} {'convex':14s} {ratio:9.6f} {ratio:9.6f} {ratio:9.6f} "
                f"{float(ratio > 1.5):7.2f} {seconds:7.2f} {reg.n_neurons_:5d}",
                flush=True,
            )
            print(f"   teacher J_t = {Jt:.3e}")


if __name__ == "__main__":
    main()
