# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: wrong_derivative (grad; seed 2000010 of the generator's new `default_global`
# feature, shrunk): a helper's keyword default names a module constant that is rebound after
# the def; Python keeps the value at the def (0.5), but the derivative read the name again
# when it was built (1.46): a silently wrong derivative (fixed by parse._bind_defaults)
# mode: grad
# args: [[3], [2, 3], 1]
# seed: 2000010
import numpy as np

K4 = 0.5


def h3(a, *, k=K4):
    return a * k


K4 = 1.46


def f(x, w, n):
    u1, _ = h3(x * np.ones((2, 3)))
    r11 = u1
    return np.mean(r11)
