# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: crash: TypeError in generated: unsupported operand type(s) for +: 'float' and
# 'NoneType' (grad, value_and_grad, vjp; seed 1505684 of the seventh fuzz run, shrunk): a
# tg.checkpoint loop reads x, but no step's carried value depends on it, so the step does not
# differentiate x and its pullback gave None for x's cotangent, which the caller adds
# mode: grad
# args: [[2, 3]]
# seed: 1505684
import math
import numpy as np
import transgrad as tg

def f(x):
    acc = 0.0
    b_parts1 = 1 ** 2 * acc
    m9 = 0.4
    if np.mean(m9):
        for i13 in tg.checkpoint(range(1), snapshots=2):
            u14, w15 = np.minimum(x, b_parts1)
            acc -= 1.0
    return acc
