"""Rules for the ``math`` module and builtins on Python scalars."""

import math

from .registry import Sample, vjp
from .specs import S


@vjp(math.exp, samples=[Sample((S(),))])
def math_exp(g, ans, x):
    return g * ans


@vjp(math.sin, samples=[Sample((S(),))])
def math_sin(g, ans, x):
    return g * math.cos(x)
