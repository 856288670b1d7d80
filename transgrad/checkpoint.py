"""Binomial checkpointing of long loops: the user's marker and the runtime driver.

    for t in tg.checkpoint(range(n), snapshots=k):   # runs like range(n) when not differentiated
        h = np.tanh(W @ h + xs[t])

`checkpointed_loop` runs a loop given as a step function and the step's VJP on the schedule of
`transgrad.revolve`: the forward sweep keeps at most k states, the reverse sweep recomputes the
others from them. Memory is O(k) states instead of O(n); time is at most r forward steps per
step, where r is the smallest number with C(k + r, k) >= n.
"""

import sys
from math import comb

import numpy as np

from .revolve import ADVANCE, FORGET, RESTORE, REVERSE, SNAPSHOT, max_steps, schedule
from .rules.registry import Rule, register_vjp
from .runtime import zeros_like_value


class checkpoint:   # lower case: used like range, `for t in tg.checkpoint(range(n), ...)`
    """Marks a loop whose gradient keeps only `snapshots` copies of the loop's state.

    ``for t in tg.checkpoint(range(n), snapshots=k):`` iterates the range;
    ``while tg.checkpoint(cond, snapshots=k, max_steps=n):`` is true while ``cond`` is (the
    gradient checkpoints online, ``online_loop``; more than ``n`` steps is an error). So the
    marked function runs unchanged; the compiler reads the marker and reverses the loop on the
    binomial schedule. ``snapshots="auto"``: ``auto_snapshots`` of the number of steps.
    """

    __slots__ = ("auto", "condition", "snapshots", "steps")

    def __init__(self, steps, *, snapshots, max_steps=None):
        self.condition = None
        if max_steps is not None:   # a while loop's marker: `steps` is its condition
            if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0:
                raise ValueError(f"max_steps must be a non-negative int, got {max_steps!r}")
            self.condition, steps = bool(steps), range(max_steps)
        elif not isinstance(steps, range):
            raise TypeError(f"tg.checkpoint marks a loop over a range, got "
                            f"{type(steps).__name__}; write tg.checkpoint(range(n), snapshots=k)"
                            f", or `while tg.checkpoint(cond, snapshots=k, max_steps=n):`")
        self.steps = steps
        self.auto = check_snapshots(snapshots) == "auto"
        self.snapshots = auto_snapshots(len(steps)) if self.auto else snapshots

    def __iter__(self):
        return iter(self.steps)

    def __len__(self):
        return len(self.steps)

    def __getitem__(self, index):   # a marker the compiler does not see is its range
        return self.steps[index]

    def __bool__(self):
        return len(self.steps) > 0 if self.condition is None else self.condition

    def __repr__(self):
        return f"checkpoint({self.steps!r}, snapshots={self.snapshots})"

    def counted(self, steps):
        """The marker of the first ``steps`` steps (a while loop's, once they are counted)."""
        return checkpoint(range(steps), snapshots="auto" if self.auto else self.snapshots)


def check_snapshots(snapshots):
    """``snapshots`` if it is a positive int or "auto", else ValueError."""
    if snapshots != "auto" and (isinstance(snapshots, bool) or not isinstance(snapshots, int)
                                or snapshots < 1):
        raise ValueError(f"snapshots must be a positive int or 'auto', got {snapshots!r}")
    return snapshots


def auto_snapshots(steps):
    """The fewest snapshots that reverse ``steps`` steps advancing each step at most twice
    (C(k + 2, 2) >= steps, k about sqrt(2 steps)): memory O(sqrt(n)) states for at most one
    forward sweep more than storing every state (20,000 steps: 199 snapshots)."""
    snapshots = 1
    while max_steps(snapshots, 2) < steps:
        snapshots += 1
    return snapshots


def checkpointed_loop(forward, vjp, state, steps, snapshots):
    """Run `state = forward(state, t)` for t in `steps`, keeping at most `snapshots` states.

    forward(state, t) -> next state; it must not modify `state` in place (snapshots are kept
    by reference). vjp(state, t, g) -> (g_state, g_params): the cotangent of step t's input
    state and of the values the step reads from outside (any nesting of tuples, lists and dicts
    of arrays, or None), given the cotangent g of its output.

    Returns (final_state, pullback); pullback(g_final) -> (g_state, g_params summed over steps).
    Between the two, `snapshots` states are held (x_0's included) plus the last step's input.
    """
    steps = steps if isinstance(steps, range) else range(steps)
    count = len(steps)
    if count == 0:
        return state, lambda g_final: (g_final, None)
    sweep = _Sweep(forward, vjp, state, steps, snapshots)
    final = forward(sweep.current, steps[count - 1])
    return final, sweep.pullback


def online_loop(forward, vjp, state, more, limit, snapshots):
    """Run ``state = forward(state, t)`` for t = 0, 1, ... while ``more(state)``, at most
    ``limit`` steps, keeping at most ``snapshots`` states though the number of steps is known
    only at the end (online checkpointing).

    The forward sweep keeps states where the binomial schedule for the reach so far would:
    in phase r (r = 1, 2, ...) at x_0 and at the ends of gaps C(k+r-1, r-1), C(k+r-2, r-1),
    ... (``online_positions``); when the steps outrun the phase's reach, C(k+r, r) - 1 steps,
    the next phase keeps x_0 alone and lays out its own gaps from there (its first gap ends
    one step on). The segment between the i-th kept state and the next is reversed, from the
    last, on revolve's schedule with k - i snapshots (the later kept states are free by then),
    and by construction reaches it with each step advanced at most r - 1 times. So every step
    runs at most r times, the sweep included, with r the smallest such that C(k + r, r) - 1
    covers the steps: the repetition bound of the offline schedule that knew the count (Stumm
    and Walther's optimal online checkpointing keeps the same bound with fewer total steps).

    Returns (final_state, pullback, steps taken); pullback as ``checkpointed_loop``'s.
    ``more`` false at the start: no step, pullback gives its cotangent back."""
    phase = 1
    marks, reach = online_positions(snapshots, phase)
    held, taken = {0: state}, 0
    while more(state):
        if taken == limit:
            raise _TooManySteps(limit)
        state = forward(state, taken)
        taken += 1
        while taken > reach:   # beyond this phase: the next keeps x_0 and lays out anew
            phase += 1
            marks, reach = online_positions(snapshots, phase)
            held = {0: held[0]}
        if taken in marks:
            held[taken] = state
    starts = sorted(at for at in held if at < taken)

    def pullback(g_final):
        g_state, g_params = g_final, None
        for index in range(len(starts) - 1, -1, -1):
            start = starts[index]
            stop = starts[index + 1] if index + 1 < len(starts) else taken
            segment = _Sweep(forward, vjp, held[start], range(start, stop),
                             max(1, snapshots - index))   # its end state is known: not rerun
            g_state, g_step = segment.pullback(g_state)
            g_params = add_cotangents(g_params, g_step)
        return g_state, g_params

    return state, pullback, taken


def online_positions(snapshots, phase):
    """(the positions phase ``phase`` of ``online_loop`` keeps beside x_0, its reach): with k
    snapshots, the gaps C(k + r - 1 - i, r - 1) for i = 0 .. k - 2 end at the kept positions,
    and the last segment, up to r steps with one snapshot, ends the reach C(k + r, r) - 1."""
    positions, at = set(), 0
    for i in range(snapshots - 1):
        at += comb(snapshots + phase - 1 - i, phase - 1)
        positions.add(at)
    return positions, comb(snapshots + phase, phase) - 1


class _TooManySteps(Exception):
    """A while loop still running after its ``max_steps``."""


class _Sweep:
    """One run of the schedule: the forward sweep now, the reverse sweep when pulled back."""

    def __init__(self, forward, vjp, state, steps, snapshots):
        self.forward, self.vjp, self.steps, self.snapshots = forward, vjp, steps, snapshots
        self.initial = state
        self._start()

    def _start(self):
        """Advance to the first turn: the current state becomes x_{n-1}, snapshots taken."""
        self.actions = schedule(len(self.steps), self.snapshots)
        self.held = {}
        self.current = self.initial
        for action in self.actions:
            if action.kind == REVERSE:
                return
            self._do(action)
        raise AssertionError("the schedule never reached its first turn")

    def _do(self, action):
        kind = action.kind
        if kind == ADVANCE:
            state, forward, steps = self.current, self.forward, self.steps
            for index in range(action.step, action.stop):
                state = forward(state, steps[index])
            self.current = state
        elif kind == SNAPSHOT:
            self.held[action.step] = self.current
        elif kind == RESTORE:
            self.current = self.held[action.step]
        elif kind == FORGET:
            del self.held[action.step]
        else:
            raise AssertionError(f"unexpected action {action}")

    def pullback(self, g_final):
        """Reverse every step from the last; a second call replays the forward sweep first."""
        if self.actions is None:
            self._start()
        g_state, g_params = self._reverse_step(len(self.steps) - 1, g_final, None)
        for action in self.actions:
            if action.kind == REVERSE:
                g_state, g_params = self._reverse_step(action.step, g_state, g_params)
            else:
                self._do(action)
        self.actions, self.held, self.current = None, {}, None
        return g_state, g_params

    def _reverse_step(self, index, g_state, g_params):
        g_state, g_step = self.vjp(self.current, self.steps[index], g_state)
        self.current = None
        return g_state, add_cotangents(g_params, g_step)


class CheckpointedLoop:
    """A marked loop as the compiler outlines it (``passes/checkpoint.py``): its step function
    ``step(*carried, t, *outside, *collected) -> (*carried, *collected)`` and that step's
    generated split VJP ``pair`` (``fwd(*args) -> (value, tape)``, ``bwd(tape, g)`` -> the
    cotangents of the arguments at ``wrt``). ``collected``: the lists the body appends to; the
    step gets a fresh list for each and returns what it appended. Generated code calls
    ``run_checkpointed(loop, marker, carried, outside, collected)``."""

    cond = None     # a while loop's: cond(*carried, *outside) -> whether to take a step
    build_jvp = build_vjp = None   # the pipeline's builders (forward over reverse uses them)
    backend = "numpy"   # "jax": the pair is JAX code; traced runs scan the schedule

    def __init__(self, name, step, pair, wrt):
        self.__name__ = name
        self.step, self.pair, self.wrt = step, pair, tuple(wrt)

    def __repr__(self):
        return f"<transgrad checkpointed loop {self.__name__}>"

    def run(self, marker, carried, outside, collected=()):
        """The loop's final carried values, then each collected list (its items, then every
        step's appended values), holding the sweep that ``pullback`` continues."""
        if self.backend == "jax" and _jax().traced((carried, outside)):
            return self._run_traced(marker, carried, outside, collected)
        appended = [] if collected else None    # per step: the tuple of its appended lists
        box = {}                                # the pullback's cotangents of those values
        forward, vjp, first = self._driven(outside, len(collected), appended, box)
        if self.cond is None:
            final, pullback = checkpointed_loop(forward, vjp, tuple(carried), marker.steps,
                                                marker.snapshots)
        else:   # a while loop: online, its steps counted as they run
            final, pullback, taken = self._online(marker, forward, vjp, carried, outside)
            marker = marker.counted(taken)
        first["sweep"] = False
        lists = tuple(list(initial) for initial in collected)
        if collected:
            for step_lists in appended:
                for whole, part in zip(lists, step_lists):
                    whole.extend(part)
            appended[:] = [tuple(map(len, step_lists)) for step_lists in appended]
        result = Carried(tuple(final) + lists)
        result.pullback, result.counts, result.box = pullback, appended, box
        result.marker = marker
        return result

    def _run_traced(self, marker, carried, outside, collected):
        """Under jax.jit: the schedule as a scan of its actions (``checkpoint_jax.py``); a
        while loop runs ``max_steps`` steps, each after its condition fails leaving the state
        as it was."""
        final, lists, pullback = _jax().run_scanned(self, marker, carried, outside, collected)
        result = Carried(tuple(final) + lists)
        result.pullback, result.counts, result.box, result.marker = pullback, None, {}, marker
        return result

    def pullback(self, g, ans, marker, carried, outside, collected=()):
        """(cotangents of the carried values, of the outside values, of the collected lists'
        initial items) given ``g``, the cotangent of what ``run`` returned (``ans``; without
        its sweep the forward sweep runs again)."""
        if getattr(ans, "pullback", None) is None:
            ans = self.run(marker, carried, outside, collected)
        marker = ans.marker
        parts = _parts(g, len(carried) + len(collected))
        g_final = tuple(zeros_like_value(value) if part is None else part
                        for part, value in zip(parts[:len(carried)], ans))
        g_lists = [(_parts(part, len(whole)), whole)
                   for part, whole in zip(parts[len(carried):], ans[len(carried):])]
        if collected and ans.counts is None:   # traced: the scans' pullback takes them all
            g_state, g_outside = ans.pullback(g_final, g_lists)
        else:
            if collected:
                ans.box["lists"] = _StepCotangents(g_lists, ans.counts, marker.steps, collected)
            try:
                g_state, g_outside = ans.pullback(g_final)
            finally:
                ans.box.clear()
        g_outside = self._outside_cotangents(g_outside, carried, outside)
        g_collected = tuple(_filled(entries[:len(initial)], whole)
                            for (entries, whole), initial in zip(g_lists, collected))
        return g_state, g_outside, g_collected

    def _outside_cotangents(self, g_outside, carried, outside):
        """The outside values' cotangents as generated code reads them: zeros where no step
        reached a differentiated value, and 0.0 for a number (a Python or a numpy scalar)
        the step does not differentiate (the caller's adjoint may still add it: its activity
        is by name); an array's zero is made only where the step differentiates it."""
        first = len(carried) + 1
        return tuple(
            zeros_like_value(value) if part is None and (
                first + j in self.wrt or type(value) in (float, int)
                or isinstance(value, np.generic)) else part
            for j, (part, value) in enumerate(zip(g_outside or (None,) * len(outside),
                                                  outside)))

    def _online(self, marker, forward, vjp, carried, outside):
        """(final state, pullback, steps taken) of a while loop, checkpointed online."""
        try:
            return online_loop(forward, vjp, tuple(carried),
                               lambda state: self.cond(*state, *outside), len(marker.steps),
                               marker.snapshots)
        except _TooManySteps as error:
            raise self._too_many(error) from None

    def _too_many(self, error):
        where = getattr(self, "where", {})
        return ValueError(
            f"{where.get('filename')}, line {where.get('lineno')}: the tg.checkpoint while "
            f"loop is still running after max_steps={error.args[0]} steps")

    def _driven(self, outside, collected=0, appended=None, box=None):
        """(forward(state, t), vjp(state, t, g), first) of one step, for the drivers: until
        ``first["sweep"]`` is set False (after the first sweep, which runs each step once, in
        order), forward keeps each step's appended lists in ``appended``."""
        step, first = self.step, {"sweep": True}
        if self.backend == "jax":   # the step's JAX code: its split VJP's forward half
            fwd = self.pair.fwd

            def step(*args):
                return fwd(*args)[0]
        if not collected:
            def forward(state, t):
                return step(*state, t, *outside)
        else:
            def forward(state, t):   # the first sweep keeps each step's lists, later ones not
                out = step(*state, t, *outside, *([] for _ in range(collected)))
                count = len(out) - collected
                if first["sweep"]:
                    appended.append(out[count:])
                return out[:count]
        return forward, self._step_vjp(outside, collected, box), first

    def _step_vjp(self, outside, collected=0, box=None):
        """The driver's vjp(state, t, g) -> (g_state, g_outside) from the step's split VJP."""
        pair, wrt = self.pair, self.wrt
        halves = {}   # the pair's halves for the shapes of the state and its cotangent

        def vjp(state, t, g):
            fresh = [[] for _ in range(collected)]
            args = (*state, t, *outside, *fresh)
            if collected:
                g = tuple(g) + box["lists"].of(t)
            key = _signature(state) + _signature(g)
            found = halves.get(key)
            if found is None:
                found = halves[key] = _exact_halves(pair, args, g) \
                    if self.backend == "numpy" else (pair.fwd, pair.bwd)
            fwd, bwd = found
            _, tape = fwd(*args)
            by_position = dict(zip(wrt, bwd(tape, g)))
            g_state = tuple(by_position[i] if i in by_position else zeros_like_value(value)
                            for i, value in enumerate(state))
            first = len(state) + 1
            return g_state, tuple(by_position.get(first + j) for j in range(len(outside)))

        return vjp


def _signature(values):
    """What the exact-shape halves of a step are keyed on: each value's type, and an
    array's shape and dtype (a tuple's, item by item)."""
    if type(values) is not tuple:
        values = (values,)
    return tuple((np.ndarray, v.shape, v.dtype) if type(v) is np.ndarray
                 else _signature(v) if type(v) is tuple else type(v) for v in values)


def _exact_halves(pair, args, g):
    """The step's split VJP for arguments of exactly these shapes (``passes/exact.py``:
    no run-time shape checks), or its own halves where no tree was kept."""
    if "exact_tree" not in getattr(pair.fwd, "__dict__", {}):
        return pair.fwd, pair.bwd
    from .passes.exact import halves_for  # the compiler's, only where a loop runs
    return halves_for(pair, args, g)


class _StepCotangents:
    """The cotangents of one step's appended values, cut from those of the collected lists."""

    def __init__(self, g_lists, counts, steps, collected):
        self.g_lists, self.steps = g_lists, steps
        starts = [len(initial) for initial in collected]
        self.offsets = []           # per step: where its values start in each list
        for step_counts in counts:
            self.offsets.append(tuple(starts))
            starts = [start + n for start, n in zip(starts, step_counts)]
        self.counts = counts

    def of(self, t):
        index = self.steps.index(t)
        return tuple(_filled(entries[start:start + n], whole[start:start + n])
                     for (entries, whole), start, n in zip(self.g_lists, self.offsets[index],
                                                            self.counts[index]))


def _filled(entries, values):
    """A list of cotangents, zeros where absent."""
    return [zeros_like_value(value) if entry is None else entry
            for entry, value in zip(entries, values)]


def _jax_loaded():
    """Whether JAX is imported (values can be JAX arrays only then)."""
    return "jax" in sys.modules


def _jax():
    from . import checkpoint_jax  # jax is imported only where a JAX build runs a loop
    return checkpoint_jax


class Carried(tuple):
    """The final carried values of a checkpointed loop; ``pullback`` holds its sweep (the
    snapshots) until the adjoint: it travels with the value, in the caller's tape."""


def _parts(g, count):
    """The entries of a tuple result's cotangent (None where absent)."""
    if g is None:
        return (None,) * count
    if isinstance(g, dict):
        return tuple(g.get(i) for i in range(count))
    return tuple(g)


def run_checkpointed(loop, marker, carried, outside, collected=()):
    """A checkpointed loop in generated code: ``carried`` after every step of ``marker``, then
    the ``collected`` lists with every step's appended values."""
    return loop.run(marker, carried, outside, collected)


def pull_checkpointed(loop, g, ans, marker, carried, outside, collected=()):
    """The checkpointed loop's pullback in generated code: (cotangents of the carried values,
    of the outside values, of the collected lists' initial items)."""
    return loop.pullback(g, ans, marker, carried, outside, collected)


def run_checkpointed_vjp(g, ans, loop, marker, carried, outside, collected=()):
    pulled = pull_checkpointed(loop, g, ans, marker, carried, outside, collected)
    g_carried, g_outside, g_collected = pulled
    return None, None, g_carried, g_outside, g_collected


register_vjp(Rule("run_checkpointed", (run_checkpointed,), run_checkpointed_vjp, user=True))


# --- forward over reverse (tg.hvp, tg.jvp of a tg.grad) ---------------------------------------
#
# Forward mode over a gradient that runs a checkpointed loop differentiates the two calls
# above as wholes (their ``jvp_call``: forward mode's ``user_call`` calls it with the
# arguments and their tangents). The tangent of the reverse sweep is the reverse sweep of the
# loop's tangent-carrying twin: the step F(x, dx) = (step(x), J dx), its own JVP, reversed on
# the same schedule. Its VJP with the cotangent (a, b) gives J^T b for dx and
# J^T a + (d(J dx)/dx)^T b for x; with a the tangent of the cotangent and b the cotangent,
# these are the cotangent and its tangent: so one checkpointed sweep of the twin, holding
# (x, dx) snapshots, gives both (reverse over forward, the Hessian's symmetry).


def _run_jvp(args, tangents):
    loop, marker, carried, outside, *rest = args
    collected = rest[0] if rest else ()
    twin = _TangentLoop(loop, carried, outside, tangents[2], tangents[3], collected,
                        tangents[4] if len(tangents) > 4 else None)
    final, pullback, marker = twin.run(marker)
    lists, d_lists = twin.collected_lists()
    ans = Carried(tuple(final[0]) + lists)
    ans.pullback, ans.counts, ans.box, ans.marker = None, None, {}, marker
    ans.tangent_pullback = pullback
    return ans, twin.full_tangents(final[1], final[0]) + d_lists


def _pull_jvp(args, tangents):
    loop, g, ans, marker, carried, outside, *rest = args
    collected = rest[0] if rest else ()
    dg = tangents[1]
    pullback = getattr(ans, "tangent_pullback", None)
    if pullback is None:   # the loop's own values carry no tangent: linear in g alone
        value = loop.pullback(g, ans, marker, carried, outside, collected)
        if dg is None:
            return value, tuple(zero_tangent_of(part) for part in value)
        return value, loop.pullback(dg, ans, marker, carried, outside, collected)
    twin = pullback.twin
    g_final, g_lists = twin.split_cotangent(g, ans)
    dg_final, dg_lists = twin.split_cotangent(dg, ans)
    twin.list_cotangents = (_StepCotangents(dg_lists, twin.counts, ans.marker.steps, collected),
                            _StepCotangents(g_lists, twin.counts, ans.marker.steps, collected))
    try:
        (gx, gdx), (go, gdo) = pullback((dg_final, twin.on_positions(g_final)))
    finally:
        twin.list_cotangents = None
    g_carried, dg_carried = twin.carried_cotangents(gdx), tuple(
        zero_tangent_of(value) if part is None else part for part, value in zip(gx, carried))
    g_outside = loop._outside_cotangents(twin.outside_cotangents(gdo), carried, outside)
    dg_outside = loop._outside_cotangents(go, carried, outside)
    return (g_carried, g_outside, _initial_items(g_lists, collected)), \
        (dg_carried, dg_outside, _initial_items(dg_lists, collected))


def _initial_items(g_lists, collected):
    """The cotangents of the collected lists' initial items (zeros where absent)."""
    return tuple(_filled(entries[:len(initial)], whole[:len(initial)])
                 for (entries, whole), initial in zip(g_lists, collected))


def zero_tangent_of(value):
    """A zero of ``value``'s structure (jax.numpy's zeros for a JAX array: traced under
    jax.jit, it has no numpy value)."""
    if type(value) is tuple:
        return tuple(map(zero_tangent_of, value))
    if type(value).__module__.startswith("jax"):
        return _jax().jnp.zeros_like(value)
    return zeros_like_value(value)


def _lifting_error(loop, what):
    from .errors import TransformError
    return TransformError(
        f"forward mode over the gradient of a tg.checkpoint loop (tg.hvp, tg.jvp of its "
        f"tg.grad) does not support {what} yet", **getattr(loop, "where", {}),
        hint="take the second derivative of the loop without the marker: it then keeps "
             "every step")


def _differentiable(value):
    """Whether a value holds floats that a tangent can vary (an array, a number, or a
    tuple, list or dict holding one)."""
    if isinstance(value, (tuple, list)):
        return any(map(_differentiable, value))
    if isinstance(value, dict):
        return any(map(_differentiable, value.values()))
    if isinstance(value, (bool, int, np.integer, np.bool_)):
        return False
    dtype = getattr(value, "dtype", None)
    return isinstance(value, float) or dtype is not None and np.issubdtype(dtype, np.inexact)


class _TangentLoop:
    """A checkpointed loop's tangent-carrying twin: its state is (carried values, tangents
    of the differentiable ones), its step the step's JVP (built by the pipeline that built
    the loop), its step VJP that JVP's split VJP."""

    def __init__(self, loop, carried, outside, d_carried, d_outside, collected=(),
                 d_collected=None):
        if loop.build_jvp is None:
            raise _lifting_error(loop, "this build")
        self.loop, self.carried, self.outside = loop, tuple(carried), tuple(outside)
        count = len(carried)
        # the lists the loop appends to: their initial items and those items' tangents; each
        # step's appended values and tangents, kept by the first sweep (which runs every step
        # once, in order); the cotangents the pullback cuts per step
        self.collected = tuple(collected)
        self.d_collected = tuple(
            [zero_tangent_of(item) for item in initial] if part is None else list(part)
            for part, initial in zip(_parts(d_collected, len(collected)), collected))
        self.appended, self.first_sweep, self.counts = [], True, []
        self.list_cotangents = None
        self.c_pos = [i for i, v in enumerate(carried) if _differentiable(v)]
        self.o_pos = [j for j, v in enumerate(outside) if _differentiable(v)]
        d_carried = _parts(d_carried, count)
        d_outside = _parts(d_outside, len(outside))
        self.dx0 = tuple(zero_tangent_of(carried[i]) if d_carried[i] is None else d_carried[i]
                         for i in self.c_pos)
        self.d_outside = tuple(zero_tangent_of(outside[j]) if d_outside[j] is None
                               else d_outside[j] for j in self.o_pos)
        positions = tuple(self.c_pos) + tuple(count + 1 + j for j in self.o_pos)
        self.jvp = loop.build_jvp(loop.step, positions)
        code = self.jvp.fn.__code__
        self.pair = loop.build_vjp(self.jvp.fn, positions + (
            code.co_argcount + code.co_kwonlyargcount - 1,))   # and the tangent parameter

    def run(self, marker):
        """((final values, their tangents), pullback, the marker of the steps taken)."""
        loop, outside = self.loop, self.outside
        state = (self.carried, self.dx0)
        if _jax_loaded() and _jax().traced((self.carried, outside, self.dx0, self.d_outside)):
            if self.collected:
                raise _lifting_error(loop, "a loop that appends to lists under jax.jit")
            # under jax.jit: the step's JAX code (a JAX build's forward code may hold the
            # numpy build's loop), its JVP taken by jax.jvp
            pair = loop.pair if loop.backend == "jax" else loop.build_vjp(
                loop.step, loop.wrt, "jax")
            final, pullback = _jax().run_twin_scanned(
                loop, pair, marker, self.carried, outside, self.c_pos, self.o_pos, self.dx0,
                self.d_outside)
            return final, _Pullback(pullback, self), marker
        if loop.cond is None:
            final, pullback = checkpointed_loop(self.forward, self.vjp, state, marker.steps,
                                                marker.snapshots)
        else:
            try:
                final, pullback, taken = online_loop(
                    self.forward, self.vjp, state,
                    lambda state: loop.cond(*state[0], *outside), len(marker.steps),
                    marker.snapshots)
            except _TooManySteps as error:
                raise loop._too_many(error) from None
            marker = marker.counted(taken)
        self.first_sweep = False
        self.counts = [tuple(map(len, values)) for values, _ in self.appended]
        return final, _Pullback(pullback, self), marker

    def collected_lists(self):
        """(each collected list: its initial items, then every step's appended values; the
        same of their tangents)."""
        lists = tuple(list(initial) for initial in self.collected)
        d_lists = tuple(list(initial) for initial in self.d_collected)
        for values, tangents in self.appended:
            for whole, part in zip(lists, values):
                whole.extend(part)
            for whole, part in zip(d_lists, tangents):
                whole.extend(part)
        return lists, d_lists

    def split_cotangent(self, g, ans):
        """(the final carried values' cotangents, zeros where absent; each list's entries
        with the list, as ``_StepCotangents`` reads them) from the cotangent of ``ans``."""
        count = len(self.carried)
        parts = _parts(g, count + len(self.collected))
        final = tuple(zero_tangent_of(value) if part is None else part
                      for part, value in zip(parts[:count], ans))
        return final, [(_parts(part, len(whole)), whole)
                       for part, whole in zip(parts[count:], ans[count:])]

    def _tangents(self, dx):
        return {self.jvp.tangent_parameter(): tuple(dx) + self.d_outside}

    def _fresh(self):
        return [[] for _ in self.collected]

    def forward(self, state, t):
        x, dx = state
        value, d_value = self.jvp.fn(*x, t, *self.outside, *self._fresh(),
                                     **self._tangents(dx))
        count = len(x)
        if self.collected and self.first_sweep:
            self.appended.append((tuple(value[count:]), tuple(d_value[count:])))
        return tuple(value[:count]), tuple(d_value[i] for i in self.c_pos)

    def vjp(self, state, t, g):
        x, dx = state
        a, b = g
        _, tape = self.pair.fwd(*x, t, *self.outside, *self._fresh(), **self._tangents(dx))
        b_full = [zero_tangent_of(value) for value in x]
        for i, part in zip(self.c_pos, b):
            b_full[i] = part
        a = tuple(zero_tangent_of(value) if part is None else part
                  for part, value in zip(a, x))
        if self.collected:   # this step's appended values: (dg, g) of them, as of the state
            a_lists, b_lists = self.list_cotangents
            a, b_full = a + a_lists.of(t), tuple(b_full) + b_lists.of(t)
        *by_position, g_tangent = self.pair.bwd(tape, (a, tuple(b_full)))
        count, c = len(x), len(self.c_pos)
        gx = [None] * count
        for i, part in zip(self.c_pos, by_position):
            gx[i] = part
        g_tangent = _parts(g_tangent, c + len(self.o_pos))
        return (tuple(gx), tuple(g_tangent[:c])), (tuple(by_position[c:]), g_tangent[c:])

    def on_positions(self, g_final):
        return tuple(g_final[i] for i in self.c_pos)

    def carried_cotangents(self, g_dx):
        """The cotangents of all the carried values from those of their tangents."""
        full = [zero_tangent_of(value) for value in self.carried]
        for i, part in zip(self.c_pos, g_dx):
            if part is not None:
                full[i] = part
        return tuple(full)

    def outside_cotangents(self, g_positions):
        full = [None] * len(self.outside)
        for j, part in zip(self.o_pos, g_positions or (None,) * len(self.o_pos)):
            full[j] = part
        return full

    def full_tangents(self, dx, x):
        full = [zero_tangent_of(value) for value in x]
        for i, part in zip(self.c_pos, dx):
            full[i] = part
        return tuple(full)


class _Pullback:
    """The twin's pullback, knowing its twin (to map the cotangents back)."""

    def __init__(self, pullback, twin):
        self.pullback, self.twin = pullback, twin

    def __call__(self, g_final):
        g_state, g_params = self.pullback(g_final)
        gx, gdx = g_state
        go, gdo = g_params if g_params is not None else ((None,) * len(self.twin.o_pos),
                                                          (None,) * len(self.twin.o_pos))
        return (gx, gdx), (self.twin.outside_cotangents(go), gdo)


run_checkpointed.jvp_call = _run_jvp
pull_checkpointed.jvp_call = _pull_jvp


def add_cotangents(total, extra):
    """total + extra for cotangents nested in tuples, lists and dicts; None means zero.

    A numpy array in `total` that this function made is updated in place (a long loop would
    otherwise allocate a new parameter-sized array per step); arrays it did not make are
    copied first, never written.
    """
    if total is None:
        return _owned_copy(extra)
    if extra is None:
        return total
    if type(total) is np.ndarray and type(extra) is np.ndarray and (
            total.shape == extra.shape and total.dtype == extra.dtype):
        total += extra                          # the common case, first: it runs every step
        return total
    if isinstance(total, (tuple, list)):
        if len(total) != len(extra):
            raise ValueError(f"cotangents of {len(total)} and {len(extra)} parts")
        return type(total)([add_cotangents(a, b) for a, b in zip(total, extra)])
    if isinstance(total, dict):   # keeps the type: a DictCotangent stays one
        return type(total)({key: add_cotangents(total[key], extra.get(key)) for key in total}
                           | {key: _owned_copy(value) for key, value in extra.items()
                              if key not in total})
    if (type(total) is np.ndarray and total.shape == np.shape(extra)
            and np.result_type(total, extra) == total.dtype):
        total += extra
        return total
    return total + extra


def _owned_copy(value):
    if isinstance(value, (tuple, list)):
        return type(value)(_owned_copy(item) for item in value)
    if isinstance(value, dict):
        return type(value)({key: _owned_copy(item) for key, item in value.items()})
    if type(value) is np.ndarray:
        return value.copy()
    return value
