"""Python floats: operators, the ``math`` module, builtins ``abs``/``min``/``max``/``sum``."""

import math

import numpy as np

from transgrad.rules.specs import A, P, S

from . import corpus_function

RATE = 0.3


@corpus_function(S(), S(0.5, 2.0), wrt=(0, 1))
def scalar_arithmetic(x, y):
    z = x * y + x / y - x ** 2
    z -= y ** 3
    return -z + RATE * x


@corpus_function(S(), wrt=0, jax=False)
def math_exp_log(x):
    return math.exp(x) * math.log(x * x + 1.0) + math.sqrt(x * x + 2.0)


@corpus_function(S(), S(), wrt=(0, 1), jax=False)
def math_trig(x, y):
    return math.sin(x) * math.cos(y) + math.tan(0.3 * x) + math.atan2(y, 2.5) + math.tanh(x)


@corpus_function(S(), wrt=0, jax=False)
def math_constants(x):
    return math.pi * x ** 2 + math.e * math.sin(x / math.pi)


@corpus_function(S(), S(), wrt=(0, 1))
def builtin_abs(x, y):
    return abs(x) * y + abs(x - y)


@corpus_function(S(), S(), wrt=(0, 1), jax=False)
def builtin_min_max(x, y):
    return max(x, y) * 2.0 - min(x, y) + max(x, 0.1, y * 0.5)


@corpus_function(S(), S(), wrt=(0, 1))
def builtin_sum(x, y):
    return sum([x, y, x * y]) + sum((x, 2.0))


@corpus_function(S(), A(3), wrt=(0, 1))
def scalar_with_array(s, x):
    y = np.exp(s * x) + s ** 2
    return np.sum(y) * s


@corpus_function(S(), wrt=0)
def numpy_on_python_float(x):
    return np.sin(x) * np.exp(x) + np.tanh(x) ** 2


@corpus_function(S(0.5, 2.0), S(), wrt=(0, 1))
def scalar_power(x, y):
    return x ** y + 2.0 ** y + y ** 2


@corpus_function(S(), wrt=0, jax=False)
def math_floor_constant(x):
    return math.floor(x) * x + x


@corpus_function(P(3), S(), wrt=(0, 1), jax=False)
def math_of_array_element(x, s):
    a = x[0]
    return math.log(a) * s + math.exp(s * 0.5) * np.sum(x)


@corpus_function(A(3), wrt=0)
def builtin_max_of_a_list(x):
    # one list or tuple argument: each item's cotangent (was nan: the list compared to the answer)
    return max([x[0] * x[1], x[1] * x[2]]) + min((x[0], x[2] * 2.0))


@corpus_function(A(4), wrt=0)
def builtin_max_over_a_vector(x):
    return max(x * 2.0) + min(np.sin(x))
