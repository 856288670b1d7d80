"""Binomial checkpointing of long loops: the user's marker and the runtime driver.

    for t in tg.checkpoint(range(n), snapshots=k):   # runs like range(n) when not differentiated
        h = np.tanh(W @ h + xs[t])

`checkpointed_loop` runs a loop given as a step function and the step's VJP on the schedule of
`transgrad.revolve`: the forward sweep keeps at most k states, the reverse sweep recomputes the
others from them. Memory is O(k) states instead of O(n); time is at most r forward steps per
step, where r is the smallest number with C(k + r, k) >= n.
"""

import numpy as np

from .revolve import ADVANCE, FORGET, RESTORE, REVERSE, SNAPSHOT, schedule
from .rules.registry import Rule, register_vjp
from .runtime import zeros_like_value


class checkpoint:   # lower case: used like range, `for t in tg.checkpoint(range(n), ...)`
    """Marks a `for` loop whose gradient keeps only `snapshots` copies of the loop's state.

    Iterating it is iterating the range, so the marked function runs unchanged; the compiler
    reads the marker and reverses the loop on the binomial schedule.
    """

    __slots__ = ("snapshots", "steps")

    def __init__(self, steps, *, snapshots):
        if not isinstance(steps, range):
            raise TypeError(f"tg.checkpoint marks a loop over a range, got "
                            f"{type(steps).__name__}; write tg.checkpoint(range(n), snapshots=k)")
        if isinstance(snapshots, bool) or not isinstance(snapshots, int) or snapshots < 1:
            raise ValueError(f"snapshots must be a positive int, got {snapshots!r}")
        self.steps = steps
        self.snapshots = snapshots

    def __iter__(self):
        return iter(self.steps)

    def __len__(self):
        return len(self.steps)

    def __repr__(self):
        return f"checkpoint({self.steps!r}, snapshots={self.snapshots})"


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
    ``step(*carried, t, *outside) -> carried`` and that step's generated split VJP ``pair``
    (``fwd(*args) -> (value, tape)``, ``bwd(tape, g)`` -> the cotangents of the arguments at
    ``wrt``). Generated code calls ``run_checkpointed(loop, marker, carried, outside)``."""

    def __init__(self, name, step, pair, wrt):
        self.__name__ = name
        self.step, self.pair, self.wrt = step, pair, tuple(wrt)

    def __repr__(self):
        return f"<transgrad checkpointed loop {self.__name__}>"

    def run(self, marker, carried, outside):
        """The loop's final carried values, holding the sweep that ``pullback`` continues."""
        final, pullback = self._sweep(marker, carried, outside)
        result = Carried(final)
        result.pullback = pullback
        return result

    def pullback(self, g, ans, marker, carried, outside):
        """(cotangents of the carried values, of the outside values) given ``g``, the final
        carried values' cotangent; ``ans`` is what ``run`` returned (else the forward sweep
        runs again)."""
        pullback = getattr(ans, "pullback", None)
        if pullback is None:
            _, pullback = self._sweep(marker, carried, outside)
        g_final = tuple(zeros_like_value(value) if part is None else part
                        for part, value in zip(_parts(g, len(carried)), ans))
        g_state, g_outside = pullback(g_final)
        first = len(carried) + 1    # zeros where no step reached a differentiated value
        g_outside = tuple(
            zeros_like_value(value) if part is None and first + j in self.wrt else part
            for j, (part, value) in enumerate(zip(g_outside or (None,) * len(outside),
                                                  outside)))
        return g_state, g_outside

    def _sweep(self, marker, carried, outside):
        step = self.step

        def forward(state, t):
            return step(*state, t, *outside)

        return checkpointed_loop(forward, self._step_vjp(outside), tuple(carried),
                                 marker.steps, marker.snapshots)

    def _step_vjp(self, outside):
        """The driver's vjp(state, t, g) -> (g_state, g_outside) from the step's split VJP."""
        pair, wrt = self.pair, self.wrt

        def vjp(state, t, g):
            _, tape = pair.fwd(*state, t, *outside)
            by_position = dict(zip(wrt, pair.bwd(tape, g)))
            g_state = tuple(by_position[i] if i in by_position else zeros_like_value(value)
                            for i, value in enumerate(state))
            first = len(state) + 1
            return g_state, tuple(by_position.get(first + j) for j in range(len(outside)))

        return vjp


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


def run_checkpointed(loop, marker, carried, outside):
    """A checkpointed loop in generated code: ``carried`` after every step of ``marker``."""
    return loop.run(marker, carried, outside)


def run_checkpointed_vjp(g, ans, loop, marker, carried, outside):
    g_carried, g_outside = loop.pullback(g, ans, marker, carried, outside)
    return None, None, g_carried, g_outside


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
