"""Print the built-in ADMM solver's table beside cvxpy + Clarabel and the IPM.

Run: ``python asv_benchmarks/bench_admm.py [--quick] [--no-large]``.

The program is the synthetic planted problem of the solver issues
(``bench_solvers.planted_program``: X ~ N(0, I), y from a planted ReLU network
plus noise, squared loss, random patterns, alpha = 1). Rows of one block solve
the *same* program in the same process, so ratios are side by side.

Columns: wall time; iterations; objective of the returned point; the solver's
certified relative gap; the relative difference to the reference objective
(cvxpy + Clarabel at tol 1e-8 for n = 1000, the best certified value of the
block otherwise); the relative cone violation of the returned point; peak
memory of the solve (tracemalloc, numpy allocations); speed-up over the
reference.

Large block (d = 20, P = 200, n = 10^4 and 10^5): each solve has a
``time_limit`` of 120 s; the exponent of time in n is
``log10(t(10^5) / t(10^4))``; ``n_jobs`` 1 vs 2 compares 30 ADMM iterations of
the ReLU program at n = 10^5 (one iteration is one pass over the ``n x 2P``
cone arrays, the part split in pattern blocks).
"""

import argparse
import time
from contextlib import nullcontext

import numpy as np
from bench_solvers import planted_program, run
from joblib import Parallel
from threadpoolctl import threadpool_limits

from skconvexnn.solvers import ADMMSolver, ConicSolver, InteriorPointSolver
from skconvexnn.solvers.admm import _ADMMState, _Runner
from skconvexnn.solvers.ipm import _Quadratic

HEADER = (
    f"{'solver':<24}{'form':>6}{'n':>8}{'d':>4}{'P':>5}{'time s':>9}{'iters':>7}"
    f"{'objective':>15}{'cert. gap':>11}{'vs ref':>10}{'viol':>9}{'MiB':>7}"
    "  speed-up"
)


def block(program, rows, reference=None):
    """Solve ``program`` with each (name, solver) and print a row per solve.

    The first row is the reference unless ``reference`` is given."""
    out = []
    for name, solver in rows:
        elapsed, result, value, peak = run(solver, program)
        out.append((name, elapsed, result, value, peak))
    if reference is None:
        ref_value, ref_time = out[0][3], out[0][1]
    else:
        ref_value, ref_time = reference
    n, d = program.X.shape
    for name, elapsed, result, value, peak in out:
        ratio = f"{ref_time / elapsed:.2f}x" if ref_time else ""
        print(
            f"{name:<24}{program.formulation:>6}{n:>8}{d:>4}{program.n_patterns:>5}"
            f"{elapsed:>9.2f}{result.n_iter:>7}{value:>15.10f}"
            f"{result.info.get('gap', np.nan):>11.1e}"
            f"{(value - ref_value) / ref_value:>10.1e}"
            f"{program.constraint_violation(result.V, result.W):>9.1e}"
            f"{peak:>7.0f}  {ratio}",
            flush=True,
        )
    return out


def main(quick, large, small=True):
    print(HEADER)
    for formulation in ("relu", "gated") if small else ():
        program = planted_program(1000, 10, 100, formulation=formulation)
        rows = [
            ("cvxpy+CLARABEL", ConicSolver("CLARABEL")),
            ("ipm tol=1e-4", InteriorPointSolver(tol=1e-4)),
        ]
        tols = (1e-2, 1e-3) if quick else (1e-2, 1e-3, 1e-4)
        rows += [
            (f"admm tol={tol:g}", ADMMSolver(tol=tol, time_limit=300)) for tol in tols
        ]
        block(program, rows)
    if not large:
        return
    times = {}
    for n in (10_000, 100_000):
        for formulation in ("gated", "relu"):
            program = planted_program(n, 20, 200, formulation=formulation)
            rows = [("admm tol=1e-4", ADMMSolver(tol=1e-4, time_limit=120))]
            if n == 10_000:
                rows.append(
                    ("ipm tol=1e-4", InteriorPointSolver(tol=1e-4, time_limit=120))
                )
            out = block(program, rows, reference=(np.inf, None))
            times[n, formulation] = out[0][1]
    for formulation in ("gated", "relu"):
        exponent = np.log10(times[100_000, formulation] / times[10_000, formulation])
        print(f"time exponent in n, admm {formulation}: {exponent:.2f}")
    # the iterations alone (the set-up, A and its factor, is shared)
    state = _ADMMState(
        _Quadratic(planted_program(100_000, 20, 200)),
        None,
        relaxation=1.6,
        dtype=np.float32,
    )
    per_iteration = {}
    for n_jobs in (1, 2):
        # as the solver does: one BLAS thread per block when blocks run in
        # parallel
        blas = threadpool_limits(1, "blas") if n_jobs > 1 else nullcontext()
        with blas, Parallel(n_jobs=n_jobs, prefer="threads") as parallel:
            runner = _Runner(parallel, n_jobs)
            start = time.perf_counter()
            for _ in range(20):
                state.iterate(runner)
            per_iteration[n_jobs] = (time.perf_counter() - start) / 20
    print(
        f"n=1e5 relu, one ADMM iteration: n_jobs=1 {per_iteration[1]:.3f} s, "
        f"n_jobs=2 {per_iteration[2]:.3f} s "
        f"(speed-up {per_iteration[1] / per_iteration[2]:.2f}x)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-large", dest="large", action="store_false")
    parser.add_argument("--no-small", dest="small", action="store_false")
    args = parser.parse_args()
    main(args.quick, args.large, args.small)
