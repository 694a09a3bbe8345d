"""
Cutting planes against the best of several lbfgs MLPs
======================================================

On ``load_diabetes`` (standardised, ``alpha = 1``) the objective ``J`` of
:class:`~sklearn.neural_network.MLPRegressor` depends on the random start. Column
generation (``pattern_strategy="cutting_plane"``) starts from one such MLP and
repeatedly adds the activation patterns that the dual constraint says are
missing, re-solving the convex program over them. Its ``time_limit`` caps the
rounds. The bars show ``J`` of five lbfgs MLPs (``max_iter=2000``) and of the
cutting-plane fits with growing time budgets, with the wall time of each.

``dual_violation_`` is printed too: a positive value is a proof that the
network is not globally optimal (a unit that lowers ``J`` was found).
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLURegressor

warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_diabetes(return_X_y=True)
X = StandardScaler().fit_transform(X)
y = (y - y.mean()) / y.std()
alpha = 1.0

labels, values, times = [], [], []
for seed in range(5):
    start = time.perf_counter()
    mlp = MLPRegressor(
        hidden_layer_sizes=(100,),
        solver="lbfgs",
        alpha=alpha,
        max_iter=2000,
        random_state=seed,
    ).fit(X, y)
    labels.append(f"MLP seed {seed}")
    values.append(mlp.loss_)
    times.append(time.perf_counter() - start)

for budget in (1.0, 8.0):
    start = time.perf_counter()
    cut = ConvexReLURegressor(
        alpha=alpha,
        pattern_strategy="cutting_plane",
        time_limit=budget,
        random_state=0,
    ).fit(X, y)
    labels.append(f"cutting planes,\nlimit {budget:g} s")
    values.append(cut.objective_)
    times.append(time.perf_counter() - start)
    print(
        f"time_limit={budget:g}: J = {cut.objective_:.6f}, "
        f"{cut.n_neurons_} neurons, dual violation {cut.dual_violation_:.3f}"
    )
print(f"best MLP: J = {min(values[:5]):.6f}")

# %%
fig, ax = plt.subplots(figsize=(8, 4))
colors = ["0.6"] * 5 + ["C3", "C3"]
bars = ax.bar(range(len(values)), values, color=colors)
for bar, t in zip(bars, times):
    ax.annotate(
        f"{t:.1f} s",
        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
        ha="center",
        va="bottom",
        fontsize=8,
    )
ax.set_xticks(range(len(values)), labels, rotation=30, ha="right", fontsize=8)
ax.set_ylim(0.9 * min(values), 1.02 * max(values))
ax.set_ylabel("MLP objective J (lower is better)")
fig.tight_layout()
plt.show()
