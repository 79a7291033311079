"""Batched reduced engine vs a naive per-run full-dimensional NumPy loop (issue 2 benchmark).

1,000 WN runs on a Gaussian problem with m = 100, d = 2,000, step sizes small enough that runs
take thousands of steps. The naive loop (what a user would write: one run at a time, products with
the full A at every step) is timed on a subset of runs and extrapolated per run; both are timed in
this one process, interleaved, and the script prints ratios and checks that the results agree.

    python benchmarks/bench_engine.py            # the recorded configuration
    python benchmarks/bench_engine.py --quick    # seconds; what CI runs (no assertion on time)
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

import wnlab
import wnlab.engine.compiled


def naive_wn(A, y, g, w, eta, gamma, tol, max_iter):
    """Algorithm 1, one run, full dimension: the loop a user would write."""
    for t in range(max_iter + 1):
        nw = np.linalg.norm(w)
        u = w / nw
        e = A @ (g * u) - y
        if 0.5 * (e @ e) <= tol:
            return g * u, t
        grad_x = A.T @ e
        p = u @ grad_x
        w = w - eta * (g / nw) * (grad_x - u * p)
        g = g - gamma * p
    return g * w / np.linalg.norm(w), max_iter


def best_of(fn, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, seconds (for CI)")
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--naive-runs", type=int, default=10, help="runs of the naive loop to time (extrapolated)")
    ap.add_argument("--json", help="also write the numbers here")
    args = ap.parse_args(argv)
    m, d, B, k = (100, 2000, args.runs, args.naive_runs) if not args.quick else (10, 200, 50, 3)
    eta, c, tol = 0.003, 1.0, 1e-5
    problem = wnlab.gaussian_problem(m, d, seed=0)
    x0s = np.random.default_rng(1).normal(scale=1.0 / np.sqrt(d), size=(B, d))
    kw = dict(eta=eta, c=c, tol=tol, max_iter=200_000)

    backends = ["numpy"] + (["numba"] if wnlab.engine.compiled.numba_available() else [])
    results, times = {}, {}
    for be in backends:  # warm up (compilation for numba)
        wnlab.solve_batch(problem, "wn", x0s=x0s[:2], backend=be, **kw)
    for be in backends:
        times[be], results[be] = best_of(lambda be=be: wnlab.solve_batch(problem, "wn", x0s=x0s, backend=be, **kw),
                                         1 if not args.quick else 2)

    g0 = np.linalg.norm(x0s, axis=1)
    t_naive, naive = best_of(lambda: [naive_wn(problem.A, problem.y, g0[i], x0s[i] / g0[i], eta, c * eta, tol,
                                               200_000) for i in range(k)], 1)
    per_run_naive = t_naive / k
    ref = results["numpy"]
    steps = int(ref.n_iter.sum())
    agree = max(np.max(np.abs(ref.x[i] - naive[i][0])) for i in range(k))
    same_iter = all(ref.n_iter[i] == naive[i][1] for i in range(k))

    report = {
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "m": m, "d": d, "runs": B, "eta": eta, "c": c, "tol": tol,
        "mean_steps": float(ref.n_iter.mean()), "total_run_steps": steps,
        "naive_runs_timed": k, "naive_s_extrapolated": per_run_naive * B,
        "max_abs_diff_vs_naive": float(agree), "same_n_iter_vs_naive": same_iter,
    }
    print(f"WN, m={m}, d={d}, {B} runs, mean {ref.n_iter.mean():.0f} steps/run ({steps:,} run-steps)")
    print(f"  naive per-run NumPy loop   {per_run_naive * B:9.2f} s  (extrapolated from {k} runs)")
    for be in backends:
        ratio = per_run_naive * B / times[be]
        report[f"{be}_s"] = times[be]
        report[f"speedup_{be}"] = ratio
        diff = float(np.max(np.abs(results[be].x - ref.x)))
        report[f"max_abs_diff_{be}_vs_numpy"] = diff
        print(f"  wnlab batched ({be:5s})      {times[be]:9.3f} s  -> {ratio:7.1f}x faster"
              f"   ({steps / times[be] / 1e6:.1f} M run-steps/s, |x - x_numpy| <= {diff:.1e})")
    print(f"  results vs naive loop: max |dx| = {agree:.1e}, same stopping step: {same_iter}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return report


if __name__ == "__main__":
    main()
