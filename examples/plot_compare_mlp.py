"""
One convex answer against the spread of MLP training runs
=========================================================

scikit-learn's :class:`~sklearn.neural_network.MLPRegressor` and
:class:`~sklearn.neural_network.MLPClassifier` minimise a non-convex objective
``J`` (mean loss + ``alpha / (2 n)`` times the squared weights): each random
start ends somewhere else. The convex estimators minimise the *same* ``J``
(``objective_`` is that value for the fitted network, ``loss_`` for an MLP).
We fit 10 seeds of each MLP solver (``lbfgs`` and ``adam``, width 100) and
one convex model:

- regression on one feature with ``pattern_strategy="enumerate"``: every
  activation pattern is in the program, so the answer is the global optimum
  over networks of any width, certified by ``optimality_gap_``;
- classification on two moons with ``pattern_strategy="mlp"``: the program
  contains the hidden units of three lbfgs MLPs, so its answer is never worse
  than any of *those*. It is not certified: a positive ``dual_violation_``
  proves that a unit outside the program would lower ``J``, and another lbfgs
  seed may well land lower.

The dots are the MLP runs, the line the convex answer. ``adam`` stops far
above both on this objective; lbfgs runs spread little on the easy 1-D problem.
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skconvexnn import ConvexReLUClassifier, ConvexReLURegressor, SolverLicenseWarning

warnings.simplefilter("ignore", ConvergenceWarning)
warnings.simplefilter("ignore", SolverLicenseWarning)  # an unlicensed MOSEK

rng = np.random.RandomState(0)
X = rng.uniform(-3, 3, (120, 1))
y = np.sin(X[:, 0]) + 0.2 * rng.randn(120)
Xc, yc = make_moons(n_samples=300, noise=0.2, random_state=0)
problems = {
    "regression (1 feature)": (
        train_test_split(X, y, test_size=0.5, random_state=0),
        MLPRegressor,
        ConvexReLURegressor(alpha=0.1, pattern_strategy="enumerate", solver="ipm"),
    ),
    "classification (moons)": (
        train_test_split(Xc, yc, test_size=0.3, random_state=0),
        MLPClassifier,
        ConvexReLUClassifier(alpha=0.1, pattern_strategy="mlp", random_state=0),
    ),
}


def timed(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return model, time.perf_counter() - start


results = {}
for name, ((X_tr, X_te, y_tr, y_te), MLP, convex) in problems.items():
    rows = []
    for solver in ("lbfgs", "adam"):
        for seed in range(10):
            mlp = MLP(
                hidden_layer_sizes=(100,),
                alpha=0.1,
                solver=solver,
                max_iter=2000,
                random_state=seed,
            )
            mlp, seconds = timed(mlp, X_tr, y_tr)
            rows.append((solver, mlp.loss_, mlp.score(X_te, y_te), seconds))
    convex, seconds = timed(convex, X_tr, y_tr)
    rows.append(("convex", convex.objective_, convex.score(X_te, y_te), seconds))
    results[name] = rows
    print(f"\n{name}  (score: R^2 or accuracy on the test half)")
    print(f"{'model':8s} {'J min':>9s} {'J max':>9s} {'score':>6s} {'time s':>7s}")
    for label in ("lbfgs", "adam", "convex"):
        sel = [r for r in rows if r[0] == label]
        J = [r[1] for r in sel]
        print(
            f"{label:8s} {min(J):9.5f} {max(J):9.5f} "
            f"{np.mean([r[2] for r in sel]):6.3f} {sum(r[3] for r in sel):7.2f}"
        )
    print(
        f"dual_violation_ {convex.dual_violation_:.3g}, "
        f"optimality_gap_ (J - J* <=) {convex.optimality_gap_:.3g}"
    )

# %%
# Objective reached by every run
# ------------------------------
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
for ax, (name, rows) in zip(axes, results.items()):
    for x, label in enumerate(("lbfgs", "adam")):
        J = [r[1] for r in rows if r[0] == label]
        ax.scatter(np.full(len(J), x) + rng.uniform(-0.1, 0.1, len(J)), J, s=18)
    convex_J = rows[-1][1]
    ax.axhline(convex_J, color="k", ls="--", label=f"convex: {convex_J:.4f}")
    ax.set_xticks([0, 1], ["MLP lbfgs", "MLP adam"])
    ax.set_ylabel("objective J (train)")
    ax.set_title(name)
    ax.legend()
fig.tight_layout()
plt.show()
