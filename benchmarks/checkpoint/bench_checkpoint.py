"""Binomial checkpointing against store-everything backpropagation through time (issue 13).

The workload is tests/test_checkpoint.py's tanh RNN: state (h, loss), step
``h = tanh(W_h @ h + W_x @ xs[t]); loss += sum(h ** 2)``, hidden 32, input 8, 20,000 steps,
gradient wrt (W_h, W_x). Rows:

- ``store-all``: hand-written BPTT that keeps every hidden state (the forward computes the loss
  too) and reads them back without recomputing;
- ``driver, k=n``: `checkpointed_loop` with a snapshot per step (no recomputation; the step's
  VJP re-evaluates the step it reverses);
- ``driver, k``: `checkpointed_loop` with k snapshots on the binomial schedule;
- ``tg.grad plain``: transgrad's generated gradient of the unmarked loop (it stores every step);
- ``tg.grad marked, k``: transgrad's generated gradient of the loop marked
  ``tg.checkpoint(range(n), snapshots=k)`` (passes/checkpoint.py: the step's VJP is generated);
- ``tg.grad auto``: ``tg.grad(plain_loss, checkpoint="auto")`` of the unmarked loop (the fewest
  snapshots that run each step forward at most twice);
- ``tg.grad while``: the same loop as ``while tg.checkpoint(t < n, snapshots=k, max_steps=n)``
  (``--online`` k): checkpointed online, the count known only at the end (its r is the most
  runs of a step, its forward steps counted by running the schedule).

Then, with JAX installed, the same gradient on the JAX backend under ``jax.jit`` (the marked
loop's binomial schedule as a ``lax.scan`` over its actions), against the unmarked loop's and
``jax.grad`` of a hand-written ``lax.scan``: XLA's temporary buffers of the compiled gradient
(``memory_analysis().temp_size_in_bytes``) and the time of a compiled call.

Peak memory is tracemalloc's peak over the whole gradient call (numpy's buffers are traced; the
inputs are allocated before); time is measured without tracemalloc, the methods taking turns
(--repeats rounds), and "x store-all" is the median of the per-round ratios.
Run: ``python benchmarks/checkpoint/bench_checkpoint.py [--steps N] [--repeats R]``.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from math import comb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

import numpy as np

import transgrad as tg
from tests.test_checkpoint import (  # the RNN and its hand VJP live with the tests
    make_rnn,
    relative_error,
    rnn_grad_checkpointed,
    rnn_grad_store_all,
)
from transgrad import revolve
from transgrad.checkpoint import auto_snapshots, online_loop


def marked_loss(w_h, w_x, xs, h0, snapshots):
    h, loss = h0, 0.0
    for t in tg.checkpoint(range(len(xs)), snapshots=snapshots):
        h = np.tanh(w_h @ h + w_x @ xs[t])
        loss = loss + np.sum(h ** 2)
    return loss


def while_loss(w_h, w_x, xs, h0, snapshots):
    """The same loop as a while loop: checkpointed online (the count is known at the end)."""
    h, loss, t = h0, 0.0, 0
    while tg.checkpoint(t < len(xs), snapshots=snapshots, max_steps=len(xs)):
        h = np.tanh(w_h @ h + w_x @ xs[t])
        loss = loss + np.sum(h ** 2)
        t = t + 1
    return loss


def online_forward_steps(steps, snapshots):
    """How many steps the online schedule runs forward for ``steps`` steps (counted)."""
    runs = [0]

    def forward(state, t):
        runs[0] += 1
        return state + 1

    _, pullback, _ = online_loop(forward, lambda state, t, g: (g, None), 0,
                                 lambda state: state < steps, steps, snapshots)
    pullback(0.0)
    return runs[0]


def plain_loss(w_h, w_x, xs, h0, snapshots):
    h, loss = h0, 0.0
    for t in range(len(xs)):
        h = np.tanh(w_h @ h + w_x @ xs[t])
        loss = loss + np.sum(h ** 2)
    return loss


def peak_memory(run):
    tracemalloc.start()
    try:
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


_times = []   # the last round_robin's seconds, run by run


def round_robin(runs, repeats):
    """Median seconds of each run, and the median per-round ratio to the first run; the runs
    take turns so that machine noise hits all of them alike."""
    seconds = [[] for _ in runs]
    for _ in range(repeats):
        for index, run in enumerate(runs):
            start = time.perf_counter()
            run()
            seconds[index].append(time.perf_counter() - start)
    ratios = [statistics.median(b / a for a, b in zip(seconds[0], times)) for times in seconds]
    _times[:] = seconds
    return [statistics.median(times) for times in seconds], ratios


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--snapshots", type=int, nargs="*", default=[1000, 200, 100, 40, 20, 10])
    parser.add_argument("--compiled", type=int, nargs="*", default=[200, 40, 10],
                        help="snapshots of the tg.grad rows")
    parser.add_argument("--online", type=int, default=40,
                        help="snapshots of the while loop's row (checkpointed online)")
    parser.add_argument("--no-jax", action="store_true", help="skip the JAX backend rows")
    args = parser.parse_args()
    steps = args.steps
    w_h, w_x, xs, h0 = make_rnn(steps)
    compiled = {k: tg.grad(marked_loss, wrt=(0, 1)) for k in args.compiled}
    plain = tg.grad(plain_loss, wrt=(0, 1))
    auto = tg.grad(plain_loss, wrt=(0, 1), checkpoint="auto")
    online = tg.grad(while_loss, wrt=(0, 1))
    for k, grad in [(0, plain), (0, auto), (args.online, online)] + list(compiled.items()):
        grad(w_h, w_x, xs, h0, k or 1)   # built, with its exact-shape code, before timing
    runs = [lambda: rnn_grad_store_all(w_h, w_x, xs, h0)] + [
        lambda k=k: rnn_grad_checkpointed(w_h, w_x, xs, h0, k) for k in [steps] + args.snapshots]
    runs += [lambda: (None, plain(w_h, w_x, xs, h0, 1))] + [
        lambda k=k: (None, compiled[k](w_h, w_x, xs, h0, k)) for k in args.compiled]
    runs += [lambda: (None, auto(w_h, w_x, xs, h0, 1))]
    runs += [lambda: (None, online(w_h, w_x, xs, h0, args.online))]
    measured = [peak_memory(run) for run in runs]
    seconds, ratios = round_robin(runs, args.repeats)
    (_, want), base_peak = measured[0]
    print(f"tanh RNN, hidden 32, input 8, {steps} steps; gradient wrt (W_h, W_x); "
          f"time: median of {args.repeats} round-robin rounds")
    print(f"| {'method':<17} | {'snapshots':>9} | {'r':>2} | {'forward steps':>13} "
          f"| {'peak KiB':>9} | {'% store-all':>11} | {'time s':>7} | {'x store-all':>11} "
          f"| {'rel. error':>10} |")
    print("|" + "|".join("-" * width for width in (19, 11, 4, 15, 11, 13, 9, 13, 12)) + "|")
    schedule_of = [(k, revolve.repetitions(steps, k), revolve.min_advances(steps, k) + 1)
                   for k in [steps] + args.snapshots]
    compiled_of = [(k, revolve.repetitions(steps, k), revolve.min_advances(steps, k) + 1)
                   for k in args.compiled]
    rows = [("store-all BPTT", steps, "-", steps)] + [
        ("driver", *row) for row in schedule_of] + [("tg.grad plain", steps, "-", steps)] + [
        ("tg.grad marked", *row) for row in compiled_of]
    k_auto = auto_snapshots(steps)
    rows.append(("tg.grad auto", k_auto, revolve.repetitions(steps, k_auto),
                 revolve.min_advances(steps, k_auto) + 1))
    rows.append(("tg.grad while", args.online,
                 next(r for r in range(1, steps + 1)
                      if comb(args.online + r, r) - 1 >= steps),
                 online_forward_steps(steps, args.online)))
    for (name, snapshots, reps, forward), ((_, got), peak), secs, ratio in zip(
            rows, measured, seconds, ratios, strict=True):
        print(f"| {name:<17} | {snapshots:>9} | {reps:>2} | {forward:>13} "
              f"| {peak / 1024:>9.1f} | {100 * peak / base_peak:>11.2f} | {secs:>7.3f} "
              f"| {ratio:>11.2f} | {relative_error(got, want):>10.1e} |")
    plain_index = 2 + len(args.snapshots)
    for offset, k in enumerate(args.compiled, start=1):
        index = plain_index + offset
        per_round = statistics.median(
            b / a for a, b in zip(_times[plain_index], _times[index]))
        print(f"tg.grad marked (k={k}) against tg.grad plain: "
              f"{100 * measured[index][1] / measured[plain_index][1]:.2f}% of its peak memory, "
              f"{per_round:.2f}x its time")
    if not args.no_jax:
        jax_table(w_h, w_x, xs, h0, want, args)


def jax_table(w_h, w_x, xs, h0, want, args):
    """The JAX backend under jax.jit: XLA's temporary memory and the time of a call."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        print("(JAX is not installed: no JAX rows)")
        return
    jax.config.update("jax_enable_x64", True)

    def scan_loss(w_h, w_x, xs, h0, snapshots):
        def body(carry, x):
            h, loss = carry
            h = jnp.tanh(w_h @ h + w_x @ x)
            return (h, loss + jnp.sum(h ** 2)), None
        return jax.lax.scan(body, (h0, 0.0), xs)[0][1]

    made = [("tg.grad plain", len(xs), tg.grad(plain_loss, wrt=(0, 1), backend="jax"))] + [
        ("tg.grad marked", k, tg.grad(marked_loss, wrt=(0, 1), backend="jax"))
        for k in args.compiled] + [
        ("jax.grad scan", len(xs), jax.grad(scan_loss, argnums=(0, 1)))]
    rows = []
    for name, k, grad in made:
        compiled = jax.jit(grad, static_argnums=4).lower(w_h, w_x, xs, h0, k).compile()
        temp = compiled.memory_analysis().temp_size_in_bytes

        def run(compiled=compiled, k=k):
            return jax.block_until_ready(compiled(w_h, w_x, xs, h0))
        got = run()
        rows.append((name, k, temp, run, got))
    seconds, ratios = round_robin([row[3] for row in rows], args.repeats)
    print(f"\nJAX backend under jax.jit ({jax.default_backend()}), float64: XLA temporary "
          f"buffers of the compiled gradient; time: median of {args.repeats} rounds")
    print(f"| {'method':<17} | {'snapshots':>9} | {'temp KiB':>9} | {'% plain':>7} "
          f"| {'time s':>7} | {'x plain':>7} | {'rel. error':>10} |")
    print("|" + "|".join("-" * width for width in (19, 11, 11, 9, 9, 9, 12)) + "|")
    for (name, k, temp, _, got), secs, ratio in zip(rows, seconds, ratios, strict=True):
        got = tuple(np.asarray(g) for g in got)
        print(f"| {name:<17} | {k:>9} | {temp / 1024:>9.1f} | {100 * temp / rows[0][2]:>7.2f} "
              f"| {secs:>7.3f} | {ratio:>7.2f} | {relative_error(got, want):>10.1e} |")


if __name__ == "__main__":
    main()
