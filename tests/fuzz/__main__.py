"""The long fuzz run: ``python -m tests.fuzz --count 10000 [--seed S] [--jobs N] [--modes ...]``.

Generates ``--count`` programs (seeds ``S, S+1, ...``), checks each in the chosen modes, prints
a summary table (outcome class by mode, refusals by message, crashes by kind, skips by reason,
time) and writes every failing program, and a shrunk version of the first failures of each
kind, under ``--out`` (default /tmp/tgfuzz). ``--until HH:MM`` (UTC) or ``--max-seconds``
stops early; the summary then says how many programs were checked.
"""

import argparse
import collections
import datetime
import json
import multiprocessing as mp
import os
import sys
import time

from . import check as C
from .gen import ALL_FEATURES, FEATURES, generate

_STATE = {}


def _init(modes, jax_every, features):
    import warnings
    warnings.simplefilter("ignore")
    if any(m.startswith("jax") for m in modes) or jax_every:
        try:
            import jax
            jax.config.update("jax_enable_x64", True)
        except ImportError:  # pragma: no cover
            pass
    _STATE.update(modes=modes, jax_every=jax_every, features=features)


def _work(seed):
    modes, jax_every = _STATE["modes"], _STATE["jax_every"]
    use_jax = jax_every <= 1 or seed % jax_every == 0
    m = tuple(x for x in modes if use_jax or not x.startswith("jax"))
    t = time.time()
    prog = generate(seed, _STATE["features"])
    try:
        r = C.check(prog, modes=m, twin=use_jax)
        if not use_jax and r.outcome == "wrong_derivative":
            # central differences alone can be off where the function bends sharply: a
            # disagreement is judged again against jax.grad of the jax.numpy twin, if any
            judged = C.check(prog, modes=m, twin=True)
            if judged.twin == "yes" or judged.skip:
                r = judged
                if not r.skip:
                    r.twin = "yes (judged a disagreement with the differences)"
    except Exception as e:  # noqa: BLE001 - the checker itself must not stop the run
        return {"seed": seed, "skip": f"checker error: {type(e).__name__}: {e}", "modes": {},
                "twin": "", "features": sorted(prog.features), "outcome": "skipped",
                "time": time.time() - t}
    return {"seed": seed, "skip": r.skip, "twin": r.twin, "outcome": r.outcome,
            "modes": {k: (v.cls, v.detail) for k, v in r.modes.items()},
            "features": sorted(prog.features), "time": time.time() - t}


def summarize(results, modes, elapsed, out=sys.stdout):
    p = lambda *a: print(*a, file=out)  # noqa: E731
    n = len(results)
    p(f"programs checked: {n} in {elapsed:.0f} s ({n / max(elapsed, 1e-9):.2f} programs/s)")
    prog = collections.Counter(r["outcome"] for r in results)
    p("programs by worst outcome: " + ", ".join(f"{c} {prog.get(c, 0)}" for c in C.CLASSES))
    table = collections.Counter()
    for r in results:
        for m, (cls, _) in r["modes"].items():
            table[m, cls] += 1
    w = 16
    p("")
    p("class".ljust(w) + "".join(m.rjust(15) for m in modes))
    for cls in C.CLASSES:
        p(cls.ljust(w) + "".join(str(table.get((m, cls), 0)).rjust(15) for m in modes))
    p("checked".ljust(w) + "".join(
        str(sum(table.get((m, c), 0) for c in C.CLASSES)).rjust(15) for m in modes))
    skips = collections.Counter(r["skip"][:60] for r in results if r["skip"])
    mode_skips = collections.Counter(d[:60] for r in results for c, d in r["modes"].values()
                                     if c == "skipped")
    if skips or mode_skips:
        p("\nskipped programs / modes, by reason:")
        for k, v in (skips + mode_skips).most_common():
            p(f"  {v:6d}  {k}")
    twins = collections.Counter(r["twin"] or "not tried" for r in results)
    p("\njax.numpy twin used as reference: " + ", ".join(f"{k} {v}" for k, v in
                                                         twins.most_common()))
    for cls, title in (("refusal", "refusals (TransformError) by message"),
                       ("crash", "crashes by exception and place"),
                       ("wrong_derivative", "wrong derivatives by mode"),
                       ("wrong_value", "wrong values by mode")):
        c = collections.Counter()
        for r in results:
            for m, (k, d) in r["modes"].items():
                if k == cls:
                    c[d[:110] if cls in ("refusal", "crash") else m] += 1
        if c:
            p(f"\n{title}:")
            for k, v in c.most_common(25):
                p(f"  {v:6d}  {k}")
    feats = collections.Counter()
    uses = collections.Counter()
    for r in results:
        for f in r["features"]:
            uses[f] += 1
            if r["outcome"] in C.FAILURES:
                feats[f] += 1
    if feats:
        p("\nfailing programs per feature (of programs using it):")
        for f, v in sorted(feats.items(), key=lambda kv: -kv[1] / uses[kv[0]])[:15]:
            p(f"  {f:14s} {v:5d} / {uses[f]}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--modes", default=",".join(C.MODES),
                    help="comma-separated, of " + ",".join(C.MODES))
    ap.add_argument("--jax-every", type=int, default=1,
                    help="run the jax modes and the jax.numpy twin on one seed in K")
    ap.add_argument("--disable", default="",
                    help="comma-separated generator features to switch off, of: "
                    + ",".join(sorted(FEATURES)))
    ap.add_argument("--out", default="/tmp/tgfuzz")
    ap.add_argument("--shrink", type=int, default=8,
                    help="shrink at most this many failures (distinct kinds first)")
    ap.add_argument("--shrink-seconds", type=float, default=120.0)
    ap.add_argument("--save-regressions", action="store_true",
                    help="also write shrunk programs to tests/fuzz/regressions/")
    ap.add_argument("--until", help="stop starting programs at this UTC time, HH:MM")
    ap.add_argument("--max-seconds", type=float)
    a = ap.parse_args(argv)
    modes = tuple(m for m in a.modes.split(",") if m)
    bad = [m for m in modes if m not in C.MODES]
    if bad:
        ap.error(f"unknown modes {bad}")
    off = {f for f in a.disable.split(",") if f}
    if off - set(FEATURES):
        ap.error(f"unknown features {sorted(off - set(FEATURES))}")
    features = ALL_FEATURES - off
    deadline = None
    if a.max_seconds:
        deadline = time.time() + a.max_seconds
    if a.until:
        now = datetime.datetime.now(datetime.timezone.utc)
        hh, mm = map(int, a.until.split(":"))
        end = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        deadline = min(deadline or 1e18, end.timestamp())
    os.makedirs(os.path.join(a.out, "failures"), exist_ok=True)
    seeds = range(a.seed, a.seed + a.count)
    results = []
    start = time.time()
    print(f"fuzzing {a.count} programs from seed {a.seed}, modes {','.join(modes)}, "
          f"jobs {a.jobs}, jax every {a.jax_every}" + (f", features off: {sorted(off)}"
                                                      if off else ""), flush=True)
    log = open(os.path.join(a.out, "results.jsonl"), "w")
    stopped = False
    if a.jobs > 1:
        pool = mp.get_context("fork").Pool(a.jobs, _init, (modes, a.jax_every, features),
                                           maxtasksperchild=500)
        it = pool.imap(_work, seeds, chunksize=1)
    else:
        _init(modes, a.jax_every, features)
        pool = None
        it = map(_work, seeds)
    for r in it:
        results.append(r)
        log.write(json.dumps(r) + "\n")
        if r["outcome"] in C.FAILURES:
            _write_failure(a.out, r, features)
        if len(results) % 100 == 0:
            el = time.time() - start
            print(f"  {len(results)} programs, {el:.0f} s, failures so far "
                  f"{sum(x['outcome'] in C.FAILURES for x in results)}", flush=True)
            log.flush()
        if deadline and time.time() > deadline:
            stopped = True
            break
    if pool:
        pool.terminate()
    log.close()
    elapsed = time.time() - start
    if stopped:
        print(f"stopped at the time limit after {len(results)} of {a.count} programs")
    with open(os.path.join(a.out, "summary.txt"), "w") as fh:
        summarize(results, modes, elapsed, fh)
    summarize(results, modes, elapsed)
    if a.shrink:
        _shrink_some(a, results, features)
    print(f"\nresults: {a.out}/results.jsonl, summary: {a.out}/summary.txt, "
          f"failures: {a.out}/failures/")
    return 0


def _write_failure(out, r, features):
    prog = generate(r["seed"], features)
    bad = {m: v for m, v in r["modes"].items() if v[0] in C.FAILURES}
    path = os.path.join(out, "failures", f"seed{r['seed']}.py")
    with open(path, "w") as fh:
        for m, (cls, d) in bad.items():
            fh.write(f"# {m}: {cls}: {d[:200]}\n")
        fh.write(f"# args: {json.dumps(prog.args)}\n# seed: {r['seed']}\n")
        fh.write(prog.source)


def _shrink_some(a, results, features):
    from .shrink import save_regression, shrink
    _init((), 1, features)
    seen = set()
    todo = []
    for r in results:
        for m, (cls, d) in r["modes"].items():
            if cls not in C.FAILURES:
                continue
            kind = (cls, d.split(":")[0] if cls == "crash" else m)
            if kind not in seen and r["seed"] not in seen:
                seen.update([kind, r["seed"]])     # one shrink per seed: its first failing mode
                todo.append((r["seed"], m))
    if not todo:
        return
    print(f"\nshrinking {min(len(todo), a.shrink)} of {len(todo)} distinct failure kinds")
    for seed, mode in todo[:a.shrink]:
        prog = generate(seed, features)
        res = C.check(prog, modes=(mode,))
        mr = res.modes.get(mode)
        if mr is None or mr.cls not in C.FAILURES:
            print(f"  seed {seed} {mode}: no longer fails")
            continue
        small = shrink(prog.source, prog.args, seed, mode, mr, budget_s=a.shrink_seconds)
        directory = None if a.save_regressions else os.path.join(a.out, "shrunk")
        kw = {"directory": directory} if directory else {}
        path = save_regression(small, prog.args, seed, mode, mr, **kw)
        print(f"  seed {seed} {mode} {mr.cls}: {mr.detail[:80]}\n    -> {path}")


if __name__ == "__main__":
    sys.exit(main())
