"""The binomial checkpointing schedule (Griewank and Walther's revolve), as data.

A loop of n steps maps states x_0 -> x_1 -> ... -> x_n; the adjoint of step i needs x_i.
With k snapshots (x_0's included) the schedule below reverses all n steps with the fewest
forward steps possible: if every step may be advanced at most r times (the first sweep counts,
the evaluation inside the step's VJP does not), up to C(k + r, k) steps can be reversed, and the
total is ``min_advances(n, k) = r n - C(k + r, r - 1)`` for the smallest such r.

The schedule is a generator, so that a 20,000-step schedule costs O(k + r) memory, not a list of
tens of thousands of actions. Written from the published algorithm (Griewank 1992, "Achieving
logarithmic growth of temporal and spatial complexity in reverse automatic differentiation";
Griewank and Walther 2000, ACM TOMS Algorithm 799); the split rule is checked against a
dynamic program in tests/test_checkpoint.py.
"""

from collections.abc import Iterator
from math import comb
from typing import NamedTuple

ADVANCE = "advance"     # the current state x_step -> x_stop, by steps step .. stop - 1
SNAPSHOT = "snapshot"   # keep the current state x_step
RESTORE = "restore"     # the current state becomes the snapshot of x_step
FORGET = "forget"       # drop the snapshot of x_step (its slot is free again)
REVERSE = "reverse"     # take step `step`'s adjoint from the current state x_step


class Action(NamedTuple):
    kind: str
    step: int
    stop: int = -1      # for ADVANCE only


def repetitions(steps, snapshots):
    """The smallest r with C(snapshots + r, snapshots) >= steps: how often a step is advanced."""
    reps = 0
    while comb(snapshots + reps, snapshots) < steps:
        reps += 1
    return reps


def max_steps(snapshots, reps):
    """How many steps `snapshots` snapshots reverse when each step is advanced <= reps times."""
    return comb(snapshots + reps, snapshots)


def min_advances(steps, snapshots):
    """The fewest forward steps (first sweep included) that reverse `steps` steps."""
    if steps <= 1:
        return 0
    if snapshots < 1:
        raise ValueError("reversing two or more steps needs at least one snapshot")
    reps = repetitions(steps, snapshots)
    return reps * steps - comb(snapshots + reps, reps - 1)


def split(steps, snapshots):
    """Where to take the next snapshot: an optimal first segment length for (steps, snapshots).

    Every m in [lower, upper] below is optimal (checked against the dynamic program); the
    smallest keeps the first sweep's snapshots close together.
    """
    reps = repetitions(steps, snapshots)
    lower = max(1, steps - comb(snapshots - 1 + reps, snapshots - 1),
                comb(snapshots + reps - 2, snapshots))
    return lower


def schedule(steps, snapshots) -> Iterator[Action]:
    """The actions that reverse steps 0 .. steps - 1, starting from x_0 as the current state.

    The first REVERSE is for step steps - 1 (revolve's "first turn"); everything before it is
    the forward sweep. At most `snapshots` snapshots are held at any time, x_0's included.
    """
    if steps < 1:
        return
    if snapshots < 1:
        raise ValueError(f"checkpointing needs at least one snapshot, got {snapshots}")
    if steps == 1:
        yield Action(REVERSE, 0)
        return
    yield Action(SNAPSHOT, 0)
    yield from _reverse(0, steps, min(snapshots, steps - 1))
    yield Action(FORGET, 0)


def _reverse(start, stop, snapshots):
    """Reverse steps start .. stop - 1 from the current state x_start, which is also a snapshot
    (counted in `snapshots`) that stays held. An explicit stack of pending work, not recursion:
    with k ~ n snapshots the recursion would be n deep."""
    pending = [(start, stop, snapshots)]      # a segment to reverse, or an Action to yield
    while pending:
        item = pending.pop()
        if isinstance(item, Action):
            yield item
            continue
        start, stop, snapshots = item
        if stop - start == 1:
            yield Action(REVERSE, start)
        elif snapshots == 1:                    # one slot: replay from x_start for every step
            for step in range(stop - 1, start - 1, -1):
                if step != stop - 1:
                    yield Action(RESTORE, start)
                if step > start:
                    yield Action(ADVANCE, start, step)
                yield Action(REVERSE, step)
        else:                                   # snapshot x_middle, reverse the tail, then the head
            middle = start + split(stop - start, snapshots)
            yield Action(ADVANCE, start, middle)
            pending += [(start, middle, snapshots), Action(RESTORE, start)]
            if stop - middle > 1:
                pending += [Action(FORGET, middle), (middle, stop, snapshots - 1)]
                yield Action(SNAPSHOT, middle)
            else:
                yield Action(REVERSE, middle)
