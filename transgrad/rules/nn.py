"""Rules for neural-network primitives that numpy lacks, defined here as plain functions.

``sigmoid`` and ``relu`` take and return numpy arrays (or Python numbers); the Tensor's
``sigmoid()`` and ``relu()`` record them, and compiled code may call them like any numpy
function.
"""

import numpy as np

from .. import runtime as tgr  # noqa: F401  (rules may use it; see the package contract)
from .registry import Sample, vjp
from .specs import A


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))``, without overflow for large ``|x|``."""
    return np.exp(-np.logaddexp(0, -x))


def relu(x):
    """``max(x, 0)`` elementwise; its derivative at 0 is taken to be 0 (as in PyTorch)."""
    return np.maximum(x, 0)


@vjp(sigmoid, tensor="sigmoid", tensor_node="SigmoidBackward0", torch=("sigmoid",),
     elementwise=True, samples=[Sample((A(3, 4),))])
def sigmoid_vjp(g, ans, x):
    return g * (ans * (1 - ans))


@vjp(relu, tensor="relu", tensor_node="ReluBackward0", torch=("relu",),
     elementwise=True, samples=[Sample((A(3, 4),))])
def relu_vjp(g, ans, x):
    return g * (ans > 0)
