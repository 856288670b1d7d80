# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: crash: TypeError in generated: unsupported operand type(s) for *: 'NoneType' and
# 'int' (grad; written from seed 5300630 of the twenty-ninth fuzz run, which crashed in the
# jax mode): a tg.checkpoint loop inside a while reads the array u2 = acc ** 2, which nothing
# differentiable reaches, so the step did not differentiate it; once outlined, the loop's
# call binds acc from x, so acc and u2 are active by name in the caller, whose adjoint read
# u2's cotangent: None. The steps now differentiate by the activity of the outlined caller.
# mode: grad
# args: [[2]]
# seed: 5300630
import numpy as np

import transgrad as tg


def f(x):
    acc = np.full(2, 0.5)
    k1 = 0
    while k1 < 2:
        u2 = acc ** 2
        for i3 in tg.checkpoint(range(2), snapshots=2):
            acc *= np.tanh(u2 + 0.3)
            x = x + np.sin(x) * u2
        k1 += 1
    return np.sum(x * acc)
