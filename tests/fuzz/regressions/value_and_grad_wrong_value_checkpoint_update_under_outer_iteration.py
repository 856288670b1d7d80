# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: wrong_value (value_and_grad; and wrong derivatives in grad, hvp, jax; checkpoint-only
# fuzz run, seed 2801241, shrunk; the session's start 1397c0c gives the same): the marked
# loop's step spells `x += x` as `x = x + x`, so the enclosing `zip(x, ...)` went on over the
# old array, where numpy's iterator sees the update in place (the unmarked loop is right).
# Fixed: refused at the update, as an update of an array a loop inside the marked one goes
# over already was.
# mode: value_and_grad
# args: [[3]]
# seed: 2801241
import numpy as np
import transgrad as tg


def f(x):
    e1 = x[:, None] * x @ x
    for s3, t4 in zip(x, e1[::-1]):
        for i9 in tg.checkpoint(range(1, 2), snapshots=2):
            x += x
        if t4 < 0.66:
            return s3
