"""GradBench's metric for transgrad and four other ways of differentiating the same objectives.

For every objective of this folder on GradBench's smallest published input and the small case
(particle and saddle: their four mode combinations), in one process and on the same inputs:

- ``transgrad``: transgrad's derivative on numpy, built once (each module's ``prepare``, as a
  GradBench tool builds its derivative before the timed runs);
- ``transgrad-jax``: the same derivative with ``backend="jax"`` under ``jax.jit``
  (each module's ``derivative_jax``);
- ``jax``: ``jax.jit`` of ``jax.grad`` (or jacrev / jvp) of GradBench's JAX objective,
  reference.py;
- ``pytorch``: PyTorch eager on the PyTorch version of the objective, the derivative taken as
  GradBench's PyTorch tool takes it (other_tools.py);
- ``autograd``: HIPS autograd on our numpy objective (other_tools.py).

Each derivative is checked against the JAX reference (1e-8 relative to the largest entry; for
particle and saddle against GradBench's answer) before it is timed. A cell is the least and
the median (``med``) of repeated calls after a first call, in ms; on a shared machine the
median carries the scheduler's stalls (calls of 2 ms measured at 200 ms), so ratios and
targets use the least times. A ratio is the derivative's time over the numpy objective's
(GradBench's metric; every tool is divided by the same numpy objective, so the ratios
compare). A derivative that fails is reported with the first line of its error.

    python benchmarks/gradbench/speed.py                          # everything (~15 min)
    python benchmarks/gradbench/speed.py --only lse gmm --cases published
    python benchmarks/gradbench/speed.py --tools transgrad pytorch --markdown
"""
import argparse
import json
import os
import statistics
import sys
import time
import traceback

# One thread for every library, set before they load, as GradBench runs its tools (its JAX
# tool pins itself to one core; see main's --cpu): on a shared machine, a thread pool's
# workers wait for cores and turn microseconds into milliseconds.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import run  # this folder's run.py: inputs, checks, error lines

TOOLS = ("transgrad", "transgrad-jax", "jax", "pytorch", "autograd")
LABELS = {"transgrad": "transgrad numpy", "transgrad-jax": "transgrad JAX (jit)",
          "jax": "jax.jit(jax.grad)", "pytorch": "PyTorch eager", "autograd": "HIPS autograd"}
TOL = 1e-8
# the targets: numpy gradient / numpy objective (hvp-based kmeans: 4x); JAX backend
# over jax.jit(jax.grad)
RATIO_TARGET = {"kmeans": 4.0}
JAX_TARGET = 1.2


def timings(fn, budget, most=60):
    """(seconds of the first call, median ms and least ms of the calls after it)."""
    start = time.perf_counter()
    run.block(fn())
    first = time.perf_counter() - start
    least = 3 if first < 2.0 else 1
    times = []
    start = time.perf_counter()
    while len(times) < most and (len(times) < least or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        run.block(fn())
        times.append(time.perf_counter() - t0)
    return first, 1000 * statistics.median(times), 1000 * min(times)


def build(tool, name, module, args):
    """(derivative, own primal or None): zero-argument callables for ``tool``."""
    if tool == "transgrad":
        return module.prepare(*args), None
    if tool == "transgrad-jax":
        import jax
        jax.config.update("jax_enable_x64", True)
        fn, jargs = module.derivative_jax(), run.jax_args(args)
        return (lambda: fn(*jargs)), None
    if tool == "jax":
        import reference
        _, derivative, jitted = reference.REFERENCES[name]
        compiled = jitted()
        if compiled is None:    # particle and saddle: their solver is jitted inside
            return (lambda: derivative(*args)), None
        jargs = run.jax_args(args)
        return (lambda: compiled(*jargs)), None
    import other_tools
    return other_tools.prepare(tool, name, args)


def measure_case(name, kind, tools=TOOLS, budget=0.5, limit=300):
    """One row: a dict with objective, case, obj_ms, and per tool a cell dict
    (status, ms, first_s, ratio, own_ms)."""
    import reference
    module = run.load(name)
    args = module.inputs(kind)
    row = {"objective": name, "case": kind, "obj_ms": None, "obj_min": None, "cells": {}}
    expected = getattr(module, "EXPECTED", None)
    if expected is not None:
        want = expected
    else:
        want = run.with_limit(limit, reference.REFERENCES[name][1], *args)
    if module.primal is not None:
        row["obj_ms"], row["obj_min"] = timings(lambda: module.primal(*args), budget)[1:]
    for tool in tools:
        cell = {"status": "ok", "ms": None, "min": None, "first_s": None, "ratio": None,
                "own_ms": None}
        row["cells"][tool] = cell
        try:
            fn, primal = build(tool, name, module, args)
            got = run.block(run.with_limit(limit, fn))
            err = run.relative_error(got, want)
            if err > TOL:
                cell["status"] = f"wrong ({err:.1e} from the reference)"
                continue
            cell["first_s"], cell["ms"], cell["min"] = run.with_limit(limit, timings, fn,
                                                                     budget)
            if row["obj_min"]:
                cell["ratio"] = cell["min"] / row["obj_min"]
            if primal is not None:
                cell["own_ms"] = timings(primal, budget)[2]
        except Exception as error:     # noqa: BLE001 - reported in the table
            cell["status"] = run.describe(error)
            traceback.print_exc(file=sys.stderr)
    return row


def fmt_cell(cell):
    if cell is None:
        return ""
    if cell["status"] != "ok":
        return "fails"
    text = run.fmt_ms(cell["min"]) + " ms"
    if cell["ratio"] is not None:
        text += f" ({cell['ratio']:.2g}x)"
    return text + f" med {run.fmt_ms(cell['ms'])}"


def targets(row):
    """The issue's three targets for one row: (name, met?, text) where they apply."""
    out = []
    cells = row["cells"]
    tg_cell = cells.get("transgrad")
    if tg_cell and tg_cell["status"] == "ok" and tg_cell["ratio"] is not None:
        bound = RATIO_TARGET.get(row["objective"], 3.0)
        out.append((f"numpy <= {bound:g}x objective", tg_cell["ratio"] <= bound,
                    f"{tg_cell['ratio']:.2g}x"))
    torch_cell = cells.get("pytorch")
    if tg_cell and torch_cell and tg_cell["status"] == torch_cell["status"] == "ok":
        speedup = torch_cell["min"] / tg_cell["min"]
        out.append(("numpy faster than PyTorch", speedup > 1.0,
                    f"PyTorch / transgrad = {speedup:.2g}"))
    jax_cell, ref_cell = cells.get("transgrad-jax"), cells.get("jax")
    if jax_cell and ref_cell and jax_cell["status"] == ref_cell["status"] == "ok":
        ratio = jax_cell["min"] / ref_cell["min"]
        out.append((f"JAX backend <= {JAX_TARGET}x jax.jit(jax.grad)", ratio <= JAX_TARGET,
                    f"{ratio:.2g}x"))
    return out


def report(rows, tools, markdown=False):
    head = ["objective", "case", "numpy objective"] + [LABELS[t] for t in tools]
    if "pytorch" in tools:
        head.append("PyTorch objective")
    body = []
    for row in rows:
        line = [row["objective"], row["case"],
                f"{run.fmt_ms(row['obj_min'])} ms med {run.fmt_ms(row['obj_ms'])}"
                if row["obj_ms"] else "-"]
        line += [fmt_cell(row["cells"].get(t)) for t in tools]
        if "pytorch" in tools:
            own = row["cells"]["pytorch"]["own_ms"]
            line.append(run.fmt_ms(own) + " ms" if own else "")
        body.append(line)
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(line) + " |" for line in body]
    else:
        widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in [head] + body]
    lines.append("")
    lines.append("Failures (first line of the error):")
    for row in rows:
        for tool in tools:
            cell = row["cells"].get(tool)
            if cell and cell["status"] != "ok":
                lines.append(f"- {row['objective']} {row['case']} {LABELS[tool]}: "
                             f"{cell['status']}")
    lines.append("")
    lines.append("Targets:")
    met = total = 0
    for row in rows:
        for what, ok, text in targets(row):
            total += 1
            met += ok
            lines.append(f"- {row['objective']} {row['case']}: {what}: "
                         f"{'met' if ok else 'NOT met'} ({text})")
    lines.append(f"{met} of {total} target checks met")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=run.OBJECTIVES, default=run.OBJECTIVES)
    parser.add_argument("--cases", nargs="+", default=None,
                        help="case names (small, published, rr, fr, rf, ff)")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=TOOLS)
    parser.add_argument("--budget", type=float, default=0.5,
                        help="seconds of repeated calls per timing (at least 3 calls)")
    parser.add_argument("--limit", type=float, default=300, help="seconds per first call")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--cpu", type=int, default=None,
                        help="run on this one core (default: the first this process may use; "
                             "-1: do not pin)")
    parser.add_argument("--from-json", nargs="+", metavar="FILE",
                        help="print the report of rows saved by --json (no runs)")
    args = parser.parse_args()
    if args.from_json:
        rows = []
        for path in args.from_json:
            with open(path) as handle:
                rows += json.load(handle)
        tools = [t for t in TOOLS if any(t in row["cells"] for row in rows)]
        print(report(rows, tools, markdown=args.markdown))
        return
    if args.cpu != -1 and hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {allowed[0] if args.cpu is None else args.cpu})

    import transgrad
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"transgrad from {os.path.dirname(transgrad.__file__)}, numpy {np.__version__}, "
          f"on cores {cores}, load average {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    for name in args.only:
        module = run.load(name)
        for kind in module.CASES:
            if args.cases and kind not in args.cases:
                continue
            start = time.perf_counter()
            row = measure_case(name, kind, args.tools, args.budget, args.limit)
            rows.append(row)
            print(report([row], args.tools).split("\n")[1],
                  f"   [{time.perf_counter() - start:.1f} s]", flush=True)
            if args.json:   # after every row: a long run stopped early keeps what it measured
                with open(args.json, "w") as handle:
                    json.dump(rows, handle, indent=1)
    print()
    print(report(rows, args.tools, markdown=args.markdown))


if __name__ == "__main__":
    main()
