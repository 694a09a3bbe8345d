"""Shared machinery of the convex ReLU estimators."""

import time
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, is_classifier

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # pragma: no cover - older scikit-learn: no callbacks

    class CallbackSupportMixin:
        """Stand-in without callbacks for scikit-learn < 1.9."""

        def _init_callback_context(self, **kwargs):
            return None


from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ..certificates import certify
from ..column_generation import ROUND_TOL, grow_network
from ..network import forward, mlp_objective, network_to_groups, recover_network
from ..operators import add_bias_column
from ..patterns import (
    enumerate_patterns,
    mlp_seed_networks,
    network_gates,
    patterns_from_gates,
    random_patterns,
    unit_patterns,
)
from ..problem import ConvexReLUProgram
from ..solvers import SOLVERS, InteriorPointSolver, SolverResult, choose_solver

#: Width and lbfgs iterations of the MLP that starts ``"cutting_plane"``
#: (``MLPRegressor`` / ``MLPClassifier`` defaults).
SEED_WIDTH, SEED_MAX_ITER = 100, 200


def apply_class_weight(class_weight, y, sample_weight):
    """``sample_weight`` times the weights of ``class_weight`` for labels ``y``
    (None, ``"balanced"`` or a dict), as scikit-learn's linear models do.

    ``"balanced"`` weighs class ``c`` by ``n_samples / (n_classes * n_c)``,
    counted on ``y`` (not weighted by ``sample_weight``). A dict must give a
    weight for every class of ``y`` (scikit-learn's rule; a ``ValueError``
    names the missing ones).
    """
    if class_weight is None:
        return sample_weight
    return sample_weight * compute_sample_weight(class_weight, y)


def validate_classification(estimator, X, y, sample_weight):
    """Validated ``X``, labels ``y``, weights (``class_weight`` applied), the
    classes and each label's class index; at least two classes must carry
    positive weight.

    Returns
    -------
    X, y, sample_weight, classes, y_idx
    """
    X, y = validate_data(estimator, X, y, dtype=np.float64)
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    sample_weight = apply_class_weight(estimator.class_weight, y, sample_weight)
    classes, y_idx = np.unique(y, return_inverse=True)
    present = np.unique(y_idx[sample_weight > 0])
    if classes.size < 2 or present.size < 2:
        found = "none" if present.size == 0 else f"1 class ({classes[present[0]]!r})"
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes with "
            f"positive weight; got {found}."
        )
    return X, y, sample_weight, classes, y_idx


class _FitRecorder:
    """``fit_history_`` rows and scikit-learn callback hooks of one fit.

    Every :meth:`step` appends a row (stage, elapsed time, objective ``J`` of
    the current network, dual violation and lower bound when known, patterns,
    neurons) and reports the step as a sub-task to the callbacks set with
    ``set_callbacks`` (``sklearn.callback``), with the current network as the
    ``fitted_estimator`` they may score. A callback asking to stop ends the
    cutting-plane rounds.
    """

    def __init__(self, estimator, X, y, extra, *, max_subtasks):
        self.estimator, self.X, self.y, self.extra = estimator, X, y, extra
        self.start = time.perf_counter()
        self.rows = []
        self.ctx = estimator._init_callback_context(max_subtasks=max_subtasks)
        if self.ctx is not None:
            self.ctx.call_on_fit_task_begin(estimator=estimator, X=X, y=y)

    def _attributes(self, coefs, intercepts):
        return lambda: {
            "coefs_": coefs,
            "intercepts_": intercepts,
            "n_neurons_": coefs[0].shape[1],
            "n_outputs_": coefs[1].shape[1],
            **self.extra,
        }

    def step(
        self,
        stage,
        coefs,
        intercepts,
        *,
        objective,
        n_patterns,
        dual_violation=np.nan,
        lower_bound=np.nan,
        final=False,
    ):
        """Record a row; returns True if a callback asks to stop."""
        self.rows.append(
            {
                "stage": stage,
                "time": time.perf_counter() - self.start,
                "objective": float(objective),
                "dual_violation": float(dual_violation),
                "lower_bound": float(lower_bound),
                "n_patterns": int(n_patterns),
                "n_neurons": int(coefs[0].shape[1]),
            }
        )
        if self.ctx is None:
            return False
        attributes = self._attributes(coefs, intercepts)
        if final:
            return self.ctx.call_on_fit_task_end(
                estimator=self.estimator,
                X=self.X,
                y=self.y,
                reconstruction_attributes=attributes,
            )
        sub = self.ctx.subcontext(task_name=stage)
        sub.call_on_fit_task_begin(estimator=self.estimator, X=self.X, y=self.y)
        return sub.call_on_fit_task_end(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            reconstruction_attributes=attributes,
        )


#: Features larger or smaller than this (in absolute value, at most) make the
#: programs badly scaled.
SCALE_RANGE = (1e-3, 1e3)


def _warn_about_scale(X):
    """After a solve that did not converge: name badly scaled features."""
    largest = float(np.abs(X).max()) if X.size else 0.0
    if largest == 0.0 or SCALE_RANGE[0] <= largest <= SCALE_RANGE[1]:
        return
    warnings.warn(
        f"The features reach {largest:.1e} in absolute value; the convex "
        "program is badly scaled, which slows or stops the solver. Standardise "
        "X first, e.g. make_pipeline(StandardScaler(), ...).",
        ConvergenceWarning,
        stacklevel=5,
    )


class BaseConvexReLU(CallbackSupportMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of the estimators: parameters, fit pipeline, forward pass.

    ``fit`` of a subclass validates and encodes ``y`` and calls ``_fit``, which
    builds the convex program (patterns + loss), solves it, and recovers the
    network. Fitted state is plain numpy arrays and scalars.
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "n_patterns": [Interval(Integral, 1, None, closed="left")],
        "pattern_strategy": [
            StrOptions({"random", "enumerate", "mlp", "cutting_plane"})
        ],
        "max_rounds": [Interval(Integral, 1, None, closed="left")],
        "round_tol": [Interval(Real, 0, None, closed="left")],
        "formulation": [StrOptions({"relu", "gated"})],
        "solver": [StrOptions({"auto", "cvxpy", "ipm", "admm"})],
        "cvxpy_solver": [str, None],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="neither"), None],
        "time_limit": [Interval(Real, 0, None, closed="neither"), None],
        "fit_intercept": ["boolean"],
        "warm_start": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    @abstractmethod
    def __init__(
        self,
        *,
        alpha,
        n_patterns,
        pattern_strategy,
        max_rounds,
        round_tol,
        formulation,
        solver,
        cvxpy_solver,
        max_iter,
        tol,
        time_limit,
        fit_intercept,
        warm_start,
        n_jobs,
        random_state,
        verbose,
    ):
        self.alpha = alpha
        self.n_patterns = n_patterns
        self.pattern_strategy = pattern_strategy
        self.max_rounds = max_rounds
        self.round_tol = round_tol
        self.formulation = formulation
        self.solver = solver
        self.cvxpy_solver = cvxpy_solver
        self.max_iter = max_iter
        self.tol = tol
        self.time_limit = time_limit
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting -----------------------------------------------------------

    def _log(self, message, start):
        if self.verbose:
            print(
                f"[{type(self).__name__}] {message} ({time.perf_counter() - start:.2f}s)"
            )

    def _remaining_time(self, start):
        """What is left of ``time_limit`` since the fit started at ``start``
        (None without a limit): the limit bounds the fit, not each stage."""
        if self.time_limit is None:
            return None
        return max(self.time_limit - (time.perf_counter() - start), 1e-3)

    def _make_solver(self, program, *, start, name=None, tol=None):
        """The solver for ``program``; ``"auto"`` follows :func:`choose_solver`."""
        if name is None:
            name = choose_solver(program) if self.solver == "auto" else self.solver
        tol = self.tol if tol is None else tol
        options = dict(
            max_iter=self.max_iter,
            time_limit=self._remaining_time(start),
            verbose=self.verbose >= 2,
            n_jobs=self.n_jobs,
        )
        if tol is not None:  # else the solver's own default
            options["tol"] = tol
        if name == "cvxpy":
            return SOLVERS[name](self.cvxpy_solver, **options)
        return SOLVERS[name](**options)

    def _patterns(self, X, Xt, Y, sample_weight):
        """Patterns for this fit, and MLP seed networks for ``"mlp"``.

        Returns
        -------
        D, gates : the program's patterns and their gates
        seeds : list of (coefs, intercepts, unit_pattern), possibly empty
        """
        if (
            self.warm_start
            and self.pattern_strategy != "enumerate"  # recomputed: complete
            and getattr(self, "gates_", None) is not None
        ):
            if self.gates_.shape[0] == Xt.shape[1]:
                D, gates = patterns_from_gates(
                    Xt, self.gates_, keep_all_ones=self.fit_intercept
                )
                return D, gates, []
        if self.pattern_strategy == "enumerate":
            return (*enumerate_patterns(Xt, fit_intercept=self.fit_intercept), [])
        if self.pattern_strategy == "random":
            return (
                *random_patterns(
                    Xt,
                    self.n_patterns,
                    fit_intercept=self.fit_intercept,
                    random_state=self.random_state,
                ),
                [],
            )
        # "mlp": the hidden units of lbfgs MLPs, then random gates
        networks = mlp_seed_networks(
            X,
            self._mlp_targets(Y),
            sample_weight,
            classifier=is_classifier(self),
            alpha=self.alpha,
            loss=self._mlp_loss(),
            width=self.n_patterns,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
        D, gates, unit_pattern = random_patterns(
            Xt,
            self.n_patterns,
            fit_intercept=self.fit_intercept,
            random_state=self.random_state,
            seed_gates=network_gates(networks),
        )
        seeds, start = [], 0
        for coefs, intercepts in networks:
            h = coefs[0].shape[1]
            seeds.append((coefs, intercepts, unit_pattern[start : start + h]))
            start += h
        return D, gates, seeds

    def _fit(self, X, Y, sample_weight, loss, *, y=None, extra=None):
        """Solve the convex program for encoded targets ``Y`` and set attributes.

        ``y`` (the targets as given, for scoring callbacks) and ``extra``
        (further attributes a prediction needs, e.g. ``classes_``) are only
        used to report progress.

        An interrupted fit (KeyboardInterrupt) leaves the estimator unfitted,
        never half-fitted nor holding a previous fit's attributes.
        """
        try:
            return self._fit_program(
                X, Y, sample_weight, loss, Y if y is None else y, extra or {}
            )
        except KeyboardInterrupt:
            for name in [
                k for k in vars(self) if k.endswith("_") and not k.startswith("__")
            ]:
                delattr(self, name)
            self.__dict__.pop("_solution", None)
            raise

    def _fit_program(self, X, Y, sample_weight, loss, y, extra):
        """Build, solve and recover (see ``_fit``).

        Parameters
        ----------
        X : ndarray of shape (n, d), validated
        Y : ndarray of shape (n, m), encoded targets
        sample_weight : ndarray of shape (n,), validated, non-negative
        loss : BaseLoss
        """
        start = time.perf_counter()
        keep = sample_weight > 0
        X, Y, sample_weight, y = X[keep], Y[keep], sample_weight[keep], y[keep]
        growing = self.pattern_strategy == "cutting_plane"
        recorder = _FitRecorder(self, X, y, extra, max_subtasks=None if growing else 1)
        if growing:
            coefs, intercepts, program, result = self._grow(
                X, Y, sample_weight, loss, start, recorder
            )
        else:
            coefs, intercepts, program, result = self._solve_sampled(
                X, Y, sample_weight, loss, start
            )
        objective = program.network_objective(coefs, intercepts)
        if not growing:
            recorder.step(
                "solve",
                coefs,
                intercepts,
                objective=objective,
                n_patterns=program.n_patterns,
            )
        self._log(
            f"recovery: {coefs[0].shape[1]} neurons, objective J={objective:.6g}",
            start,
        )
        if self.time_limit is not None and (
            time.perf_counter() - start >= 0.9 * self.time_limit
        ):
            # the limit bounds the fit: no time left for the violation search
            violation, bound = np.nan, np.nan
        else:
            violation, bound = certify(
                X,
                forward(coefs, intercepts, X),
                Y,
                loss,
                sample_weight,
                float(self.alpha),
                fit_intercept=self.fit_intercept,
                start_gates=np.vstack([coefs[0], intercepts[0]]),
                random_state=self.random_state,
                deadline=None if self.time_limit is None else start + self.time_limit,
            )
        self._log(f"certificate: dual violation {violation:.3g}", start)
        solution = (result.V, result.W, result.c)
        dual_gap = float(result.info.get("gap", np.nan))
        program_objective = program.objective(*solution)
        if (
            self.pattern_strategy == "enumerate"
            and self.fit_intercept
            and Y.shape[1] == 1
        ):
            # every pattern is in the program, whose optimum is then the
            # global one: the solver's certified bound bounds it too
            bound = np.fmax(bound, program_objective * (1 - dual_gap))
        recorder.step(
            "final",
            coefs,
            intercepts,
            objective=objective,
            n_patterns=program.n_patterns,
            dual_violation=violation,
            lower_bound=bound,
            final=True,
        )

        # Assign all fitted state at the end: an interrupted fit leaves none.
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self.n_neurons_ = coefs[0].shape[1]
        self.n_outputs_ = Y.shape[1]
        self.gates_ = program.gates
        self.n_patterns_ = program.n_patterns
        self.objective_ = objective
        self.program_objective_ = program_objective
        self.constraint_violation_ = program.constraint_violation(*solution[:2])
        self.dual_gap_ = dual_gap
        self.dual_violation_ = violation
        self.optimality_gap_ = objective - bound
        self.solver_ = result.solver
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        self.fit_history_ = recorder.rows
        self._solution = solution
        return self

    def _solve_sampled(self, X, Y, sample_weight, loss, start):
        """Fixed patterns (random, enumerated, MLP-seeded): one convex solve."""
        Xt = add_bias_column(X)
        D, gates, seeds = self._patterns(X, Xt, Y, sample_weight)
        program = self._program(X, Y, sample_weight, loss, D, gates)
        self._log(f"patterns: {program.n_patterns} distinct", start)

        # the solver checks that a starting point fits the program and is feasible
        init = getattr(self, "_solution", None) if self.warm_start else None
        best_seed = None
        if seeds:
            init, best_seed = self._best_seed(seeds, program)
        result = self._make_solver(program, start=start).solve(program, init=init)
        if not result.converged:
            _warn_about_scale(X)
        self._log(
            f"solve: {result.solver} status={result.status} iterations={result.n_iter}",
            start,
        )
        coefs, intercepts = recover_network(result.V, result.W, result.c, program)
        if best_seed is not None:
            # solver tolerance can leave the recovered network a hair above a
            # seed network; never return worse than the networks we started from
            objective = program.network_objective(coefs, intercepts)
            if best_seed[0] < objective:
                _, coefs, intercepts = best_seed
        return coefs, intercepts, program, result

    def _grow(self, X, Y, sample_weight, loss, start, recorder):
        """``"cutting_plane"``: column generation from an lbfgs MLP (or, with
        ``warm_start``, from the previous network)."""
        if self.warm_start and getattr(self, "coefs_", None) is not None:
            coefs, intercepts = self.coefs_, self.intercepts_
        else:
            [(coefs, intercepts)] = mlp_seed_networks(
                X,
                self._mlp_targets(Y),
                sample_weight,
                classifier=is_classifier(self),
                alpha=self.alpha,
                loss=self._mlp_loss(),
                width=SEED_WIDTH,
                n_networks=1,
                random_state=self.random_state,
                max_iter=SEED_MAX_ITER,
                time_limit=(
                    None
                    if self.time_limit is None
                    else 0.5 * self._remaining_time(start)
                ),
            )
        self._log(f"seed network: {coefs[0].shape[1]} neurons", start)
        recorder.step(
            "seed",
            coefs,
            intercepts,
            objective=mlp_objective(
                coefs, intercepts, X, Y, loss, float(self.alpha), sample_weight
            ),
            n_patterns=coefs[0].shape[1],
        )
        # the rounds need a fast solver: the interior-point method for the
        # losses it solves or majorizes by a squared loss (multinomial
        # log-loss), or the one the user asked for; else they run on the
        # network
        name = self.solver
        if name == "auto":
            supported = loss.name in InteriorPointSolver.supported_losses
            name = "ipm" if supported or hasattr(loss, "majorizer") else None
        solver = None
        if name is not None:
            solver = self._make_solver(
                None, start=start, name=name, tol=max(self.tol or 0.0, ROUND_TOL)
            )
        if isinstance(solver, InteriorPointSolver):
            # a round starts from a network that is not optimal for its
            # program (no use certifying it), and takes one proximal Newton
            # step on a smooth loss: the polish that follows minimises the
            # loss itself (measured on breast_cancer: the same J after every
            # round as with Newton run to convergence, in half the time)
            solver.certify_start = False
            solver.newton_steps = 1
        coefs, intercepts, last, history = grow_network(
            X,
            Y,
            sample_weight,
            coefs,
            intercepts,
            loss=loss,
            alpha=float(self.alpha),
            solver=solver,
            formulation=self.formulation,
            fit_intercept=self.fit_intercept,
            max_rounds=self.max_rounds,
            min_gain=self.round_tol,
            n_units=self.n_patterns,
            time_limit=self._remaining_time(start),
            random_state=self.random_state,
            log=lambda message: self._log(message, start),
            on_round=lambda coefs, intercepts, record: recorder.step(
                record["stage"],
                coefs,
                intercepts,
                objective=record["J"],
                n_patterns=record["n_neurons"] + record["n_added"],
                dual_violation=record["violation"],
            ),
        )
        self._log(f"{len(history)} rounds", start)
        if last is not None:
            program, result = last
        else:  # no convex solve: the program of the network's units, at its point
            D, gates, index = unit_patterns(
                add_bias_column(X),
                np.vstack([coefs[0], intercepts[0]]),
                fit_intercept=self.fit_intercept,
            )
            program = self._program(X, Y, sample_weight, loss, D, gates)
            V, W, c = network_to_groups(coefs, intercepts, program, index)
            # the iterations are the L-BFGS polishes: the start network's and
            # one per round that added units
            polishes = 1 + sum(record["n_added"] > 0 for record in history)
            result = SolverResult(V, W, c, "lbfgs", "no convex solve", True, polishes)
        return coefs, intercepts, program, result

    def _program(self, X, Y, sample_weight, loss, D, gates):
        return ConvexReLUProgram(
            X=X,
            Y=Y,
            patterns=D,
            gates=gates,
            loss=loss,
            alpha=float(self.alpha),
            sample_weight=sample_weight,
            formulation=self.formulation,
            fit_intercept=self.fit_intercept,
        )

    def _mlp_loss(self):
        """``loss`` of the scikit-learn MLP of the same objective (None: the
        MLP's only or default loss)."""
        return None

    def _mlp_targets(self, Y):
        """Targets as scikit-learn's MLP of this kind takes them: labels from
        encoded classes, or one column as a vector."""
        if is_classifier(self):
            return Y.argmax(axis=1) if Y.shape[1] > 1 else (Y[:, 0] > 0).astype(int)
        return Y[:, 0] if Y.shape[1] == 1 else Y

    @staticmethod
    def _best_seed(seeds, program):
        """The best seed network as a starting point of the program, and as
        ``(J, coefs, intercepts)``."""
        points = [network_to_groups(C, b, program, idx) for C, b, idx in seeds]
        start = min(points, key=lambda point: program.objective(*point))
        scored = [(program.network_objective(C, b), C, b) for C, b, _ in seeds]
        return start, min(scored, key=lambda seed: seed[0])

    @staticmethod
    def _check_weights(X, sample_weight):
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if not np.any(sample_weight > 0):
            raise ValueError("sample_weight must have at least one positive entry.")
        return sample_weight

    # -- prediction --------------------------------------------------------

    def _forward(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return forward(self.coefs_, self.intercepts_, X)

    def _mlp_from_dummy_fit(self, mlp, X0, y0):
        """Fill ``mlp`` with this network after a 1-iteration fit on dummy data
        (which sets up label encoding and output activation)."""
        coefs = [C.copy() for C in self.coefs_]
        intercepts = [b.copy() for b in self.intercepts_]
        if coefs[0].shape[1] == 0:  # an MLP needs at least one hidden unit
            coefs = [np.zeros((coefs[0].shape[0], 1)), np.zeros((1, self.n_outputs_))]
            intercepts[0] = np.zeros(1)
        mlp.set_params(hidden_layer_sizes=(coefs[0].shape[1],))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(X0, y0)
        mlp.coefs_, mlp.intercepts_ = coefs, intercepts
        mlp.n_iter_ = self.n_iter_
        mlp.loss_ = mlp.best_loss_ = self._mlp_loss_value()
        mlp.loss_curve_ = [mlp.loss_]
        if hasattr(self, "feature_names_in_"):
            mlp.feature_names_in_ = self.feature_names_in_
        return mlp

    def _mlp_loss_value(self):
        return self.objective_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.non_deterministic = False
        return tags
