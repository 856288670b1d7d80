"""Binomial checkpointing (issue 13): the revolve schedule, the runtime driver, the marker."""

import heapq
import importlib
import tracemalloc
import warnings
from math import comb

import numpy as np
import pytest

import transgrad as tg
from transgrad import revolve
from transgrad.checkpoint import (
    CheckpointedLoop,
    add_cotangents,
    checkpoint,
    checkpointed_loop,
    online_loop,
)

# --------------------------------------------------------------------------- the schedule


def simulate(steps, snapshots):
    """Run the schedule on positions; returns (advances, most snapshots held, advances per step)
    after checking that each REVERSE finds its own input state and steps reverse in order."""
    held, current, most, advances = set(), 0, 0, 0
    per_step = [0] * steps
    reversed_steps = []
    for action in revolve.schedule(steps, snapshots):
        if action.kind == revolve.ADVANCE:
            assert current == action.step < action.stop < steps
            for index in range(action.step, action.stop):
                per_step[index] += 1
            advances += action.stop - action.step
            current = action.stop
        elif action.kind == revolve.SNAPSHOT:
            assert current == action.step and action.step not in held
            held.add(action.step)
            most = max(most, len(held))
        elif action.kind == revolve.RESTORE:
            assert action.step in held
            current = action.step
        elif action.kind == revolve.FORGET:
            held.remove(action.step)
        else:
            assert action.kind == revolve.REVERSE and current == action.step
            reversed_steps.append(action.step)
            current = None                        # the adjoint consumed it: restore next
    assert reversed_steps == list(range(steps - 1, -1, -1))
    assert not held
    return advances, most, per_step


def dynamic_program(max_steps, snapshots):
    """Fewest advances for every length up to max_steps, over every first split (no formula)."""
    best = {(1, s): 0 for s in range(snapshots + 1)}
    for s in range(1, snapshots + 1):
        for length in range(2, max_steps + 1):
            if s == 1:
                best[length, 1] = length * (length - 1) // 2
                continue
            best[length, s] = min(m + best[length - m, s - 1] + best[m, s]
                                  for m in range(1, length))
    return best


def brute_force(steps, snapshots):
    """Fewest advances over ALL action sequences (Dijkstra on held set, current, steps left);
    current is -1 after an adjoint consumed the state."""
    start = (frozenset(), 0, steps)
    queue, seen, order = [(0, 0, start)], set(), 1
    while queue:
        cost, _, state = heapq.heappop(queue)
        if state in seen:
            continue
        seen.add(state)
        held, current, left = state
        if left == 0:
            return cost
        moves = [(0, (held, p, left)) for p in held if p < left]
        moves += [(0, (held - {p}, current, left)) for p in held]
        if current >= 0:
            if current == left - 1:
                moves.append((0, (held, -1, left - 1)))
            if current < left - 1:
                moves.append((1, (held, current + 1, left)))
            if current not in held and len(held) < snapshots:
                moves.append((0, (held | {current}, current, left)))
        for step_cost, nxt in moves:
            if nxt not in seen:
                heapq.heappush(queue, (cost + step_cost, order, nxt))
                order += 1
    raise AssertionError("no schedule found")


@pytest.mark.parametrize("snapshots", [1, 2, 3, 4, 6])
def test_schedule_is_valid_and_optimal(snapshots):
    table = dynamic_program(60, snapshots)
    for steps in range(1, 61):
        advances, most, per_step = simulate(steps, snapshots)
        assert most <= snapshots
        assert advances == revolve.min_advances(steps, snapshots) == table[steps, snapshots]
        reps = revolve.repetitions(steps, snapshots)
        assert max(per_step, default=0) <= reps
        assert steps <= comb(snapshots + reps, snapshots)


def test_schedule_matches_brute_force():
    for snapshots in (1, 2, 3):
        for steps in range(1, 9):
            assert revolve.min_advances(steps, snapshots) == brute_force(steps, snapshots), (
                steps, snapshots)


def test_binomial_capacity():
    """k snapshots with each step advanced r times reverse exactly C(k + r, k) steps."""
    for snapshots in (1, 2, 5, 40):
        for reps in (1, 2, 3, 4):
            capacity = revolve.max_steps(snapshots, reps)
            assert revolve.repetitions(capacity, snapshots) == reps
            assert revolve.repetitions(capacity + 1, snapshots) == reps + 1


def test_long_schedule_is_lazy_and_optimal():
    advances, most, per_step = simulate(20_000, 40)
    assert most <= 40 and max(per_step) == revolve.repetitions(20_000, 40) == 4
    assert advances == revolve.min_advances(20_000, 40) == 4 * 20_000 - comb(44, 3)


def test_schedule_refuses_no_snapshots():
    with pytest.raises(ValueError, match="at least one snapshot"):
        list(revolve.schedule(5, 0))


# --------------------------------------------------------------------------- a tanh RNN
# state (h, loss); step t: h = tanh(W_h @ h + W_x @ xs[t]); loss += sum(h ** 2)


def make_rnn(steps, hidden=32, inputs=8, seed=0):
    rng = np.random.default_rng(seed)
    w_h = rng.standard_normal((hidden, hidden)) * (0.5 / np.sqrt(hidden))
    w_x = rng.standard_normal((hidden, inputs)) * (0.5 / np.sqrt(inputs))
    xs = rng.standard_normal((steps, inputs))
    h0 = rng.standard_normal(hidden) * 0.1
    return w_h, w_x, xs, h0


def rnn_step_functions(w_h, w_x, xs):
    """forward(state, t) and its VJP, written by hand in numpy."""
    def forward(state, t):
        h, loss = state
        h_next = np.tanh(w_h @ h + w_x @ xs[t])
        return h_next, loss + np.sum(h_next ** 2)

    def vjp(state, t, g):
        h, _ = state
        g_h_next, g_loss = g
        h_next = np.tanh(w_h @ h + w_x @ xs[t])
        g_pre = (g_h_next + 2.0 * g_loss * h_next) * (1.0 - h_next ** 2)
        return (w_h.T @ g_pre, g_loss), (np.outer(g_pre, h), np.outer(g_pre, xs[t]))

    return forward, vjp


def rnn_loss(w_h, w_x, xs, h0):
    h, loss = h0, 0.0
    for t in range(len(xs)):
        h = np.tanh(w_h @ h + w_x @ xs[t])
        loss = loss + np.sum(h ** 2)
    return loss


def rnn_grad_store_all(w_h, w_x, xs, h0):
    """Backpropagation through time keeping every hidden state: (loss, gradient wrt (W_h, W_x))."""
    hs, loss = [h0], 0.0
    for t in range(len(xs)):
        hs.append(np.tanh(w_h @ hs[-1] + w_x @ xs[t]))
        loss = loss + np.sum(hs[-1] ** 2)
    g_w_h, g_w_x, g_h = np.zeros_like(w_h), np.zeros_like(w_x), np.zeros_like(h0)
    for t in range(len(xs) - 1, -1, -1):
        h_next = hs[t + 1]
        g_pre = (g_h + 2.0 * h_next) * (1.0 - h_next ** 2)
        g_w_h += np.outer(g_pre, hs[t])
        g_w_x += np.outer(g_pre, xs[t])
        g_h = w_h.T @ g_pre
    return loss, (g_w_h, g_w_x)


def rnn_grad_checkpointed(w_h, w_x, xs, h0, snapshots):
    forward, vjp = rnn_step_functions(w_h, w_x, xs)
    (h, loss), pullback = checkpointed_loop(forward, vjp, (h0, 0.0), len(xs), snapshots)
    _, g_params = pullback((np.zeros_like(h), 1.0))
    return loss, g_params


def relative_error(got, want):
    return max(np.max(np.abs(a - b)) / np.max(np.abs(b)) for a, b in zip(got, want, strict=True))


@pytest.mark.parametrize("snapshots", [1, 2, 3, 7, 30, 100])
def test_driver_matches_store_all_and_finite_differences(snapshots):
    w_h, w_x, xs, h0 = make_rnn(30, hidden=5, inputs=3)
    loss, grads = rnn_grad_checkpointed(w_h, w_x, xs, h0, snapshots)
    assert loss == pytest.approx(rnn_loss(w_h, w_x, xs, h0), rel=1e-13)
    assert relative_error(grads, rnn_grad_store_all(w_h, w_x, xs, h0)[1]) < 1e-12
    eps = 1e-6
    for index, param in enumerate((w_h, w_x)):
        numeric = np.zeros_like(param)
        for position in np.ndindex(param.shape):
            bumped = [w_h.copy(), w_x.copy()]
            bumped[index][position] += eps
            up = rnn_loss(*bumped, xs, h0)
            bumped[index][position] -= 2 * eps
            numeric[position] = (up - rnn_loss(*bumped, xs, h0)) / (2 * eps)
        np.testing.assert_allclose(grads[index], numeric, rtol=1e-6, atol=1e-8)


def test_driver_counts_forward_steps_and_holds_few_states():
    """The driver advances exactly as the schedule says (plus the last step for the output)."""
    calls, alive = [], []
    for steps, snapshots in [(1, 1), (2, 1), (10, 1), (10, 3), (55, 3), (56, 3), (100, 200)]:
        calls.clear()

        def forward(state, t):
            calls.append(t)
            return state + 1

        def vjp(state, t, g):
            assert state == t              # the state before step t is t: the right input
            alive.append(t)
            return g, 1.0

        final, pullback = checkpointed_loop(forward, vjp, 0, steps, snapshots)
        assert final == steps
        assert pullback(1.0) == (1.0, float(steps))
        assert len(calls) == revolve.min_advances(steps, snapshots) + 1


def test_driver_passes_range_values_and_can_pull_back_twice():
    seen = []

    def forward(state, t):
        seen.append(t)
        return state * 2.0 + t

    def vjp(state, t, g):
        return 2.0 * g, {"t": g * t}

    final, pullback = checkpointed_loop(forward, vjp, 1.0, range(3, 13, 2), 2)
    assert set(seen) == {3, 5, 7, 9, 11}
    state = 1.0
    for t in range(3, 13, 2):
        state = state * 2.0 + t
    assert final == state
    first = pullback(1.0)
    assert first == pullback(1.0) == (32.0, {"t": 16 * 3 + 8 * 5 + 4 * 7 + 2 * 9 + 11})


def test_driver_empty_loop():
    final, pullback = checkpointed_loop(None, None, "x", 0, 3)
    assert final == "x" and pullback("g") == ("g", None)


def test_add_cotangents_nesting():
    total = add_cotangents(None, (np.ones(2), [1.0, None], {"a": 1.0}))
    total = add_cotangents(total, (np.ones(2), [2.0, 3.0], {"b": 2.0}))
    np.testing.assert_array_equal(total[0], [2.0, 2.0])
    assert total[1] == [3.0, 3.0] and total[2] == {"a": 1.0, "b": 2.0}


def test_long_rnn_gradient_memory():
    """Issue 13's target: 20,000 steps, hidden 32, 40 snapshots: the same gradient to 1e-9
    and at most 5% of store-all's peak traced memory (time is measured in benchmarks/)."""
    w_h, w_x, xs, h0 = make_rnn(20_000)

    def peak(run):
        tracemalloc.start()
        try:
            result = run()
            return result, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    (_, want), store_all_peak = peak(lambda: rnn_grad_store_all(w_h, w_x, xs, h0))
    (_, got), checkpointed_peak = peak(lambda: rnn_grad_checkpointed(w_h, w_x, xs, h0, 40))
    assert relative_error(got, want) < 1e-9
    assert checkpointed_peak <= 0.05 * store_all_peak, (checkpointed_peak, store_all_peak)


# --------------------------------------------------------------------------- the marker


def test_marker_iterates_like_its_range():
    assert list(tg.checkpoint(range(2, 9, 3), snapshots=2)) == [2, 5, 8]
    marked = checkpoint(range(10), snapshots=4)
    assert len(marked) == 10 and marked.snapshots == 4 and list(marked) == list(range(10))
    assert tg.checkpoint is checkpoint


def test_marked_function_runs_unchanged():
    w_h, w_x, xs, h0 = make_rnn(25, hidden=4, inputs=3)

    def marked(w_h, w_x, xs, h0):
        h, loss = h0, 0.0
        for t in tg.checkpoint(range(len(xs)), snapshots=3):
            h = np.tanh(w_h @ h + w_x @ xs[t])
            loss = loss + np.sum(h ** 2)
        return loss

    assert marked(w_h, w_x, xs, h0) == rnn_loss(w_h, w_x, xs, h0)


def test_marker_refuses_bad_arguments():
    with pytest.raises(TypeError, match="over a range"):
        checkpoint([1, 2, 3], snapshots=2)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive int"):
            checkpoint(range(3), snapshots=bad)


def test_add_cotangents_never_writes_the_callers_arrays():
    first, second = np.ones(3), np.full(3, 2.0)
    total = add_cotangents(add_cotangents(None, first), second)
    total = add_cotangents(total, second)
    np.testing.assert_array_equal(total, [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(first, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(second, [2.0, 2.0, 2.0])
    assert add_cotangents(np.ones(2, np.float32), np.ones(2)).dtype == np.float64


# --------------------------------------------------------------------------- the compiler pass
# Marked loops differentiated by tg.grad (passes/checkpoint.py): the same derivative as the
# unmarked loop, and as finite differences; what the pass does not support is refused at its line.


def marked_rnn(w_h, w_x, xs, h0, decay):
    h, loss, steps_taken = h0 * 1.0, 0.0, 0
    for t in tg.checkpoint(range(len(xs)), snapshots=3):
        pre = w_h @ h + w_x @ xs[t]
        h = np.tanh(decay * pre)
        loss = loss + np.sum(h ** 2)
        steps_taken = steps_taken + 1
    return loss * np.sum(h) / steps_taken


def plain_rnn(w_h, w_x, xs, h0, decay):
    h, loss, steps_taken = h0 * 1.0, 0.0, 0
    for t in range(len(xs)):
        pre = w_h @ h + w_x @ xs[t]
        h = np.tanh(decay * pre)
        loss = loss + np.sum(h ** 2)
        steps_taken = steps_taken + 1
    return loss * np.sum(h) / steps_taken


def marked_in_branch(w, xs, many):
    h = np.ones(w.shape[0])
    if many:
        for t in tg.checkpoint(range(2, len(xs), 2), snapshots=2):
            h = np.sin(w @ h) + xs[t]
    else:
        h = w @ h
    return np.sum(h * h)


def numeric_gradient(f, args, index, eps=1e-6):
    value = np.asarray(args[index], dtype=float)
    grad = np.zeros_like(value)
    for position in np.ndindex(value.shape):
        bumped = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        bumped[index] = value.copy()
        bumped[index][position] += eps
        up = f(*bumped)
        bumped[index][position] -= 2 * eps
        grad[position] = (up - f(*bumped)) / (2 * eps)
    return grad


def rnn_arguments(steps=12):
    w_h, w_x, xs, h0 = make_rnn(steps, hidden=4, inputs=3, seed=3)
    return [w_h, w_x, xs, h0, np.array(0.9)]


def test_grad_of_marked_loop_matches_plain_loop_and_finite_differences():
    args = rnn_arguments()
    assert marked_rnn(*args) == plain_rnn(*args)
    wrt = (0, 1, 3, 4)
    got = tg.grad(marked_rnn, wrt=wrt)(*args)
    want = tg.grad(plain_rnn, wrt=wrt)(*args)
    for index, g, w in zip(wrt, got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g, numeric_gradient(marked_rnn, args, index), rtol=1e-6,
                                   atol=1e-9)
    source = tg.grad(marked_rnn, wrt=wrt).source
    assert "run_checkpointed(" in source and "pull_checkpointed(" in source
    assert not any(line.lstrip().startswith("for ") for line in source.splitlines())


def test_marked_loop_steps_run_exact_shape_halves(monkeypatch):
    """The driver calls the step's split VJP rewritten for the state's shapes (the same at
    every step): no run-time shape checks in the backward half, and the same gradient."""
    checkpoint_module = importlib.import_module("transgrad.checkpoint")
    made = []
    exact_halves = checkpoint_module._exact_halves

    def recording(pair, args, g):
        made.append((pair, exact_halves(pair, args, g)))
        return made[-1][1]

    monkeypatch.setattr(checkpoint_module, "_exact_halves", recording)
    args = rnn_arguments()
    got = tg.grad(marked_rnn, wrt=(0, 1))(*args)
    want = tg.grad(plain_rnn, wrt=(0, 1))(*args)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    # once per kind of state cotangent (the first step's loss cotangent is a float), not
    # per step
    assert 1 <= len(made) <= 3
    pair, (_, bwd) = made[-1]
    assert bwd is not pair.bwd
    specialized = [copy for (half, _), (copy, _) in pair.exact_halves.items()
                   if half == "bwd" and copy.bwd is bwd]
    assert len(specialized) == 1
    assert "tgr.unbroadcast_to" in pair.source and "matmul_vjp" in pair.source
    assert "tgr.unbroadcast_to" not in specialized[0].source
    assert "matmul_vjp" not in specialized[0].source


def test_value_and_grad_vjp_and_jvp_of_marked_loop():
    args = rnn_arguments()
    value, grad = tg.value_and_grad(marked_rnn, wrt=0)(*args)
    assert value == pytest.approx(plain_rnn(*args), rel=1e-14)
    np.testing.assert_allclose(grad, tg.grad(plain_rnn, wrt=0)(*args), rtol=1e-12)
    tangent = np.ones_like(args[0])
    value, derivative = tg.jvp(marked_rnn, wrt=0)(*args, tangent)   # forward: the plain range
    assert derivative == pytest.approx(np.sum(grad * tangent), rel=1e-10)


def test_marked_loop_in_a_branch_with_a_stepped_range():
    w = np.array([[0.3, -0.2], [0.1, 0.4]])
    xs = np.arange(14.0).reshape(7, 2) / 10
    for many in (True, False):
        got = tg.grad(marked_in_branch)(w, xs, many)
        np.testing.assert_allclose(got, numeric_gradient(marked_in_branch, [w, xs, many], 0),
                                   rtol=1e-6)


def test_grad_of_marked_loop_holds_few_states():
    """2,000 steps: the marked loop's gradient keeps a few states, the plain one every step."""
    args = rnn_arguments(2_000)

    def peak(f):
        grad = tg.grad(f, wrt=0)
        grad(*args)   # built (and the exact-shape code made) outside the measurement
        tracemalloc.start()
        try:
            result = grad(*args)
            return result, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    marked, marked_peak = peak(marked_rnn)
    plain, plain_peak = peak(plain_rnn)
    np.testing.assert_allclose(marked, plain, rtol=1e-11)
    assert marked_peak < 0.1 * plain_peak, (marked_peak, plain_peak)


def loop_with_break(w, xs):
    h = np.ones(2)
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        h = w @ h
        if t > 3:
            break
    return np.sum(h)


def loop_with_return(w, xs):
    h = np.ones(2)
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        h = w @ h
        if np.sum(h) > 10:
            return 0.0
    return np.sum(h)


def loop_reading_its_list(w, xs):
    h, hs = np.ones(2), []
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        hs.append(h)
        h = w @ hs[0]
    return np.sum(hs[-1])


def loop_extending(w, xs):
    h, hs = np.ones(2), []
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        h = w @ h
        hs.extend([h])
    return np.sum(hs[-1])


def loop_with_update(w, xs):
    h = np.ones(2)
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        h[0] = np.sum(w @ h)
    return np.sum(h)


def loop_binding_late(w, xs):
    h = np.ones(2)
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        h = w @ h
        last = h[0]
    return last


def loop_updating_what_a_loop_around_it_goes_over(w, xs):
    h = np.ones(2)
    total = 0.0
    for row in h:   # numpy's iterator sees the update the marked loop makes in place
        for t in tg.checkpoint(range(len(xs)), snapshots=2):
            h *= 0.5
        total = total + row
    return total * np.sum(w)


@pytest.mark.parametrize("func, line, message", [
    (loop_updating_what_a_loop_around_it_goes_over, "h *= 0.5",
     "a loop around the tg.checkpoint loop goes over it"),
    (loop_with_break, "break", "`break` in a tg.checkpoint loop"),
    (loop_with_return, "return 0.0", "`return` in a tg.checkpoint loop"),
    (loop_reading_its_list, "h = w @ hs[0]", "`hs` is appended to in the tg.checkpoint loop"),
    (loop_extending, "hs.extend([h])", "changes a value the steps share"),
    (loop_with_update, "h[0] = np.sum(w @ h)", "in place"),
    (loop_binding_late, "last = h[0]", "`last` is first bound in the tg.checkpoint loop"),
])
def test_unsupported_loops_are_refused_at_their_line(func, line, message):
    w, xs = np.eye(2) * 0.5, np.zeros((6, 2))
    with pytest.raises(tg.TransformError, match=message) as caught:
        tg.grad(func)(w, xs)
    assert caught.value.filename == __file__
    assert caught.value.source_line.strip() == line
    assert func(w, xs) is not None   # run plainly, the marked loop is a loop


def jax_rnn(w_h, w_x, xs, h0, decay):
    """plain_rnn in jax.numpy: the reference for jax.grad."""
    import jax
    import jax.numpy as jnp

    def body(carry, x):
        h, loss = carry
        h = jnp.tanh(decay * (w_h @ h + w_x @ x))
        return (h, loss + jnp.sum(h ** 2)), None

    (h, loss), _ = jax.lax.scan(body, (h0 * 1.0, 0.0), xs)
    return loss * jnp.sum(h) / len(xs)


def test_jax_backend_nested_scans_match_numpy_and_jax_grad():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    args = rnn_arguments(9)
    want = tg.grad(plain_rnn, wrt=(0, 1))(*args)
    reference = jax.grad(jax_rnn, argnums=(0, 1))(*args)
    made = tg.grad(marked_rnn, wrt=(0, 1), backend="jax")
    for got in (made(*args), jax.jit(made)(*args)):   # the revolve driver; the scanned schedule
        for g, w, r in zip(got, want, reference, strict=True):
            np.testing.assert_allclose(np.asarray(g), w, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-12, atol=1e-14)
    option = jax.jit(tg.grad(plain_rnn, wrt=0, backend="jax", checkpoint=2))
    np.testing.assert_allclose(np.asarray(option(*args)), want[0], rtol=1e-12, atol=1e-14)


def jax_marked_long(w, xs, h0):
    h, loss = h0 * 1.0, 0.0
    for t in tg.checkpoint(range(len(xs)), snapshots=20):
        h = np.tanh(w @ h + xs[t])
        loss = loss + np.sum(h ** 2)
    return loss


def jax_plain_long(w, xs, h0):
    h, loss = h0 * 1.0, 0.0
    for t in range(len(xs)):
        h = np.tanh(w @ h + xs[t])
        loss = loss + np.sum(h ** 2)
    return loss


def test_jax_backend_checkpointed_loop_needs_less_memory_under_jit():
    """400 steps of a hidden-16 RNN: XLA's temporary buffers of the compiled gradient."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(2)
    args = [rng.normal(size=(16, 16)) * 0.3, rng.normal(size=(400, 16)), rng.normal(size=16)]
    sizes = {}
    for f in (jax_marked_long, jax_plain_long):
        compiled = jax.jit(tg.grad(f, backend="jax")).lower(*args).compile()
        sizes[f] = compiled.memory_analysis().temp_size_in_bytes
        np.testing.assert_allclose(np.asarray(compiled(*args)), tg.grad(jax_plain_long)(*args),
                                   rtol=1e-11)
    # revolve's schedule under jit holds the 20 snapshots (about 4% here); the earlier two
    # levels of scans held k + n / k states (19%)
    assert sizes[jax_marked_long] < 0.08 * sizes[jax_plain_long], sizes


def jax_marked_sized(w, xs, h0, snapshots):
    h, loss, hs = h0 * 1.0, 0.0, []
    for t in tg.checkpoint(range(1, len(xs), 2), snapshots=snapshots):
        h = np.tanh(w @ h + xs[t]) * (1.0 + 0.1 * t)
        hs.append(h[0])
        loss = loss + np.sum(h ** 2)
    return loss + sum(hs)


@pytest.mark.parametrize("rows", [0, 2, 3, 4, 6, 15])
@pytest.mark.parametrize("snapshots", [1, 2, 3, 8])
def test_jax_backend_revolve_under_jit_every_length_and_snapshot_count(rows, snapshots):
    """The schedule's table under jit (a strided range: the loop's index is computed from
    the step's position) against the revolve driver on numpy, lists included."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(rows + 10 * snapshots)
    w, xs, h0 = rng.normal(size=(3, 3)) * 0.4, rng.normal(size=(rows, 3)), rng.normal(size=3)
    want = tg.grad(jax_marked_sized, wrt=(0, 1, 2))(w, xs, h0, snapshots)
    made = jax.jit(tg.grad(jax_marked_sized, wrt=(0, 1, 2), backend="jax"), static_argnums=3)
    for g, expected in zip(made(w, xs, h0, snapshots), want, strict=True):
        np.testing.assert_allclose(np.asarray(g), expected, rtol=1e-12, atol=1e-14)


def jax_while(w, x0):
    x, err = x0 * 1.0, 1.0
    while tg.checkpoint(err > 1e-8, snapshots=3, max_steps=60):
        x_new = np.tanh(w @ x) + 0.1 * x0
        err = np.sum((x_new - x) ** 2)
        x = x_new
    return np.sum(x ** 2)


def jax_collecting(w, xs):
    h, hs, firsts = np.ones(2), [np.ones(2)], []
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        h = np.tanh(w @ h + xs[t])
        hs.append(h)
        hs.append(h * h)
        firsts.append(h[0])
    return np.sum(np.stack(hs) ** 2) + np.sum(hs[-3]) + firsts[1] * firsts[-1]


def test_jax_backend_while_loops_and_lists():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    w, x0 = np.array([[0.3, 0.1], [-0.2, 0.4]]), np.array([1.0, -0.5])
    want = tg.grad(jax_while, wrt=(0, 1))(w, x0)
    made = tg.grad(jax_while, wrt=(0, 1), backend="jax")
    for got in (made(w, x0), jax.jit(made)(w, x0)):   # counted, then max_steps masked steps
        for g, expected in zip(got, want, strict=True):
            np.testing.assert_allclose(np.asarray(g), expected, rtol=1e-12, atol=1e-14)
    xs = np.arange(10.0).reshape(5, 2) / 10
    lists = tg.grad(jax_collecting, backend="jax")
    for got in (lists(w, xs), jax.jit(lists)(w, xs)):   # the driver; the scans' outputs
        np.testing.assert_allclose(np.asarray(got), tg.grad(jax_collecting)(w, xs),
                                   rtol=1e-12)


def marked_in_outer_loop(w, xs):
    h, total = np.ones(2), 0.0
    for epoch in range(3):
        for t in tg.checkpoint(range(len(xs)), snapshots=2):
            h = np.sin(w @ h) + xs[t]
        total = total + np.sum(h) * (epoch + 1)
    return total


def marked_twice_nested(w, xs):
    h = np.ones(2)
    for s in tg.checkpoint(range(3), snapshots=2):
        for t in tg.checkpoint(range(len(xs)), snapshots=2):   # outlined when the step is built
            h = np.sin(w @ h) + xs[t] * s
    return np.sum(h)


def marked_helper(w, h, xs):
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        h = np.tanh(w @ h + xs[t])
    return h


def calls_marked_helper(w, xs):
    h = marked_helper(w, np.ones(2), xs)
    h = marked_helper(w, h * 2.0, xs)
    return np.sum(h ** 2)


@pytest.mark.parametrize("func", [marked_in_outer_loop, marked_twice_nested,
                                  calls_marked_helper])
def test_marked_loops_in_loops_and_called_functions(func):
    w = np.array([[0.3, -0.2], [0.1, 0.4]])
    xs = np.arange(14.0).reshape(7, 2) / 10
    np.testing.assert_allclose(tg.grad(func)(w, xs), numeric_gradient(func, [w, xs], 0),
                               rtol=1e-6, atol=1e-9)


def marked_dict_parameters(params, xs):
    h = np.ones(2)
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        h = np.tanh(params["w"] @ h + params["b"] + xs[t])
    return np.sum(h ** 2)


def plain_dict_parameters(params, xs):
    h = np.ones(2)
    for t in range(len(xs)):
        h = np.tanh(params["w"] @ h + params["b"] + xs[t])
    return np.sum(h ** 2)


def test_marked_loop_reading_a_dict_of_parameters():
    params = {"w": np.array([[0.3, -0.2], [0.1, 0.4]]), "b": np.array([0.1, -0.3])}
    xs = np.arange(14.0).reshape(7, 2) / 10
    got = tg.grad(marked_dict_parameters)(params, xs)
    want = tg.grad(plain_dict_parameters)(params, xs)
    assert set(got) == {"w", "b"}
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12)


def marked_loop_reading_a_constant_number(x):
    acc = 0.0
    offset = 1 ** 2 * acc
    m9 = 0.4
    if np.mean(m9):
        for t in tg.checkpoint(range(1), snapshots=2):
            first, second = np.minimum(x, offset)
            acc -= 1.0
    return acc


def test_marked_loop_reading_a_number_no_step_differentiates():
    """``offset`` (a number made from constants) is read in the step, which does not
    differentiate it; the caller's adjoint still adds its cotangent, which is 0.0, not None
    (a TypeError in the generated code before; seed 1505684 of the seventh fuzz run)."""
    x = np.array([[0.5, -1.0, 1.0], [2.0, 3.0, 1.0]])
    np.testing.assert_allclose(tg.grad(marked_loop_reading_a_constant_number)(x), 0 * x,
                               rtol=1e-12)


def marked_skipping_steps(w, xs):
    h = np.ones(2)
    total = 0.0
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        if xs[t, 0] < 0.0:
            total = total + np.sum(h)
            continue
        h = np.tanh(w @ h + xs[t])
        for k in range(3):
            if k == 1:
                continue   # the inner loop's own
            total = total + k * np.sum(h ** 2)
    return total + np.sum(h)


def plain_skipping_steps(w, xs):
    h = np.ones(2)
    total = 0.0
    for t in range(len(xs)):
        if xs[t, 0] < 0.0:
            total = total + np.sum(h)
            continue
        h = np.tanh(w @ h + xs[t])
        for k in range(3):
            if k == 1:
                continue
            total = total + k * np.sum(h ** 2)
    return total + np.sum(h)


def test_marked_loop_with_continue():
    """A `continue` of the marked loop ends the step early (its state as it stands); the
    inner loop's `continue` is its own. Value and gradients agree with the unmarked loop."""
    rng = np.random.default_rng(0)
    w, xs = rng.normal(size=(2, 2)) * 0.5, rng.normal(size=(9, 2))
    assert (xs[:, 0] < 0).any() and (xs[:, 0] >= 0).any()
    value, grads = tg.value_and_grad(marked_skipping_steps, wrt=(0, 1))(w, xs)
    assert value == plain_skipping_steps(w, xs)
    for got, want in zip(grads, tg.grad(plain_skipping_steps, wrt=(0, 1))(w, xs)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def marker_through_a_name(w, xs):
    h = np.ones(2)
    steps = tg.checkpoint(range(len(xs)), snapshots=2)
    for t in steps:
        h = np.tanh(w @ h + xs[t])
    return np.sum(h)


def test_a_marker_out_of_the_loop_header_is_its_range():
    """The compiler reads a marker only in the loop's header; one bound to a name first is
    the range it wraps (the loop keeps every step), and the gradient is still right. The
    build warns at the marker's line that it marks nothing."""
    rng = np.random.default_rng(1)
    w, xs = rng.normal(size=(2, 2)) * 0.5, rng.normal(size=(5, 2))
    with pytest.warns(UserWarning, match="marks a loop only in the loop's own header") as seen:
        got = tg.grad(marker_through_a_name)(w, xs)
    assert [record.lineno for record in seen] == [marker_through_a_name.__code__.co_firstlineno + 2]
    assert seen[0].filename == __file__
    want = tg.grad(no_marker)(w, xs)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    with warnings.catch_warnings():   # a marker in its loop's header: no warning
        warnings.simplefilter("error")
        tg.grad(no_marker)(w, xs)
        tg.grad(marked_rnn, wrt=0)(*rnn_arguments())


def no_marker(w, xs):
    h = np.ones(2)
    for t in range(len(xs)):
        h = np.tanh(w @ h + xs[t])
    return np.sum(h)


def test_marked_loop_gradient_wrt_the_indexed_inputs():
    """xs[t] read in the step: its cotangent is gathered over the steps (a full-size array per
    step today: O(n) work per step, fine for tests, a limit for long loops)."""
    args = rnn_arguments()
    np.testing.assert_allclose(tg.grad(marked_rnn, wrt=2)(*args),
                               tg.grad(plain_rnn, wrt=2)(*args), rtol=1e-12, atol=1e-15)


def test_marked_loop_of_no_steps():
    args = rnn_arguments(0)
    args[2] = np.zeros((0, 3))

    def no_steps(w_h, w_x, xs, h0, decay):
        h = h0 * 1.0
        for t in tg.checkpoint(range(len(xs)), snapshots=3):
            h = np.tanh(decay * (w_h @ h + w_x @ xs[t]))
        return np.sum(h ** 2)

    grads = tg.grad(no_steps, wrt=(0, 3))(*args)
    np.testing.assert_array_equal(grads[0], np.zeros_like(args[0]))
    np.testing.assert_allclose(grads[1], 2 * args[3])


def marked_augmented(w, xs, h0):
    h, loss = h0, 0.0
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        h += np.sin(w @ h) + xs[t]; loss += np.sum(h   # two on a line, one over two
                                                   ** 2)
        h *= 0.5
    return loss


def test_augmented_assignments_never_change_a_snapshot():
    """``h += v`` in the step is ``h = h + v`` (as transgrad differentiates it): in place, it
    would change the kept states and the caller's h0."""
    w = np.array([[0.3, -0.2], [0.1, 0.4]])
    xs = np.arange(14.0).reshape(7, 2) / 10
    h0 = np.array([0.5, -0.5])
    got = tg.grad(marked_augmented, wrt=(0, 2))(w, xs, h0)
    np.testing.assert_array_equal(h0, [0.5, -0.5])
    for index, g in zip((0, 2), got, strict=True):
        np.testing.assert_allclose(
            g, numeric_gradient(lambda *a: marked_augmented(*a[:2], a[2].copy()),
                                [w, xs, h0], index), rtol=1e-6, atol=1e-9)


def test_each_run_sweeps_once(monkeypatch):
    """The adjoint continues the primal's sweep (its snapshots travel with the result in the
    tape), also when the loop runs several times before any adjoint."""
    sweeps = []
    original = CheckpointedLoop._driven

    def counted(self, *args):
        sweeps.append(self.__name__)
        return original(self, *args)

    monkeypatch.setattr(CheckpointedLoop, "_driven", counted)
    tg.grad(marked_rnn, wrt=0)(*rnn_arguments())
    assert len(sweeps) == 1
    w, xs = np.array([[0.3, -0.2], [0.1, 0.4]]), np.arange(14.0).reshape(7, 2) / 10
    tg.grad(marked_in_outer_loop)(w, xs)
    assert len(sweeps) == 1 + 3


def cell(w, h, x):
    return np.tanh(w @ h + x)


def marked_with_branch_and_call(w, xs):
    h, total = np.ones(2), 0.0
    for t in tg.checkpoint(range(len(xs)), snapshots=3):
        if t % 3 == 0:
            h = cell(w, h, xs[t])
        else:
            h = np.sin(h) * 0.9
        total = total + np.sum(h * xs[t])
    return total


def test_branches_and_calls_in_the_body():
    w = np.array([[0.3, -0.2], [0.1, 0.4]])
    xs = np.arange(20.0).reshape(10, 2) / 10
    np.testing.assert_allclose(tg.grad(marked_with_branch_and_call)(w, xs),
                               numeric_gradient(marked_with_branch_and_call, [w, xs], 0),
                               rtol=1e-6, atol=1e-9)


def loop_with_own_list(w, xs):
    h = np.ones(2)
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        parts = []
        parts.append(w @ h)
        parts.append(xs[t])
        h = np.sin(parts[0] + parts[1])
    return np.sum(h)


def loop_rebinding_a_carried_list(w, xs):
    h, hs = np.ones(2), [np.zeros(2)]
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        hs = [h]
        h = w @ h
        hs.append(h)
    return np.sum(hs[-1])


def test_a_list_built_in_the_step_is_its_own():
    w, xs = np.eye(2) * 0.5, np.arange(12.0).reshape(6, 2) / 10
    np.testing.assert_allclose(tg.grad(loop_with_own_list)(w, xs),
                               numeric_gradient(loop_with_own_list, [w, xs], 0), rtol=1e-6)
    with pytest.raises(tg.TransformError, match="changes a value the steps share") as caught:
        tg.grad(loop_rebinding_a_carried_list)(w, xs)   # hs is carried: refused, conservatively
    assert caught.value.source_line.strip() == "hs.append(h)"


# ----------------------------------------------- tg.grad(f, checkpoint=k), appended lists, hvp


def two_loops(w, xs, h0):
    h, loss = h0 * 1.0, 0.0
    for t in range(len(xs)):
        h = np.tanh(w @ h + xs[t])
        for _ in range(2):   # inside the outermost loop: part of its step
            h = 0.9 * h
        loss = loss + np.sum(h ** 2)
    for t in range(1, len(xs), 2):
        loss = loss + np.sum(w @ xs[t]) * np.sum(h)
    return loss


def two_loops_args():
    rng = np.random.default_rng(5)
    return [rng.normal(size=(3, 3)) * 0.5, rng.normal(size=(9, 3)), rng.normal(size=3)]


@pytest.mark.parametrize("snapshots", [1, 3, "auto"])
def test_checkpoint_option_marks_every_outermost_range_loop(snapshots):
    args = two_loops_args()
    want = tg.grad(two_loops, wrt=(0, 2))(*args)
    made = tg.grad(two_loops, wrt=(0, 2), checkpoint=snapshots)
    for g, w in zip(made(*args), want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(made(*args)[0], numeric_gradient(two_loops, args, 0), rtol=1e-6)
    assert made.source.count("run_checkpointed(") == 2
    value, grad = tg.value_and_grad(two_loops, checkpoint=snapshots)(*args)
    assert value == pytest.approx(two_loops(*args), rel=1e-14)
    np.testing.assert_allclose(grad, want[0], rtol=1e-12)
    np.testing.assert_allclose(tg.vjp(two_loops, checkpoint=snapshots)(*args, 2.0),
                               2 * want[0], rtol=1e-12)


def test_auto_snapshots_advance_each_step_at_most_twice():
    from transgrad.checkpoint import auto_snapshots
    assert auto_snapshots(20_000) == 199 and auto_snapshots(1) == 1
    for steps in (2, 3, 10, 999, 20_000):
        k = auto_snapshots(steps)
        assert comb(k + 2, 2) >= steps and (k == 1 or comb(k + 1, 2) < steps)
        assert checkpoint(range(steps), snapshots="auto").snapshots == k


def loop_breaking_unmarked(w, xs):
    h = np.ones(2)
    for t in range(len(xs)):
        h = w @ h
        if t > 3:
            break
    return np.sum(h)


def test_checkpoint_option_refusals_say_where_they_come_from():
    w, xs = np.eye(2) * 0.5, np.zeros((6, 2))
    with pytest.raises(tg.TransformError, match="checkpoint= marks every outermost") as caught:
        tg.grad(loop_breaking_unmarked, checkpoint=2)(w, xs)
    assert caught.value.source_line.strip() == "break"
    assert "tg.checkpoint(range(n), snapshots=k)" in caught.value.hint
    for bad in (0, -1, 2.5, True, "most"):
        with pytest.raises(tg.TransformError, match="checkpoint="):
            tg.grad(loop_breaking_unmarked, checkpoint=bad)


def collecting(w, xs, h0, marked):
    h = h0 * 1.0
    hs, extra = [h], []
    steps = tg.checkpoint(range(len(xs)), snapshots=2) if marked else range(len(xs))
    for t in steps:
        h = np.sin(w @ h) + xs[t]
        hs.append(h)
        if t % 3 == 0:
            extra.append(np.sum(h * w))
            extra.append(h[0])
    return np.sum(np.stack(hs) ** 2) + np.sum(hs[-1]) + sum(extra) * 0.5


def collecting_marked(w, xs, h0):
    h = h0 * 1.0
    hs, extra = [h], []
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        h = np.sin(w @ h) + xs[t]
        hs.append(h)
        if t % 3 == 0:
            extra.append(np.sum(h * w))
            extra.append(h[0])
    return np.sum(np.stack(hs) ** 2) + np.sum(hs[-1]) + sum(extra) * 0.5


def test_lists_the_loop_appends_to_are_its_per_step_outputs():
    w, xs, h0 = two_loops_args()
    w = w[:, :3]
    args = [w, xs, h0]
    assert collecting_marked(*args) == collecting(*args, False)
    want = tg.grad(lambda w, xs, h0: collecting(w, xs, h0, False), wrt=(0, 1, 2))(*args)
    got = tg.grad(collecting_marked, wrt=(0, 1, 2))(*args)
    for index, g, expected in zip((0, 1, 2), got, want, strict=True):
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g, numeric_gradient(collecting_marked, args, index),
                                   rtol=1e-6, atol=1e-9)
    source = tg.grad(collecting_marked).source
    assert "run_checkpointed(" in source and "(hs, extra)" in source
    empty = [w, xs[:0], h0]   # no steps: the lists keep their first items
    np.testing.assert_allclose(tg.grad(collecting_marked, wrt=2)(*empty),
                               numeric_gradient(collecting_marked, empty, 2), rtol=1e-6)


def appending_plain(w, xs):
    h, hs = np.ones(3), []
    for t in range(len(xs)):
        h = np.tanh(w @ h + xs[t])
        hs.append(np.sum(h))
    return sum(hs)


def test_checkpoint_option_with_an_appended_list():
    args = two_loops_args()[:2]
    made = tg.grad(appending_plain, checkpoint="auto")
    np.testing.assert_allclose(made(*args), tg.grad(appending_plain)(*args), rtol=1e-12)
    assert "run_checkpointed(" in made.source


@pytest.mark.parametrize("wrt", [0, (0, 1, 3, 4)])
def test_hvp_of_a_checkpointed_loop_matches_the_plain_loops(wrt):
    """Forward over reverse: the loop's tangent-carrying twin reversed on the schedule (an
    int counter carried beside the floats, a 0-d decay read from outside)."""
    args = rnn_arguments(9)
    rng = np.random.default_rng(4)
    positions = (wrt,) if isinstance(wrt, int) else wrt
    v = tuple(rng.normal(size=np.shape(args[i])) for i in positions)
    v = v[0] if isinstance(wrt, int) else v
    want = tg.hvp(plain_rnn, wrt=wrt)(*args, v)
    option = tg.jvp(tg.grad(plain_rnn, wrt=wrt, checkpoint=2), wrt=wrt)   # checkpoint=
    for got in (tg.hvp(marked_rnn, wrt=wrt)(*args, v), option(*args, v)[1]):
        for g, w in zip(*((got, want) if isinstance(wrt, tuple) else ((got,), (want,)))):
            np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-13)
    # against central differences of the gradient along v
    step = 1e-6
    w0 = args[0]
    vv = v if isinstance(wrt, int) else v[0]
    up = tg.grad(plain_rnn)(*([w0 + step * vv] + args[1:]))
    down = tg.grad(plain_rnn)(*([w0 - step * vv] + args[1:]))
    if isinstance(wrt, int):
        np.testing.assert_allclose(want, (up - down) / (2 * step), rtol=1e-5, atol=1e-8)


def test_mixed_second_derivative_through_a_checkpointed_loop():
    """tg.jvp of the gradient with respect to w_h along the inputs xs: the outer tangent
    varies a value the gradient does not differentiate."""
    args = rnn_arguments(7)
    direction = np.random.default_rng(5).normal(size=args[2].shape)
    want = tg.jvp(tg.grad(plain_rnn), wrt=2)(*args, direction)
    got = tg.jvp(tg.grad(marked_rnn), wrt=2)(*args, direction)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-13)


def plain_while(w, x0):
    """jax_while without its marker."""
    x, err = x0 * 1.0, 1.0
    while err > 1e-8:
        x_new = np.tanh(w @ x) + 0.1 * x0
        err = np.sum((x_new - x) ** 2)
        x = x_new
    return np.sum(x ** 2)


def test_hvp_of_a_checkpointed_while_loop():
    w, x0 = np.array([[0.3, 0.1], [-0.2, 0.4]]), np.array([1.0, -0.5])
    v = (np.array([[1.0, -0.5], [0.2, 0.3]]), np.array([0.4, -1.0]))
    want = tg.hvp(plain_while, wrt=(0, 1))(w, x0, v)
    got = tg.hvp(jax_while, wrt=(0, 1))(w, x0, v)
    for g, expected in zip(got, want, strict=True):
        np.testing.assert_allclose(g, expected, rtol=1e-11, atol=1e-13)


def test_derivatives_of_checkpointed_gradients_refused_where_unsupported():
    args = rnn_arguments(5)
    gradient = tg.grad(marked_rnn)

    def gradient_norm(w_h, w_x, xs, h0, decay):
        return np.sum(gradient(w_h, w_x, xs, h0, decay) ** 2)

    with pytest.raises(tg.TransformError, match="reverse mode") as caught:
        tg.grad(gradient_norm)(*args)   # reverse over reverse
    assert caught.value.filename == __file__
    assert "tg.checkpoint(range(len(xs)), snapshots=3)" in caught.value.source_line
    v = np.ones_like(args[0])
    second = tg.jvp(tg.grad(marked_rnn))

    def second_norm(w_h, w_x, xs, h0, decay):
        return np.sum(second(w_h, w_x, xs, h0, decay, v)[1] ** 2)

    with pytest.raises(tg.TransformError, match="a third time"):
        tg.grad(second_norm)(*args)


def test_jax_backend_marked_loop_in_a_marked_loop_under_jit():
    """The inner loop runs inside the outer step, which jax.vjp differentiates: its forward
    sweep is a plain scan JAX can differentiate (the reverse sweep's fori_loops are not)."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    w = np.array([[0.3, -0.2], [0.1, 0.4]])
    xs = np.arange(14.0).reshape(7, 2) / 10
    want = tg.grad(marked_twice_nested)(w, xs)
    got = jax.jit(tg.grad(marked_twice_nested, backend="jax"))(w, xs)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-14)


def appending_marked(w, xs):
    h, hs = np.ones(3), []
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        h = np.tanh(w @ h + xs[t])
        hs.append(np.sum(h))
    return sum(hs)


def two_lists_marked(w, xs):
    h, hs, firsts = np.ones(2), [w[0] * 1.0], []
    for t in tg.checkpoint(range(len(xs)), snapshots=2):
        h = np.tanh(w @ h + xs[t])
        hs.append(h)
        hs.append(h * h)
        firsts.append(h[0])
    return np.sum(np.stack(hs) ** 2) + np.sum(hs[-3]) + firsts[1] * firsts[-1]


def two_lists_plain(w, xs):
    h, hs, firsts = np.ones(2), [w[0] * 1.0], []
    for t in range(len(xs)):
        h = np.tanh(w @ h + xs[t])
        hs.append(h)
        hs.append(h * h)
        firsts.append(h[0])
    return np.sum(np.stack(hs) ** 2) + np.sum(hs[-3]) + firsts[1] * firsts[-1]


def collecting_while(w, xs):
    h, hs, t = np.ones(2), [w[0] * 1.0], 0
    while tg.checkpoint(t < len(xs), snapshots=2, max_steps=20):
        h = np.tanh(w @ h + xs[t])
        hs.append(h * h)
        t = t + 1
    return np.sum(np.stack(hs) ** 3)


def collecting_while_plain(w, xs):
    h, hs, t = np.ones(2), [w[0] * 1.0], 0
    while t < len(xs):
        h = np.tanh(w @ h + xs[t])
        hs.append(h * h)
        t = t + 1
    return np.sum(np.stack(hs) ** 3)


@pytest.mark.parametrize("marked, plain", [(appending_marked, appending_plain),
                                           (two_lists_marked, two_lists_plain),
                                           (collecting_while, collecting_while_plain)])
def test_hvp_through_a_checkpointed_loop_that_appends_to_lists(marked, plain):
    """The lists' items and their tangents are the twin's per-step outputs; each step's
    cotangents (and their tangents) are cut from the lists' (an initial item included)."""
    rng = np.random.default_rng(8)
    size = 3 if marked is appending_marked else 2
    w, xs = rng.normal(size=(size, size)) * 0.5, rng.normal(size=(6, size))
    v = (rng.normal(size=w.shape), rng.normal(size=xs.shape))
    want = tg.hvp(plain, wrt=(0, 1))(w, xs, v)
    got = tg.hvp(marked, wrt=(0, 1))(w, xs, v)
    for g, expected in zip(got, want, strict=True):
        np.testing.assert_allclose(g, expected, rtol=1e-11, atol=1e-13)


def test_hvp_of_a_checkpointed_loop_on_the_jax_backend():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    args = rnn_arguments(6)
    v = np.random.default_rng(6).normal(size=args[0].shape)
    want = tg.hvp(plain_rnn)(*args, v)
    made = tg.jvp(tg.grad(marked_rnn, backend="jax"), backend="jax")
    # the driver on the step's JAX code; under jit the twin (jax.jvp of the step) scanned
    for got in (made(*args, v)[1], jax.jit(made)(*args, v)[1]):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-11, atol=1e-13)
    w, x0 = np.array([[0.3, 0.1], [-0.2, 0.4]]), np.array([1.0, -0.5])
    v = np.array([[1.0, -0.5], [0.2, 0.3]])
    want = tg.hvp(plain_while)(w, x0, v)
    made = tg.jvp(tg.grad(jax_while, backend="jax"), backend="jax")
    for got in (made(w, x0, v)[1], jax.jit(made)(w, x0, v)[1]):   # counted; max_steps masked
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-11, atol=1e-13)
    with pytest.raises(tg.TransformError, match="appends to lists under jax.jit"):
        jax.jit(tg.jvp(tg.grad(two_lists_marked, backend="jax"), backend="jax"))(
            w, np.ones((4, 2)), v)


# --------------------------------------------------------------------------- while loops


def fixed_point(w, x0, snapshots):
    x, err, xs = x0 * 1.0, 1.0, []
    while tg.checkpoint(err > 1e-8, snapshots=snapshots, max_steps=500):
        x_new = np.tanh(w @ x) + 0.1 * x0
        err = np.sum((x_new - x) ** 2)
        x = x_new
        xs.append(np.sum(x))
    return np.sum(x ** 2) + sum(xs)


def fixed_point_plain(w, x0, snapshots):
    x, err, xs = x0 * 1.0, 1.0, []
    while err > 1e-8:
        x_new = np.tanh(w @ x) + 0.1 * x0
        err = np.sum((x_new - x) ** 2)
        x = x_new
        xs.append(np.sum(x))
    return np.sum(x ** 2) + sum(xs)


def bounded_too_low(w, x0):
    x, err = x0 * 1.0, 1.0
    while tg.checkpoint(err > 1e-8, snapshots=2, max_steps=3):
        x_new = np.tanh(w @ x)
        err = np.sum((x_new - x) ** 2)
        x = x_new
    return np.sum(x)


def unbounded(w, x0):
    x, err = x0 * 1.0, 1.0
    while tg.checkpoint(err > 1e-8, snapshots=2):
        x_new = np.tanh(w @ x)
        err = np.sum((x_new - x) ** 2)
        x = x_new
    return np.sum(x)


@pytest.mark.parametrize("snapshots", [1, 3, "auto"])
def test_while_loop_reverses_its_steps(snapshots):
    w, x0 = np.array([[0.3, 0.1], [-0.2, 0.4]]), np.array([1.0, -0.5])
    args = [w, x0, snapshots]
    assert fixed_point(*args) == fixed_point_plain(*args)
    got = tg.grad(fixed_point, wrt=(0, 1))(*args)
    want = tg.grad(fixed_point_plain, wrt=(0, 1))(*args)
    for index, g, expected in zip((0, 1), got, want, strict=True):
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g, numeric_gradient(fixed_point, args, index), rtol=1e-5,
                                   atol=1e-8)
    assert "run_checkpointed(" in tg.grad(fixed_point).source
    _, slope = tg.jvp(fixed_point)(*args, np.ones_like(w))   # forward: the plain while
    assert slope == pytest.approx(np.sum(want[0]), rel=1e-10)


@pytest.mark.parametrize("steps", [0, 1, 2, 7, 64, 150, 300])
@pytest.mark.parametrize("snapshots", [1, 2, 3, 8])
def test_online_loop_reverses_every_step_once_in_order(steps, snapshots):
    """The while loops' driver: the number of steps is known only when ``more`` turns
    false; every step is reversed once, from the last, the gradient exact, and each step
    runs at most r times (the sweep included), r the smallest with C(k + r, r) - 1 >= steps:
    the offline schedule's bound (the earlier doubling scheme ran some steps 5 times where
    this bound is 3, 12 where it is 11)."""
    runs, reversed_steps = [], []

    def forward(state, t):
        runs.append(t)
        x, count = state
        return (0.9 * x + 0.01 * t, count + 1)

    def vjp(state, t, g):
        reversed_steps.append(t)
        assert state[1] == t   # the step's own input state
        return (0.9 * g[0], 0.0), 0.01 * t * g[0]

    final, pullback, taken = online_loop(forward, vjp, (1.0, 0),
                                         lambda state: state[1] < steps, 1000, snapshots)
    assert taken == steps and final[1] == steps
    g_state, g_params = pullback((1.0, 0.0))
    assert reversed_steps == list(range(steps))[::-1]
    assert g_state[0] == pytest.approx(0.9 ** steps, rel=1e-12)
    assert (g_params or 0.0) == pytest.approx(sum(0.01 * t * 0.9 ** (steps - 1 - t)
                                                  for t in range(steps)), rel=1e-12)
    if steps:
        bound = next(r for r in range(1, steps + 2) if comb(snapshots + r, r) - 1 >= steps)
        assert max(runs.count(t) for t in range(steps)) <= bound
    with pytest.raises(Exception) as stopped:   # the caller names the loop and its bound
        online_loop(forward, vjp, (1.0, 0), lambda state: True, 5, snapshots)
    assert type(stopped.value).__name__ == "_TooManySteps" and stopped.value.args == (5,)


def test_while_loop_needs_and_keeps_its_bound():
    w, x0 = np.array([[0.3, 0.1], [-0.2, 0.4]]), np.array([1.0, -0.5])
    with pytest.raises(tg.TransformError, match="needs a bound on its steps") as caught:
        tg.grad(unbounded)(w, x0)
    assert caught.value.source_line.strip().startswith("while tg.checkpoint(err > 1e-8")
    with pytest.raises(ValueError, match="after max_steps=3 steps"):
        tg.grad(bounded_too_low)(w, x0)
    assert np.isfinite(bounded_too_low(w, x0))   # run plainly, the bound is not checked
    assert not tg.checkpoint(False, snapshots=2, max_steps=3)
    assert tg.checkpoint(np.float64(2.0) > 1, snapshots=2, max_steps=3)
