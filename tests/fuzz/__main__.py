"""The long fuzz run: ``python -m tests.fuzz --count 10000 [--seed S] [--jobs N] [--modes ...]``.

Generates ``--count`` programs (seeds ``S, S+1, ...``), checks each in the chosen modes, prints
a summary table (outcome class by mode, refusals by message, crashes by kind, skips by reason,
time) and writes every failing program, and a shrunk version of the first failures of each
kind, under ``--out`` (default /tmp/tgfuzz). ``--until HH:MM`` (UTC) or ``--max-seconds``
stops early; the summary then says how many programs were checked.

Programs run in worker processes (``--jobs`` of them, one at least), never in the runner: a
worker that dies (XLA aborts the process on a fatal check) or stops answering
(``--hang-seconds``) is replaced, and its program is recorded as a crash whose detail begins
"fatal:", with the mode it was in; fatal programs are written under ``failures/`` but not
shrunk (the shrinker runs in-process).
"""

import argparse
import collections
import datetime
import json
import multiprocessing as mp
import os
import signal
import sys
import time
from multiprocessing.connection import wait

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


# -- worker processes ----------------------------------------------------------------------------
RECYCLE = 500           # programs a worker checks before a fresh one replaces it (memory)
_DONE = object()
# for tests: "SEED:MODE:abort,SEED:MODE:hang": the worker checking SEED calls os.abort() (as
# XLA's fatal checks do) or sleeps, when MODE is about to run
TEST_HOOK_ENV = "TGFUZZ_TEST_HOOK"


def _serve(conn, init_args):
    """A worker: checks the seeds it is sent, one at a time, until it is sent None; reports
    each mode before it runs (``("mode", m)``) and each result (``("done", r)``)."""
    _init(*init_args)
    hooks = dict(h.rsplit(":", 1) for h in os.environ.get(TEST_HOOK_ENV, "").split(",") if h)
    current = [None]

    def report(mode):
        conn.send(("mode", mode))
        action = hooks.get(f"{current[0]}:{mode}")
        if action == "abort":
            os.abort()
        elif action == "hang":
            time.sleep(3600)
    C.MODE_HOOK = report
    while True:
        seed = conn.recv()
        if seed is None:
            break
        current[0] = seed
        conn.send(("done", _work(seed)))
    conn.close()


class _Worker:
    def __init__(self, ctx, init_args):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, init_args), daemon=True)
        self.proc.start()
        child.close()
        self.seed = self.mode = None
        self.started = 0.0
        self.checked = 0
        self.overdue = False

    def give(self, seed):
        self.seed, self.mode, self.started = seed, None, time.time()
        self.conn.send(seed)


def _fatal(seed, mode, why, features, started):
    """The record of a program whose worker process died while checking it."""
    where = f" in mode {mode}" if mode else " before its first mode"
    return {"seed": seed, "skip": "", "twin": "", "outcome": "crash", "fatal": True,
            "modes": {mode or "unknown": ("crash", f"fatal: the worker process {why}{where}")},
            "features": sorted(generate(seed, features).features),
            "time": time.time() - started}


def _why(worker, hang_s):
    if worker.overdue:
        return f"gave no answer in {hang_s:.0f} s and was killed"
    code = worker.proc.exitcode
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def run_workers(seeds, jobs, init_args, features, hang_s=None, recycle=RECYCLE):
    """Check ``seeds`` in ``jobs`` worker processes; yields each program's record as it comes
    (not in seed order). A worker that dies is replaced and its program yields a fatal
    record; so does one that answers nothing for ``hang_s`` seconds (it is killed)."""
    ctx = mp.get_context("fork")
    todo = iter(seeds)
    workers = {}        # sentinel -> _Worker

    def start(seed):
        w = _Worker(ctx, init_args)
        w.give(seed)
        workers[w.proc.sentinel] = w

    for _ in range(max(1, jobs)):
        seed = next(todo, _DONE)
        if seed is _DONE:
            break
        start(seed)
    try:
        while workers:
            conns = {w.conn: w for w in workers.values()}
            for ready in wait(list(conns) + list(workers), timeout=5.0):
                w = conns.get(ready)
                if w is None:
                    continue
                try:
                    kind, value = w.conn.recv()
                except (EOFError, OSError):
                    continue        # the worker died: its sentinel says so below
                if kind == "mode":
                    w.mode = value
                    continue
                w.seed = None
                w.checked += 1
                yield value
                seed = next(todo, _DONE)
                if seed is _DONE or w.checked >= recycle:
                    w.conn.send(None)   # it exits; a fresh worker takes the next seed
                    if seed is not _DONE:
                        start(seed)
                else:
                    w.give(seed)
            for sentinel, w in list(workers.items()):
                if w.seed is not None and hang_s and not w.overdue \
                        and time.time() - w.started > hang_s:
                    w.overdue = True
                    w.proc.kill()
                if w.proc.is_alive():
                    continue
                w.proc.join()
                while w.seed is not None and _poll(w.conn):   # a last mode report
                    try:
                        kind, value = w.conn.recv()
                    except (EOFError, OSError):
                        break
                    if kind == "mode":
                        w.mode = value
                del workers[sentinel]
                w.conn.close()
                if w.seed is not None:
                    yield _fatal(w.seed, w.mode, _why(w, hang_s), features, w.started)
                    seed = next(todo, _DONE)
                    if seed is not _DONE:
                        start(seed)
    finally:
        for w in workers.values():
            w.proc.kill()
            w.proc.join()


def _poll(conn):
    try:
        return conn.poll()
    except (EOFError, OSError):
        return False


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
    ap.add_argument("--hang-seconds", type=float, default=20 * C.MODE_TIMEOUT,
                    help="kill a worker whose program takes longer (recorded as fatal)")
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
    it = run_workers(seeds, a.jobs, (modes, a.jax_every, features), features,
                     hang_s=a.hang_seconds)
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
    it.close()      # stops the workers still running (at the time limit)
    log.close()
    results.sort(key=lambda r: r["seed"])
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
    fatal = sorted(r["seed"] for r in results if r.get("fatal"))
    if fatal:
        print(f"\nnot shrunk (a fatal crash would kill the shrinker's process too): seeds "
              f"{fatal}; see {a.out}/failures/")
    for r in results:
        if r.get("fatal"):
            continue
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
