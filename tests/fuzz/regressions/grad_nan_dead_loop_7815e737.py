# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: grad
# found: wrong_derivative: max abs error nan (argument 1); got [0.105794, 1.11796, 1.38901, nan], expected 
# args: [[3, 3], [2, 3], 3]
# seed: 904937
import math
import numpy as np
import transgrad as tg

def h3(a, *, k=0.5):
    t = a
    return (t @ np.stack([a, a ** 2, a]) * k, t.sum())

def h4(a, b, scale=1.0):
    return a + b

def h11(a, b, scale=1.0):
    return a * b * scale + b

def h16(a, n):
    pass

def h20(a, n):
    if n <= 0:
        return a

def h22(a, *, k=0.5):
    t = a
    return (-t * k, t)

def f(x, w, n):
    u1, w2 = h3(h4(w[-1], x[:, 1], scale=-1.59) * (n * -1.59))
    d7 = -+w * -+w - ((w2 if w2 < -0.58 and w2 > 0.0 else w2) if np.sum(w) > 0.65 or w2 > 0.0 else +w2)
    r8 = 2.0 ** np.tanh(u1)
    for i9 in range(1, 3):
        w = np.log(1.0 + (w * np.mean(d7, axis=0, keepdims=True)) ** 2)
        for i10 in tg.checkpoint(range(3), snapshots=2):
            w2 = h11(0.39, 1.65, scale=1.03) + w2 ** 3
        for i14 in range(n):
            p15 = h16(w2, 1)
    y17 = np.zeros((2, 3))
    g18 = w2 ** 3
    e19 = h20(w2 - w2, 0) * (g18 * g18 / (1.5 + np.tanh(-1.97)))
    h21 = h22(2.0 ** np.tanh(0.93) * (-1.5) ** n)[0]
    q23 = u1
    g18 *= np.tanh(w2)
    k25 = 0
    while k25 < 3:
        g26 = -(2.0 ** np.tanh(w) if k25 < 2 else --y17)
        s27 = w / (1.5 + np.tanh(h21))
        k25 += 1
    return w.sum() + 1.31 * h21 + -1.39 * np.mean(r8)
