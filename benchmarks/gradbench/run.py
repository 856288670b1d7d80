"""Runs GradBench's objectives through transgrad and prints what works.

Every objective's cases (``small`` and the smallest published input; the four mode
combinations of particle and saddle) run in three ways:

- ``numpy``: transgrad's derivative on numpy (``tg.grad``, ``tg.jacobian``, ``tg.jvp`` ...);
- ``jax-jit``: transgrad's ``backend="jax"`` derivative under ``jax.jit``;
- ``reference``: the float64 JAX reference of reference.py (its primal must match the numpy
  objective to 1e-10; its derivative must match central differences on the small cases).

A transgrad derivative is ``ok`` when it matches the reference to 1e-8 (relative to the
largest entry), ``wrong`` otherwise; a ``TransformError`` is reported by its first line and
the line of the user's code it names; any other exception is a ``crash``. Timings are medians
of repeated calls after a first (compiling) call, in milliseconds; ``/obj`` divides by the
numpy objective's time (GradBench's metric), ``/ref`` by the JAX reference's.

    python benchmarks/gradbench/run.py                     # everything (a few minutes)
    python benchmarks/gradbench/run.py --only lse det      # some objectives
    python benchmarks/gradbench/run.py --cases small       # only the small cases
    python benchmarks/gradbench/run.py --modes numpy       # only some modes
    python benchmarks/gradbench/run.py --markdown          # the table as markdown
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

OBJECTIVES = ("lse", "gmm", "kmeans", "llsq", "ode", "lstm", "det", "ba", "ht", "particle",
              "saddle")
MODES = ("numpy", "jax-jit", "reference")
VALUE_TOL = 1e-10
DERIV_TOL = 1e-8
FD_TOL = 1e-6


def load(name):
    import importlib
    return importlib.import_module(name)


def leaves(value):
    """The numbers of a result (arrays, floats, tuples, lists, dicts by key) as one vector."""
    if isinstance(value, dict):
        return np.concatenate([leaves(value[k]) for k in sorted(value)] or [np.zeros(0)])
    if isinstance(value, (tuple, list)) and not all(np.isscalar(v) for v in value):
        return np.concatenate([leaves(v) for v in value] or [np.zeros(0)])
    return np.ravel(np.asarray(value, dtype=np.float64))


def relative_error(got, want):
    got, want = leaves(got), leaves(want)
    if got.shape != want.shape:
        return np.inf
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    return float(np.max(np.abs(got - want))) / scale if want.size else 0.0


def describe(error):
    """One line for an exception: TransformError's message and place, or type: message."""
    import transgrad as tg
    if isinstance(error, tg.TransformError):
        where = ""
        if error.lineno is not None:
            where = f" ({os.path.basename(str(error.filename))}:{error.lineno})"
        return f"TransformError{where}: {error.message.splitlines()[0]}"
    text = str(error).strip().splitlines()
    return f"crash: {type(error).__name__}: {text[0] if text else ''}"


class Timeout(Exception):
    pass


def with_limit(seconds, fn, *args):
    def _alarm(signum, frame):
        raise Timeout(f"took longer than the time limit ({seconds:g} s)")
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(seconds))
    try:
        return fn(*args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def block(value):
    if isinstance(value, dict):
        return {k: block(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(block(v) for v in value)
    if hasattr(value, "block_until_ready"):
        return np.asarray(value.block_until_ready())
    return value


def median_ms(fn, args, budget=0.3, most=25):
    """Median wall time of fn(*args) in ms, after one untimed call."""
    block(fn(*args))
    times = []
    start = time.perf_counter()
    while len(times) < most and (len(times) < 3 or time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        block(fn(*args))
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def jax_args(args):
    import jax.numpy as jnp

    def conv(a):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            return jnp.asarray(a)
        if isinstance(a, dict):
            return {k: conv(v) for k, v in a.items()}
        return a
    return tuple(conv(a) for a in args)


def check_case(name, kind, modes=MODES, fd=None, timing=True, limit=300):
    """Rows for one case: dicts with objective, case, mode, status, ms, ratio, error."""
    import reference
    module = load(name)
    args = module.inputs(kind)
    ref_primal, ref_derivative, ref_jitted = reference.REFERENCES[name]
    rows = []
    want = None
    notes = []

    def row(mode, status, ms=None, ratio=None, error=None, ok=False):
        rows.append({"objective": name, "case": kind, "mode": mode, "status": status,
                     "ms": ms, "ratio": ratio, "error": error, "ok": ok})

    # the reference: value against the numpy objective, derivative against central
    # differences on the small cases
    try:
        want = with_limit(limit, ref_derivative, *args)
        status, ok = "ok", True
        if ref_primal is not None:
            err = relative_error(ref_primal(*args), module.primal(*args))
            if err > VALUE_TOL:
                status, ok = f"wrong value ({err:.1e})", False
        expected = getattr(module, "EXPECTED", None)
        if expected is not None:
            err = relative_error(want, expected)
            if err > 1e-8:
                status, ok = f"wrong: GradBench expects {expected} ({err:.1e})", False
        if fd is None:
            fd = kind == "small"
        if fd and hasattr(module, "fd_derivative"):
            err = relative_error(want, module.fd_derivative(*args))
            notes.append(f"fd {err:.0e}")
            if err > FD_TOL:
                status, ok = f"wrong against central differences ({err:.1e})", False
    except Exception as error:     # noqa: BLE001 - reported in the table
        status, ok = describe(error), False
        traceback.print_exc(file=sys.stderr)

    obj_ms = None
    ref_ms = None
    if timing and module.primal is not None:
        obj_ms = median_ms(module.primal, args)
    if "reference" in modes:
        if timing and ok:
            jitted = ref_jitted()
            if jitted is not None:
                ref_ms = median_ms(jitted, jax_args(args))
            else:
                ref_ms = median_ms(ref_derivative, args)
        row("reference", status, ref_ms, ref_ms / obj_ms if ref_ms and obj_ms else None,
            ok=ok)

    for mode in modes:
        if mode == "reference":
            continue
        if mode == "numpy":
            fn, call_args = module.derivative, args
        else:
            try:
                import jax
                jax.config.update("jax_enable_x64", True)
                fn, call_args = module.derivative_jax(), jax_args(args)
            except Exception as error:     # noqa: BLE001
                row(mode, describe(error), error=error)
                continue
        try:
            got = block(with_limit(limit, fn, *call_args))
        except Exception as error:     # noqa: BLE001 - reported in the table
            row(mode, describe(error), error=error)
            continue
        if want is None:
            row(mode, "unchecked (no reference)")
            continue
        err = relative_error(got, want)
        if err > DERIV_TOL:
            row(mode, f"wrong ({err:.1e} from the reference)")
            continue
        ms = median_ms(fn, call_args) if timing else None
        ratio = None
        if ms is not None:
            ratio = ms / (obj_ms if mode == "numpy" and obj_ms else ref_ms or np.nan)
        row(mode, "ok", ms, ratio, ok=True)
    return rows


def fmt_ms(ms):
    if ms is None:
        return ""
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def table(rows, markdown=False):
    head = ("objective", "case", "mode", "status", "ms", "ratio")
    body = []
    for r in rows:
        ratio = ""
        if r["ratio"] is not None and np.isfinite(r["ratio"]):
            label = {"numpy": "/obj", "jax-jit": "/ref", "reference": "/obj"}[r["mode"]]
            ratio = f"{r['ratio']:.2g}x {label}"
        body.append((r["objective"], r["case"], r["mode"], r["status"], fmt_ms(r["ms"]),
                     ratio))
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |"
                  for line in body]
        return "\n".join(lines)
    widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]
    widths[3] = min(widths[3], 110)
    out = ["  ".join(str(h).ljust(w) for h, w in zip(head, widths))]
    for line in body:
        out.append("  ".join(str(c)[:110].ljust(w) for c, w in zip(line, widths)))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=OBJECTIVES, default=OBJECTIVES)
    parser.add_argument("--cases", nargs="+", default=None,
                        help="case names to run (small, published, rr, ...)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=MODES)
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--limit", type=float, default=300, help="seconds per derivative")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()

    import transgrad
    where = os.path.dirname(os.path.abspath(transgrad.__file__))
    root = os.path.dirname(os.path.dirname(HERE))
    if os.path.dirname(where) == root:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=False).stdout.strip()
        where += f" (this checkout, HEAD {commit}, uncommitted edits included)"
    print(f"transgrad from {where}, numpy {np.__version__}", flush=True)
    rows = []
    for name in args.only:
        module = load(name)
        for kind in module.CASES:
            if args.cases and kind not in args.cases:
                continue
            start = time.perf_counter()
            new = check_case(name, kind, args.modes, timing=not args.no_timing,
                             limit=args.limit)
            rows += new
            print(table(new).split("\n", 1)[1], f"   [{time.perf_counter() - start:.1f} s]",
                  flush=True)
    print()
    print(table(rows, markdown=args.markdown))
    ok = sum(r["ok"] for r in rows)
    print(f"\n{ok} of {len(rows)} rows ok")


if __name__ == "__main__":
    main()
