"""Benchmark the eager Tensor (``transgrad.torch``) against PyTorch eager on the CPU.

Workloads, each run unchanged on both namespaces:

1. ``chain50``: 50 elementwise operations (a cycle of ``* c``, ``+ c``, ``sin``, ``- c``,
   ``tanh``, ``* y``, ``sigmoid``, ``/ c``, ``cos``, ``exp``) on 100-element float32 tensors,
   then ``.sum().backward()``: the per-operation overhead of recording and of backward.
   Target: no slower than PyTorch.
2. ``relu2``: one training step of ``examples/two_layer_relu.py`` (N=64, D_in=1000, H=100,
   D_out=10, float32, the custom ``MyReLU`` Function): forward, ``loss.item()``, backward, the
   update under ``no_grad`` and ``grad.zero_()``. Target: within 1.2x of PyTorch. A numpy
   step written by hand with the same arithmetic (including accumulating into and zeroing the
   gradient buffers) is timed too, as the floor that numpy's BLAS allows.

Timing is round-robin (the starting implementation rotates each round) so machine noise hits
all alike; each sample times a batch of calls; the table gives the median time per call and
the median of the per-round ratios to PyTorch.

Run ``python benchmarks/bench_tensor.py`` (about 20 s) or ``--quick``. ``--threads N`` (default
1) sets the BLAS/OpenMP thread counts of numpy and PyTorch before they load; with more than
one thread the idle library's spinning threads would steal the cores from the busy one, so each
implementation then runs in a process of its own, one after the other, and the ratio is the
ratio of the medians.
"""

import os
import sys

from threads import THREADS  # pins the thread pools: must come before numpy loads

# isort: split

import argparse
import json
import pathlib
import platform
import statistics
import subprocess
import time
import types

import numpy as np

import transgrad.torch as tt

try:
    import torch
    if THREADS > 0:
        torch.set_num_threads(THREADS)
except ImportError:  # pragma: no cover - torch is a bench dependency
    torch = None

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "two_layer_relu.py"


# ---- workloads ------------------------------------------------------------------------------


def chain50(ns):
    """A closure running 50 elementwise operations and backward on 100-element tensors."""
    rng = np.random.default_rng(0)
    x = ns.from_numpy(rng.uniform(-1, 1, 100).astype(np.float32)).requires_grad_(True)
    y = ns.from_numpy(rng.uniform(0.5, 1.5, 100).astype(np.float32))

    def run():
        z = x
        for _ in range(5):
            z = z * 1.01
            z = z + 0.1
            z = z.sin()
            z = z - 0.05
            z = z.tanh()
            z = z * y
            z = z.sigmoid()
            z = z / 1.5
            z = z.cos()
            z = z.exp()
        z.sum().backward()
        x.grad = None
    return run


def _example(ns):
    source = EXAMPLE.read_text()
    if ns is not tt:
        source = source.replace("import transgrad.torch as torch", "import torch")
    module = types.ModuleType(f"two_layer_relu_{ns.__name__}")
    exec(compile(source, str(EXAMPLE), "exec"), module.__dict__)  # noqa: S102  (the example)
    return module


def _relu2_data():
    rng = np.random.default_rng(0)
    N, D_in, H, D_out = 64, 1000, 100, 10
    return [rng.standard_normal(s).astype(np.float32)
            for s in ((N, D_in), (N, D_out), (D_in, H), (H, D_out))]


def relu2(ns):
    """A closure running one training step of the example, with its own MyReLU."""
    relu = _example(ns).MyReLU.apply
    xa, ya, w1a, w2a = _relu2_data()
    x, y = ns.from_numpy(xa), ns.from_numpy(ya)
    w1 = ns.from_numpy(w1a).requires_grad_(True)
    w2 = ns.from_numpy(w2a).requires_grad_(True)
    learning_rate = 1e-6

    def step():
        y_pred = relu(x.mm(w1)).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        loss.item()
        loss.backward()
        with ns.no_grad():
            w1.sub_(learning_rate * w1.grad)
            w2.sub_(learning_rate * w2.grad)
            w1.grad.zero_()
            w2.grad.zero_()
    return step


def relu2_numpy():
    """The same step written by hand in numpy (the floor)."""
    x, y, w1, w2 = _relu2_data()
    g1, g2 = np.zeros_like(w1), np.zeros_like(w2)
    learning_rate = 1e-6

    def step():
        nonlocal g1, g2, w1, w2
        h = x @ w1
        r = np.maximum(h, 0)
        d = r @ w2 - y
        float(np.sum(d ** 2))
        gd = 2 * d
        gr = gd @ w2.T
        gr[h < 0] = 0
        g2 += r.T @ gd
        g1 += x.T @ gr
        w1 -= learning_rate * g1
        w2 -= learning_rate * g2
        g1[...] = 0
        g2[...] = 0
    return step


# ---- timing ---------------------------------------------------------------------------------


def _batch(fn, target_s):
    """Calls per sample so that a sample lasts about ``target_s``."""
    fn()
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - t > target_s / 4:
            return max(1, int(n * target_s / max(time.perf_counter() - t, 1e-9)))
        n *= 2


def measure(impls, samples, sample_s):
    """Round-robin timing: {name: [seconds per call per sample]}."""
    batches = {name: _batch(fn, sample_s) for name, fn in impls.items()}
    times = {name: [] for name in impls}
    names = list(impls)
    for r in range(samples):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            fn, n = impls[name], batches[name]
            t = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - t) / n)
    return times


def report(title, times, reference, paired=True):
    print(f"\n{title}")
    print(f"  {'implementation':<22}{'median':>12}{'vs ' + reference:>16}")
    ref = times.get(reference)
    for name, ts in times.items():
        med = statistics.median(ts)
        if ref is None:
            ratio = ""
        elif paired:
            ratio = f"{statistics.median(a / b for a, b in zip(ts, ref)):.2f}x"
        else:
            ratio = f"{med / statistics.median(ref):.2f}x"
        print(f"  {name:<22}{med * 1e6:>10.1f}us{ratio:>16}")


def _implementations(workload):
    namespaces = {"transgrad.torch": tt}
    if torch is not None:
        namespaces["torch"] = torch
    make = chain50 if workload == "chain50" else relu2
    impls = {name: (lambda ns=ns: make(ns)) for name, ns in namespaces.items()}
    if workload == "relu2":
        impls["numpy (by hand)"] = relu2_numpy
    return impls


def _isolated(workload, samples, sample_s):
    """Each implementation in its own process (for multithreaded runs)."""
    times = {}
    for name in _implementations(workload):
        out = subprocess.run(
            [sys.executable, __file__, "--worker", workload, name, "--threads", str(THREADS),
             "--samples", str(samples), "--sample-ms", str(sample_s * 1000)],
            check=True, capture_output=True, text=True).stdout
        times[name] = json.loads(out.strip().splitlines()[-1])
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds; not for numbers")
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--sample-ms", type=float, default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", choices=["chain50", "relu2"], action="append")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    samples = args.samples or (5 if args.quick else 31)
    sample_s = (args.sample_ms or (20 if args.quick else 120)) / 1000
    if args.worker:
        workload, name = args.worker
        fn = _implementations(workload)[name]()
        print(json.dumps(measure({name: fn}, samples, sample_s)[name]))
        return
    print(f"transgrad.torch vs PyTorch eager; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, threads={THREADS}, numpy {np.__version__}, torch "
          f"{torch.__version__ if torch is not None else '(not installed)'}")
    print(f"{samples} samples of about {sample_s * 1000:.0f} ms each, "
          + ("round-robin" if THREADS == 1 else "one process per implementation"))
    only = args.only or ["chain50", "relu2"]
    titles = {"chain50": "chain50: 50 elementwise ops + backward, 100 elements, float32",
              "relu2": "relu2: two-layer ReLU training step (64x1000x100x10, float32, "
                       "custom ReLU)"}
    for workload in ("chain50", "relu2"):
        if workload not in only:
            continue
        if THREADS == 1:
            impls = {name: make() for name, make in _implementations(workload).items()}
            report(titles[workload], measure(impls, samples, sample_s), "torch")
        else:
            report(titles[workload] + "; one process each", _isolated(workload, samples,
                                                                        sample_s),
                   "torch", paired=False)


if __name__ == "__main__":
    main()
