# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: crash (jax_jit; seed 5400027 of the eighth session's run 38, shrunk): "unsupported
# operand type(s) for *: 'float' and 'NoneType'". The inner test `u1 < 0.19` is computed on a
# static value (u1 = np.exp(0.0), a numpy float), so it is a numpy bool and the inner branch
# runs as a Python `if`; the outer branch's test is traced, and tgr.cond kept only Python
# bools, ints and floats concrete, so the numpy bool came out of the outer lax.cond traced.
# The backward sweep's cond on it then traced both arms, one reading `t3`, which the
# forward path never bound (None). Fixed: numpy's bool, int64 and float64 scalars stay
# concrete through tgr.cond like Python's.
# mode: jax_jit
# args: [[3]]
# seed: 5400027
import numpy as np


def f(x):
    acc = 0.0
    acc = np.exp(acc)
    u1, w2 = (acc, x)
    u6, *rest9 = x
    w7 = sum(rest9)
    b_parts1 = w2
    if w7:
        return u6
    bw = w2[:] * w2 if u1 < 0.19 else b_parts1
    return bw.sum()
