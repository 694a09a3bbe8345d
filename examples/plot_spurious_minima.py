"""
Spurious minima: a planted teacher that MLP training does not find
==================================================================

The labels come from a teacher network, ``y = sum_j relu(x_j)`` with
``x ~ N(0, I_4)``: four ReLU units on the coordinate axes, no noise. The
teacher's objective ``J_t = alpha * k / n`` (zero loss, balanced weights) is
an upper bound on the global optimum. ``MLPRegressor(solver="lbfgs")`` with
exactly ``k = 4`` hidden units ends in a spurious local minimum for most
seeds, and even 100 units end above the teacher. The convex fit
(``pattern_strategy="cutting_plane"``) reaches the teacher's objective from
one start. The plot shows ``J / J_t`` per seed (log scale).
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skconvexnn import ConvexReLURegressor

warnings.simplefilter("ignore", ConvergenceWarning)

k, n, alpha = 4, 400, 1e-3
X = np.random.RandomState(0).randn(n, k)
y = np.maximum(X, 0).sum(axis=1)
J_teacher = alpha * k / n

runs = {}
for width in (k, 100):
    start = time.perf_counter()
    runs[width] = np.array(
        [
            MLPRegressor(
                hidden_layer_sizes=(width,),
                alpha=alpha,
                solver="lbfgs",
                max_iter=2000,
                random_state=seed,
            )
            .fit(X, y)
            .loss_
            for seed in range(20)
        ]
    )
    print(
        f"MLP width {width:3d}: J/J_t min {runs[width].min() / J_teacher:.3f}, "
        f"median {np.median(runs[width]) / J_teacher:.3f}; "
        f"{np.mean(runs[width] > 1.5 * J_teacher):.0%} of seeds above 1.5 J_t "
        f"({time.perf_counter() - start:.1f} s for 20 fits)"
    )
start = time.perf_counter()
convex = ConvexReLURegressor(
    alpha=alpha, pattern_strategy="cutting_plane", random_state=0
).fit(X, y)
print(
    f"convex: J/J_t {convex.objective_ / J_teacher:.5f}, {convex.n_neurons_} units "
    f"({time.perf_counter() - start:.1f} s)"
)

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for x, width in enumerate(runs):
    ax.scatter(
        np.full(20, x), runs[width] / J_teacher, s=18, label=f"MLP width {width}"
    )
ax.axhline(convex.objective_ / J_teacher, color="k", ls="--", label="convex fit")
ax.axhline(1.0, color="C3", ls=":", label="teacher")
ax.set_yscale("log")
ax.set_xticks([0, 1], [f"width {k}", "width 100"])
ax.set_ylabel("J / J_teacher (20 seeds)")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
