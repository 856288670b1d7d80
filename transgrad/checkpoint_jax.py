"""Checkpointed loops on the JAX backend: revolve's schedule as a ``lax.scan`` of actions.

Under ``jax.jit`` (traced arguments) a marked loop of n steps with k snapshots runs the same
binomial schedule as on numpy (``transgrad/revolve.py``), known when the function is traced
(n and k are static). The forward sweep (the actions before the first reverse) runs when the
loop runs, as one plain ``lax.scan`` of the steps that writes each snapshot into its slot as
it passes it (one buffer of k + 1 rows per state array): JAX can differentiate it, as where a
marked loop runs inside another's step. The rest becomes a table of rows (restore a slot,
advance by a ``lax.fori_loop``, snapshot into a slot, reverse a step by ``jax.vjp``), and the
pullback is one ``lax.scan`` over the table carrying the state, the slots and the
cotangents. So the gradient holds k states (as on numpy; nothing grows with n but the table)
and runs each step forward at most r + 1 times, r the smallest with C(k + r, k) >= n. The step
is the step's generated JAX code (its split VJP's forward half); its derivative is JAX's of
that code. Lists the loop appends to are the forward scan's per-step outputs (under tracing
every step appends the same values), handed back as lists. On concrete arrays the revolve
driver of ``checkpoint.py`` runs as on numpy.

A ``while tg.checkpoint(cond, snapshots=k, max_steps=n)`` loop traces as n steps, each taken
only while the condition (the user's expression, numpy read as jax.numpy) holds, so that the
state stays as it was after the loop ends (no error past ``max_steps`` under jit: it stops).
"""

import types

import jax
import jax.numpy as jnp
import numpy as np

from .errors import TransformError
from .revolve import ADVANCE, FORGET, RESTORE, REVERSE, SNAPSHOT, schedule


def traced(values):
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(values))


def run_scanned(loop, marker, carried, outside, collected):
    """(final carried values, collected lists, pullback) of ``loop`` run on the binomial
    schedule; pullback(g_final, g_lists=None) -> (g_carried, g_outside) like the revolve
    driver's (None where nothing flows); each step's appended values are per-step outputs."""
    if collected and loop.cond is not None:
        raise TransformError(
            "a tg.checkpoint while loop that appends to a list cannot be traced on the JAX "
            "backend: the list's length would depend on traced values",
            **getattr(loop, "where", {}),
            hint="call the gradient outside jax.jit (it then counts the steps), or carry the "
                 "values in an array of max_steps rows")
    count, lists = len(carried), len(collected)
    steps = marker.steps
    n = len(steps)
    c_wrt = [i for i in loop.wrt if i < count]
    o_wrt = [i - count - 1 for i in loop.wrt if i > count
             and all(_inexact(leaf) for leaf in jax.tree_util.tree_leaves(outside[i - count - 1]))]
    step = _Step(loop, steps, outside, o_wrt, count, lists)
    o_diff = tuple(outside[j] for j in o_wrt)
    state = _initial(step, tuple(carried), n, o_diff)
    forward_rows, reverse_rows, slots = _tables(n, marker.snapshots)

    held = jax.tree_util.tree_map(lambda v: jnp.zeros((slots + 1,) + v.shape, v.dtype), state)
    current, final, outputs = state, state, ((),) * lists
    if n:
        current, held, outputs = _forward_sweep(forward_rows, step, n, o_diff, state, held,
                                                slots)
        final, last = step(current, n - 1, o_diff)
        outputs = jax.tree_util.tree_map(
            lambda made, v: jnp.concatenate([made, jnp.asarray(v)[None]]), outputs, last)
    diff = [i for i, leaf in enumerate(jax.tree_util.tree_leaves(state)) if _inexact(leaf)]

    def pullback(g_final, g_lists=None):
        g_carried = tuple(_cotangent(g, value)
                          for g, value in zip(g_final, _carried(final, loop.cond)))
        if g_lists is None:
            g_outputs = jax.tree_util.tree_map(lambda v: _cotangent(None, v), outputs)
        else:
            g_outputs = tuple(
                tuple(_stacked([entries[len(initial) + i * len(per_list) + a]
                                for i in range(n)], values)
                      for a, values in enumerate(per_list))
                for (entries, _), initial, per_list in zip(g_lists, collected, outputs))
        g_leaves = jax.tree_util.tree_leaves(
            (g_carried, jnp.zeros(())) if loop.cond is not None else g_carried)
        g_state = tuple(g_leaves[i] for i in diff)
        g_o = jax.tree_util.tree_map(jnp.zeros_like, o_diff)
        if len(reverse_rows):
            _, _, (g_state, g_o) = _sweep(
                reverse_rows, step, o_diff, current, held, (g_state, g_o),
                _reverse(step, o_diff, diff, g_outputs))
        by_leaf = dict(zip(diff, g_state))
        g_out = [None] * count
        for i in c_wrt:
            g_out[i] = by_leaf.get(i)
        g_outside = [None] * len(outside)
        for j, g in zip(o_wrt, g_o):
            g_outside[j] = g
        return tuple(g_out), tuple(g_outside)

    lists_made = tuple(list(initial) + [values[i] for i in range(n) for values in per_list]
                       for initial, per_list in zip(collected, outputs))
    return _carried(final, loop.cond), lists_made, pullback


def run_twin_scanned(loop, pair, marker, carried, outside, c_pos, o_pos, d_carried, d_outside):
    """Forward over reverse under ``jax.jit``: the loop's tangent-carrying twin (state
    (x, dx), step (step(x), J dx) by ``jax.jvp`` of the step's JAX code) on the same scanned
    schedule; a while loop's x holds its running flag after the carried values, as its
    masked steps do. ``c_pos``/``o_pos``: the carried and outside values with tangents
    (``d_carried``, ``d_outside``); ``pair``: the step's split VJP as JAX code. Returns
    ((final carried values, their tangents at c_pos), pullback); pullback((a, b)) ->
    ((cotangents of the carried values, of their tangents), (of the outside values at o_pos,
    of their tangents)), as ``checkpoint._TangentLoop``'s driver gives them."""
    count, steps, flagged = len(carried), marker.steps, loop.cond is not None
    n = len(steps)
    base = _Step(types.SimpleNamespace(pair=pair, cond=loop.cond), steps, outside, o_pos,
                 count, 0)
    o_values = (tuple(outside[j] for j in o_pos), tuple(d_outside))

    def twin(state, i, o_pair):
        (x, dx), (o, do) = state, o_pair
        values = _carried(x, base.cond)

        def through(varied, o):
            full = list(values)
            for p, value in zip(c_pos, varied):
                full[p] = value
            return base((tuple(full), x[1]) if flagged else tuple(full), i, o)[0]

        y, dy = jax.jvp(through, (tuple(values[p] for p in c_pos), o), (tuple(dx), do))
        dy = _carried(dy, base.cond)
        return (y, tuple(dy[p] for p in c_pos)), ()

    x0 = _initial(base, tuple(carried), n, o_values[0])
    values0 = _carried(x0, base.cond)
    state = (x0, tuple(jnp.asarray(d, dtype=values0[p].dtype)
                       for p, d in zip(c_pos, d_carried)))
    forward_rows, reverse_rows, slots = _tables(n, marker.snapshots)
    held = jax.tree_util.tree_map(lambda v: jnp.zeros((slots + 1,) + v.shape, v.dtype), state)
    current, final = state, state
    if n:
        current, held, _ = _forward_sweep(forward_rows, twin, n, o_values, state, held, slots)
        final, _ = twin(current, n - 1, o_values)
    leaves = jax.tree_util.tree_leaves(state)
    diff = [i for i, leaf in enumerate(leaves) if _inexact(leaf)]
    flag = 1 if flagged else 0   # the running flag's leaf, after the carried values

    def pullback(g_final):
        a, b = g_final
        g_leaves = [_cotangent(g, value) for g, value in zip(
            list(a) + [None] * flag + list(b), leaves)]
        g_state = tuple(g_leaves[i] for i in diff)
        g_o = jax.tree_util.tree_map(jnp.zeros_like, o_values)
        if len(reverse_rows):
            _, _, (g_state, g_o) = _sweep(reverse_rows, twin, o_values, current, held,
                                          (g_state, g_o), _reverse(twin, o_values, diff, ()))
        by_leaf = dict(zip(diff, g_state))
        return ((tuple(by_leaf.get(i) for i in range(count)),
                 tuple(by_leaf.get(count + flag + k) for k in range(len(c_pos)))), g_o)

    (x, dx) = final
    return (_carried(x, base.cond), dx), pullback


class _Step:
    """One step of the loop as a function of its state (the carried arrays, and a while
    loop's running flag after them), its position i in ``steps`` (the loop's index is
    steps[i], computed, so that no array of n indices is held) and the differentiated
    outside values: (next state, the values it appended)."""

    def __init__(self, loop, steps, outside, o_wrt, count, lists):
        self.pair, self.steps, self.outside, self.o_wrt = loop.pair, steps, outside, o_wrt
        self.count, self.lists = count, lists
        self.cond = None if loop.cond is None else _on_jax(loop.cond)

    def __call__(self, state, i, o_values):
        t = self.steps.start + self.steps.step * jnp.asarray(i, dtype=int)
        inputs = list(self.outside)
        for j, value in zip(self.o_wrt, o_values):
            inputs[j] = value
        if self.cond is None:
            return self._taken(state, t, inputs)
        values, running = state
        running = jnp.logical_and(running, self.cond(*values, *inputs))
        taken, made = self._taken(values, t, inputs)
        return (tuple(jnp.where(running, v, s) for v, s in zip(taken, values)), running), made

    def _taken(self, state, t, inputs):
        value, _ = self.pair.fwd(*state, t, *inputs, *([] for _ in range(self.lists)))
        value = tuple(value)
        return (_like(value[:self.count], state),
                tuple(tuple(made) for made in value[self.count:]))


def _tables(n, snapshots):
    """revolve's schedule for n steps as rows (restore slot, advance from, advance to,
    snapshot slot, reverse step) of int32, each row doing its parts in that order (-1: no
    restore, no reverse; no advance is from == to; the slot after the last is a scratch slot
    that no row restores): the forward sweep's rows, those from the first reverse, and the
    number of slots. A snapshot takes a free slot, a forget frees it."""
    rows, slot_of, free, slots = [], {}, [], 0
    rank = {RESTORE: 0, ADVANCE: 1, SNAPSHOT: 2, REVERSE: 3}
    first, last = None, 4
    for action in schedule(n, min(snapshots, max(1, n - 1))):
        if action.kind == FORGET:
            free.append(slot_of.pop(action.step))
            continue
        if rank[action.kind] <= last or action.kind == REVERSE and first is None:
            if action.kind == REVERSE and first is None:
                first = len(rows)
            rows.append([-1, 0, 0, None, -1])
        row, last = rows[-1], rank[action.kind]
        if action.kind == RESTORE:
            row[0] = slot_of[action.step]
        elif action.kind == ADVANCE:
            row[1:3] = action.step, action.stop
        elif action.kind == SNAPSHOT:
            if not free:
                free.append(slots)
                slots += 1
            row[3] = slot_of[action.step] = free.pop()
        else:
            row[4] = action.step
    for row in rows:
        row[3] = slots if row[3] is None else row[3]
    table = np.array(rows, dtype=np.int32).reshape(-1, 5)
    first = len(rows) if first is None else first
    return table[:first], table[first:], slots


def _forward_sweep(rows, step, n, o_diff, state, held, scratch):
    """(x_{n-1}, the snapshot slots, each step's appended values stacked) by one
    ``lax.scan`` of the steps 0 .. n - 2 that writes the forward rows' snapshots as it
    passes them (the slot of a step without one is the scratch slot). A plain scan, so that
    JAX can differentiate it where the loop runs inside a step it differentiates (a marked
    loop in a marked loop: there the inner loop's states are JAX's residuals)."""
    slot_of = np.full(n, scratch, dtype=np.int16 if scratch < 2 ** 15 else np.int32)
    slot_of[rows[:, 2]] = rows[:, 3]   # a snapshot of x_{row[2]} after each forward row
    slot_of = jnp.asarray(slot_of)     # a constant of the program, read one entry a step

    def one(carry, _):
        i, state, held = carry
        slot = slot_of[i]
        held = jax.tree_util.tree_map(lambda buf, v: buf.at[slot].set(v), held, state)
        state, made = step(state, i, o_diff)
        return (i + 1, state, held), made

    (_, state, held), made = jax.lax.scan(one, (jnp.int32(0), state, held), None,
                                          length=n - 1)
    slot = slot_of[n - 1]
    held = jax.tree_util.tree_map(lambda buf, v: buf.at[slot].set(v), held, state)
    return state, held, made


def _sweep(table, step, o_diff, current, held, cotangents, reverse):
    """Run the rows of ``table`` (``_tables``) from the ``current`` state with the snapshot
    slots ``held`` (a buffer of slots + 1 rows per state array), carrying ``cotangents``
    back through each reversed step by ``reverse(current, index, cotangents)``. Returns
    (current, held, cotangents)."""
    def advance(i, state):
        return step(state, i, o_diff)[0]

    def run(carry, row):
        current, held, cotangents = carry
        current = jax.tree_util.tree_map(
            lambda buf, v: jnp.where(row[0] >= 0, buf[jnp.maximum(row[0], 0)], v),
            held, current)
        current = jax.lax.fori_loop(row[1], row[2], advance, current)
        held = jax.tree_util.tree_map(lambda buf, v: buf.at[row[3]].set(v), held, current)
        cotangents = jax.lax.cond(row[4] >= 0, lambda c: reverse(current, row[4], c),
                                  lambda c: c, cotangents)
        return (current, held, cotangents), None

    return jax.lax.scan(run, (current, held, cotangents), jnp.asarray(table))[0]


def _reverse(step, o_diff, diff, g_outputs):
    """reverse(current, index, (g_state, g_o)): step ``index``'s adjoint from the current
    state: the state's cotangent (its inexact leaves, at ``diff``) pulled back through the
    step, the outside values' cotangents added to."""
    def reverse(current, index, cotangents):
        g_state, g_o = cotangents
        leaves, tree = jax.tree_util.tree_flatten(current)

        def through(diff_leaves, o_values):
            full = list(leaves)
            for i, leaf in zip(diff, diff_leaves):
                full[i] = leaf
            state, made = step(jax.tree_util.tree_unflatten(tree, full), index, o_values)
            out = jax.tree_util.tree_leaves(state)
            return tuple(out[i] for i in diff), made

        made = jax.eval_shape(through, tuple(leaves[i] for i in diff), o_diff)[1]
        g_made = jax.tree_util.tree_map(
            lambda g, v: g[index] if _inexact(v) else _cotangent(None, v), g_outputs, made)
        _, vjp = jax.vjp(through, tuple(leaves[i] for i in diff), o_diff)
        g_state, g_step = vjp((g_state, g_made))
        return tuple(g_state), jax.tree_util.tree_map(jnp.add, g_o, g_step)
    return reverse


def _stacked(entries, values):
    """The cotangent of a scan's stacked outputs ``values`` from one per step (None: zero)."""
    if all(entry is None for entry in entries):
        return _cotangent(None, values)
    return jnp.stack([_cotangent(entry, value) for entry, value in zip(entries, values)])


def _initial(step, carried, n, o_diff):
    """The first state as arrays of the types the step returns (a scan's carry keeps them),
    a while loop's running flag after them."""
    values = tuple(jnp.asarray(value) for value in carried)
    flagged = step.cond is not None
    state = (values, jnp.bool_(True)) if flagged else values
    if n == 0:
        return state
    made, _ = jax.eval_shape(step, state, 0, o_diff)
    made = made[0] if flagged else made
    for value, out in zip(values, made):
        if value.shape != out.shape:
            raise TransformError(
                f"a tg.checkpoint loop's state changes shape in its first step ({value.shape} "
                f"to {out.shape}): lax.scan needs one shape")
    values = tuple(value.astype(out.dtype) for value, out in zip(values, made))
    return (values, jnp.bool_(True)) if flagged else values


def _carried(state, cond):
    """The carried values of a state (without a while loop's running flag)."""
    return state if cond is None else state[0]


def _inexact(value):
    return jnp.issubdtype(jnp.result_type(value), jnp.inexact)


def _on_jax(func):
    """``func`` (a while loop's outlined condition, the user's numpy code) reading jax.numpy
    where it read numpy, so that it can be traced."""
    names = {key: jnp if value is np else value for key, value in func.__globals__.items()}
    return types.FunctionType(func.__code__, names, func.__name__, func.__defaults__,
                              func.__closure__)


def _like(values, state):
    return tuple(jnp.asarray(v).astype(s.dtype) for v, s in zip(values, state))


def _cotangent(g, value):
    """A cotangent for vjp: zeros where absent, float0 for integer values."""
    dtype = jnp.result_type(value)
    if not jnp.issubdtype(dtype, jnp.inexact):
        return np.zeros(jnp.shape(value), dtype=jax.dtypes.float0)
    if g is None:
        return jnp.zeros_like(value)
    return jnp.broadcast_to(jnp.asarray(g, dtype=dtype), jnp.shape(value))
