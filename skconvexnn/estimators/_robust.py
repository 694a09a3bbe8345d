"""ℓ∞-robust convex two-layer ReLU classifier."""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from ..losses import BinaryLogLoss, Hinge
from ..network import forward, recover_network
from ..operators import add_bias_column
from ..patterns import random_patterns
from ..robust_program import RobustProgram, refine_patterns
from ..robustness import certified_margins
from ..solvers import ADMMSolver, ConicSolver
from ._base import validate_classification


class RobustConvexReLUClassifier(ClassifierMixin, BaseEstimator):
    r"""Two-layer ReLU classifier trained for ℓ∞-robustness by a convex program.

    For labels :math:`y_k = \pm 1` and perturbations
    :math:`\lVert\delta\rVert_\infty \le \varepsilon` (``epsilon``, in the
    units of ``X`` as given: scale the data first), the estimator minimises an
    upper bound on the worst-case training loss plus weight decay,

    .. math::

        \frac{1}{n}\sum_k \ell(m_k) + \frac{\alpha}{n} \sum_i
        \big(\lVert v_i[:d]\rVert_2 + \lVert w_i[:d]\rVert_2\big),
        \qquad m_k \le \min_{\lVert\delta\rVert_\infty\le\varepsilon} y_k f(x_k + \delta),

    over networks :math:`f(x) = \sum_i (\tilde x^\top v_i)_+ - \sum_i (\tilde
    x^\top w_i)_+ + c` (the penalty is ``MLPClassifier``'s ``alpha`` after the
    usual rescaling of the units). The robust margin :math:`m_k` is concave in
    :math:`(v, w, c)`, so this is one convex program per class; see
    :mod:`skconvexnn.robust_program` for both formulations. More than two
    classes are one-vs-rest: one program per class, its units feeding that
    class's output; the prediction is the arg-max.

    Parameters
    ----------
    epsilon : float, default=0.05
        ℓ∞ radius of the perturbations, in the units of ``X``. 0 trains a
        standard (non-robust) model.
    loss : {"hinge", "log_loss"}, default="hinge"
        Loss of the robust margin: :math:`\max(0, 1 - m)` or
        :math:`\log(1 + e^{-m})`.
    alpha : float, default=0.1
        Weight-decay strength, as ``alpha`` of ``MLPClassifier`` (the penalty
        is divided by the number of samples, as there).
    n_patterns : int, default=50
        Random Gaussian gates drawn to form the initial pattern rows (the
        all-ones pattern is added; duplicates removed).
    formulation : {"flip_tolerant", "strict"}, default="flip_tolerant"
        ``"flip_tolerant"`` bounds the margin for any pattern rows, so
        perturbations may flip units on and off; its rows are refined between
        solves. ``"strict"`` is the program of Bai, Gautam & Sojoudi: each
        unit's pattern must hold on the whole ε-ball of every training point.
        At ``epsilon=0`` it is exactly ``ConvexReLUClassifier(loss=...,
        formulation="relu")`` on the same gates. At ε of a few percent of the
        data range few patterns can hold on every ball and the strict model
        becomes almost linear; the flip-tolerant one does not.
    n_refinements : int, default=1
        Re-solves with refined pattern rows (``"flip_tolerant"`` only; each
        can only lower the objective).
    solver : {"auto", "cvxpy", "admm"}, default="auto"
        ``"cvxpy"``: the conic program through cvxpy (licensed commercial
        back-ends first, then Clarabel, ECOS, SCS). ``"admm"``: the built-in
        ADMM solver (:mod:`skconvexnn.solvers.robust_admm`; numpy and scipy
        only, exact proximal steps; objective within 1e-4 of cvxpy's on the
        tests' small programs at the default ``tol``, but slow on large or
        degenerate ones — more than 10 000 iterations on breast_cancer, or
        with the hinge loss, the strict formulation and a small ``alpha``;
        the strict formulation's small remaining cone violation is reported
        in ``constraint_violation_``). ``"auto"`` means ``"cvxpy"``, which
        was faster and more accurate on the benchmark's programs
        (``asv_benchmarks/bench_robust.py``).
    cvxpy_solver : str or None, default=None
        cvxpy back-end; None routes automatically.
    max_iter : int or None, default=None
        Iteration limit of the solver (None: the back-end's default, 10 000
        for ``"admm"``).
    tol : float or None, default=None
        Relative tolerance: the back-end's gap and feasibility tolerance for
        ``"cvxpy"`` (None: 1e-7), the relative primal and dual residuals for
        ``"admm"`` (None: 1e-5).
    time_limit : float or None, default=None
        Seconds for each binary (one-vs-rest) program, its refinements
        included; the best point so far is kept, with a ConvergenceWarning.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.
    n_jobs : int or None, default=None
        joblib workers for the one-vs-rest programs.
    random_state : int, RandomState instance or None, default=None
        Seed of the gates.
    verbose : int, default=0
        1 prints one line per solve; 2 also shows the back-end's log.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_ : list of two ndarrays
        MLP layout: shapes (n_features, n_neurons) and (n_neurons, n_outputs),
        ``n_outputs = 1`` for two classes.
    intercepts_ : list of two ndarrays
    n_neurons_ : int
    n_outputs_ : int
    objective_ : float
        Value of the robust program(s) at the solution (summed over the
        one-vs-rest programs): an upper bound on the recovered network's mean
        worst-case training loss plus its weight decay.
    train_certified_accuracy_ : float
        Weighted fraction of training samples the recovered network provably
        classifies correctly under every perturbation of radius ``epsilon``
        (:func:`skconvexnn.robustness.certified_margins` > 0).
    constraint_violation_ : float
        Largest relative violation of the strict formulation's constraints
        (0 for ``"flip_tolerant"``).
    gates_ : ndarray of shape (n_features + 1, `n_patterns_`)
    n_patterns_ : int
    solver_ : str
    n_iter_ : int
    converged_ : bool
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined when ``X`` has string column names.

    See Also
    --------
    ConvexReLUClassifier : The non-robust classifier.
    skconvexnn.robustness.pgd_attack : Attack any fitted ReLU classifier.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skconvexnn import RobustConvexReLUClassifier
    >>> from skconvexnn.robustness import certified_score
    >>> X, y = make_moons(n_samples=60, noise=0.1, random_state=0)
    >>> clf = RobustConvexReLUClassifier(epsilon=0.05, n_patterns=10,
    ...                                  random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> certified_score(clf, X, y, epsilon=0.05) > 0.5
    True
    """

    _parameter_constraints: dict = {
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "loss": [StrOptions({"hinge", "log_loss"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "n_patterns": [Interval(Integral, 1, None, closed="left")],
        "formulation": [StrOptions({"flip_tolerant", "strict"})],
        "n_refinements": [Interval(Integral, 0, None, closed="left")],
        "solver": [StrOptions({"auto", "cvxpy", "admm"})],
        "cvxpy_solver": [str, None],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="neither"), None],
        "time_limit": [Interval(Real, 0, None, closed="neither"), None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        epsilon=0.05,
        *,
        loss="hinge",
        alpha=0.1,
        n_patterns=50,
        formulation="flip_tolerant",
        n_refinements=1,
        solver="auto",
        cvxpy_solver=None,
        max_iter=None,
        tol=None,
        time_limit=None,
        class_weight=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.epsilon = epsilon
        self.loss = loss
        self.alpha = alpha
        self.n_patterns = n_patterns
        self.formulation = formulation
        self.n_refinements = n_refinements
        self.solver = solver
        self.cvxpy_solver = cvxpy_solver
        self.max_iter = max_iter
        self.tol = tol
        self.time_limit = time_limit
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network by solving the robust convex program(s).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; ``epsilon`` is in its units.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; integer weights are equivalent to repeating rows.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y, sample_weight, classes, y_idx = validate_classification(
            self, X, y, sample_weight
        )
        # Zero-weight samples are absent from the program.
        keep = sample_weight > 0
        X_fit, y_fit, s_fit = X[keep], y_idx[keep], sample_weight[keep]
        Xt = add_bias_column(X_fit)
        D, gates = random_patterns(
            Xt, self.n_patterns, fit_intercept=True, random_state=self.random_state
        )
        loss = Hinge() if self.loss == "hinge" else BinaryLogLoss()
        targets = [1] if classes.size == 2 else range(classes.size)
        start = time.perf_counter()
        fits = Parallel(n_jobs=self.n_jobs)(
            delayed(self._fit_binary)(
                RobustProgram(
                    X=X_fit,
                    y=np.where(y_fit == j, 1.0, -1.0),
                    patterns=D,
                    gates=gates,
                    loss=loss,
                    alpha=self.alpha,
                    epsilon=float(self.epsilon),
                    sample_weight=s_fit,
                    formulation=self.formulation,
                )
            )
            for j in targets
        )
        for message in dict.fromkeys(m for f in fits for m in f["messages"]):
            warnings.warn(message[1], message[0], stacklevel=3)
        hidden = [f["coefs"][0] for f in fits]
        n_units = [h.shape[1] for h in hidden]
        W2 = np.zeros((sum(n_units), len(fits)))
        offsets = np.concatenate([[0], np.cumsum(n_units)])
        for j, f in enumerate(fits):
            W2[offsets[j] : offsets[j + 1], j] = f["coefs"][1][:, 0]
        self.coefs_ = [np.hstack(hidden), W2]
        self.intercepts_ = [
            np.concatenate([f["intercepts"][0] for f in fits]),
            np.array([f["intercepts"][1][0] for f in fits]),
        ]
        self.classes_ = classes
        self.n_neurons_ = int(W2.shape[0])
        self.n_outputs_ = len(fits)
        self.objective_ = float(sum(f["objective"] for f in fits))
        certified = certified_margins(self, X_fit, classes[y_fit], self.epsilon) > 0
        self.train_certified_accuracy_ = float(np.average(certified, weights=s_fit))
        self.constraint_violation_ = max(f["violation"] for f in fits)
        self.gates_ = gates
        self.n_patterns_ = int(gates.shape[1])
        self.solver_ = ",".join(dict.fromkeys(f["solver"] for f in fits))
        self.n_iter_ = int(sum(f["n_iter"] for f in fits))
        self.converged_ = all(f["converged"] for f in fits)
        if self.verbose:
            print(
                f"[{type(self).__name__}] {len(fits)} program(s), "
                f"objective {self.objective_:.6g}, {self.n_neurons_} neurons "
                f"({time.perf_counter() - start:.2f}s)"
            )
        return self

    def _fit_binary(self, program):
        """Solve one binary program with pattern refinements; plain results
        (picklable, warnings as messages)."""
        deadline = (
            None if self.time_limit is None else time.perf_counter() + self.time_limit
        )
        messages = []
        best, n_iter, converged = None, 0, True
        rounds = self.n_refinements if self.formulation == "flip_tolerant" else 0
        init = None
        for _ in range(rounds + 1):
            remaining = None
            if deadline is not None:
                remaining = deadline - time.perf_counter()
                if best is not None and remaining <= 0:
                    break
                remaining = max(remaining, 1e-3)
            solver = self._make_solver(remaining)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = solver.solve(program, init=init)
            messages += [(w.category, str(w.message)) for w in caught]
            n_iter += result.n_iter
            converged &= result.converged
            value = program.objective(result.V, result.W, result.c)
            if best is None or value < best[0]:
                best = (value, program, result)
            if self.verbose:
                print(
                    f"[{type(self).__name__}] solve: objective {value:.6g}, "
                    f"{result.solver}, {result.solve_time:.2f}s"
                )
            V, W = result.V[0], result.W[0]
            program = program.with_patterns(refine_patterns(program, V, W))
            init = (result.V, result.W, result.c)
        value, program, result = best
        coefs, intercepts = recover_network(
            result.V,
            result.W,
            result.c,
            program,
            fold="linear" if program.formulation == "strict" else "relu",
        )
        return {
            "coefs": coefs,
            "intercepts": intercepts,
            "objective": value,
            "violation": program.constraint_violation(result.V, result.W),
            "solver": result.solver,
            "n_iter": n_iter,
            "converged": converged,
            "messages": messages,
        }

    def _make_solver(self, time_limit):
        """The solver ``solver`` names, with the tolerance and limits."""
        if self.solver == "admm":
            return ADMMSolver(
                tol=self.tol,
                max_iter=self.max_iter,
                time_limit=time_limit,
                verbose=self.verbose >= 2,
            )
        return ConicSolver(
            self.cvxpy_solver,
            tol=1e-7 if self.tol is None else self.tol,
            max_iter=self.max_iter,
            time_limit=time_limit,
            verbose=self.verbose >= 2,
        )

    def decision_function(self, X):
        """Output-layer values of the recovered network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            One column for two classes (positive means ``classes_[1]``).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        Z = forward(self.coefs_, self.intercepts_, X)
        return Z.ravel() if Z.shape[1] == 1 else Z

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]
