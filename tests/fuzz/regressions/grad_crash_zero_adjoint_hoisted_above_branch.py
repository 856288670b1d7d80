# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: grad
# found: crash: UnboundLocalError in generated: cannot access local variable 'u6'
# args: [[2, 3]]
# seed: 100535
import math
import numpy as np


# seed 100535 of the long run (shrunk automatically from 2131 to 134 characters, then by
# hand): the early return is taken; the code after it unpacks an array and updates a name
# in place. The generated gradient initialises the adjoint bu6 from u6 at the top level,
# before the `else` branch (the lifted code after the return) where u6 is assigned.
def f(x):
    if np.sum(x) > -100.0:
        return np.sum(x)
    u6, w7 = x
    u6 -= u6[1]
    return np.sum(u6)
