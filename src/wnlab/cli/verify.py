"""``wnlab verify``: check every lemma and theorem of the paper on generated problems."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("verify", help="check every lemma and theorem of the paper on numbers",
                       description="Run each statement of the paper (Lemmas 2.2-2.5, Theorems 2.6, 2.7, 3.2, "
                                   "Proposition 3.3, the worked example, the invariant for logistic loss, and the "
                                   "exact reduction of every registered method, batch normalization's frozen w_null "
                                   "and its limit) "
                                   "on generated problems and print "
                                   "prediction, measurement, what it is compared against (closed form, independent "
                                   "integration, full-dimensional run, PyTorch or measured), relative gap and "
                                   "pass/fail. Exit code 1 if anything fails.")
    p.add_argument("--only", nargs="+", metavar="CHECK",
                   help="run only these checks (names of the 'check' column: lemma2.2 lemma2.3 lemma2.4 "
                        "lemma2.5 thm2.6-I example thm2.6-closer thm2.6-II thm2.7 thm3.2 prop3.3 beyond reduction "
                        "bn-null bn-limit adaptive-limit thm2.6-suff thm2.6-S lemma2.4-rate sec3 figure2 "
                        "weight-decay uniform-margin)")
    p.add_argument("--full", action="store_true",
                   help="also run the slow checks (thm2.6-suff: many random starts; thm2.6-S: a bisection)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random starts (default 0)")
    p.add_argument("--json", metavar="FILE", help="write the rows as JSON here")
    p.add_argument("--markdown", metavar="FILE", help="write the table as markdown here")
    p.add_argument("--failures-only", action="store_true", help="print only the rows that fail")
    p.set_defaults(func=run)


def run(args) -> int:
    import time

    from .. import __version__
    from ..io.progress import bar as progress_bar
    from ..io.progress import stage
    from ..problems.linear import as_generator
    from ..theory.verify import CHECKS, SLOW_CHECKS, VerifyConfig, format_table, run_checks, to_markdown
    from .args import check_out, write_json

    check_out(args.json, args.markdown)
    as_generator(args.seed)  # validates the seed
    start = time.perf_counter()
    names = args.only or [n for n in CHECKS if args.full or n not in SLOW_CHECKS]
    bar = progress_bar(len(names), desc="verify", unit="check")

    def done(name):
        bar.update(1)
        stage(f"verify: {name} done ({time.perf_counter() - start:.1f} s)")

    try:
        rows = run_checks(names, VerifyConfig(seed=args.seed), progress=done)
    finally:
        bar.close()
    elapsed = time.perf_counter() - start
    n_fail = sum(r["passed"] is False for r in rows)
    n_open = sum(r["passed"] is None for r in rows)  # measured rows without a verdict
    shown = [r for r in rows if r["passed"] is False] if args.failures_only else rows
    print(format_table(shown))
    print(f"\n{len(rows) - n_fail - n_open}/{len(rows) - n_open} statements hold ({n_fail} failed; "
          f"{n_open} measured without a verdict) in {elapsed:.1f} s")
    write_json(args.json, {"wnlab_version": __version__, "seed": args.seed, "elapsed_s": elapsed,
                           "n_rows": len(rows), "n_failed": n_fail, "n_no_verdict": n_open, "rows": rows})
    if args.markdown:
        from ..io.tables import atomic_write_text

        atomic_write_text(args.markdown, to_markdown(rows))
    return 1 if n_fail else 0
