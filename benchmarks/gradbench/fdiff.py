"""Central differences in float64, for checking the GradBench derivatives (small cases)."""
import numpy as np


def central(f, x, h=1e-6):
    """The Jacobian of f at x by central differences, shaped f(x).shape + x.shape."""
    x = np.asarray(x, dtype=np.float64)
    out_shape = np.shape(f(x.copy() if x.ndim else float(x)))
    J = np.empty(out_shape + x.shape)
    for index in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        if x.ndim == 0:
            up, down = float(up), float(down)
        J[(Ellipsis,) + index] = (np.asarray(f(up)) - np.asarray(f(down))) / (2 * h)
    return J
