# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a
# TransformError refusal) in the mode below.
# mode: grad
# found: wrong_derivative (and wrong value in value_and_grad): max abs error 0.271
# args: [[2, 3]]
# seed: 600099
import math
import numpy as np
import transgrad as tg


# seed 600099 of the final run of the aliasing room (shrunk by hand from 20 lines): without
# the marker (for i6 in range(1):) this is refused: `b1` is updated in place by an
# augmented assignment, and `x` shares its memory. With it, the loop body becomes an
# outlined step that passes/aliasing.py does not see (the checkpoint pass runs before it),
# and value and gradient are silently wrong.
def f(x):
    b1 = x[:, 1]
    for i6 in tg.checkpoint(range(1), snapshots=2):
        b1 *= np.tanh(b1)
    return np.min(x) + np.mean(x)
