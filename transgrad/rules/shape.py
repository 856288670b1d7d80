"""Rules for functions that move, copy or assemble elements without arithmetic."""

import numpy as np

from .. import runtime as tgr  # noqa: F401
from .registry import Sample, vjp
from .specs import A


@vjp(np.reshape, samples=[Sample((A(3, 4), (4, 3))), Sample((A(3, 4), -1))])
def reshape(g, ans, a, shape=None):
    return np.reshape(g, np.shape(a))


@vjp(np.transpose, samples=[Sample((A(3, 4),)), Sample((A(2, 3, 4), (1, 2, 0)))])
def transpose(g, ans, a, axes=None):
    return np.transpose(g, tgr.inverse_permutation(axes, np.ndim(a)))
