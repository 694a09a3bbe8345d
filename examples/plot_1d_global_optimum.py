"""
The certified global optimum in one dimension, against lbfgs MLPs
=================================================================

For one feature the activation patterns of the data are few (at most ``2 n``),
so ``pattern_strategy="enumerate"`` solves the convex program over all of them:
its solution is the global minimum of scikit-learn's MLP objective ``J`` over
two-layer ReLU networks of *any* width. ``optimality_gap_`` certifies it: an
upper bound on ``objective_ - J*`` from a dual-feasible point.

Ten ``MLPRegressor(solver="lbfgs")`` fits with the same ``alpha`` land in
different local minima; none goes below the convex answer. Column generation
(``pattern_strategy="cutting_plane"``), which does not enumerate, reaches the
same optimum from one MLP. The plot shows the fitted functions: the optimum is
piecewise linear with its kinks at data points (Ergen & Pilanci).
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skconvexnn import ConvexReLURegressor

warnings.simplefilter("ignore", ConvergenceWarning)

rng = np.random.RandomState(0)
x = np.sort(rng.uniform(-2, 2, 30))
y = np.sin(2 * x) + 0.3 * x + 0.1 * rng.randn(30)
X = x[:, None]
alpha = 0.05

exact = ConvexReLURegressor(alpha=alpha, pattern_strategy="enumerate").fit(X, y)
cut = ConvexReLURegressor(
    alpha=alpha, pattern_strategy="cutting_plane", random_state=0
).fit(X, y)
mlps = [
    MLPRegressor(
        hidden_layer_sizes=(50,),
        solver="lbfgs",
        alpha=alpha,
        max_iter=2000,
        random_state=seed,
    ).fit(X, y)
    for seed in range(10)
]

print(f"enumerated patterns : J = {exact.objective_:.8f}")
print(f"  certified gap to the global optimum <= {exact.optimality_gap_:.1e}")
print(f"cutting planes      : J = {cut.objective_:.8f}")
print(f"  certified gap <= {cut.optimality_gap_:.1e}, neurons {cut.n_neurons_}")
losses = np.array([mlp.loss_ for mlp in mlps])
print(f"10 lbfgs MLPs       : J from {losses.min():.8f} to {losses.max():.8f}")

# %%
grid = np.linspace(-2.3, 2.3, 400)[:, None]
fig, ax = plt.subplots(figsize=(7, 4))
for mlp in mlps:
    ax.plot(grid, mlp.predict(grid), color="0.75", lw=1)
ax.plot([], [], color="0.75", label="10 lbfgs MLPs (width 50)")
ax.plot(grid, exact.predict(grid), color="C3", lw=2, label="global optimum")
ax.scatter(x, y, s=15, color="k", zorder=3, label="data")
ax.set_title(f"alpha = {alpha}: every MLP has J >= {exact.objective_:.5f}")
ax.legend()
plt.show()
