# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: jax_jit
# found: crash: TypeError in transgrad:jax_runtime.py: function other_branch2 traced for jit returned a value of type <class 'transgrad.checkpoint.checkpoint'>
# args: [[3], [3]]
# seed: 900950
import math
import numpy as np
import transgrad as tg


def f(x, w):
    if x.sum() > 0.5:
        w = w * 2.0
    else:
        for i3 in tg.checkpoint(range(3), snapshots=2):
            w = w * x
    return np.sum(w)
