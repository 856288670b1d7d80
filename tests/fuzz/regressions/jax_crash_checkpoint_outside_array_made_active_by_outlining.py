# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: crash: TypeError in generated: unsupported operand type(s) for *: 'NoneType' and
# 'int' (jax; seed 5300630 of the twenty-ninth fuzz run, shrunk by hand): a tg.checkpoint
# loop inside a while reads u2 = acc ** 2, which nothing differentiable reaches, so the step
# does not differentiate it; once outlined, the loop's result makes acc (and so u2) active by
# name in the caller, whose adjoint reads u2's cotangent. The pullback made a zero only for a
# Python or numpy number, and u2 is a JAX array from the second pass on: it gave None. The
# steps now differentiate by the activity of the outlined caller.
# mode: jax
# args: [[2]]
# seed: 5300630
import numpy as np

import transgrad as tg


def f(x):
    acc = 0.5
    k1 = 0
    while k1 < 2:
        u2 = acc ** 2
        for i3 in tg.checkpoint(range(2), snapshots=2):
            acc *= np.tanh(u2 + 0.3)
            x = x + np.sin(x) * u2
        k1 += 1
    return np.sum(x) * acc
