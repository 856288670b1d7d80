# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: crash: TypeError in generated: unsupported operand type(s) for +: 'float' and
# 'NoneType' (jax_jit; the program of jax_crash_checkpoint_outside_array_made_active_by_
# outlining.py): under jax.jit the scanned checkpoint schedule's pullback gives None for a
# carried value no step differentiates (acc, constant in the loop but active by name once
# the loop is outlined), which the caller's adjoint adds; the eager driver gave a zero. The
# steps now differentiate by the activity of the outlined caller.
# mode: jax_jit
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
