"""
Pipelines, grid search and persistence
======================================

The estimators are ordinary scikit-learn estimators: they sit in a
:class:`~sklearn.pipeline.Pipeline`, are tuned by
:class:`~sklearn.model_selection.GridSearchCV` (here with ``n_jobs=2``), and
are saved with :mod:`joblib` — and with :mod:`skops.io` when it is installed,
which loads files without running arbitrary code. The fitted state is plain
numpy arrays and numbers, so a loaded model predicts exactly like the saved
one, and :meth:`~skconvexnn.ConvexReLURegressor.to_mlp` hands the same network
to scikit-learn's ``MLPRegressor``.
"""

# %%
import tempfile
import warnings
from pathlib import Path

import joblib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skconvexnn import ConvexReLURegressor

warnings.simplefilter("ignore", ConvergenceWarning)

X, y = load_diabetes(return_X_y=True)
y = (y - y.mean()) / y.std()
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0)

pipe = make_pipeline(
    StandardScaler(),
    ConvexReLURegressor(pattern_strategy="random", solver="ipm", random_state=0),
)
grid = {
    "convexreluregressor__alpha": np.logspace(-1, 2, 7),
    "convexreluregressor__n_patterns": [20, 60],
}
search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X_tr, y_tr)
best = search.best_estimator_
print("best parameters:", search.best_params_)
print(f"test R^2: {best.score(X_te, y_te):.3f}")

# %%
# Save, load, compare
# -------------------
folder = Path(tempfile.mkdtemp())
joblib.dump(best, folder / "model.joblib")
loaded = joblib.load(folder / "model.joblib")
print(
    "joblib round trip identical:",
    np.array_equal(loaded.predict(X_te), best.predict(X_te)),
)
try:
    import skops.io as sio
except ImportError:
    print("skops not installed: pip install skops")
else:
    sio.dump(best, folder / "model.skops")
    untrusted = sio.get_untrusted_types(file=folder / "model.skops")
    print("types to trust before loading:", untrusted)
    restored = sio.load(folder / "model.skops", trusted=untrusted)
    print(
        "skops round trip identical:",
        np.array_equal(restored.predict(X_te), best.predict(X_te)),
    )

mlp = best[-1].to_mlp()
print(
    "as MLPRegressor, same predictions:",
    np.allclose(mlp.predict(best[0].transform(X_te)), best.predict(X_te)),
)

# %%
# Cross-validated score over the grid
# -----------------------------------
results = search.cv_results_
fig, ax = plt.subplots(figsize=(5, 3.5))
for n_patterns in grid["convexreluregressor__n_patterns"]:
    sel = results["param_convexreluregressor__n_patterns"] == n_patterns
    ax.semilogx(
        np.asarray(results["param_convexreluregressor__alpha"][sel], dtype=float),
        results["mean_test_score"][sel],
        "o-",
        label=f"n_patterns={n_patterns}",
    )
ax.set_xlabel("alpha")
ax.set_ylabel("mean CV R^2")
ax.legend()
fig.tight_layout()
plt.show()
