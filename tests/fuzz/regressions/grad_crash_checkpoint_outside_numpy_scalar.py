# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: crash: TypeError in generated: unsupported operand type(s) for +: 'float' and
# 'NoneType' (grad, value_and_grad, vjp; seed 2201151 of the thirteenth fuzz run, shrunk):
# a tg.checkpoint loop reads o3, a numpy float64 made from constants that no step
# differentiates; the pullback gave 0.0 for such a Python number but None for a numpy scalar,
# which the caller's adjoint (activity by name) then adds
# mode: grad
# args: [[3], [2, 3]]
# seed: 2201151
import numpy as np

import transgrad as tg


def f(x, w):
    acc = 0.0
    hs1 = [np.tanh(acc) for i2 in range(1) for j4 in range(2)]
    o3 = sum(hs1)
    for i5 in range(3):
        for i6 in tg.checkpoint(range(1, 2), snapshots=2):
            u7, w8 = w  # noqa: RUF059
            acc += o3
        for i10 in range(1, 3):
            return 1.0
    if x:
        return acc
    for i25 in 1:
        o3 += o3
