"""Print a side-by-side table of the fixed-pattern solvers on one program.

Run: ``python asv_benchmarks/bench_solvers.py [--quick] [--no-clarabel]``, or
``python asv_benchmarks/bench_solvers.py --large [N ...]`` for the IPM alone at
d=20, P=200 (time, iterations, certified gap, cost split, peak memory of the
solving process, exponent of time in n), or ``--woodbury`` for the IPM's two
Newton-system paths side by side where ``n`` is small against ``P(d+1)``
(dense ``P(d+1)``-square factor forced, against the Woodbury path that
``"auto"`` takes there; best of two solves each, same process).

The program is the synthetic planted problem of the solver issues: X ~ N(0, I),
y from a planted ReLU network plus noise, squared loss, random patterns. Each
row solves the *same* program (same patterns), one row after the other, each
in a fresh process (see :func:`main`), so ratios are measured side by side.
Columns: wall time, iterations, objective, the solver's certified relative gap (``ipm`` only), the relative difference to the
cvxpy + Clarabel objective, the cone violation of the returned point, and the
peak memory of the solve (tracemalloc, numpy allocations, measured in a second,
untimed solve).
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np

from skconvexnn.losses import get_loss
from skconvexnn.operators import add_bias_column
from skconvexnn.patterns import random_patterns
from skconvexnn.problem import ConvexReLUProgram
from skconvexnn.solvers import ConicSolver, InteriorPointSolver


def planted_program(n, d, P, alpha=1.0, seed=0, formulation="relu"):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    W = rng.randn(d, 5)
    y = np.maximum(X @ W, 0).sum(axis=1) - 2 * np.maximum(X @ W[:, 0], 0)
    y = (y - y.mean()) / y.std() + 0.1 * rng.randn(n)
    D, gates = random_patterns(
        add_bias_column(X), P, fit_intercept=True, random_state=seed
    )[:2]
    return ConvexReLUProgram(
        formulation=formulation,
        X=X,
        Y=y[:, None],
        patterns=D,
        gates=gates,
        loss=get_loss("squared_error"),
        alpha=alpha,
        sample_weight=np.ones(n),
    )


def run(solver, program):
    """Time one solve, then measure its peak memory in a second solve:
    tracemalloc slows every numpy allocation of the built-in solvers (by
    about 15 % on the 1000 x 10, P=100 program) but not the allocations
    made inside a compiled back-end, so a traced run is not a fair clock."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        result = solver.solve(program)
        elapsed = time.perf_counter() - start
        tracemalloc.start()
        solver.solve(program)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    value = program.objective(result.V, result.W, result.c)
    return elapsed, result, value, peak


SOLVERS = {
    "cvxpy+CLARABEL": lambda: ConicSolver("CLARABEL"),
    "ipm tol=1e-4": lambda: InteriorPointSolver(tol=1e-4),
    "ipm tol=1e-8": lambda: InteriorPointSolver(tol=1e-8),
}


def solve_row(name, n, d, P):
    """Child process of the main table: one row, printed as JSON."""
    program = planted_program(n, d, P)
    elapsed, result, value, peak = run(SOLVERS[name](), program)
    print(
        json.dumps(
            dict(
                time=elapsed,
                iters=result.n_iter,
                value=value,
                gap=result.info.get("gap", float("nan")),
                viol=program.constraint_violation(result.V, result.W),
                peak=peak,
                P=program.n_patterns,
            )
        )
    )


def child(*args):
    """Run this script with ``args`` in a fresh process; its last line, JSON."""
    out = subprocess.run(
        [sys.executable, __file__, *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(quick, clarabel):
    """Each row in a fresh process, one after the other: importing cvxpy
    loads a second OpenBLAS (SCS's) and slowed the IPM's factorisations in
    the same process by 20 % (0.25 -> 0.31 s on the 1000 x 10, P=100
    program); an IPM user does not import it (skconvexnn imports cvxpy only
    for the conic solvers)."""
    sizes = [(1000, 10, 100)] if quick else [(1000, 10, 100), (2000, 10, 100)]
    print(
        f"{'solver':<22}{'n':>6}{'d':>4}{'P':>5}{'time s':>9}{'iters':>7}"
        f"{'objective':>15}{'cert. gap':>11}{'vs Clarabel':>13}{'viol':>9}"
        f"{'MiB':>8}  ratio"
    )
    for n, d, P in sizes:
        names = list(SOLVERS) if clarabel else list(SOLVERS)[1:]
        reference = reference_time = None
        for name in names:
            row = child("--row", name, n, d, P)
            if name.startswith("cvxpy"):
                reference, reference_time = row["value"], row["time"]
            diff = (
                np.nan if reference is None else (row["value"] - reference) / reference
            )
            ratio = (
                ""
                if reference_time is None or name.startswith("cvxpy")
                else (f"{reference_time / row['time']:.1f}x")
            )
            print(
                f"{name:<22}{n:>6}{d:>4}{row['P']:>5}{row['time']:>9.2f}"
                f"{row['iters']:>7}{row['value']:>15.10f}{row['gap']:>11.1e}"
                f"{diff:>13.1e}{row['viol']:>9.1e}{row['peak']:>8.0f}  {ratio}",
                flush=True,
            )


def solve_one(n, d, P):
    """Child process of ``--large``: one IPM solve at tol=1e-4, printed as
    JSON with the process's peak resident memory (everything it allocated,
    not only numpy's tracemalloc-visible allocations)."""
    program = planted_program(n, d, P)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = InteriorPointSolver(tol=1e-4).solve(program)
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            dict(
                n=n,
                d=d,
                P=program.n_patterns,
                time=elapsed,
                iters=result.n_iter,
                gap=result.info["gap"],
                split=result.info["time_split"],
                rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                estimate=InteriorPointSolver().memory_estimate(program) / 2**20,
            )
        )
    )


def large(sizes, d=20, P=200):
    """The IPM alone at large n, each size in a fresh process; the exponent of
    time in n is the slope of a least-squares line through log(time)."""
    print(
        f"{'n':>7}{'d':>4}{'P':>5}{'time s':>9}{'iters':>7}{'cert. gap':>11}"
        f"{'assembly':>10}{'factor':>8}{'cert.':>7}{'solves+elem.':>14}"
        f"{'peak RSS MiB':>14}{'estimate MiB':>14}"
    )
    rows = []
    for n in sizes:
        row = child("--one", n, d, P)
        rows.append(row)
        split = row["split"]
        print(
            f"{row['n']:>7}{row['d']:>4}{row['P']:>5}{row['time']:>9.1f}"
            f"{row['iters']:>7}{row['gap']:>11.1e}{split['assembly']:>10.1f}"
            f"{split['factorisation']:>8.1f}{split['certificate']:>7.1f}"
            f"{split['solves_and_elementwise']:>14.1f}{row['rss']:>14.0f}"
            f"{row['estimate']:>14.0f}",
            flush=True,
        )
    if len(rows) > 1:
        slope = np.polyfit(
            np.log([r["n"] for r in rows]), np.log([r["time"] for r in rows]), 1
        )[0]
        print(f"time ~ n^{slope:.2f}")


def woodbury(
    shapes=((200, 10, 100), (400, 10, 150), (500, 10, 120), (569, 30, 120)),
    tols=(1e-4, 1e-8),
):
    """The IPM with its Newton matrices factored densely (forced) and through
    the Woodbury identity, on the same programs."""
    from skconvexnn.solvers import ipm

    print(
        f"{'n':>5}{'d':>4}{'P':>5}{'cost ratio':>11}{'tol':>7}{'dense s':>9}"
        f"{'iters':>6}{'gap':>9}{'woodbury s':>11}{'iters':>6}{'gap':>9}"
        f"{'factors W/D':>12}{'speed-up':>9}"
    )
    default = ipm._WOODBURY_RATIO
    for n, d, P in shapes:
        program = planted_program(n, d, P)
        size = program.n_patterns * (d + 1)
        cost = (n * n * size + n**3 / 3) / (size**3 / 3)
        for tol in tols:
            out = {}
            for name, ratio in (("dense", 0.0), ("woodbury", default)):
                ipm._WOODBURY_RATIO = ratio
                times = []
                for _ in range(2):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        start = time.perf_counter()
                        result = InteriorPointSolver(tol=tol).solve(program)
                        times.append(time.perf_counter() - start)
                out[name] = (min(times), result)
            ipm._WOODBURY_RATIO = default
            (t_d, r_d), (t_w, r_w) = out["dense"], out["woodbury"]
            f = r_w.info["factorizations"]
            print(
                f"{n:>5}{d:>4}{program.n_patterns:>5}{cost:>11.2f}{tol:>7.0e}"
                f"{t_d:>9.2f}{r_d.n_iter:>6}{r_d.info['gap']:>9.1e}{t_w:>11.2f}"
                f"{r_w.n_iter:>6}{r_w.info['gap']:>9.1e}"
                f"{f['woodbury']:>7}/{f['dense']:<4}{t_d / t_w:>8.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-clarabel", dest="clarabel", action="store_false")
    parser.add_argument(
        "--large",
        nargs="*",
        type=int,
        metavar="N",
        help="the IPM alone at d=20, P=200 for these n (default 2500 5000 10000)",
    )
    parser.add_argument("--woodbury", action="store_true")
    parser.add_argument("--one", nargs=3, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--row", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.row:
        solve_row(args.row[0], *map(int, args.row[1:]))
    elif args.one:
        solve_one(*args.one)
    elif args.woodbury:
        woodbury()
    elif args.large is not None:
        large(args.large or [2500, 5000, 10000])
    else:
        main(args.quick, args.clarabel)
