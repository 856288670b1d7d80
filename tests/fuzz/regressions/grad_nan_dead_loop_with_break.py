# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: wrong_derivative (grad, value_and_grad, hvp: nan; checkpoint-only fuzz run on
# 6de190e, seed 2810817, shrunk; the session's start 1397c0c gives the same): the loop's
# `w6 += ...` never reaches the output (y8[1] took w6 before the loop), w6 overflows to inf,
# and the loop's adjoint multiplied its zero adjoint by inf. `activity.useless_statements`
# drops such a loop's adjoint, but gave up on a body with `break`.
# Fixed: the analysis follows `break` (live after the loop) and `continue` (live at its head).
# mode: grad
# args: [[3], [3, 3]]
# seed: 2810817
import numpy as np


def h7(a, *, k=0.5):
    t = a
    return (a, np.min(t))


def h22(a, b, scale=1.0):
    return b


def h21(a, *, k=0.5):
    t = h22(b=a, a=a, scale=0.5)
    return (np, t)


def f(x, w):
    u5, w6 = h7(w)
    y8 = np.zeros(3)
    y8[1] = w6
    for j19, row18 in enumerate(w):
        for row20 in w:
            if 1.0 < 0.18:
                break
            w6 += h21(w6 * w6, k=1.15)[1] * w6
    return np.sum(y8)
