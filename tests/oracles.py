"""Independent references the tests compare against."""

import numpy as np


def cvxpy_oracle(
    X,
    Y,
    D,
    loss,
    alpha,
    sample_weight=None,
    formulation="relu",
    fit_intercept=True,
    solver="CLARABEL",
    **solver_opts,
):
    """An independent cvxpy formulation of the sampled convex program.

    Written group by group, with the loss in its textbook form (exponential
    cones for the log-losses), divided by the total weight so its value is on
    the scale of the MLP objective J.
    """
    import cvxpy as cp

    n, d = X.shape
    m = Y.shape[1]
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    Xt = np.hstack([X, np.ones((n, 1))])
    c = cp.Variable(m) if fit_intercept else np.zeros(m)
    outputs, penalty, constraints = [], 0, []
    for j in range(m):
        z = c[j] * np.ones(n) if fit_intercept else np.zeros(n)
        for i in range(D.shape[1]):
            v, w = cp.Variable(d + 1), cp.Variable(d + 1)
            Di = np.diag(D[:, i].astype(float))
            z = z + Di @ Xt @ (v - w)
            penalty = penalty + cp.norm(v[:d]) + cp.norm(w[:d])
            if formulation == "relu":
                G = (2 * Di - np.eye(n)) @ Xt
                constraints += [G @ v >= 0, G @ w >= 0]
        outputs.append(z)
    if loss == "squared_error":
        data = sum(
            cp.sum(cp.multiply(sw, (outputs[j] - Y[:, j]) ** 2)) for j in range(m)
        ) / (2 * m)
    elif loss == "hinge":
        data = sum(
            cp.sum(cp.multiply(sw, cp.pos(1 - cp.multiply(Y[:, j], outputs[j]))))
            for j in range(m)
        )
    elif loss == "binary_log_loss":
        z = outputs[0]
        data = cp.sum(cp.multiply(sw, cp.logistic(z) - cp.multiply(Y[:, 0], z)))
    elif loss == "multinomial_log_loss":
        Z = cp.vstack(outputs).T
        data = cp.sum(
            cp.multiply(
                sw, cp.log_sum_exp(Z, axis=1) - cp.sum(cp.multiply(Y, Z), axis=1)
            )
        )
    elif loss == "poisson":
        const = float(
            sum(
                sw
                @ (
                    np.where(
                        Y[:, j] > 0,
                        Y[:, j] * np.log(np.where(Y[:, j] > 0, Y[:, j], 1)),
                        0,
                    )
                    - Y[:, j]
                )
                for j in range(m)
            )
        )
        data = (
            sum(
                cp.sum(
                    cp.multiply(
                        sw, cp.exp(outputs[j]) - cp.multiply(Y[:, j], outputs[j])
                    )
                )
                for j in range(m)
            )
            + const
        )
    else:
        raise ValueError(loss)
    problem = cp.Problem(cp.Minimize((data + alpha * penalty) / sw.sum()), constraints)
    problem.solve(solver=solver, **solver_opts)
    assert problem.status == "optimal", problem.status
    return problem.value


def all_1d_patterns(x):
    """Every activation pattern of 1-D data with a bias, written out
    independently of the package: thresholds at the data points, both
    orientations, empty pattern dropped."""
    cols = [x >= t for t in x] + [x <= t for t in x]
    D = np.unique(np.array(cols), axis=0).T
    return D[:, D.any(axis=0)]


def robust_cvxpy_oracle(X, y, D, loss, alpha, epsilon, formulation="flip_tolerant"):
    """Optimal value of the robust program, written sample by sample from its
    definition (labels ``y`` in {-1, +1}; ``loss`` "hinge" or "log_loss"),
    divided by ``n``."""
    import cvxpy as cp

    n, d = X.shape
    P = D.shape[1]
    Xt = np.hstack([X, np.ones((n, 1))])
    V = [cp.Variable(d + 1) for _ in range(P)]
    W = [cp.Variable(d + 1) for _ in range(P)]
    c = cp.Variable()
    margins, constraints = [], []
    for k in range(n):
        x = Xt[k]
        if formulation == "strict":
            U = [V[i] - W[i] for i in range(P)]
            active = [i for i in range(P) if D[k, i]]
            z = sum((x @ U[i] for i in active), c)
            if active:
                margin = y[k] * z - epsilon * cp.norm1(sum(U[i][:d] for i in active))
            else:
                margin = y[k] * z
            for i in range(P):
                sign = 1.0 if D[k, i] else -1.0
                for u in (V[i], W[i]):
                    constraints.append(sign * (x @ u) >= epsilon * cp.norm1(u[:d]))
        else:
            help_, hurt = (V, W) if y[k] > 0 else (W, V)
            active = [i for i in range(P) if D[k, i]]
            margin = y[k] * c - sum(
                cp.pos(x @ hurt[i] + epsilon * cp.norm1(hurt[i][:d])) for i in range(P)
            )
            if active:
                margin = (
                    margin
                    + sum(x @ help_[i] for i in active)
                    - epsilon * cp.norm1(sum(help_[i][:d] for i in active))
                )
        margins.append(margin)
    m = cp.hstack(margins)
    data = cp.sum(cp.pos(1 - m)) if loss == "hinge" else cp.sum(cp.logistic(-m))
    penalty = sum(cp.norm(u[:d], 2) for u in V + W)
    problem = cp.Problem(cp.Minimize((data + alpha * penalty) / n), constraints)
    problem.solve(solver="CLARABEL")
    return problem.value
