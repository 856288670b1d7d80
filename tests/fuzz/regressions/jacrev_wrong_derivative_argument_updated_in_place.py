# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: wrong_derivative (jacrev; seed 5000056 of the jacrev mode's first run, written
# smaller by hand): tg.jacrev ran the user's function for the output's shape, the function
# updated its argument x in place, and the VJPs then pulled back at the updated x (where a
# loop's stack is in the tape and the rows cannot be pulled back together: np.linalg.inv)
# mode: jacrev
# args: [[3]]
# seed: 5000056
import numpy as np


def f(x):
    for i in range(2):
        x -= np.sin(x) * 0.5
    return np.sum(np.linalg.inv(np.outer(x, x) + np.eye(3)))
