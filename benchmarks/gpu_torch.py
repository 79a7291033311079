"""wnlab's torch backend on a CUDA GPU vs the default CPU path, in run-steps/s (one short script).

    python benchmarks/gpu_torch.py [--runs 1000000] [--cpu-runs 20000] [--m 100] [--steps 200] [--json PATH]
    python benchmarks/gpu_torch.py --allow-cpu --runs 2000 --cpu-runs 500   # no GPU: exercise the script

10^6 WN runs (m = 100, d = 1000, ``gaussian_problem(m, 10 m, seed=0)``, starts ``x0 ~ N(0, I/d)``
drawn in reduced coordinates exactly in law, eta = 0.1, c = 1, tol = 0: every run takes ``--steps``
steps) through ``solve_batch(backend="torch")`` (float64 tensors on CUDA), against
``backend="auto"`` on the CPU for the first ``--cpu-runs`` of the same starts (their results are
compared). Without a CUDA device (or without PyTorch) it prints a message and exits with status 0,
unless ``--allow-cpu`` asks to run the torch backend on the CPU anyway (to test the script).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def _timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1_000_000, help="runs on the GPU (default 10^6)")
    ap.add_argument("--cpu-runs", type=int, default=20_000, help="runs on the CPU path (default 20,000)")
    ap.add_argument("--m", type=int, default=100)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--allow-cpu", action="store_true", help="run the torch backend on the CPU when no GPU is present")
    ap.add_argument("--json", help="also write the numbers here")
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("gpu_torch: PyTorch is not installed; nothing to measure (pip install torch)")
        return 0
    if not torch.cuda.is_available() and not args.allow_cpu:
        print("gpu_torch: no CUDA device visible to PyTorch; nothing to measure (pass --allow-cpu to run the "
              "torch backend on the CPU)")
        return 0

    import wnlab
    from wnlab.engine.torch_backend import default_device
    from wnlab.problems.sampling import gaussian_reduced_starts

    m, d, B, B_cpu, steps = args.m, 10 * args.m, args.runs, min(args.cpu_runs, args.runs), args.steps
    p = wnlab.gaussian_problem(m, d, seed=0)
    a0, beta0 = gaussian_reduced_starts(p, B, sigma=1 / np.sqrt(d), seed=1)
    kw = dict(eta=0.1, c=1.0, tol=0.0, max_iter=steps)
    device = default_device()
    report = {"m": m, "d": d, "steps": steps, "gpu_runs": B, "cpu_runs": B_cpu, "torch": torch.__version__,
              "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu (no CUDA device; --allow-cpu)"}

    # warm-up: CUDA context and kernels; the compiled CPU loop
    wnlab.solve_batch(p, "wn", reduced_starts=(a0[:8], beta0[:8]), backend="torch", **kw)
    wnlab.solve_batch(p, "wn", reduced_starts=(a0[:8], beta0[:8]), backend="auto", **kw)

    res_gpu, t_gpu = _timed(wnlab.solve_batch, p, "wn", reduced_starts=(a0, beta0), backend="torch", **kw)
    res_cpu, t_cpu = _timed(wnlab.solve_batch, p, "wn", reduced_starts=(a0[:B_cpu], beta0[:B_cpu]), backend="auto",
                            **kw)
    report["torch_s"], report["cpu_auto_s"] = t_gpu, t_cpu
    report["torch_run_steps_per_s"] = int(res_gpu.n_iter.sum()) / t_gpu
    report["cpu_auto_run_steps_per_s"] = int(res_cpu.n_iter.sum()) / t_cpu
    report["torch_over_cpu"] = report["torch_run_steps_per_s"] / report["cpu_auto_run_steps_per_s"]
    report["same_n_iter"] = bool(np.array_equal(res_gpu.n_iter[:B_cpu], res_cpu.n_iter))
    report["max_abs_diff_x_norm"] = float(np.max(np.abs(res_gpu.x_norm[:B_cpu] - res_cpu.x_norm)))
    report["max_abs_diff_loss"] = float(np.max(np.abs(res_gpu.loss[:B_cpu] - res_cpu.loss)))

    print(f"WN, m = {m}, d = {d}, {steps} steps per run (tol = 0), device {report['device']}")
    print(f"  backend='torch' ({device}), {B:,} runs: {t_gpu:.3g} s, "
          f"{report['torch_run_steps_per_s'] / 1e6:.2f} M run-steps/s")
    print(f"  backend='auto' (CPU), {B_cpu:,} runs: {t_cpu:.3g} s, "
          f"{report['cpu_auto_run_steps_per_s'] / 1e6:.2f} M run-steps/s")
    print(f"  torch / CPU: {report['torch_over_cpu']:.2f}x; first {B_cpu:,} runs agree: "
          f"same n_iter {report['same_n_iter']}, max |dx_norm| {report['max_abs_diff_x_norm']:.1e}, "
          f"max |dloss| {report['max_abs_diff_loss']:.1e}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
