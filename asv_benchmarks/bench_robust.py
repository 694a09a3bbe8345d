"""Print a table: ℓ∞-robust training against standard training, attacked.

Run: ``python asv_benchmarks/bench_robust.py [--quick] [--data moons,cancer]``.

Data: ``load_breast_cancer`` (569 x 30) and ``make_moons(400, noise=0.2)``,
min-max scaled to [0, 1], split 70/30 (random_state 0). Models:

- ``MLPClassifier(hidden_layer_sizes=(100,), max_iter=2000)`` (adam, default);
- ``ConvexReLUClassifier(alpha=1e-3)`` (log-loss, defaults otherwise);
- ``RobustConvexReLUClassifier(epsilon)`` (defaults: hinge, alpha=0.1, 50
  gates, one refinement) trained at each epsilon, by the cvxpy route
  (``robust``) and by the built-in ADMM solver (``robust/admm``, its default
  tol 1e-5 and 10 000 iterations per solve), same gates.

Columns, on the test set at radius epsilon (units of the scaled X): clean
accuracy, PGD robust accuracy (50 steps, 5 random restarts, clipped to
[0, 1]; an upper bound on robust accuracy), certified accuracy
(:func:`skconvexnn.robustness.certified_score`, a lower bound), fit time, and
for the robust models the program's objective (the two routes start from the
same gates; the refinement re-solves over rows refined from each route's own
first solution).
"""

import argparse
import time
import warnings

from sklearn.datasets import load_breast_cancer, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import MinMaxScaler

from skconvexnn import ConvexReLUClassifier, RobustConvexReLUClassifier
from skconvexnn.robustness import certified_score, robust_score

EPSILONS = (0.0, 0.02, 0.05, 0.1)


def load(name):
    if name == "cancer":
        X, y = load_breast_cancer(return_X_y=True)
    else:
        X, y = make_moons(n_samples=400, noise=0.2, random_state=0)
    X = MinMaxScaler().fit_transform(X)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def evaluate(model, X, y, eps):
    pgd = robust_score(
        model, X, y, eps, n_steps=50, n_restarts=5, clip=(0.0, 1.0), random_state=0
    )
    return model.score(X, y), pgd, certified_score(model, X, y, eps)


def timed_fit(model, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="moons,cancer")
    parser.add_argument(
        "--quick", action="store_true", help="moons only, epsilon 0.05 only"
    )
    args = parser.parse_args()
    names = ["moons"] if args.quick else args.data.split(",")
    epsilons = (0.05,) if args.quick else EPSILONS
    header = (
        f"{'data':7s} {'eps':>5s} {'model':11s} {'clean':>6s} {'PGD':>6s} "
        f"{'cert':>6s} {'fit s':>7s} {'neurons':>7s} {'objective':>12s}"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        X_train, X_test, y_train, y_test = load(name)
        fixed = {
            "MLP": timed_fit(
                MLPClassifier(hidden_layer_sizes=(100,), max_iter=2000, random_state=0),
                X_train,
                y_train,
            ),
            "convex": timed_fit(
                ConvexReLUClassifier(
                    alpha=1e-3, pattern_strategy="random", random_state=0
                ),
                X_train,
                y_train,
            ),
        }
        for eps in epsilons:
            rows = dict(fixed)
            rows["robust"] = timed_fit(
                RobustConvexReLUClassifier(eps, random_state=0),
                X_train,
                y_train,
            )
            rows["robust/admm"] = timed_fit(
                RobustConvexReLUClassifier(eps, solver="admm", random_state=0),
                X_train,
                y_train,
            )
            for label, (model, seconds) in rows.items():
                clean, pgd, cert = evaluate(model, X_test, y_test, eps)
                width = model.coefs_[0].shape[1]
                objective = getattr(model, "objective_", float("nan"))
                if label == "convex":
                    objective = float("nan")  # another program
                print(
                    f"{name:7s} {eps:5.2f} {label:11s} {clean:6.3f} {pgd:6.3f} "
                    f"{cert:6.3f} {seconds:7.2f} {width:7d} {objective:12.8f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
