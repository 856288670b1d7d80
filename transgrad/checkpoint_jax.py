"""Checkpointed loops on the JAX backend: nested ``lax.scan``s with ``jax.checkpoint``.

Under ``jax.jit`` (traced arguments) a marked loop of n steps with k snapshots runs as an outer
``lax.scan`` over about k blocks whose body, an inner ``lax.scan`` over n / k steps, is wrapped
in ``jax.checkpoint``: the gradient keeps the state at each block's start and recomputes one
block at a time, so it holds about k + n / k states instead of n (two levels, not revolve's
binomial schedule: the schedule's data-dependent order has no scan form). The step is the
step's generated JAX code (its split VJP's forward half); its derivative is JAX's of that code.
Lists the loop appends to are the scans' per-step outputs (under tracing every step appends
the same values), handed back as lists. On concrete arrays the revolve driver of
``checkpoint.py`` runs as on numpy.

A ``while tg.checkpoint(cond, snapshots=k, max_steps=n)`` loop traces as n steps, each taken
only while the condition (the user's expression, numpy read as jax.numpy) holds, so that the
state stays as it was after the loop ends (no error past ``max_steps`` under jit: it stops).
"""

import math
import types

import jax
import jax.numpy as jnp
import numpy as np

from .errors import TransformError


def traced(values):
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(values))


def run_scanned(loop, marker, carried, outside, collected):
    """(final carried values, collected lists, pullback) of ``loop`` run as nested scans;
    pullback(g_final, g_lists=None) -> (g_carried, g_outside) like the revolve driver's (None
    where nothing flows); each step's appended values are the scans' per-step outputs."""
    if collected and loop.cond is not None:
        raise TransformError(
            "a tg.checkpoint while loop that appends to a list cannot be traced on the JAX "
            "backend: the list's length would depend on traced values",
            **getattr(loop, "where", {}),
            hint="call the gradient outside jax.jit (it then counts the steps), or carry the "
                 "values in an array of max_steps rows")
    pair, count, lists = loop.pair, len(carried), len(collected)
    steps = marker.steps
    indices = jnp.arange(steps.start, steps.stop, steps.step)
    n = len(steps)
    c_wrt = [i for i in loop.wrt if i < count]
    o_wrt = [i - count - 1 for i in loop.wrt if i > count]
    cond = None if loop.cond is None else _on_jax(loop.cond)

    def nested(c_diff, o_diff):
        inputs = list(outside)
        for j, value in zip(o_wrt, o_diff):
            inputs[j] = value

        def body(state, t):
            value, _ = pair.fwd(*state, t, *inputs, *([] for _ in range(lists)))
            value = tuple(value)
            return _like(value[:count], state), tuple(tuple(made) for made in value[count:])

        if cond is not None:   # a while loop: max_steps steps, the state kept once cond fails
            step = body

            def body(carry, t):
                state, running = carry
                running = jnp.logical_and(running, cond(*state, *inputs))
                value, _ = step(state, t)
                return (tuple(jnp.where(running, v, s) for v, s in zip(value, state)),
                        running), ()

        state = list(carried)
        for i, value in zip(c_wrt, c_diff):
            state[i] = value
        state = _initial(body, tuple(state), indices, cond is not None)
        if n == 0:
            return (state[0] if cond is not None else state), ((),) * lists
        block = max(1, math.ceil(n / marker.snapshots))
        blocks = n // block

        @jax.checkpoint
        def run_block(state, ts):
            return jax.lax.scan(body, state, ts)

        parts = []
        if blocks:
            state, made = jax.lax.scan(run_block, state,
                                       indices[:blocks * block].reshape(blocks, block))
            parts.append(jax.tree_util.tree_map(
                lambda ys: ys.reshape((blocks * block,) + ys.shape[2:]), made))
        if blocks * block < n:
            state, made = run_block(state, indices[blocks * block:])
            parts.append(made)
        outputs = parts[0] if len(parts) == 1 else jax.tree_util.tree_map(
            lambda *ys: jnp.concatenate(ys), *parts)
        return (state[0] if cond is not None else state), outputs

    c_diff = tuple(carried[i] for i in c_wrt)
    o_diff = tuple(outside[j] for j in o_wrt)
    (final, outputs), vjp = jax.vjp(nested, c_diff, o_diff)
    made = tuple(list(initial) + [values[i] for i in range(n) for values in per_list]
                 for initial, per_list in zip(collected, outputs))

    def pullback(g_final, g_lists=None):
        g_final = tuple(_cotangent(g, value) for g, value in zip(g_final, final))
        g_outputs = tuple(
            tuple(_stacked([entries[len(initial) + i * len(per_list) + a] for i in range(n)],
                           values) for a, values in enumerate(per_list))
            for (entries, _), initial, per_list in zip(g_lists or (), collected, outputs))
        g_c, g_o = vjp((g_final, g_outputs))
        g_state = [None] * count
        for i, g in zip(c_wrt, g_c):
            g_state[i] = g
        g_outside = [None] * len(outside)
        for j, g in zip(o_wrt, g_o):
            g_outside[j] = g
        return tuple(g_state), tuple(g_outside)

    return final, made, pullback


def _stacked(entries, values):
    """The cotangent of a scan's stacked outputs ``values`` from one per step (None: zero)."""
    if all(entry is None for entry in entries):
        return _cotangent(None, values)
    return jnp.stack([_cotangent(entry, value) for entry, value in zip(entries, values)])


def _initial(body, state, indices, flagged=False):
    """The first state as arrays of the types the step returns (a scan's carry keeps them);
    ``flagged``: with the while loop's running flag."""
    state = tuple(jnp.asarray(value) for value in state)
    if len(indices) == 0:
        return (state, jnp.bool_(True)) if flagged else state
    if flagged:
        (made, _), _ = jax.eval_shape(body, (state, jnp.bool_(True)), indices[0])
    else:
        made, _ = jax.eval_shape(body, state, indices[0])
    for value, out in zip(state, made):
        if value.shape != out.shape:
            raise TransformError(
                f"a tg.checkpoint loop's state changes shape in its first step ({value.shape} "
                f"to {out.shape}): lax.scan needs one shape")
    state = tuple(value.astype(out.dtype) for value, out in zip(state, made))
    return (state, jnp.bool_(True)) if flagged else state


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
