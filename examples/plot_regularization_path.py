"""
Regularisation path: how many neurons does alpha buy?
=====================================================

The group penalty of the convex program switches whole neurons off: the width
of the network is chosen by ``alpha``, not fixed in advance. We follow a path
from strong to weak regularisation with ``warm_start=True``, so every fit
reuses the activation patterns of the previous one (and its solution as the
starting incumbent), and record the number of neurons, the objective and the
test score. The data are a planted two-layer ReLU network with 4 units plus
noise.
"""

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skconvexnn import ConvexReLURegressor

warnings.simplefilter("ignore", ConvergenceWarning)

rng = np.random.RandomState(0)
X = rng.randn(400, 5)
teacher = rng.randn(5, 4)
y = np.maximum(X @ teacher, 0).sum(axis=1) + 0.3 * rng.randn(400)
y = (y - y.mean()) / y.std()
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, random_state=0)

alphas = np.logspace(1.5, -2, 12)
est = ConvexReLURegressor(
    n_patterns=60,
    pattern_strategy="random",
    solver="ipm",
    warm_start=True,
    random_state=0,
)
neurons, scores, objectives = [], [], []
start = time.perf_counter()
for alpha in alphas:
    est.set_params(alpha=alpha).fit(X_tr, y_tr)
    neurons.append(est.n_neurons_)
    scores.append(est.score(X_te, y_te))
    objectives.append(est.objective_)
    print(
        f"alpha {alpha:8.3g}: {est.n_neurons_:3d} neurons, J {est.objective_:.4f}, "
        f"test R^2 {scores[-1]:.3f}"
    )
print(f"path of {len(alphas)} fits: {time.perf_counter() - start:.2f} s")

# %%
# Width and test score along the path
# -----------------------------------
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogx(alphas, neurons, "o-", label="neurons")
ax.set_xlabel("alpha")
ax.set_ylabel("neurons")
ax.invert_xaxis()
ax2 = ax.twinx()
ax2.semilogx(alphas, scores, "s--", color="C1", label="test R^2")
ax2.set_ylabel("test R^2")
fig.legend(loc="center right")
fig.tight_layout()
plt.show()
