# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: hvp
# found: crash: AttributeError in ast.py: 'NoneType' object has no attribute '_fields'
# args: [[3]]
# seed: 906935
import math
import numpy as np

def f(x):
    while 2:
        return np.where(1.0 > 0.82, 1.0, x @ x)
