"""Benchmark transgrad's JAX backend against ``jax.grad`` on the same functions.

For each workload the same numpy-style source is differentiated two ways and jitted:

* ``jax.jit(jax.grad(f))`` with ``f`` re-bound onto ``jax.numpy`` (JAX traces it, unrolling
  Python loops);
* ``jax.jit(tg.grad(f, backend="jax"))``: transgrad's generated gradient on ``jax.numpy``, its
  loops lowered to ``jax.lax.scan`` (and, for loop workloads, ``loops="unroll"`` too).

"compile" is the first call (tracing, transgrad's build and XLA's compile), timed once per
implementation in a fresh process state (``jax.clear_caches()``); "run" is the median time of a
compiled call, sampled round-robin so machine noise hits all implementations alike; the ratio
is the median of per-round ratios to ``jax.jit(jax.grad(f))``. Targets (issue 5): run time within
1.1x of JAX, and faster to compile on every loop workload.

Workloads (float64): ``relu2`` (64x1000 -> 100 -> 10), ``mlp_small`` (batch 16, 32-32-32-1),
``mlp_large`` (batch 256, 512-512-512-10), ``rnn50`` (50 tanh steps, batch 8, input 16,
hidden 32), ``recur1000`` (1000 steps of a scalar recurrence), ``chain1e6`` (an elementwise
chain over 10^6 elements).

Run ``python benchmarks/bench_jax.py`` (about a minute) or ``--quick``.
"""

import os
import sys

from threads import THREADS  # pins the thread pools: must come before numpy loads

if THREADS == 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen"
                               "=false intra_op_parallelism_threads=1").strip()

import argparse
import itertools
import statistics
import time
import types

import jax
import jax.numpy as jnp
import numpy as np

import transgrad as tg
import transgrad.api

jax.config.update("jax_enable_x64", True)
TARGET_RUN = 1.1


def relu2(w1, w2, x, y):
    h = np.maximum(x @ w1, 0.0)
    out = h @ w2
    return np.sum((out - y) ** 2)


def mlp(w1, b1, w2, b2, w3, b3, x, y):
    h1 = np.tanh(x @ w1 + b1)
    h2 = np.tanh(h1 @ w2 + b2)
    out = h2 @ w3 + b3
    return np.mean((out - y) ** 2)


def rnn(wx, wh, b, xs, h):
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ wx + h @ wh + b)
        loss = loss + np.sum(h ** 2)
    return loss


def recurrence(a, x):
    for i in range(1000):
        x = a * np.sin(x) + 0.1 * x
    return x


def chain(x):
    y = np.sin(x) * np.exp(-0.5 * x)
    z = np.tanh(y * 3.0 + x)
    return np.sum(z ** 2 + np.sqrt(1.0 + y ** 2))


def _mlp_args(rng, batch, sizes):
    args = []
    for n_in, n_out in itertools.pairwise(sizes):
        args += [rng.normal(size=(n_in, n_out)) / np.sqrt(n_in), rng.normal(size=n_out) * 0.1]
    return (*args, rng.normal(size=(batch, sizes[0])), rng.normal(size=(batch, sizes[-1])))


WORKLOADS = {
    "relu2": (relu2, (0, 1), lambda r: (r.normal(size=(1000, 100)) * 0.03,
                                        r.normal(size=(100, 10)) * 0.1,
                                        r.normal(size=(64, 1000)), r.normal(size=(64, 10))),
              False),
    "mlp_small": (mlp, (0, 1, 2, 3, 4, 5), lambda r: _mlp_args(r, 16, (32, 32, 32, 1)), False),
    "mlp_large": (mlp, (0, 1, 2, 3, 4, 5), lambda r: _mlp_args(r, 256, (512, 512, 512, 10)),
                  False),
    "rnn50": (rnn, (0, 1, 2), lambda r: (r.normal(size=(16, 32)) * 0.2,
                                         r.normal(size=(32, 32)) * 0.2, r.normal(size=32) * 0.1,
                                         r.normal(size=(50, 8, 16)), np.zeros((8, 32))), True),
    "recur1000": (recurrence, (0, 1), lambda r: (0.9, 0.3), True),
    "chain1e6": (chain, 0, lambda r: (r.normal(size=1_000_000),), False),
}


def on_jax_numpy(func):
    """``func`` with its global ``np`` bound to ``jax.numpy``."""
    scope = dict(func.__globals__, np=jnp)
    return types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__)


def _block(value):
    return jax.tree_util.tree_map(lambda a: a.block_until_ready(), value)


def implementations(name):
    func, wrt, make, loops = WORKLOADS[name]
    impls = {"jax.jit(jax.grad)": lambda: jax.jit(jax.grad(on_jax_numpy(func), argnums=wrt)),
             "transgrad scan": lambda: jax.jit(tg.grad(func, wrt=wrt, backend="jax"))}
    if loops:
        impls["transgrad unroll"] = lambda: jax.jit(tg.grad(func, wrt=wrt, backend="jax",
                                                            loops="unroll"))
    return impls, make


def run_workload(name, rounds, sample_s):
    impls, make = implementations(name)
    args = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a
                 for a in make(np.random.default_rng(0)))
    compiled, compile_s, results = {}, {}, {}
    for label, factory in impls.items():
        jax.clear_caches()
        transgrad.api.clear_cache()
        start = time.perf_counter()
        fn = factory()
        results[label] = _block(fn(*args))
        compile_s[label] = time.perf_counter() - start
        compiled[label] = fn
    reference = results["jax.jit(jax.grad)"]
    for label, value in results.items():   # every implementation computes the same gradient
        for got, want in zip(jax.tree_util.tree_leaves(value),
                             jax.tree_util.tree_leaves(reference)):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-8, atol=1e-10,
                                       err_msg=f"{name}: {label}")
    calls = {}
    for label, fn in compiled.items():
        _block(fn(*args))   # compiled again if a later clear_caches() dropped it
        start = time.perf_counter()
        for _ in range(10):   # calls per sample, from ten timed calls
            out = fn(*args)
        _block(out)
        per_call = (time.perf_counter() - start) / 10
        calls[label] = max(1, int(sample_s / max(per_call, 1e-7)))
    samples = {label: [] for label in compiled}
    labels = list(compiled)
    for r in range(rounds):
        for label in labels[r % len(labels):] + labels[:r % len(labels)]:
            fn, n = compiled[label], calls[label]
            start = time.perf_counter()
            for _ in range(n):
                out = fn(*args)
            _block(out)
            samples[label].append((time.perf_counter() - start) / n)
    base = samples["jax.jit(jax.grad)"]
    rows = []
    for label in labels:
        ratios = [a / b for a, b in zip(samples[label], base)]
        rows.append((label, compile_s[label], statistics.median(samples[label]),
                     statistics.median(ratios)))
    return rows


def _fmt_time(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} us"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few samples: a smoke test")
    parser.add_argument("--only", action="append", choices=sorted(WORKLOADS),
                        help="run this workload (repeatable)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/XLA threads (default 1)")
    options = parser.parse_args()
    rounds, sample_s = (3, 0.02) if options.quick else (15, 0.1)
    print(f"JAX {jax.__version__} on {jax.devices()[0].platform} ({jax.devices()[0]}), "
          f"transgrad {tg.__version__}, float64, {options.threads} thread(s)")
    print(f"{'workload':<11} {'implementation':<19} {'compile':>9} {'run':>10} {'vs jax':>7}  "
          "target")
    for name in options.only or WORKLOADS:
        rows = run_workload(name, rounds, sample_s)
        jax_compile = rows[0][1]
        loops = WORKLOADS[name][3]
        for label, compile_s, run_s, ratio in rows:
            if label.startswith("jax"):
                verdict = ""
            else:
                ok_run = ratio <= TARGET_RUN
                ok_compile = not loops or compile_s < jax_compile
                verdict = ("run ok" if ok_run else f"run > {TARGET_RUN}x") + (
                    "" if not loops else ", compile " + ("faster" if ok_compile else "SLOWER"))
            print(f"{name:<11} {label:<19} {_fmt_time(compile_s):>9} {_fmt_time(run_s):>10} "
                  f"{ratio:>6.2f}x  {verdict}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
