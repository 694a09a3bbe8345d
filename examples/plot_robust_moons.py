"""
Adversarially robust training on two moons
==========================================

:class:`~skconvexnn.RobustConvexReLUClassifier` minimises an upper bound on the
worst-case hinge loss under every ℓ∞ perturbation of radius ``epsilon`` — one
convex program. We train it at several radii and attack every model with
projected gradient descent (:func:`~skconvexnn.robustness.pgd_attack`, 5
random restarts). Next to the attacked accuracy we plot the *certified*
accuracy (:func:`~skconvexnn.robustness.certified_score`): points the
network provably classifies correctly under every perturbation. PGD can only
overestimate robust accuracy and the certificate can only underestimate it,
so the truth lies between the two curves.

``epsilon`` is in the units of ``X``: the data are min-max scaled to [0, 1],
so ``epsilon=0.1`` is a tenth of each feature's range.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import MinMaxScaler

from skconvexnn import ConvexReLUClassifier, RobustConvexReLUClassifier
from skconvexnn.robustness import certified_margins, certified_score, robust_score

warnings.simplefilter("ignore", ConvergenceWarning)

X, y = make_moons(n_samples=400, noise=0.2, random_state=0)
X = MinMaxScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=0, stratify=y
)
epsilons = [0.0, 0.02, 0.05, 0.1]
attack = dict(n_steps=50, n_restarts=5, clip=(0.0, 1.0), random_state=0)

mlp = MLPClassifier(hidden_layer_sizes=(100,), max_iter=2000, random_state=0)
mlp.fit(X_train, y_train)
convex = ConvexReLUClassifier(alpha=1e-3, random_state=0).fit(X_train, y_train)
robust = {
    eps: RobustConvexReLUClassifier(eps, random_state=0).fit(X_train, y_train)
    for eps in epsilons
}

curves = {"MLPClassifier": [], "ConvexReLUClassifier": [], "robust (PGD)": []}
certified = []
for eps in epsilons:
    curves["MLPClassifier"].append(robust_score(mlp, X_test, y_test, eps, **attack))
    curves["ConvexReLUClassifier"].append(
        robust_score(convex, X_test, y_test, eps, **attack)
    )
    curves["robust (PGD)"].append(
        robust_score(robust[eps], X_test, y_test, eps, **attack)
    )
    certified.append(certified_score(robust[eps], X_test, y_test, eps))

for name, values in curves.items():
    print(name, " ".join(f"{v:.3f}" for v in values))
print("robust (certified)", " ".join(f"{v:.3f}" for v in certified))

# %%
# Accuracy under attack against the radius
# ----------------------------------------
fig, ax = plt.subplots(figsize=(5, 3.5))
for name, values in curves.items():
    ax.plot(epsilons, values, marker="o", label=name)
ax.plot(epsilons, certified, "k--", marker="s", label="robust (certified)")
ax.set_xlabel("epsilon (ℓ∞, scaled units)")
ax.set_ylabel("test accuracy under attack")
ax.legend()
fig.tight_layout()

# %%
# Decision regions at epsilon = 0.1
# ---------------------------------
# The robust model keeps its boundary away from the training points; points
# it certifies are circled.
xx, yy = np.meshgrid(np.linspace(-0.1, 1.1, 200), np.linspace(-0.1, 1.1, 200))
grid = np.c_[xx.ravel(), yy.ravel()]
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5), sharey=True)
for ax, (title, model) in zip(
    axes, [("MLPClassifier", mlp), ("robust, epsilon=0.1", robust[0.1])]
):
    ax.contourf(xx, yy, model.predict(grid).reshape(xx.shape), alpha=0.3)
    ax.scatter(X_test[:, 0], X_test[:, 1], c=y_test, s=12, edgecolors="k")
    safe = certified_margins(model, X_test, y_test, 0.1) > 0
    ax.scatter(
        X_test[safe, 0], X_test[safe, 1], s=60, facecolors="none", edgecolors="r"
    )
    ax.set_title(title)
fig.tight_layout()
plt.show()
