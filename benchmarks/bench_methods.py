"""Run-steps/s of batch normalization and Adam against plain WN on the Figure-1 workload, in one process.

    python benchmarks/bench_methods.py [--quick] [--steps N] [--only wn,bn] [--repeats R] [--cpu-time] [--json FILE]

Workload: ``wnlab reproduce figure1``'s default preset (m = 50, d = 1000, 16 stds x 30 seeds = 480
starts, eta = gamma = 0.005), every run for exactly ``--steps`` steps (tol = 0), so all methods do
the same number of run-steps. Each line is the best of ``--repeats`` (3) calls after one untimed
warm-up call (with ``backend="numba"`` for the compiled cases, which compiles or loads the loops);
the ratio is against WN with ``backend="auto"`` (the compiled loop).
BN with ``backend="auto"`` runs its compiled loop (:mod:`wnlab.engine.compiled.bn`), also shown on
the NumPy driver; Adam on the full engine (``O(md)`` per
run-step: it is not rotation-invariant). ``--quick``: the tiny preset, a few steps (CI; numbers
meaningless). ``--only wn,bn``: the cases of these methods only (the Adam rows take minutes); the
first case, the reference, is always measured. ``--cpu-time``: time the calls by this process's CPU
time (all its threads) instead of the wall clock: steadier on a machine busy with other work.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import wnlab
from wnlab.experiments import figure1 as F

CASES = (
    ("wn (auto: compiled)", "wn", {"backend": "auto"}),
    ("wn (numpy)", "wn", {"backend": "numpy"}),
    ("bn (auto: compiled)", "bn", {}),
    ("bn + momentum 0.9 (auto)", "bn", {"momentum": 0.9}),
    ("bn + nesterov + weight decay (auto)", "bn", {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}),
    ("bn without centering (auto)", "bn", {"center": False}),
    ("bn (numpy)", "bn", {"backend": "numpy"}),
    ("adam (full engine)", "adam", {"engine": "full"}),
    ("adamw (full engine)", "adamw", {"engine": "full", "weight_decay": 0.01}),
)


def measure(preset="default", steps=300, repeats=3, only=None, clock=time.perf_counter):
    cfg = F.PRESETS[preset]
    p = F.make_problem(cfg)
    x0s, _, _ = F.draw_starts(cfg, p)
    rows = []
    for q, (label, name, kw) in enumerate(CASES):
        if only is not None and q > 0 and name not in only:
            continue
        kw = dict(kw, **({} if name.startswith("adam") else {"gamma": cfg.gamma}))

        def call(n, kw=kw, name=name):
            return wnlab.solve_batch(p, name, x0s=x0s, eta=cfg.eta, tol=0, max_iter=n, **kw)

        # warm-up: compile (or load) the compiled loops here, so that auto's timed calls use them
        # (a short auto call first runs the NumPy driver while a loop is not compiled yet)
        call(2, kw=dict(kw, backend="numba") if kw.get("backend", "auto") == "auto" and name in ("wn", "bn") else kw)
        best = np.inf
        for _ in range(repeats):
            t = clock()
            res = call(steps)
            best = min(best, clock() - t)
        rows.append({"case": label, "run_steps": int(res.n_iter.sum()), "seconds": best,
                     "run_steps_per_s": float(res.n_iter.sum() / best)})
    ref = rows[0]["run_steps_per_s"]
    for r in rows:
        r["vs_wn_auto"] = r["run_steps_per_s"] / ref
    return {"workload": f"figure1 preset {preset}: m={p.m}, d={p.d}, {len(x0s)} runs x {steps} steps"
                        + (" (CPU time)" if clock is time.process_time else ""),
            "rows": rows}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny preset, few steps (CI)")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--only", metavar="METHODS", help="comma-separated methods whose cases run (e.g. wn,bn)")
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per case, the best is kept (default 3)")
    ap.add_argument("--cpu-time", action="store_true", help="time by the process's CPU time, not the wall clock")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    only = None if args.only is None else set(args.only.split(","))
    unknown = set() if only is None else only - {name for _, name, _ in CASES}
    if unknown:
        ap.error(f"--only: unknown method(s) {', '.join(sorted(unknown))}; the cases' methods are "
                 f"{', '.join(sorted({name for _, name, _ in CASES}))}")
    if args.repeats < 1:
        ap.error(f"--repeats must be at least 1, got {args.repeats}")
    clock = time.process_time if args.cpu_time else time.perf_counter
    preset, steps, repeats = ("tiny", 5, 1) if args.quick else ("default", args.steps, args.repeats)
    out = measure(preset, steps, repeats, only, clock)
    print(out["workload"])
    for r in out["rows"]:
        print(f"  {r['case']:36s} {r['run_steps_per_s'] / 1e6:8.3f} M run-steps/s   {r['vs_wn_auto']:6.3f}x WN (auto)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
