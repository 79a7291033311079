"""A run at very large d: m = 200, d = 10^7, sparse A with density 1e-4 (issue 5, item 2).

    /usr/bin/time -v python benchmarks/large_d.py [--d 10000000] [--m 200] [--density 1e-4] [--reduced-start]

Prints the memory held by A (CSR arrays), by one d-vector, the peak resident set size of the
process (``resource.getrusage``; ``/usr/bin/time -v`` reports the same "Maximum resident set
size") and the wall time of each phase. wnlab never forms a d x m basis (that would be
8 m d bytes); the d-vectors are the start x0, its null part, and the final x. With
``--reduced-start`` the start is drawn exactly in law in reduced coordinates (wnlab.sampling) and no
d-vector exists: the memory is the interpreter, A and the m x m factors.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import scipy.sparse

import wnlab


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, default=200)
    ap.add_argument("--d", type=int, default=10_000_000)
    ap.add_argument("--density", type=float, default=1e-4)
    ap.add_argument("--steps", type=int, default=200, help="WN steps (default 200)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reduced-start", action="store_true",
                    help="draw the start x0 ~ N(0, I/d) exactly in law in reduced coordinates (no d-vector at all)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    out = {"m": args.m, "d": args.d, "density": args.density, "peak_MiB_after_import": peak_mib()}

    t = time.perf_counter()
    A = scipy.sparse.random(args.m, args.d, density=args.density, rng=rng, format="csr")
    y = rng.standard_normal(args.m)
    out["t_generate_s"] = time.perf_counter() - t
    out["A_MiB"] = (A.data.nbytes + A.indices.nbytes + A.indptr.nbytes) / 2**20
    out["nnz"] = int(A.nnz)
    out["d_vector_MiB"] = 8 * args.d / 2**20
    out["dense_basis_MiB (never formed)"] = 8 * args.m * args.d / 2**20
    out["peak_MiB_after_generate"] = peak_mib()

    t = time.perf_counter()
    p = wnlab.LeastSquares(A, y)
    out["t_factorise_s"] = time.perf_counter() - t
    t = time.perf_counter()
    if args.reduced_start:
        from wnlab.problems.sampling import gaussian_reduced_starts

        start = gaussian_reduced_starts(p, 1, sigma=1 / np.sqrt(args.d), seed=rng)
        r = wnlab.solve_batch(p, "wn", reduced_starts=start, eta=0.5 / p.lam_max, c=1.0, tol=0.0, max_iter=args.steps)
        out["t_solve_s"] = time.perf_counter() - t
        out.update(n_iter=int(r.n_iter[0]), loss=float(r.loss[0]), x_norm=float(r.x_norm[0]), dist=float(r.dist[0]))
    else:
        x0 = rng.standard_normal(args.d) / np.sqrt(args.d)
        r = wnlab.solve(p, "wn", x0=x0, eta=0.5 / p.lam_max, c=1.0, tol=0.0, max_iter=args.steps, record_every=None)
        out["t_solve_s"] = time.perf_counter() - t
        out.update(n_iter=r.n_iter, loss=r.loss, x_norm=r.x_norm, dist=r.dist,
                   x_check=float(np.linalg.norm(r.x) - r.x_norm))
    out["peak_MiB"] = peak_mib()
    for k, v in out.items():
        print(f"{k:32s} {v:.6g}" if isinstance(v, float) else f"{k:32s} {v}")
    return out


if __name__ == "__main__":
    main()
