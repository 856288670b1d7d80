# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: value_and_grad
# found: wrong_value: got 0.6 (the last return's value), f(*args) = 1.2
# args: [[3]]
# seed: 20029
import math
import numpy as np


# seed 20029 of batch D (shrunk automatically, then by hand to this): a `return` inside a loop
# inside an `if` not taken; the `if c2: return A` after it is lost on the path that skips
# the first `if` (the generated code runs `result = A` and then `result = B`).
def f(x):
    if np.sum(x) > 100.0:
        for v in x:
            return v
    if np.sum(x) < 100.0:
        return np.sum(x * 2.0)
    return np.sum(x)
