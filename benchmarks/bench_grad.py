"""Benchmark transgrad's generated gradients against the alternatives.

Workloads (all float64):

1. ``relu2``: a two-layer ReLU net, N=64, D_in=1000, H=100, D_out=10, gradient wrt (w1, w2).
2. ``mlp3``: a three-layer tanh MLP, batch 16, width 32, one output, mean squared error,
   gradient wrt all three weights and biases.
3. ``rnn``: a tanh RNN, hidden 32, batch 8, input 16, unrolled over 50 steps in a Python loop,
   gradient wrt (wx, wh, b) (target: 1.3x the hand-written BPTT).
4. ``loop``: the scalar recurrence ``x = a * np.sin(x) + 0.1 * x``, 1000 iterations on Python
   floats, gradient wrt (a, x) (target 1.3x); ``loop_math``: the same with ``math.sin``.
5. ``build``: how long transgrad takes to build the gradient of a generated 50-line
   straight-line numpy function (target: under 50 ms), and what the first call with a new
   shape adds once the code for its ranks is built (the code for the exact shapes is made then).
6. ``forward``: forward mode (``tg.jvp``) on a function of one scalar input and many outputs,
   the ridge-regression predictions ``x @ solve(x.T @ x + lam I, x.T @ y)`` (x: 2000 x 50) as
   a function of ``lam``, against the function itself (target: 1.5x);
   ``forward_chain``: the same on an elementwise chain where every operation depends on the
   input, the logistic curve ``k / (1 + a exp(-r t))`` at 100000 points (no target: each
   operation gains a tangent operation about as costly as itself).
7. ``hvp``: ``tg.hvp`` (forward over the generated gradient) of the ``mlp3`` loss with respect
   to all six weights, against one ``tg.grad`` call (target: 4x).

For 1 to 4 every implementation is checked against the hand-written gradient first,
then timed round-robin (the starting implementation rotates each round) so machine noise hits
all of them alike. Each sample times many calls with ``time.perf_counter``; the table reports
medians over samples, and the ratio to the hand-written gradient is the median of the per-round
ratios. See benchmarks/README.md.

Run ``python benchmarks/bench_grad.py`` (a few minutes) or ``--quick`` (seconds).
"""

import os
import sys

from threads import THREADS  # pins the thread pools: must come before numpy loads

if THREADS == 1:
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen"
                               "=false intra_op_parallelism_threads=1").strip()

import argparse
import gc
import importlib
import importlib.metadata
import json
import math
import platform
import random
import statistics
import tempfile
import time

import numpy as np

import transgrad as tg
import transgrad.api

TARGET_RATIO = 1.2  # transgrad's gradient may take at most this times the hand-written one
# (workloads with loops carry their own target, 1.3: WORKLOADS[...]["target"])
TARGET_BUILD_S = 0.050  # building the gradient of the 50-line function
RTOL, ATOL = 1e-9, 1e-12


def _optional(name):
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # a missing optional library skips its rows
        print(f"note: {name} unavailable ({type(exc).__name__}: {exc}); its rows are skipped")
        return None


# ---------------------------------------------------------------------------------------------
# Workload 1: two-layer ReLU net
# ---------------------------------------------------------------------------------------------

def relu2_loss(w1, w2, x, y):
    h = np.maximum(x @ w1, 0.0)
    out = h @ w2
    return np.sum((out - y) ** 2)


def relu2_grad_hand(w1, w2, x, y):
    """The gradient as a careful person writes it: reuse forward values, update in place."""
    t1 = x @ w1
    h = np.maximum(t1, 0.0)
    bout = h @ w2
    bout -= y
    bout *= 2.0
    bw2 = h.T @ bout
    bh = bout @ w2.T
    bh *= t1 > 0.0
    bw1 = x.T @ bh
    return bw1, bw2


def relu2_make(xp, maximum):
    def loss(w1, w2, x, y):
        h = maximum(x @ w1, 0.0)
        out = h @ w2
        return xp.sum((out - y) ** 2)
    return loss


def relu2_torch(torch):
    def loss(w1, w2, x, y):
        h = torch.relu(x @ w1)
        out = h @ w2
        return torch.sum((out - y) ** 2)
    return loss


def relu2_data(rng):
    n, d_in, hidden, d_out = 64, 1000, 100, 10
    w1 = rng.standard_normal((d_in, hidden)) / np.sqrt(d_in)
    w2 = rng.standard_normal((hidden, d_out)) / np.sqrt(hidden)
    x = rng.standard_normal((n, d_in))
    y = rng.standard_normal((n, d_out))
    return (w1, w2), (x, y)


# ---------------------------------------------------------------------------------------------
# Workload 2: three-layer tanh MLP
# ---------------------------------------------------------------------------------------------

def mlp3_loss(w1, b1, w2, b2, w3, b3, x, y):
    h1 = np.tanh(x @ w1 + b1)
    h2 = np.tanh(h1 @ w2 + b2)
    out = h2 @ w3 + b3
    return np.mean((out - y) ** 2)


def mlp3_grad_hand(w1, b1, w2, b2, w3, b3, x, y):
    """The gradient as a careful person writes it: reuse forward values, update in place."""
    t = x @ w1
    t += b1
    h1 = np.tanh(t, out=t)
    t = h1 @ w2
    t += b2
    h2 = np.tanh(t, out=t)
    bout = h2 @ w3
    bout += b3
    bout -= y
    bout *= 2.0 / bout.size
    bw3 = h2.T @ bout
    bb3 = bout.sum(axis=0)
    bt = bout @ w3.T
    bt *= 1.0 - h2 * h2
    bw2 = h1.T @ bt
    bb2 = bt.sum(axis=0)
    bt1 = bt @ w2.T
    bt1 *= 1.0 - h1 * h1
    bw1 = x.T @ bt1
    bb1 = bt1.sum(axis=0)
    return bw1, bb1, bw2, bb2, bw3, bb3


def mlp3_make(xp):
    def loss(w1, b1, w2, b2, w3, b3, x, y):
        h1 = xp.tanh(x @ w1 + b1)
        h2 = xp.tanh(h1 @ w2 + b2)
        out = h2 @ w3 + b3
        return xp.mean((out - y) ** 2)
    return loss


def mlp3_data(rng):
    batch, d_in, width, d_out = 16, 32, 32, 1
    sizes = [(d_in, width), (width, width), (width, d_out)]
    params = []
    for fan_in, fan_out in sizes:
        params.append(rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in))
        params.append(0.1 * rng.standard_normal(fan_out))
    x = rng.standard_normal((batch, d_in))
    y = rng.standard_normal((batch, d_out))
    return tuple(params), (x, y)


# ---------------------------------------------------------------------------------------------
# Workload 3: RNN unrolled over 50 steps in a Python loop
# ---------------------------------------------------------------------------------------------

def rnn_loss(wx, wh, b, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ wx + h @ wh + b)
    return np.sum(h ** 2)


def rnn_grad_hand(wx, wh, b, xs, h0):
    """Backpropagation through time as a careful person writes it: keep every hidden state
    from the forward loop, run the backward loop with one ``dh``, accumulate in place."""
    steps = xs.shape[0]
    hs = [h0]
    h = h0
    for t in range(steps):
        a = xs[t] @ wx
        a += h @ wh
        a += b
        h = np.tanh(a, out=a)
        hs.append(h)
    dh = 2.0 * h
    dwx = np.zeros_like(wx)
    dwh = np.zeros_like(wh)
    db = np.zeros_like(b)
    wh_t = wh.T
    for t in range(steps - 1, -1, -1):
        h = hs[t + 1]
        dh *= 1.0 - h * h
        dwx += xs[t].T @ dh
        dwh += hs[t].T @ dh
        db += dh.sum(axis=0)
        dh = dh @ wh_t
    return dwx, dwh, db


def rnn_make(xp):
    def loss(wx, wh, b, xs, h0):
        h = h0
        for t in range(xs.shape[0]):
            h = xp.tanh(xs[t] @ wx + h @ wh + b)
        return xp.sum(h ** 2)
    return loss


def rnn_data(rng):
    steps, batch, d_in, hidden = 50, 8, 16, 32
    wx = rng.standard_normal((d_in, hidden)) / np.sqrt(d_in)
    wh = rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)
    b = 0.1 * rng.standard_normal(hidden)
    xs = rng.standard_normal((steps, batch, d_in))
    h0 = 0.1 * rng.standard_normal((batch, hidden))
    return (wx, wh, b), (xs, h0)


# ---------------------------------------------------------------------------------------------
# Workload 4: a scalar recurrence of 1000 iterations on Python floats
# ---------------------------------------------------------------------------------------------

LOOP_STEPS = 1000


def recur(a, x):
    for i in range(1000):
        x = a * np.sin(x) + 0.1 * x
    return x


def recur_grad_hand(a, x):
    """The reverse loop by hand: store x and sin(x) going forward (np.sin on a float costs
    far more than a list append), then walk both lists backward."""
    xs, sines = [], []
    for _ in range(LOOP_STEPS):
        s = np.sin(x)
        xs.append(x)
        sines.append(s)
        x = a * s + 0.1 * x
    ba, bx = 0.0, 1.0
    for xi, s in zip(reversed(xs), reversed(sines)):
        ba += bx * s
        bx *= a * np.cos(xi) + 0.1
    return ba, bx


def recur_make(xp):
    def loss(a, x):
        for i in range(1000):
            x = a * xp.sin(x) + 0.1 * x
        return x
    return loss


def recur_math(a, x):
    for i in range(1000):
        x = a * math.sin(x) + 0.1 * x
    return x


def recur_math_grad_hand(a, x):
    """The reverse loop by hand with math.sin/math.cos: store only x (recomputing math.sin is
    as cheap as storing it), then walk the list backward."""
    xs = []
    for _ in range(LOOP_STEPS):
        xs.append(x)
        x = a * math.sin(x) + 0.1 * x
    ba, bx = 0.0, 1.0
    for xi in reversed(xs):
        ba += bx * math.sin(xi)
        bx *= a * math.cos(xi) + 0.1
    return ba, bx


def loop_data(rng):
    return (0.9, 0.3), ()


WORKLOADS = {
    "relu2": {
        "title": "two-layer ReLU net: N=64, D_in=1000, H=100, D_out=10; grad wrt (w1, w2)",
        "loss": relu2_loss, "hand": relu2_grad_hand, "data": relu2_data,
        "make": lambda xp: relu2_make(xp, xp.maximum), "make_torch": relu2_torch},
    "mlp3": {
        "title": "3-layer tanh MLP: batch 16, 32 -> 32 -> 32 -> 1, mean squared error; "
                 "grad wrt w1, b1, w2, b2, w3, b3",
        "loss": mlp3_loss, "hand": mlp3_grad_hand, "data": mlp3_data,
        "make": mlp3_make, "make_torch": mlp3_make},
    "rnn": {
        "title": "RNN, 50 steps in a Python loop: batch 8, input 16, hidden 32, "
                 "h = tanh(x_t @ wx + h @ wh + b), loss sum(h_T ** 2); grad wrt (wx, wh, b)",
        "loss": rnn_loss, "hand": rnn_grad_hand, "data": rnn_data,
        "make": rnn_make, "make_torch": rnn_make, "target": 1.3},
    "loop": {
        "title": "scalar recurrence x = a * np.sin(x) + 0.1 * x, 1000 iterations on Python "
                 "floats; grad wrt (a, x)",
        "loss": recur, "hand": recur_grad_hand, "data": loop_data,
        "make": recur_make, "make_torch": recur_make, "target": 1.3, "jax_compiles": 2},
    "loop_math": {
        "title": "the same recurrence with math.sin (no peer differentiates math.sin; the "
                 "hand-written gradient uses math.sin/math.cos); grad wrt (a, x)",
        "loss": recur_math, "hand": recur_math_grad_hand, "data": loop_data,
        "make": None, "make_torch": None, "target": 1.3, "baseline": "math by hand"},
}


# ---------------------------------------------------------------------------------------------
# Workloads 6 and 7: forward mode and Hessian-vector products, as ratios to a baseline
# ---------------------------------------------------------------------------------------------

def ridge_predictions(lam, x, y):
    gram = x.T @ x + lam * np.eye(x.shape[1])
    coef = np.linalg.solve(gram, x.T @ y)
    return x @ coef


def logistic_curve(r, t, k, a):
    return k / (1.0 + a * np.exp(-r * t))


def _forward_impls(func, args, libs, build_repeat):
    """f itself (the baseline) and its forward derivative along the scalar input (1.0)."""
    impls, setup = {"f itself": lambda: func(*args)}, {}

    def tg_build():
        transgrad.api._cache.clear()
        return transgrad.api.build(func, (0,), True, "jvp")

    setup["transgrad jvp"] = _median_time(tg_build, build_repeat)
    djvp = tg.jvp(func)
    djvp(*args, 1.0)
    impls["transgrad jvp"] = lambda: djvp(*args, 1.0)
    generated = djvp._generated[0]
    impls["transgrad (generated fn only)"] = lambda: generated(*args, tangent=1.0)
    eps = 1e-6
    expected = (func(args[0] + eps, *args[1:]) - func(args[0] - eps, *args[1:])) / (2 * eps)
    checks = {"transgrad jvp": (lambda: djvp(*args, 1.0)[1], expected, 1e-5)}
    jax = libs.get("jax")
    if jax is not None:
        jnp = libs["jax.numpy"]
        jfunc = _rebind(func, jnp)
        jargs = tuple(jax.device_put(a) for a in args)
        jfn = jax.jit(lambda *a: jax.jvp(lambda s: jfunc(s, *a[1:]), (a[0],), (1.0,)))
        jax.block_until_ready(jfn(*jargs))
        impls["jax.jit(jvp)"] = lambda: jax.block_until_ready(jfn(*jargs))
        checks["jax.jit(jvp)"] = (lambda: np.asarray(jfn(*jargs)[1]), expected, 1e-5)
    return impls, setup, checks


def _rebind(func, namespace):
    import types
    scope = dict(func.__globals__, np=namespace)
    return types.FunctionType(func.__code__, scope, func.__name__, func.__defaults__)


def forward_ridge(libs, build_repeat):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2000, 50)), rng.standard_normal(2000)
    return _forward_impls(ridge_predictions, (0.5, x, y), libs, build_repeat)


def forward_chain(libs, build_repeat):
    rng = np.random.default_rng(0)
    n = 100_000
    args = (0.3, np.linspace(0.0, 10.0, n), rng.uniform(1, 2, n), rng.uniform(1, 3, n))
    return _forward_impls(logistic_curve, args, libs, build_repeat)


def hvp_mlp3(libs, build_repeat):
    """One tg.grad call of the mlp3 loss (the baseline) and one tg.hvp call."""
    rng = np.random.default_rng(0)
    wrt_args, data = mlp3_data(rng)
    args = wrt_args + data
    wrt = tuple(range(len(wrt_args)))
    v = tuple(rng.standard_normal(np.shape(a)) for a in wrt_args)
    dloss = tg.grad(mlp3_loss, wrt=wrt)
    dloss(*args)
    impls, setup = {"transgrad grad": lambda: dloss(*args)}, {}

    def tg_build():
        transgrad.api._cache.clear()
        inner = tg.grad(mlp3_loss, wrt=wrt)
        return transgrad.api.build(inner, wrt, False, "jvp")

    setup["transgrad hvp"] = _median_time(tg_build, build_repeat)
    hvp = tg.hvp(mlp3_loss, wrt=wrt)
    hvp(*args, v)
    impls["transgrad hvp"] = lambda: hvp(*args, v)
    generated = hvp._jvp._generated[0]
    impls["transgrad (generated fn only)"] = lambda: generated(*args, tangent=v)
    eps = 1e-6
    up = dloss(*[a + eps * d for a, d in zip(wrt_args, v)], *data)
    down = dloss(*[a - eps * d for a, d in zip(wrt_args, v)], *data)
    expected = [(u - d) / (2 * eps) for u, d in zip(up, down)]
    checks = {"transgrad hvp": (lambda: hvp(*args, v), expected, 1e-5)}
    jax = libs.get("jax")
    if jax is not None:
        jloss = mlp3_make(libs["jax.numpy"])
        jargs = tuple(jax.device_put(a) for a in args)
        jv = tuple(jax.device_put(d) for d in v)

        def jhvp(*a):
            def gradient(*w):
                return jax.grad(jloss, argnums=wrt)(*w, *a[len(wrt):])
            return jax.jvp(gradient, a[:len(wrt)], jv)[1]
        jfn = jax.jit(jhvp)
        jax.block_until_ready(jfn(*jargs))
        impls["jax.jit(jvp(grad))"] = lambda: jax.block_until_ready(jfn(*jargs))
        checks["jax.jit(jvp(grad))"] = (lambda: [np.asarray(h) for h in jfn(*jargs)], expected,
                                        1e-5)
    return impls, setup, checks


RATIO_WORKLOADS = {
    "forward": {
        "title": "forward mode, one scalar input and 2000 outputs: ridge predictions "
                 "x @ solve(x.T @ x + lam I, x.T @ y), x 2000 x 50, d/d lam; vs f itself",
        "make": forward_ridge, "baseline": "f itself", "measured": "transgrad jvp",
        "target": 1.5},
    "forward_chain": {
        "title": "forward mode along an elementwise chain: k / (1 + a exp(-r t)) at 100000 "
                 "points, d/d r (every operation depends on r); vs f itself",
        "make": forward_chain, "baseline": "f itself", "measured": "transgrad jvp",
        "target": None},
    "hvp": {
        "title": "Hessian-vector product of the mlp3 loss wrt all six weights (forward over "
                 "reverse); vs one tg.grad call",
        "make": hvp_mlp3, "baseline": "transgrad grad", "measured": "transgrad hvp",
        "target": 4.0},
}


def run_ratio_workload(key, libs, args):
    spec = RATIO_WORKLOADS[key]
    print(f"\n== {key}: {spec['title']}")
    impls, setup, checks = spec["make"](libs, args.build_repeat)
    for name, (compute, expected, tol) in checks.items():
        got = compute()
        for g, e in zip(got if isinstance(got, (list, tuple)) else [got],
                        expected if isinstance(expected, (list, tuple)) else [expected]):
            np.testing.assert_allclose(np.asarray(g), e, rtol=tol, atol=tol,
                                       err_msg=f"{name} disagrees with central differences")
    print(f"  {', '.join(checks)} agree with central differences; {args.samples} round-robin "
          f"samples of ~{args.sample_ms:g} ms each")
    baseline = spec["baseline"]
    results = time_round_robin(impls, baseline, args.samples, args.sample_ms / 1e3)
    print_table(results, setup)
    ratio = results[spec["measured"]]["ratio"]
    target = spec["target"]
    if target is None:
        verdict = "(no target)"
    else:
        verdict = f"-> {'meets' if ratio <= target else 'MISSES'} the target (at most {target:g}x)"
    print(f"  {spec['measured']} / {baseline} = {ratio:.2f}x {verdict}")
    print(f"  the 'vs hand' column is relative to {baseline}; setup: transgrad = build with the "
          "cache cleared (median)")
    return {"title": spec["title"], "baseline": baseline, "target_ratio": target,
            "transgrad_ratio": ratio,
            "meets_target": None if target is None else ratio <= target,
            "setup_s": setup, "results": results}


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------

def _run(fn, number):
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - start


def _calibrate(fn, sample_s):
    """How many calls make one sample last about ``sample_s`` (best of 3, so that one
    interrupted run does not stop the search early)."""
    number = 1
    while True:
        elapsed = min(_run(fn, number) for _ in range(3))
        if elapsed >= sample_s / 4 or number >= 1 << 20:
            return max(1, round(number * sample_s / max(elapsed, 1e-9)))
        number *= 2 if elapsed > sample_s / 40 else 10


def _quantiles(values):
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], statistics.median(values), q[2]


def time_round_robin(impls, baseline, samples, sample_s):
    """Time each zero-argument callable in ``impls``; rounds rotate the starting callable."""
    names = list(impls)
    for fn in impls.values():  # warm caches and allocators
        _run(fn, 3)
    numbers = {name: _calibrate(impls[name], sample_s) for name in names}
    times = {name: [] for name in names}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(samples):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                times[name].append(_run(impls[name], numbers[name]) / numbers[name])
    finally:
        if gc_was_enabled:
            gc.enable()
    results = {}
    for name in names:
        q1, med, q3 = _quantiles(times[name])
        paired = [t / b for t, b in zip(times[name], times[baseline])]
        r1, rmed, r3 = _quantiles(paired)
        results[name] = {"median_s": med, "q1_s": q1, "q3_s": q3, "min_s": min(times[name]),
                         "calls_per_sample": numbers[name], "samples": samples,
                         "ratio": rmed, "ratio_q1": r1, "ratio_q3": r3,
                         "ratio_of_medians": med / statistics.median(times[baseline]),
                         "ratio_of_best": min(times[name]) / min(times[baseline])}
    return results


# ---------------------------------------------------------------------------------------------
# Implementations of one workload
# ---------------------------------------------------------------------------------------------

def _to_numpy(values):
    out = []
    for v in values:
        if hasattr(v, "detach"):
            v = v.detach().numpy()
        out.append(np.asarray(v))
    return out


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build_impls(spec, libs, build_repeat):
    """Return (impls, setup, checks): zero-argument gradient callables, setup times in seconds
    (transgrad build, jax trace + compile), and per implementation a callable that returns its
    gradients as numpy arrays."""
    rng = np.random.default_rng(0)
    wrt_args, data = spec["data"](rng)
    args = wrt_args + data
    wrt = tuple(range(len(wrt_args)))
    impls, setup, checks = {}, {}, {}

    hand = spec["hand"]
    impls[spec.get("baseline", "numpy by hand")] = lambda: hand(*args)

    def tg_build():
        transgrad.api._cache.clear()
        return transgrad.api.build(spec["loss"], wrt, False, "grad")

    setup["transgrad"] = _median_time(tg_build, build_repeat)
    dloss = tg.grad(spec["loss"], wrt=wrt)
    dloss(*args)  # build outside the timed region (code is specialized to the argument types)
    impls["transgrad"] = lambda: dloss(*args)
    generated = dloss._generated[0]   # the very code the call above ran, without the wrapper
    impls["transgrad (generated fn only)"] = lambda: generated(*args)

    autograd = libs.get("autograd") if spec["make"] is not None else None
    if autograd is not None:
        ag_grad = autograd.grad(spec["make"](libs["autograd.numpy"]), argnum=wrt)
        impls["autograd"] = lambda: ag_grad(*args)

    jax = libs.get("jax") if spec["make"] is not None else None
    if jax is not None:
        jnp = libs["jax.numpy"]
        jargs = tuple(jax.device_put(a) for a in args)
        jloss = spec["make"](jnp)

        def jax_compile():
            jax.clear_caches()
            fn = jax.jit(jax.grad(jloss, argnums=wrt))
            jax.block_until_ready(fn(*jargs))
            return fn

        jax_compile()  # the first trace also pays for one-time jax start-up
        compiles = min(spec.get("jax_compiles", build_repeat), max(1, build_repeat // 3))
        jfns = []
        setup["jax.jit(grad)"] = _median_time(lambda: jfns.append(jax_compile()), compiles)
        jfn = jfns[-1]
        impls["jax.jit(grad)"] = lambda: jax.block_until_ready(jfn(*jargs))

    torch = libs.get("torch") if spec["make_torch"] is not None else None
    if torch is not None:
        tloss = spec["make_torch"](torch)
        # arrays become tensors of their shape, Python floats 0-d double tensors
        twrt = tuple(torch.from_numpy(np.array(a, dtype=np.float64)).requires_grad_()
                     for a in wrt_args)
        tdata = tuple(torch.from_numpy(np.array(a, dtype=np.float64)) for a in data)

        def torch_grad():
            return torch.autograd.grad(tloss(*twrt, *tdata), twrt)

        impls["torch eager"] = torch_grad

    for name, fn in impls.items():
        checks[name] = lambda fn=fn: _to_numpy(fn())
    return impls, setup, checks


def verify(checks, baseline):
    expected = checks[baseline]()
    for name, check in checks.items():
        got = check()
        assert len(got) == len(expected), (name, len(got), len(expected))
        for i, (g, e) in enumerate(zip(got, expected)):
            assert g.shape == e.shape, f"{name}: gradient {i} has shape {g.shape}, not {e.shape}"
            assert g.dtype == np.float64, f"{name}: gradient {i} has dtype {g.dtype}"
            np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL * max(1.0, np.abs(e).max()),
                                       err_msg=f"{name}: gradient {i} disagrees with {baseline}")


def _fmt_time(seconds):
    if seconds >= 1e-1:
        return f"{seconds:8.3f} s "
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.3f} ms"
    return f"{seconds * 1e6:8.1f} us"


def print_table(results, setup):
    header = (f"  {'implementation':<31}{'median/call':>12}{'IQR':>6}{'best/call':>12}"
              f"{'vs hand [q1, q3]':>26}{'setup':>12}")
    print(header)
    print("  " + "-" * (len(header) - 2))
    for name, r in results.items():
        spread = (r["q3_s"] - r["q1_s"]) / r["median_s"] * 100
        ratio = f"{r['ratio']:.2f}x [{r['ratio_q1']:.2f}, {r['ratio_q3']:.2f}]"
        setup_txt = _fmt_time(setup[name]) if name in setup else ""
        print(f"  {name:<31}{_fmt_time(r['median_s']):>12}{spread:5.0f}%"
              f"{_fmt_time(r['min_s']):>12}{ratio:>26}{setup_txt:>12}")


def run_workload(key, libs, args):
    spec = WORKLOADS[key]
    print(f"\n== {key}: {spec['title']}")
    impls, setup, checks = build_impls(spec, libs, args.build_repeat)
    baseline = spec.get("baseline", "numpy by hand")
    verify(checks, baseline)
    print(f"  all {len(impls)} implementations agree (rtol={RTOL:g}); "
          f"{args.samples} round-robin samples of ~{args.sample_ms:g} ms each")
    results = time_round_robin(impls, baseline, args.samples, args.sample_ms / 1e3)
    print_table(results, setup)
    tg_r = results["transgrad"]
    ratio = tg_r["ratio"]
    target = spec.get("target", TARGET_RATIO)
    verdict = "meets" if ratio <= target else "MISSES"
    print(f"  transgrad / hand-written = {ratio:.2f}x -> {verdict} the target "
          f"(at most {target:g}x); ratio of medians {tg_r['ratio_of_medians']:.2f}x, "
          f"of best times {tg_r['ratio_of_best']:.2f}x")
    print("  vs hand: median [quartiles] over rounds of (this sample / the hand-written sample "
          "of the same round)")
    print("  setup: transgrad = build with the cache cleared (median)"
          + ("; jax = trace + XLA compile of jit(grad) (median, after a warm-up compile)"
             if "jax.jit(grad)" in setup else ""))
    return {"title": spec["title"], "baseline": baseline, "target_ratio": target,
            "transgrad_ratio": ratio, "meets_target": ratio <= target,
            "setup_s": setup, "results": results}


# ---------------------------------------------------------------------------------------------
# Workload 5: build time of a 50-line straight-line function
# ---------------------------------------------------------------------------------------------

_LINE_TEMPLATES = [
    "{a} * {b} + 0.5",
    "np.tanh({a} @ w)",
    "np.sin({a}) - {b}",
    "np.exp(-{a} * {a}) + {b}",
    "np.log(1.0 + {a} * {a})",
    "np.sqrt(1.0 + {a} ** 2) - {b}",
    "{a} / (1.0 + {b} * {b})",
    "np.maximum({a}, {b})",
    "np.cos({a}) * {b}",
    "{a} - np.mean({b})",
    "0.5 * {a} + 0.01 * np.sum({b} * {b})",
    "np.transpose(w) @ {a} * 0.1",
    "np.reshape(np.reshape({a}, (2, 4)) * 2.0, (8,)) - {b}",
    "-{a} + {b} ** 2 * 0.1",
]


def straight_line_source(n_assign=48, seed=0):
    """A ``def f50(x, w)`` of ``n_assign`` assignments and a return (50 lines with the def):
    each line applies one template to the previous value and one of the five before it."""
    rng = random.Random(seed)
    names, body = ["x"], []
    for i in range(n_assign):
        template = _LINE_TEMPLATES[i] if i < len(_LINE_TEMPLATES) else rng.choice(_LINE_TEMPLATES)
        body.append(f"    v{i} = {template.format(a=names[-1], b=rng.choice(names[-6:]))}")
        names.append(f"v{i}")
    body.append(f"    return np.sum({names[-1]} * {names[-2]}) + np.mean({names[-3]})")
    return "def f50(x, w):\n" + "\n".join(body) + "\n"


def run_build(libs, args):
    print("\n== build: transgrad.api.build of a generated 50-line straight-line function "
          "(x: (8,), w: (8, 8)), grad wrt (x, w)")
    source = straight_line_source()
    with tempfile.TemporaryDirectory(prefix="transgrad_bench_") as tmp:
        modules = {"tg_bench_f50": "import numpy as np\n\n\n",
                   "tg_bench_f50_ag": "import autograd.numpy as np\n\n\n"}
        for mod, header in modules.items():
            with open(os.path.join(tmp, mod + ".py"), "w") as fh:
                fh.write(header + source)
        sys.path.insert(0, tmp)
        try:
            func = importlib.import_module("tg_bench_f50").f50
            ag_module = importlib.import_module("tg_bench_f50_ag") if libs.get("autograd") \
                else None
            wrt = (0, 1)
            times = []
            for _ in range(args.builds):
                transgrad.api._cache.clear()
                start = time.perf_counter()
                fn, generated = transgrad.api.build(func, wrt, False, "grad")
                times.append(time.perf_counter() - start)
            rng = np.random.default_rng(1)
            x, w = rng.standard_normal(8), 0.3 * rng.standard_normal((8, 8))
            ours = fn(x, w)
            checked = "not checked (autograd unavailable)"
            if ag_module is not None:
                theirs = libs["autograd"].grad(ag_module.f50, argnum=wrt)(x, w)
                for g, e in zip(ours, theirs):
                    np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL)
                checked = "agrees with autograd"
            shapes = _new_shape_times(func, wrt, (x, w), args.builds)
            for g, e in zip(tg.grad(func, wrt=wrt)(x, w), ours):   # the exact-shape code
                np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
        finally:
            sys.path.remove(tmp)
            for mod in modules:
                sys.modules.pop(mod, None)
    q1, med, q3 = _quantiles(times) if len(times) > 1 else (times[0],) * 3
    lines = generated.count("\n")
    verdict = "meets" if med <= TARGET_BUILD_S else "MISSES"
    print(f"  {args.builds} builds with transgrad.api._cache cleared: median {_fmt_time(med)}, "
          f"IQR [{_fmt_time(q1).strip()}, {_fmt_time(q3).strip()}], min {_fmt_time(min(times))}")
    print(f"  first build {_fmt_time(times[0]).strip()}; generated {lines} lines; gradient "
          f"{checked}")
    print(f"  median build {med * 1e3:.1f} ms -> {verdict} the target "
          f"(under {TARGET_BUILD_S * 1e3:g} ms)")
    first, later, call = shapes
    print(f"  first call with a new shape, the code for its ranks built: {_fmt_time(first).strip()}"
          f" for the rank code's first shape (exact code made, the rank code prepared for it), "
          f"{_fmt_time(later).strip()} for a further shape; a call after that "
          f"{_fmt_time(call).strip()} (medians)")
    print(f"  -> a new shape adds {(first - call) * 1e3:.1f} ms to its first call "
          f"({(later - call) * 1e3:.1f} ms past the rank code's first shape)")
    return {"builds": args.builds, "median_s": med, "q1_s": q1, "q3_s": q3, "min_s": min(times),
            "first_s": times[0], "target_s": TARGET_BUILD_S, "meets_target": med <= TARGET_BUILD_S,
            "generated_lines": lines, "check": checked, "source_lines": source.count("\n") + 1,
            "new_shape_first_call_s": first, "new_shape_later_call_s": later, "call_s": call}


def _new_shape_times(func, wrt, args, repeat):
    """Median seconds of (the first call of a derivative whose rank code is already built: the
    code for the call's exact shapes is made in it; the first call with a further new shape,
    past the rank code's first; a call after those). A further shape of the 50-line function
    is the same arrays presented as new: the derivative's shape table and the rank code's
    exact variants are emptied, what the rank code prepared for them is kept."""
    param_ranks = tuple((i, np.ndim(a)) for i, a in enumerate(args))
    first, later, call = [], [], []
    for _ in range(repeat):
        transgrad.api._cache.clear()
        rank_code = transgrad.api.build(func, wrt, False, "grad", (), (), param_ranks)[0]
        dloss = tg.grad(func, wrt=wrt)
        start = time.perf_counter()
        dloss(*args)
        first.append(time.perf_counter() - start)
        for _ in range(3):
            dloss._by_shapes.clear()
            dloss._exact_made = 0
            rank_code.__dict__.get("exact_variants", {}).clear()
            start = time.perf_counter()
            dloss(*args)
            later.append(time.perf_counter() - start)
        for _ in range(5):
            start = time.perf_counter()
            dloss(*args)
            call.append(time.perf_counter() - start)
    return statistics.median(first), statistics.median(later), statistics.median(call)


# ---------------------------------------------------------------------------------------------

def load_libs():
    libs = {}
    autograd = _optional("autograd")
    if autograd is not None:
        libs["autograd"] = autograd
        libs["autograd.numpy"] = importlib.import_module("autograd.numpy")
    jax = _optional("jax")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        libs["jax"] = jax
        libs["jax.numpy"] = importlib.import_module("jax.numpy")
    torch = _optional("torch")
    if torch is not None:
        if THREADS > 0:
            torch.set_num_threads(THREADS)
        libs["torch"] = torch
    return libs


def _versions(libs):
    out = {"python": platform.python_version()}
    for name in ("numpy", "transgrad", "autograd", "jax", "torch"):
        if name in ("numpy", "transgrad") or name in libs:
            try:
                out[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                out[name] = "?"
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few short samples (a few seconds)")
    parser.add_argument("--show", action="store_true",
                        help="print the generated source of the workloads first")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    parser.add_argument("--samples", type=int, help="round-robin samples per implementation")
    parser.add_argument("--sample-ms", type=float, help="target length of one sample (ms)")
    parser.add_argument("--builds", type=int, help="builds timed in the build workload")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP/XLA/torch threads (0: library defaults); default 1")
    parser.add_argument("--only", choices=[*WORKLOADS, "build", *RATIO_WORKLOADS],
                        action="append",
                        help="run only this workload (repeatable)")
    args = parser.parse_args(argv)
    quick = args.quick
    args.samples = args.samples or (15 if quick else 201)
    args.sample_ms = args.sample_ms or (5.0 if quick else 10.0)
    args.builds = args.builds or (3 if quick else 11)
    args.build_repeat = 3 if quick else 9
    if args.samples < 2 or args.builds < 1:
        parser.error("--samples must be at least 2 and --builds at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    libs = load_libs()
    versions = _versions(libs)
    print("transgrad gradient benchmark; float64 everywhere (jax_enable_x64, torch double)")
    print("  " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"  threads: {THREADS or 'library default'}; cpus: {os.cpu_count()}; "
          f"{'quick' if args.quick else 'full'} run")
    if args.show:
        for key in (args.only or WORKLOADS):
            if key not in WORKLOADS:
                continue
            spec = WORKLOADS[key]
            n_wrt = len(spec["data"](np.random.default_rng(0))[0])
            print(f"\n-- generated source, {key} --")
            print(tg.grad(spec["loss"], wrt=tuple(range(n_wrt))).source)
    only = args.only or [*WORKLOADS, "build", *RATIO_WORKLOADS]
    report = {"versions": versions, "threads": THREADS, "dtype": "float64", "quick": args.quick,
              "samples": args.samples, "sample_ms": args.sample_ms, "workloads": {}}
    start = time.perf_counter()
    for key in WORKLOADS:
        if key in only:
            report["workloads"][key] = run_workload(key, libs, args)
    if "build" in only:
        report["workloads"]["build"] = run_build(libs, args)
    for key in RATIO_WORKLOADS:
        if key in only:
            report["workloads"][key] = run_ratio_workload(key, libs, args)
    report["wall_s"] = time.perf_counter() - start
    print(f"\ntotal {report['wall_s']:.1f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
        print(f"wrote {args.json}")
    return report


if __name__ == "__main__":
    main()
