"""The tanh RNN of issue 13 ("Loop code quality"): transgrad's loop gradient against two
hand-written ones, in one run.

The loss: ``h = tanh(W_h @ h + W_x @ xs[t]); loss = loss + sum(h ** 2)`` over the steps,
hidden 32, input 8 (``--steps``, default 1000), gradient wrt (W_h, W_x). Rows:

- ``tg.grad``: the generated gradient (the code for these exact shapes, after a first call);
- ``hand, batched``: the fastest hand-written BPTT: the input projections of all steps in one
  product before the loop, the hidden states and the pre-activation adjoints in arrays, the
  weight gradients as two products after the loop (``G.T @ H``, ``G.T @ xs``);
- ``hand, plain BPTT``: the textbook loop: every hidden state kept, the weight gradients
  accumulated every step (``dW += np.outer(g, h)``).

Time: the methods take turns (``--repeats`` rounds, the first method rotating), each sample
timing ``--calls`` calls; the table gives the median over rounds and the median of the
per-round ratios. Memory: tracemalloc's peak over one call (numpy's buffers are traced), the
inputs allocated before. Targets (issue 13): tg.grad <= 1.3x batched, <= 1.05x plain BPTT,
peak memory <= 1.5x plain BPTT's (which keeps every hidden state: store-all).

Run: ``python benchmarks/rnn/bench_rnn.py [--steps N] [--repeats R] [--calls C]``; it prints
the generated loop with ``--source``.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

import threads  # pins the BLAS threads: before numpy loads

THREADS = threads.THREADS

import numpy as np

import transgrad as tg


def rnn_loss(W_h, W_x, xs, h0):
    h = h0
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W_h @ h + W_x @ xs[t])
        loss = loss + np.sum(h ** 2)
    return loss


def hand_batched(W_h, W_x, xs, h0):
    """Input projections batched before the loop, weight gradients batched after it."""
    steps = xs.shape[0]
    projected = xs @ W_x.T                      # every step's W_x @ xs[t] in one product
    hs = np.empty((steps + 1, h0.shape[0]))
    hs[0] = h0
    for t in range(steps):
        hs[t + 1] = np.tanh(W_h @ hs[t] + projected[t])
    g_pre = np.empty((steps, h0.shape[0]))      # adjoints of the pre-activations
    g_h = np.zeros_like(h0)
    W_h_T = W_h.T
    for t in range(steps - 1, -1, -1):
        h = hs[t + 1]
        g = (g_h + 2.0 * h) * (1.0 - h * h)
        g_pre[t] = g
        g_h = W_h_T @ g
    return g_pre.T @ hs[:-1], g_pre.T @ xs


def hand_plain(W_h, W_x, xs, h0):
    """Textbook BPTT: every hidden state kept (store-all), weight gradients every step."""
    hs = [h0]
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W_h @ h + W_x @ xs[t])
        hs.append(h)
    g_W_h, g_W_x = np.zeros_like(W_h), np.zeros_like(W_x)
    g_h = np.zeros_like(h0)
    for t in range(xs.shape[0] - 1, -1, -1):
        h = hs[t + 1]
        g = (g_h + 2.0 * h) * (1.0 - h * h)
        g_W_h += np.outer(g, hs[t])
        g_W_x += np.outer(g, xs[t])
        g_h = W_h.T @ g
    return g_W_h, g_W_x


def make(steps, hidden=32, inputs=8, seed=0):
    rng = np.random.default_rng(seed)
    W_h = rng.standard_normal((hidden, hidden)) * (0.5 / np.sqrt(hidden))
    W_x = rng.standard_normal((hidden, inputs)) * (0.5 / np.sqrt(inputs))
    xs = rng.standard_normal((steps, inputs))
    h0 = rng.standard_normal(hidden) * 0.1
    return W_h, W_x, xs, h0


def peak_bytes(fn, args):
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--source", action="store_true")
    options = parser.parse_args(argv)
    args = make(options.steps)
    grad = tg.grad(rnn_loss, wrt=(0, 1))
    methods = {"tg.grad": grad, "hand, batched": hand_batched, "hand, plain BPTT": hand_plain}
    want = hand_plain(*args)
    for label, fn in methods.items():   # each checked before it is timed
        got = fn(*args)
        error = max(np.max(np.abs(a - b)) / np.max(np.abs(b)) for a, b in zip(got, want))
        assert error < 1e-12, (label, error)
    if options.source:
        print(grad.source)
    pushes = sum(line.strip().startswith("stack.append(") for line in
                 grad.source.split("for t in steps1:")[1].split("\n    tgr")[0].splitlines())
    times = {label: [] for label in methods}
    ratios = {label: {"hand, batched": [], "hand, plain BPTT": []} for label in methods}
    labels = list(methods)
    for round_ in range(options.repeats):
        sample = {}
        for label in labels[round_ % 3:] + labels[:round_ % 3]:
            start = time.perf_counter()
            for _ in range(options.calls):
                methods[label](*args)
            sample[label] = (time.perf_counter() - start) / options.calls
            times[label].append(sample[label])
        for label in labels:
            for base in ratios[label]:
                ratios[label][base].append(sample[label] / sample[base])
    peaks = {label: peak_bytes(fn, args) for label, fn in methods.items()}
    print(f"tanh RNN, hidden 32, input 8, {options.steps} steps, {options.repeats} rounds "
          f"x {options.calls} calls, BLAS threads {THREADS}; tg.grad pushes {pushes} "
          "value(s) per step")
    print(f"{'method':<18} {'median ms':>10} {'x batched':>10} {'x plain':>8} "
          f"{'peak KiB':>9} {'x plain mem':>11}")
    for label in labels:
        print(f"{label:<18} {1e3 * statistics.median(times[label]):>10.2f} "
              f"{statistics.median(ratios[label]['hand, batched']):>10.2f} "
              f"{statistics.median(ratios[label]['hand, plain BPTT']):>8.2f} "
              f"{peaks[label] / 1024:>9.0f} {peaks[label] / peaks['hand, plain BPTT']:>11.2f}")


if __name__ == "__main__":
    main()
