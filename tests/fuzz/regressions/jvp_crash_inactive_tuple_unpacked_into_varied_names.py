# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: jvp
# found: crash: AttributeError in ast.py: 'NoneType' object has no attribute '_fields'
# cause: a helper's tuple that does not vary, unpacked into names that vary later (u -= ...
# in a loop): forward mode wrote `du, dw = None` (the tuple's tangent is None)
# args: [[3]]
# seed: 908097
import math
import numpy as np

def h(a, *, k=0.5):
    return (a * k, np.mean(a))

def f(x):
    u, w = h(np.ones(3))
    k = 0
    while k < 1:
        u -= x * 2.0
        k += 1
    return np.sum(u * x) + w
