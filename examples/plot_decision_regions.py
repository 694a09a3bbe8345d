"""
Decision regions on 2-D data
============================

:class:`~skconvexnn.ConvexReLUClassifier` (default log-loss: the objective of
``MLPClassifier``) on two moons, concentric circles and three blobs, next to
``MLPClassifier(solver="lbfgs")`` with the same ``alpha``. The title gives the
objective ``J`` (equal to ``MLPClassifier.loss_`` for the same network), the
width and the training accuracy. The convex model uses
``pattern_strategy="mlp"`` (the hidden units of three lbfgs MLPs plus random
patterns); its width is chosen by the group penalty, while the MLP keeps its
100 units. With three classes every convex unit feeds one class's output (the
softmax program is convex only in that form), a narrower family than an MLP
whose units feed all classes: there its ``J`` stays above the MLP's.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs, make_circles, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLUClassifier, SolverLicenseWarning

warnings.simplefilter("ignore", ConvergenceWarning)
warnings.simplefilter("ignore", SolverLicenseWarning)  # an unlicensed MOSEK

datasets = {
    "moons": make_moons(n_samples=150, noise=0.2, random_state=0),
    "circles": make_circles(n_samples=150, noise=0.1, factor=0.5, random_state=0),
    "blobs": make_blobs(n_samples=150, centers=3, cluster_std=1.5, random_state=0),
}
alpha = 1e-2
fig, axes = plt.subplots(2, 3, figsize=(10, 6.5))
for col, (name, (X, y)) in enumerate(datasets.items()):
    X = StandardScaler().fit_transform(X)
    models = [
        (
            "convex",
            ConvexReLUClassifier(
                alpha=alpha, n_patterns=40, pattern_strategy="mlp", random_state=0
            ),
        ),
        (
            "MLP lbfgs",
            MLPClassifier(
                hidden_layer_sizes=(100,),
                alpha=alpha,
                solver="lbfgs",
                max_iter=2000,
                random_state=0,
            ),
        ),
    ]
    xx, yy = np.meshgrid(np.linspace(-3, 3, 200), np.linspace(-3, 3, 200))
    for row, (label, model) in enumerate(models):
        model.fit(X, y)
        J = model.objective_ if hasattr(model, "objective_") else model.loss_
        width = model.coefs_[0].shape[1]
        ax = axes[row, col]
        Z = model.predict(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
        ax.contourf(xx, yy, Z, alpha=0.3)
        ax.scatter(X[:, 0], X[:, 1], c=y, s=10, edgecolors="k")
        ax.set_title(
            f"{name}, {label}\nJ={J:.4f}, {width} units, acc={model.score(X, y):.3f}",
            fontsize=9,
        )
        ax.set_xticks([])
        ax.set_yticks([])
        print(f"{name:8s} {label:10s} J={J:.5f} units={width:3d}")
fig.tight_layout()
plt.show()
