# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# found: crash (hvp; seeds 2204005 and 2402723, shrunk): forward over reverse through a
# checkpointed loop whose step returns an array and a float unchanged (the `continue`). The
# loop's twin is the VJP of the step's JVP, whose `tgr.match(dresult, result)` of a tuple had
# the adjoint `tgr.restore_shape(g, dresult)`, which took the ragged tuple's np.shape (fixed:
# restore_shape goes entry by entry through tuples, lists and dicts)
# mode: hvp
# args: [[3], 3]
# seed: 2204005
import numpy as np

import transgrad as tg


def f(x, n):
    o3 = 1.0
    r8 = x
    y10 = 2
    for i11 in tg.checkpoint(range(n), snapshots=2):
        continue
        r8 = y10
        o3 /= 1.0
    return o3 + np.sum(r8 ** 2)
