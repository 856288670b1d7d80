# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: jvp
# found: crash: TypeError in generated: 'checkpoint' object is not subscriptable
# args: [[3, 3], [3, 3], 3]
# seed: 800085
import math
import numpy as np
import transgrad as tg

def f(x, w, n):
    for i16 in tg.checkpoint(range(n), snapshots=2):
        for i18 in tg.checkpoint(range(n), snapshots=2):
            if i18:
                pass
    s23 = 1.0
    p32 = s23
    return p32
