# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: crash: AxisError in numeric.py: source: axis 0 is out of bounds for array of
# dimension 0 (grad; seed 5214 of the new generator feature np_matmul, shrunk): the exact
# stage took np.matmul, a ufunc, for an elementwise one, so a (3, 3) matrix times a
# 3-vector was given the broadcast shape (3, 3), not (3,), and its exact-shape gradient
# crashed
# mode: grad
# args: [[3, 3], [3]]
# seed: 5214
import numpy as np


def h17(a, b, scale=1.0):
    t18 = b
    return np.matmul(b[:, None] * b, t18) @ np.stack([b, b, b])

def f(x, w):
    z1 = x
    h13 = z1
    u15, _ = (h17(w, b=w), h13)
    o26 = u15
    return np.min(o26)
