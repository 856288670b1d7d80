# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: wrong_derivative (hvp; seed 2400202, shrunk by hand): forward over reverse through a
# checkpointed loop whose step calls a user function. The loop's tangent-carrying twin is the
# split VJP of the step's JVP, whose call `h_jvp(a, (da,))` became `dh(a, tangent=(da,))`;
# reverse mode skipped the keyword's tuple, so the cotangent of `da` was dropped without a
# word (fixed: normalize_functions binds the tangent tuple to a name; reverse_calls refuses an
# active keyword it cannot take)
# mode: hvp
# args: [[3], 3]
# seed: 2400202
import numpy as np

import transgrad as tg


def h10(a, n):
    if n <= 0:
        return a
    return h10(np.tanh(a) * 0.89 + -0.37, n - 1)


def f(x, n):
    s1 = x * 2.0
    w5 = np.exp(x)
    k9 = 0
    while tg.checkpoint(k9 < 3, snapshots=2, max_steps=3):
        s1 /= 1.0 + h10(np.sin(w5), n) ** 2
        k9 += 1
    return np.sum(s1 ** 2) + np.sum(w5)
