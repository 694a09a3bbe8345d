"""Convex two-layer ReLU classifier."""

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.neural_network import MLPClassifier
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ..losses import BinaryLogLoss, Hinge, MultinomialLogLoss, SquaredError
from ._base import BaseConvexReLU, validate_classification


def _has_log_loss(estimator):
    return estimator.loss == "log_loss"


class ConvexReLUClassifier(ClassifierMixin, BaseConvexReLU):
    r"""Two-layer ReLU network classifier trained by its convex reformulation.

    With the default ``loss="log_loss"`` the estimator minimises
    :class:`~sklearn.neural_network.MLPClassifier`'s objective over
    one-hidden-layer ReLU networks :math:`f(x) = \sum_j a_j (w_j^\top x +
    b_j)_+ + c`,

    .. math::

        J = \frac{1}{n}\sum_{k=1}^n \ell\big(f(x_k), y_k\big)
            + \frac{\alpha}{2 n}\Big(\sum_j \lVert w_j\rVert_2^2 + \sum_j \lVert a_j\rVert_2^2\Big),

    with :math:`\ell` the binary cross-entropy of a logistic output unit (two
    classes) or the softmax cross-entropy (more classes); hidden biases and
    output intercepts are not penalised. It solves the equivalent convex
    program over activation patterns :math:`D_i` of :math:`\tilde X = [X, 1]`

    .. math::

        \min_{v, w, c}\; \sum_k \ell\Big(\big[\textstyle\sum_i D_i\tilde X
        (v_{ij} - w_{ij}) + c_j\big]_{j}, y_k\Big)
        + \alpha\sum_{i,j} \big(\lVert v_{ij}[:d]\rVert_2 + \lVert w_{ij}[:d]\rVert_2\big)

    subject to :math:`(2D_i - I)\tilde X v_{ij} \ge 0`, :math:`(2D_i - I)\tilde X
    w_{ij} \ge 0` (``formulation="relu"``). Multiclass problems are one joint
    softmax program in which every hidden unit feeds a single class output
    (``j`` indexes classes); its optimum is therefore an upper bound on the
    MLP optimum with shared units, and exactly ``J`` of the returned network.
    ``loss="hinge"`` and ``loss="squared_error"`` use ±1 codes, one output per
    class (one output for two classes), summed over classes (one-vs-rest).

    Parameters
    ----------
    loss : {"log_loss", "hinge", "squared_error"}, default="log_loss"
        Data term. ``"log_loss"`` gives ``MLPClassifier``'s objective and
        probabilities; the others give a ``decision_function`` only.
    alpha : float, default=1e-4
        Strength of the L2 (weight decay) penalty, exactly as in ``MLPClassifier``.
    n_patterns : int, default=20
        Number of random Gaussian gates sampled to generate activation
        patterns (``"random"``, ``"mlp"``), or the number of violating units
        (distinct patterns) added per round and output (``"cutting_plane"``).
        The all-ones pattern (a linear unit) is added when
        ``fit_intercept=True``; duplicates and empty patterns are removed.
    pattern_strategy : str, default="cutting_plane"
        Which activation patterns the convex program is solved over: one of
        ``"cutting_plane"``, ``"random"``, ``"enumerate"``, ``"mlp"``.
        ``"cutting_plane"`` is column generation
        (:func:`skconvexnn.column_generation.grow_network`): starting from one
        lbfgs ``MLPClassifier`` (width 100, 200 iterations, seeded like
        ``"mlp"``), each round searches the loss gradient for units that
        violate the dual constraint, solves the program over the network's
        patterns plus those (the interior-point method: the squared loss
        exactly, the two-class log-loss by one proximal Newton step, the
        multinomial log-loss by one step on its squared-loss majorizer; the
        hinge grows the network by line search),
        polishes the network by L-BFGS on ``J``, and repeats until no
        violating unit is found, ``max_rounds`` rounds, a round that lowers
        ``J`` by less than ``round_tol``, or ``time_limit``. The result is
        never worse than that MLP; ``dual_violation_`` says how far from the
        global optimum's dual condition it is. ``"random"`` samples
        ``n_patterns`` Gaussian gates and solves once. ``"enumerate"`` uses
        every pattern of the data's hyperplane arrangement, which makes the
        solution the global optimum over networks of any width (at most
        ``2 n`` patterns for one feature, ``O(n^d)`` in general; a
        ``ValueError`` when more than 200 000 candidate gates would be tried,
        see :func:`skconvexnn.patterns.enumerate_patterns`). ``"mlp"``
        trains three scikit-learn MLPs (lbfgs, width ``n_patterns``, this
        ``alpha``; see :func:`skconvexnn.patterns.mlp_seed_networks` for the
        seeds) in parallel, solves over the patterns of their hidden units plus
        ``n_patterns`` random ones, starting from the best of them: the result
        is never worse than any of those networks.
    max_rounds : int, default=5
        Largest number of ``"cutting_plane"`` rounds.
    round_tol : float, default=1e-3
        ``"cutting_plane"`` stops after a round that lowers ``J`` by less
        than this fraction. Set it to 0 (and raise ``max_rounds``) to run the
        rounds until no violating unit is found, i.e. until
        ``dual_violation_ <= 0`` certifies the global optimum as far as the
        search can tell.
    formulation : {"relu", "gated"}, default="relu"
        ``"relu"`` keeps the cone constraints (exact for its patterns);
        ``"gated"`` drops them (a relaxation). The fitted model is always the
        recovered ReLU network.
    solver : {"auto", "ipm", "admm", "cvxpy"}, default="auto"
        ``"ipm"`` is the built-in interior-point method: for the squared
        loss exact, with an exactly feasible solution and a certified gap
        (``dual_gap_``); smooth losses with one output per program (Poisson,
        two-class log-loss) by proximal Newton, each step one interior-point
        solve of the weighted least-squares model (no certificate).
        ``"admm"`` is the built-in matrix-free ADMM (the same losses and the
        hinge, which uses the splitting of the robust program at epsilon 0,
        one output at a time; the multinomial log-loss is not supported;
        pattern blocks in parallel with ``n_jobs``): cheap iterations, many
        of them;
        fast on the gated formulation, slow to reach high accuracy on the
        cone constraints of ``"relu"``; the lightest in memory (see
        :class:`skconvexnn.solvers.ADMMSolver`). ``"cvxpy"`` solves the conic
        program with a solver routed through cvxpy. ``"auto"`` picks by
        problem size and loss: a licensed commercial cvxpy back-end,
        Clarabel for small programs, the interior-point method for the
        losses it solves, cvxpy for the others, ADMM when only it fits in
        memory (see
        :func:`skconvexnn.solvers.choose_solver`).
    cvxpy_solver : str or None, default=None
        cvxpy back-end; None routes automatically (licensed commercial solvers,
        then Clarabel, ECOS, SCS; the log-loss needs exponential cones).
    max_iter : int or None, default=None
        Iteration limit of the solver (None: the back-end's default).
    tol : float or None, default=None
        Relative gap and feasibility tolerance of the solver. None: the
        solver's default, 1e-8 for ``"ipm"`` and ``"cvxpy"``, 1e-4 for
        ``"admm"`` (for the hinge loss ADMM bounds relative residuals
        instead, default 1e-5).
    time_limit : float or None, default=None
        Seconds for the whole fit: each stage (seed networks, rounds, the
        solver) gets what the earlier ones left, and the dual-violation search
        is skipped (``dual_violation_`` NaN) when less than a tenth is left.
        The solver returns its best point with a ConvergenceWarning. cvxpy
        cannot interrupt its compilation: on Linux its solve runs in a child
        process stopped at the limit (the model is then the starting point).
    fit_intercept : bool, default=True
        Whether to fit the output intercepts (see ``ConvexReLURegressor``).
    warm_start : bool, default=False
        Reuse the gates of the previous fit.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight`` (so a
        weight is equivalent to repeating that class's rows). ``"balanced"``
        weighs class ``c`` by ``n_samples / (n_classes * n_c)``.
    n_jobs : int or None, default=None
        joblib workers for independent output blocks (hinge and squared error
        with three or more classes).
    random_state : int, RandomState instance or None, default=None
        Seed of the pattern sampling.
    verbose : int, default=0
        1 prints one line per stage; 2 also shows the back-end's log.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coefs_ : list of two ndarrays
        As ``MLPClassifier.coefs_``: shapes (n_features, n_neurons) and
        (n_neurons, n_outputs), ``n_outputs = 1`` for two classes.
    intercepts_ : list of two ndarrays
        Hidden biases and output intercepts.
    n_neurons_ : int
        Number of hidden units after pruning.
    n_outputs_ : int
        Number of output units.
    objective_ : float
        Objective ``J`` of the recovered network on the training data (with
        ``loss="log_loss"``, what ``MLPClassifier`` reports as ``loss_``).
    program_objective_ : float
        Value of the convex program at the solver's solution.
    constraint_violation_ : float
        Largest relative cone-constraint violation before recovery.
    gates_ : ndarray of shape (n_features + 1, `n_patterns_`)
        Gates of the distinct patterns used.
    n_patterns_ : int
        Number of distinct patterns in the program.
    dual_gap_ : float
        Certified relative gap of the sampled program at the solver's solution:
        ``(objective - lower bound) / objective``, the lower bound being the
        value of a dual-feasible point (``solver="ipm"``). NaN when the solver
        gives no certificate. It bounds the distance to the optimum *over the
        sampled patterns* only, not over all networks.
    dual_violation_ : float
        Largest dual violation found at the fitted network,
        :math:`\max_{j, u} |\Gamma_j^\top (X w + b)_+| / \alpha - 1` over units
        :math:`u = (w, b)`, :math:`\lVert w\rVert = 1`, where :math:`\Gamma` is
        the gradient of the summed loss at the network's outputs. A positive
        value exhibits a unit that, added with a small weight, lowers the
        objective: the network is not a global optimum. A value ``<= 0`` means
        no such unit was *found*: exact for one feature (the search is then
        exhaustive), a local-search result otherwise. For the hinge loss one
        subgradient is tested, so a positive value is inconclusive.
    optimality_gap_ : float
        Upper bound on ``objective_ - J*``, ``J*`` being the global minimum of
        the objective over two-layer ReLU networks of any width, from the
        dual-feasible point built from :math:`\Gamma`. Available (not NaN) when
        the violation search is exact (one feature) and the loss has a
        conjugate here (squared error, log-loss), or when every pattern was
        enumerated (one output, ``fit_intercept=True``) and the solver
        certifies its gap (``solver="ipm"``).
    solver_ : str
        Solver actually used, e.g. ``"cvxpy:CLARABEL"``; ``"lbfgs"`` when
        ``"cutting_plane"`` grew the network without a convex solve (losses
        the built-in solver does not handle, under ``solver="auto"``).
    n_iter_ : int
        Iterations of the solver (of the last convex solve). Cutting-plane
        rounds without a convex solve (the log-loss under ``solver="auto"``)
        count their L-BFGS polishes: the start network's and one per round
        that added units.
    converged_ : bool
        Whether the solver reported convergence.
    fit_history_ : list of dict
        One row per step of the fit (``pandas.DataFrame(fit_history_)`` makes
        a table): ``stage`` (``"seed"``, ``"polished start"``, ``"round k"``,
        ``"solve"``, ``"final"``), ``time`` (seconds since the start of the fit),
        ``objective`` (``J`` of the network at that step), ``dual_violation``
        and ``lower_bound`` (as ``dual_violation_`` / ``objective_ -
        optimality_gap_``; NaN where not computed), ``n_patterns`` (patterns in
        that step's program; for a round, the network's units at its start plus
        the violating units added) and ``n_neurons``. Each step is also
        reported to callbacks set with ``set_callbacks`` (scikit-learn's
        ``sklearn.callback``, e.g. ``ProgressBar``, ``ScoringMonitor``), which
        receive the network of that step as ``fitted_estimator`` and can stop
        the cutting-plane rounds.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    ConvexReLURegressor : The regressor counterpart.
    sklearn.neural_network.MLPClassifier : The same objective, trained locally.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skconvexnn import ConvexReLUClassifier
    >>> X, y = make_moons(n_samples=60, noise=0.1, random_state=0)
    >>> clf = ConvexReLUClassifier(alpha=1e-3, n_patterns=20, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {
        **BaseConvexReLU._parameter_constraints,
        "loss": [StrOptions({"log_loss", "hinge", "squared_error"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        loss="log_loss",
        *,
        alpha=1e-4,
        n_patterns=20,
        pattern_strategy="cutting_plane",
        max_rounds=5,
        round_tol=1e-3,
        formulation="relu",
        solver="auto",
        cvxpy_solver=None,
        max_iter=None,
        tol=None,
        time_limit=None,
        fit_intercept=True,
        warm_start=False,
        class_weight=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            alpha=alpha,
            n_patterns=n_patterns,
            pattern_strategy=pattern_strategy,
            max_rounds=max_rounds,
            round_tol=round_tol,
            formulation=formulation,
            solver=solver,
            cvxpy_solver=cvxpy_solver,
            max_iter=max_iter,
            tol=tol,
            time_limit=time_limit,
            fit_intercept=fit_intercept,
            warm_start=warm_start,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
        )
        self.loss = loss
        self.class_weight = class_weight

    def _encode(self, y_idx, n_classes):
        """Targets and loss object of the program for class indices ``y_idx``."""
        if self.loss == "log_loss":
            if n_classes == 2:
                return (y_idx == 1).astype(float)[:, None], BinaryLogLoss()
            return np.eye(n_classes)[y_idx], MultinomialLogLoss()
        loss = Hinge() if self.loss == "hinge" else SquaredError()
        if n_classes == 2:
            return np.where(y_idx == 1, 1.0, -1.0)[:, None], loss
        return 2.0 * np.eye(n_classes)[y_idx] - 1.0, loss

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network by solving the convex program.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
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
        Y, loss = self._encode(y_idx, classes.size)
        self._fit(X, Y, sample_weight, loss, y=y, extra={"classes_": classes})
        self.classes_ = classes
        return self

    def decision_function(self, X):
        """Output-layer values of the recovered network (logits for log-loss).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            One column for two classes (positive means ``classes_[1]``).
        """
        Z = self._forward(X)
        return Z.ravel() if Z.shape[1] == 1 else Z

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    @available_if(_has_log_loss)
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba` (only for ``loss="log_loss"``).

        As in scikit-learn's ``MLPClassifier``, the logarithm of the
        probabilities: ``-inf`` where a probability underflows to 0 (decision
        values beyond about 745).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @available_if(_has_log_loss)
    def predict_proba(self, X):
        """Class probabilities, exactly as ``MLPClassifier`` computes them.

        Only available for ``loss="log_loss"``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = expit(scores)[:, None]
            return np.hstack([1.0 - p, p])
        return softmax(scores, axis=1)

    def to_mlp(self):
        """Return a fitted ``MLPClassifier`` computing the same network.

        ``predict`` and ``decision`` values agree to rounding; with
        ``loss="log_loss"`` so do ``predict_proba`` and ``loss_``
        (= :attr:`objective_`). For the other losses the MLP reads the network
        through its logistic/softmax output and ``loss_`` is NaN.

        Returns
        -------
        mlp : sklearn.neural_network.MLPClassifier
        """
        check_is_fitted(self)
        mlp = MLPClassifier(
            hidden_layer_sizes=(1,),
            activation="relu",
            solver="lbfgs",
            alpha=self.alpha,
            max_iter=1,
        )
        X0 = np.zeros((self.classes_.size, self.n_features_in_))
        return self._mlp_from_dummy_fit(mlp, X0, self.classes_)

    def _mlp_loss_value(self):
        return self.objective_ if self.loss == "log_loss" else float("nan")
