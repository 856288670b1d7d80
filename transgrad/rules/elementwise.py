"""Rules for elementwise numpy math (one output element per input element)."""

import numpy as np

from .. import runtime as tgr  # noqa: F401  (rules may use it; see the package contract)
from .registry import Sample, vjp
from .specs import A, P

_ANY = [Sample((A(3, 4),))]
_POSITIVE = [Sample((P(3, 4),))]


@vjp(np.exp, elementwise=True, samples=_ANY)
def exp(g, ans, x):
    return g * ans


@vjp(np.log, elementwise=True, samples=_POSITIVE)
def log(g, ans, x):
    return g / x


@vjp(np.sin, elementwise=True, samples=_ANY)
def sin(g, ans, x):
    return g * np.cos(x)


@vjp(np.cos, elementwise=True, samples=_ANY)
def cos(g, ans, x):
    return -g * np.sin(x)


@vjp(np.tanh, elementwise=True, samples=_ANY)
def tanh(g, ans, x):
    return g * (1 - ans ** 2)


@vjp(np.sqrt, elementwise=True, samples=_POSITIVE)
def sqrt(g, ans, x):
    return g / (2 * ans)


@vjp(np.maximum, broadcasting=True, elementwise=True,
     samples=[Sample((A(3, 4), A(3, 4))), Sample((A(3, 4), 0.0), wrt=(0,))])
def maximum(g, ans, x, y):
    return g * (x >= y), g * (x < y)
