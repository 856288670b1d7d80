"""Binomial checkpointing of long loops: the user's marker and the runtime driver.

    for t in tg.checkpoint(range(n), snapshots=k):   # runs like range(n) when not differentiated
        h = np.tanh(W @ h + xs[t])

`checkpointed_loop` runs a loop given as a step function and the step's VJP on the schedule of
`transgrad.revolve`: the forward sweep keeps at most k states, the reverse sweep recomputes the
others from them. Memory is O(k) states instead of O(n); time is at most r forward steps per
step, where r is the smallest number with C(k + r, k) >= n.
"""

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

    The forward sweep keeps the states at the multiples of a spacing, half the snapshots at
    most: when they run out the spacing doubles and every other one is dropped. Each
    segment between two kept states is then reversed, from the last, on the binomial
    schedule with the other half. With k snapshots and n steps a segment is at most 4n/k
    steps long and gets k/2 snapshots; there is no sweep that only counts the steps.

    Returns (final_state, pullback, steps taken); pullback as ``checkpointed_loop``'s.
    ``more`` false at the start: no step, pullback gives its cotangent back."""
    keep = max(1, snapshots // 2)
    spacing, held, taken = 1, {0: state}, 0
    while more(state):
        if taken == limit:
            raise _TooManySteps(limit)
        state = forward(state, taken)
        taken += 1
        if taken % spacing == 0:
            held[taken] = state
            if len(held) > keep:
                spacing *= 2
                held = {at: kept for at, kept in held.items() if at % spacing == 0}
    starts = sorted(at for at in held if at < taken)
    segment_snapshots = max(1, snapshots - len(starts) + 1)   # a segment's start is one

    def pullback(g_final):
        g_state, g_params = g_final, None
        for start in reversed(starts):
            _, segment = checkpointed_loop(forward, vjp, held[start],
                                           range(start, min(start + spacing, taken)),
                                           segment_snapshots)
            g_state, g_step = segment(g_state)
            g_params = add_cotangents(g_params, g_step)
        return g_state, g_params

    return state, pullback, taken


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
        # zeros where no step reached a differentiated value, and 0.0 for a number (a
        # Python or a numpy scalar) the step does not differentiate (the caller's adjoint may
        # still add it: its activity is by name); an array's zero is made only where the step
        # differentiates it
        first = len(carried) + 1
        g_outside = tuple(
            zeros_like_value(value) if part is None and (
                first + j in self.wrt or type(value) in (float, int)
                or isinstance(value, np.generic)) else part
            for j, (part, value) in enumerate(zip(g_outside or (None,) * len(outside),
                                                  outside)))
        g_collected = tuple(_filled(entries[:len(initial)], whole)
                            for (entries, whole), initial in zip(g_lists, collected))
        return g_state, g_outside, g_collected

    def _online(self, marker, forward, vjp, carried, outside):
        """(final state, pullback, steps taken) of a while loop, checkpointed online."""
        try:
            return online_loop(forward, vjp, tuple(carried),
                               lambda state: self.cond(*state, *outside), len(marker.steps),
                               marker.snapshots)
        except _TooManySteps as error:
            where = getattr(self, "where", {})
            raise ValueError(
                f"{where.get('filename')}, line {where.get('lineno')}: the tg.checkpoint while "
                f"loop is still running after max_steps={error.args[0]} steps") from None

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


def run_checkpointed_vjp(g, ans, loop, marker, carried, outside, collected=()):
    g_carried, g_outside, g_collected = loop.pullback(g, ans, marker, carried, outside,
                                                      collected)
    return None, None, g_carried, g_outside, g_collected


register_vjp(Rule("run_checkpointed", (run_checkpointed,), run_checkpointed_vjp, user=True))


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
