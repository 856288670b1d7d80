# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: crash: AttributeError in transgrad:runtime.py: 'float' object has no attribute
# 'shape' (jacrev; seed 3200226 of the twenty-fifth fuzz run, written smaller by hand): the
# rows sweep was made on the branch the first call took; down the other branch an adjoint
# stays the 0.0 it starts at, and the rows helpers took only arrays (the jacrev mode's first
# call, at the arrays times 1.25, passes the test below; the checked call does not)
# mode: jacrev
# args: [[3], [3]]
# seed: 3200226
import numpy as np


def f(x, w):
    if np.sum(x * x) > 4.8:
        y = np.sin(x) * w
    else:
        y = x * 2.0
    return np.sum(y * y)
