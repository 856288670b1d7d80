# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: wrong_derivative (jacrev; seed 3200337 of the twenty-fifth fuzz run, written smaller
# by hand): the rows sweep (passes/batch_rows.py) was made on a call with n = 2 and baked the
# shapes that call's traced run saw (np.ones((n,)) of 2) into its zero starts; a later call
# with n = 1 has the same argument shapes, so it ran that sweep, and the broadcasting hid it
# mode: jacrev
# args: [[3], 1]
# seed: 3200337
import numpy as np


def f(x, n):
    acc = (np.ones((n,)) * np.sum(x)).sum(axis=0) / n
    b = np.ones((n, 3)) * x
    return np.sin(acc) * 2.0 + np.sum(b * b) / n
