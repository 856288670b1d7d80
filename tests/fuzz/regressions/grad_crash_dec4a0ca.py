# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: grad
# found: crash: UnboundLocalError in generated: cannot access local variable 'bw'
# args: [[3], [2, 3]]
# seed: 67
import math
import numpy as np

def h8(a, *, k=0.5):
    t = 1
    return +t

def h6(a, b, scale=1.0):
    t7 = np.sqrt(1.0 + b ** 2) / (1.0 + (-0.38) ** 2)
    return h8(t7 * +t7, k=0.6)[1] * a * scale + b

def h9(a, n):
    return a

def f(x, w):
    u1, w2 = (-+x, np.log(1.0 + np.where(-1.53 > x.sum(), -1.53, x.sum() * 0.5) ** 2))
    hs3 = []
    for i4 in range(3):
        hs3.append(h9(w2, 3) / (2.0 + np.cos(+w2)))
    o5 = sum(hs3)
    if x.sum() > -0.69:
        return o5
    g10 = (1.0 + (h6(u1, u1, scale=-1.61) * (-1.5) ** 0) ** 2) ** 0.75
    w = np.stack([g10, g10[::-1]])
    for i19 in range(2):
        w2 += (np.concatenate([w, w[:1]]) + --np.stack([u1, u1 ** 2, u1])).sum()
