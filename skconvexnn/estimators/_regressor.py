"""Convex two-layer ReLU regressor."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.neural_network import MLPRegressor
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..losses import PoissonLoss, SquaredError
from ._base import BaseConvexReLU


class ConvexReLURegressor(RegressorMixin, BaseConvexReLU):
    r"""Two-layer ReLU network regressor trained by its convex reformulation.

    The estimator minimises scikit-learn's :class:`~sklearn.neural_network.MLPRegressor`
    objective over one-hidden-layer ReLU networks
    :math:`f(x) = \sum_j a_j (w_j^\top x + b_j)_+ + c` of any width,

    .. math::

        J = \frac{1}{2 n}\lVert f(X) - y\rVert_2^2
            + \frac{\alpha}{2 n}\Big(\sum_j \lVert w_j\rVert_2^2 + \sum_j a_j^2\Big),

    (hidden biases :math:`b_j` and the intercept :math:`c` are not penalised;
    with ``sample_weight`` the means become weighted means and :math:`n` becomes
    the total weight). It does so by solving the equivalent convex program over
    activation patterns :math:`D_i = \operatorname{diag}(1[\tilde X g_i \ge 0])`,
    :math:`\tilde X = [X, 1]`,

    .. math::

        \min_{v, w, c}\; \frac{1}{2}\Big\lVert \sum_i D_i\tilde X (v_i - w_i) + c - y
        \Big\rVert_2^2 + \alpha\sum_i \big(\lVert v_i[:d]\rVert_2 + \lVert w_i[:d]\rVert_2\big)

    subject to :math:`(2D_i - I)\tilde X v_i \ge 0`, :math:`(2D_i - I)\tilde X w_i
    \ge 0` (``formulation="relu"``; ``"gated"`` drops the constraints). With
    every pattern of the data's hyperplane arrangement the solution is the
    global optimum of ``J``; with the ``n_patterns`` sampled patterns used here
    it is the optimum over networks whose units have those patterns. The
    network is recovered from the groups as :math:`v_i/\sqrt{\lVert
    v_i[:d]\rVert}` with output weight :math:`\pm\sqrt{\lVert v_i[:d]\rVert}`;
    zero groups are pruned. With several outputs each output has its own
    units.

    With ``loss="poisson"`` the data term is ``MLPRegressor(loss="poisson")``'s
    half Poisson deviance with a log link: the network output :math:`z` is the
    log of the predicted mean, ``predict`` returns :math:`e^{z}`, and the loss
    :math:`\sum_k (e^{z_k} - y_k z_k + y_k \log y_k - y_k) / n` is convex in
    :math:`z`, so the program stays convex. Targets must be non-negative with a
    positive sum.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        Data term, as ``MLPRegressor``'s ``loss``.
    alpha : float, default=1e-4
        Strength of the L2 (weight decay) penalty, exactly as in ``MLPRegressor``.
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
        lbfgs ``MLPRegressor`` (width 100, 200 iterations, seeded like
        ``"mlp"``), each round searches the loss gradient for units that
        violate the dual constraint, solves the program over the network's
        patterns plus those (the interior-point method: the squared loss
        exactly, the Poisson loss by one proximal Newton step),
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
        ``"gated"`` drops them (a group lasso over gated units, a relaxation).
        The fitted network is always a ReLU network: for ``"gated"`` its
        objective can exceed the program's value.
    solver : {"auto", "ipm", "admm", "cvxpy"}, default="auto"
        ``"ipm"`` is the built-in interior-point method: for the squared
        loss exact, with an exactly feasible solution and a certified gap
        (``dual_gap_``); smooth losses with one output per program (Poisson,
        two-class log-loss) by proximal Newton, each step one interior-point
        solve of the weighted least-squares model (no certificate).
        ``"admm"`` is the built-in matrix-free ADMM (the same losses; pattern
        blocks in parallel with ``n_jobs``): cheap iterations, many of them;
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
        cvxpy back-end. None routes automatically: installed *and licensed*
        commercial solvers (MOSEK, Gurobi, ...) first, then Clarabel, ECOS,
        SCS. An unlicensed or failing back-end is skipped with a warning.
    max_iter : int or None, default=None
        Iteration limit of the solver (None: the back-end's default).
    tol : float or None, default=None
        Relative gap and feasibility tolerance of the solver. None: the
        solver's default, 1e-8 for ``"ipm"`` and ``"cvxpy"``, 1e-4 for
        ``"admm"``.
    time_limit : float or None, default=None
        Seconds for the whole fit: each stage (seed networks, rounds, the
        solver) gets what the earlier ones left, and the dual-violation search
        is skipped (``dual_violation_`` NaN) when less than a tenth is left.
        The solver returns its best point with a ConvergenceWarning. cvxpy
        cannot interrupt its compilation: on Linux its solve runs in a child
        process stopped at the limit (the model is then the starting point).
    fit_intercept : bool, default=True
        Whether to fit the output intercept. If False, the intercept is 0 and
        the all-ones pattern is excluded (a zero-weight unit active on every
        point would be a free constant). Hidden biases are always fitted.
    warm_start : bool, default=False
        Reuse the gates (hence the patterns) of the previous fit and pass its
        solution to the solver as a starting point (conic back-ends ignore it).
    n_jobs : int or None, default=None
        Number of joblib workers for independent output blocks.
    random_state : int, RandomState instance or None, default=None
        Seed of the pattern sampling.
    verbose : int, default=0
        1 prints one line per stage (patterns, solve, recovery); 2 also shows
        the back-end's log.

    Attributes
    ----------
    coefs_ : list of two ndarrays
        ``coefs_[0]`` of shape (n_features, n_neurons) and ``coefs_[1]`` of
        shape (n_neurons, n_outputs), as ``MLPRegressor.coefs_``.
    intercepts_ : list of two ndarrays
        Hidden biases (n_neurons,) and output intercepts (n_outputs,).
    n_neurons_ : int
        Number of hidden units after pruning.
    n_outputs_ : int
        Number of outputs.
    objective_ : float
        ``J`` of the recovered network on the training data (the quantity
        ``MLPRegressor`` reports as ``loss_``).
    program_objective_ : float
        Value of the convex program at the solver's solution, on the same
        scale as ``objective_``.
    constraint_violation_ : float
        Largest relative cone-constraint violation of the solution, before
        recovery.
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
    ConvexReLUClassifier : The classifier counterpart.
    sklearn.neural_network.MLPRegressor : The same objective, trained locally.

    Examples
    --------
    >>> import numpy as np
    >>> from skconvexnn import ConvexReLURegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(40, 2))
    >>> y = np.maximum(X[:, 0], 0) - X[:, 1]
    >>> reg = ConvexReLURegressor(alpha=1e-3, n_patterns=20, random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.99
    True
    """

    _parameter_constraints: dict = {
        **BaseConvexReLU._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
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

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network by solving the convex program.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; integer weights are equivalent to repeating rows.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=np.float64
        )
        sample_weight = self._check_weights(X, sample_weight)
        Y = (y.reshape(-1, 1) if y.ndim == 1 else y).astype(np.float64)
        if self.loss == "poisson":
            if np.any(Y < 0) or np.any(sample_weight @ Y <= 0):
                raise ValueError(
                    "loss='poisson' requires non-negative targets with a positive "
                    "(weighted) sum for every output; got "
                    f"min(y)={Y.min():g}."
                )
            return self._fit(X, Y, sample_weight, PoissonLoss(), y=y)
        return self._fit(X, Y, sample_weight, SquaredError(), y=y)

    def predict(self, X):
        """Predict with the recovered network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values (``exp`` of the network's output for
            ``loss="poisson"``).
        """
        Z = self._forward(X)
        if self.loss == "poisson":
            Z = np.exp(Z)
        return Z.ravel() if Z.shape[1] == 1 else Z

    def to_mlp(self):
        """Return a fitted ``MLPRegressor`` computing the same function.

        Its ``coefs_`` / ``intercepts_`` are copies of this estimator's and
        ``loss_`` is :attr:`objective_`; ``predict`` agrees to rounding. Calling
        ``fit`` on it (e.g. with ``warm_start=True``) continues training from
        this network with the same ``alpha``.

        Returns
        -------
        mlp : sklearn.neural_network.MLPRegressor
        """
        check_is_fitted(self)
        mlp = MLPRegressor(
            loss=self.loss,
            hidden_layer_sizes=(1,),
            activation="relu",
            solver="lbfgs",
            alpha=self.alpha,
            max_iter=1,
        )
        d = self.n_features_in_
        y0 = np.ones((2, self.n_outputs_)) if self.n_outputs_ > 1 else np.ones(2)
        return self._mlp_from_dummy_fit(mlp, np.zeros((2, d)), y0)

    def _mlp_loss(self):
        return self.loss

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
