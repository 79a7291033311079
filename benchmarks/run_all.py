"""wnlab scale benchmarks (issue 5): one command, ratios measured side by side in one process.

    python benchmarks/run_all.py [--quick] [--out DIR]

(a) the Figure-1 workload (``wnlab reproduce figure1``'s default preset) through wnlab vs a naive
    per-run full-dimensional NumPy loop vs a PyTorch loop (weight_norm + SGD, float64, one run at a
    time); the two loops are timed on a subset of runs and extrapolated to the whole workload by
    their time per step times the total number of steps (which wnlab reports exactly; the loops
    stop at the same steps -- checked);
(b) cost growth with d (10^3 ... 10^7) and with the number of runs B (1 ... 10^5), plot
    ``scaling.png``;
(c) the batched step's throughput (run-steps/s, bytes per run-step) against the memory bandwidth
    of a large NumPy copy measured in the same process.

(d) ``bench_workloads.py``: the Figure-1 WN workload vs a batched full-dimensional NumPy WN, steady
    state against DGEMM, workload classes against the constant-step path, cold vs warm start
    (skip with ``--no-workloads``; run alone with ``python benchmarks/bench_workloads.py``).

Writes ``results.json``, ``scaling.png`` and ``workloads.json`` under ``--out`` (default ``benchmarks/out``).
``--quick`` shrinks everything so CI runs it in seconds; its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

import wnlab
from wnlab.problems.sampling import gaussian_reduced_problem, gaussian_reduced_starts

#: the workload: ``wnlab reproduce figure1`` (preset "default"; "tiny" with --quick), i.e.
#: Gaussian A (m = 50, d = 1000, lambda_max = 10, ||x*|| = 3), 16 stds x 30 seeds x GD/WN/rPGD,
#: eta = gamma = 0.005, stop at loss <= 1e-5.
FIG1_PRESET, QUICK_FIG1_PRESET = "default", "tiny"


def _sibling(name):
    """A script of this directory as a module (benchmarks/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_workloads_module = _sibling("bench_workloads")
_timed, _best = _workloads_module._timed, _workloads_module._best  # one timing helper for both scripts


def _kwargs(method, step):
    return {} if method == "gd" else {"gamma": step}


# -- (a) the Figure-1 workload ---------------------------------------------------

def naive_numpy(A, y, method, x0, eta, gamma, tol, max_iter):
    """The loop a user writes: one run, full d-dimensional vectors. Returns the steps taken."""
    x = x0.copy()
    g = np.linalg.norm(x0)
    w = x0 / g
    for t in range(max_iter + 1):
        if method == "wn":
            x = g * w / np.linalg.norm(w)
        elif method == "rpgd":
            x = g * w
        e = A @ x - y
        loss = 0.5 * e @ e
        if loss <= tol or not np.isfinite(loss):
            return t
        grad = A.T @ e
        if method == "gd":
            x = x - eta * grad
        elif method == "wn":
            nw = np.linalg.norm(w)
            u = w / nw
            p = u @ grad
            w = w - eta * (g / nw) * (grad - u * p)
            g = g - gamma * p
        else:
            p = w @ grad
            v = w - eta * g * grad
            w = v / np.linalg.norm(v)
            g = g - gamma * p
    return max_iter


def naive_torch(A, y, method, x0, eta, gamma, tol, max_iter):
    """PyTorch as a user writes it: nn.Linear (+ weight_norm for WN), SGD, float64, one run."""
    import torch
    from torch.nn.utils.parametrizations import weight_norm

    At, yt = torch.tensor(A), torch.tensor(y)
    lin = torch.nn.Linear(A.shape[1], 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(x0)[None])
    if method == "gd":
        opt = torch.optim.SGD(lin.parameters(), lr=eta)
    else:  # Algorithm 1 needs a unit-norm direction at the start (docs/math.md, "Problem and methods");
        # rPGD: same cost per step
        lin = weight_norm(lin)
        par = lin.parametrizations.weight
        with torch.no_grad():
            par.original0.fill_(float(np.linalg.norm(x0)))
            par.original1.copy_(torch.tensor(x0 / np.linalg.norm(x0))[None])
        opt = torch.optim.SGD([{"params": [par.original0], "lr": gamma}, {"params": [par.original1], "lr": eta}])
    for t in range(max_iter + 1):
        opt.zero_grad()
        loss = 0.5 * ((lin(At).squeeze(-1) - yt) ** 2).sum()
        if loss.item() <= tol:
            return t
        loss.backward()
        opt.step()
    return max_iter


def figure1_workload(preset, subset, have_torch):
    from wnlab.experiments import figure1 as F

    cfg = F.PRESETS[preset]
    p = F.make_problem(cfg)
    x0, _, _ = F.draw_starts(cfg, p)
    out = {"workload": f"wnlab reproduce figure1 --preset {preset}: m={cfg.m}, d={cfg.d}, {len(cfg.stds)} stds x "
                       f"{cfg.n_seeds} seeds x {len(cfg.methods)} methods, eta = gamma = {cfg.eta}, tol = {cfg.tol}",
           "runs": len(x0) * len(cfg.methods)}
    t_wnlab, t_wnlab_np, steps, per_method = 0.0, 0.0, 0, {}
    loops = {"numpy": naive_numpy} | ({"torch": naive_torch} if have_torch else {})
    loop_time = dict.fromkeys(loops, 0.0)
    for method in cfg.methods:
        kw = _kwargs(method, cfg.gamma)
        wnlab.solve_batch(p, method, x0s=x0[:2], eta=cfg.eta, tol=cfg.tol, max_iter=5, **kw)  # compile (Numba)
        res, t = _best(3, wnlab.solve_batch, p, method, x0s=x0, eta=cfg.eta, tol=cfg.tol, max_iter=cfg.max_iter, **kw)
        _, t_np = _best(3, wnlab.solve_batch, p, method, x0s=x0, eta=cfg.eta, tol=cfg.tol, max_iter=cfg.max_iter,
                        backend="numpy", **kw)
        t_wnlab += t
        t_wnlab_np += t_np
        steps_m = int(res.n_iter.sum())
        steps += steps_m
        pick = np.linspace(0, len(x0) - 1, subset).astype(int)
        per_method[method] = {"wnlab_s": t, "wnlab_numpy_driver_s": t_np, "steps": steps_m,
                              "statuses": {s: int((res.summaries()["status"] == s).sum())
                                           for s in ("converged", "max_iter", "diverged")}}
        for name, fn in loops.items():
            n_done, t_loop = 0, 0.0
            for i in pick:
                n, t = _timed(fn, p.A, p.y, method, x0[i], cfg.eta, kw.get("gamma", 0.0), cfg.tol, cfg.max_iter)
                same_algorithm = not (name == "torch" and method == "rpgd")  # torch has no rPGD: WN's cost
                if same_algorithm and abs(n - res.n_iter[i]) > 1:
                    raise RuntimeError(f"{name} loop stopped at {n}, wnlab at {res.n_iter[i]} ({method}, run {i})")
                n_done, t_loop = n_done + n, t_loop + t
            per_step = t_loop / max(n_done, 1)
            loop_time[name] += per_step * steps_m
            per_method[method][f"{name}_s_per_step"] = per_step
    out.update(per_method=per_method, total_steps=steps, wnlab_s=t_wnlab, wnlab_numpy_driver_s=t_wnlab_np)
    for name, tt in loop_time.items():
        out[f"{name}_loop_s (extrapolated from {subset} runs per method)"] = tt
        out[f"speedup_vs_{name}_loop"] = tt / t_wnlab
        out[f"speedup_vs_{name}_loop (numpy driver)"] = tt / t_wnlab_np
    return out


# -- (b) growth with d and B -------------------------------------------------------

def growth_with_d(ds, m, B, steps, full_d_max, naive_d_max):
    rows = []
    for d in ds:
        row = {"d": d}
        def law(d=d):
            q = gaussian_reduced_problem(m, d, seed=0)
            return q, gaussian_reduced_starts(q, B, sigma=1 / np.sqrt(d), seed=1)

        (p, a_b), t_law = _timed(law)
        _, t_run = _timed(wnlab.solve_batch, p, "wn", reduced_starts=a_b, eta=0.1, c=1.0, tol=0.0, max_iter=steps)
        row["exact_in_law_s"] = t_law + t_run
        if d <= naive_d_max:  # dense A: 8 m d bytes; B full starts: 8 B d bytes
            pf, t_gen = _timed(wnlab.gaussian_problem, m, d, seed=0)
            x0 = np.random.default_rng(1).standard_normal((B if d <= full_d_max else 1, d)) / np.sqrt(d)
            if d <= full_d_max:
                _, t_full = _timed(wnlab.solve_batch, pf, "wn", x0s=x0, eta=0.1, c=1.0, tol=0.0, max_iter=steps)
                row["wnlab_full_draws_s"] = t_gen + t_full
            k = max(1, min(steps, 20))  # best of 3 short runs, scaled to B runs of `steps` steps
            t_naive = min(_timed(naive_numpy, pf.A, pf.y, "wn", x0[0], 0.1, 0.1, 0.0, k)[1] for _ in range(3))
            row["naive_numpy_s (extrapolated)"] = t_naive / (k + 1) * (steps + 1) * B
            del pf, x0
        rows.append(row)
    return rows


def growth_with_B(Bs, m, d, steps):
    p = wnlab.gaussian_problem(m, d, seed=0)  # a LeastSquares: the compiled loop applies to it
    rows = []
    for B in Bs:
        a_b = gaussian_reduced_starts(p, B, sigma=1 / np.sqrt(d), seed=1)
        _, t = _timed(wnlab.solve_batch, p, "wn", reduced_starts=a_b, eta=0.1, c=1.0, tol=0.0, max_iter=steps)
        _, t_np = _timed(wnlab.solve_batch, p, "wn", reduced_starts=a_b, eta=0.1, c=1.0, tol=0.0, max_iter=steps,
                         backend="numpy")
        rows.append({"B": B, "wnlab_s": t, "run_steps_per_s": B * steps / t, "wnlab_numpy_driver_s": t_np})
    return rows


# -- (c) throughput against memory bandwidth ----------------------------------------

def bandwidth(nbytes, repeats):
    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)
    best = min(_timed(np.copyto, dst, src)[1] for _ in range(repeats))
    return 2 * src.nbytes / best  # read + write


def throughput(B, m, steps, bw_bytes, repeats, have_torch=False):
    """Run-steps/s of one WN batch (tol = 0: every run takes every step) per backend, against the
    copy bandwidth. Traffic models: the minimal one (read and write the state ``a``: 16 m bytes per
    run-step, what a fused loop moves) and, for the NumPy driver, the traffic it really generates:
    29 reads + 15 writes of a (B, m) array per WN step (counted from engine.run + methods.WN: point
    3R2W, loss/grad 5R3W, stall check 8R3W, direction_step 2R1W, step 11R6W), 44 x 8 m bytes."""
    p = wnlab.gaussian_problem(m, 10 * m, seed=0)  # a LeastSquares: the compiled loop applies to it
    a_b = gaussian_reduced_starts(p, B, sigma=1 / np.sqrt(10 * m), seed=1)
    min_bytes, counted = 16 * m, 44 * 8 * m
    out = {"B": B, "m": m, "B*m": B * m, "steps": steps, "copy_bandwidth_GBps": bw_bytes / 1e9,
           "min_bytes_per_run_step": min_bytes, "numpy_counted_bytes_per_run_step": counted,
           "bandwidth_bound_run_steps_per_s": bw_bytes / min_bytes}
    backends = ["auto", "numpy"] + (["torch"] if have_torch else [])
    for backend in backends:
        best = min(_timed(wnlab.solve_batch, p, "wn", reduced_starts=a_b, eta=0.1, c=1.0, tol=0.0, max_iter=steps,
                          backend=backend)[1] for _ in range(repeats))
        rate = B * steps / best
        name = backend
        if backend == "torch":
            from wnlab.engine.torch_backend import default_device
            name = f"torch_{default_device()}"
        out[f"{name}_run_steps_per_s"] = rate
        out[f"{name}_ratio_to_bandwidth_limit (min traffic)"] = out["bandwidth_bound_run_steps_per_s"] / rate
    out["numpy_ratio_to_bandwidth (counted traffic)"] = bw_bytes / (out["numpy_run_steps_per_s"] * counted)
    return out


def plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    rows = res["growth_d"]
    for key, style in (("exact_in_law_s", "o-"), ("wnlab_full_draws_s", "s-"), ("naive_numpy_s (extrapolated)", "^--")):
        pts = [(r["d"], r[key]) for r in rows if key in r]
        if pts:
            ax1.loglog(*zip(*pts), style, label=key.replace("_s", "").replace("_", " "))
    ax1.set(xlabel="d", ylabel="seconds", title=f"cost vs d (m={res['growth_d_params']['m']}, "
            f"B={res['growth_d_params']['B']}, {res['growth_d_params']['steps']} WN steps)")
    ax1.legend(fontsize=8)
    rows = res["growth_B"]
    ax2.loglog([r["B"] for r in rows], [r["wnlab_s"] for r in rows], "o-", label="wnlab (batched, auto backend)")
    ax2.loglog([r["B"] for r in rows], [r["wnlab_numpy_driver_s"] for r in rows], "s-", label="wnlab (NumPy driver)")
    ax2.loglog([r["B"] for r in rows], [rows[0]["wnlab_s"] * r["B"] for r in rows], "k--", label="B x (B = 1 time)")
    ax2.set(xlabel="B (runs)", ylabel="seconds", title=f"cost vs B (m={res['growth_B_params']['m']}, "
            f"{res['growth_B_params']['steps']} WN steps)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _workloads(argv):
    """(d): bench_workloads.py."""
    return _workloads_module.main(argv)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (seconds; for CI, numbers meaningless)")
    ap.add_argument("--out", default="benchmarks/out", help="output directory (default benchmarks/out)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch loop")
    ap.add_argument("--no-workloads", action="store_true", help="skip (d), bench_workloads.py")
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        import torch  # noqa: F401
        have_torch = not args.no_torch
    except ImportError:
        have_torch = False
    q = args.quick
    # warm-up: the first call of the compiled (Numba) loop compiles it; keep that out of the timings
    wp = wnlab.gaussian_problem(3, 10, seed=0)
    for method, kw in (("gd", {}), ("wn", {"c": 1.0}), ("rpgd", {"c": 1.0})):
        wnlab.solve_batch(wp, method, reduced_starts=gaussian_reduced_starts(wp, 2, sigma=0.1, seed=0), eta=0.1,
                          max_iter=5, **kw)
    res = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "quick": q,
           "machine": {"python": platform.python_version(), "numpy": np.__version__,
                       "cpu": platform.processor() or platform.machine(), "gpu": "none in this session"}}

    def section(name, fn, *a):
        t = time.perf_counter()
        res[name] = fn(*a)
        print(f"[{name}] {time.perf_counter() - t:.1f}s", file=sys.stderr)

    section("figure1", figure1_workload, QUICK_FIG1_PRESET if q else FIG1_PRESET, 2 if q else 3, have_torch)
    gd = dict(m=20, B=10 if q else 100, steps=20 if q else 200)
    res["growth_d_params"] = gd
    section("growth_d", growth_with_d, [10**3, 10**4] if q else [10**k for k in range(3, 8)], gd["m"], gd["B"],
            gd["steps"], 10**4 if q else 10**5, 10**4 if q else 10**6)
    gb = dict(m=50, d=1000, steps=20 if q else 100)
    res["growth_B_params"] = gb
    section("growth_B", growth_with_B, [1, 10, 100] if q else [10**k for k in range(6)], gb["m"], gb["d"], gb["steps"])
    bw = bandwidth(2**22 if q else 2**28, 2 if q else 5)
    section("throughput", throughput, 200 if q else 20_000, 50, 5 if q else 50, bw, 1 if q else 3, have_torch)
    if not args.no_workloads:
        section("workloads", _workloads, ["--out", str(out_dir)] + (["--quick"] if q else []))
    plot(res, out_dir / "scaling.png")
    (out_dir / "results.json").write_text(json.dumps(res, indent=2, default=float) + "\n")
    f = res["figure1"]
    print(f"figure1 workload: {f['runs']} runs, {f['total_steps']} steps; wnlab {f['wnlab_s']:.3g}s "
          f"(NumPy driver {f['wnlab_numpy_driver_s']:.3g}s); "
          + "; ".join(f"{k.replace('speedup_vs_', 'vs ').replace('_loop', ' loop')}: {f[k]:.3g}x" for k in f
                      if k.startswith("speedup")))
    t = res["throughput"]
    print(f"throughput at B*m = {t['B*m']} (copy bandwidth {t['copy_bandwidth_GBps']:.3g} GB/s): "
          + "; ".join(f"{k.split('_run')[0]} {v:.3g} run-steps/s "
                      f"({t[k.split('_run')[0] + '_ratio_to_bandwidth_limit (min traffic)']:.2f}x "
                      "from the minimal-traffic limit)" for k, v in t.items() if k.endswith("_run_steps_per_s")
                      and not k.startswith("bandwidth"))
          + f"; numpy driver {t['numpy_ratio_to_bandwidth (counted traffic)']:.2f}x from the limit at the traffic "
            "it moves")
    return res


if __name__ == "__main__":
    main()
