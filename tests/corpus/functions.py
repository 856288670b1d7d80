"""Functions as values: closure factories (``f = make(w)``, where what the closure captures
depends on the differentiated argument), functions passed as arguments and called through a
parameter (``solve(f, x0)``), lambdas passed to functions, lists of functions indexed by
constants, and derivatives taken inside a differentiated function (``tg.grad(inner)(x)``,
where ``inner`` closes over the outer argument: nested differentiation).

transgrad decides what each call calls when it builds the code: factories and functions
given a function are inlined where they are called (normalize_functions.py).
"""

import numpy as np

import transgrad as tg
from transgrad.rules.specs import A, P

from . import corpus_function

# ---------------------------------------------------------------- helpers


def _make_scale(a):
    def scale(x):
        return a * x
    return scale


def _make_shifted_tanh(a, b):
    return lambda x: np.tanh(a * x) + b


def _make_poly(c):
    inner = _make_scale(c)

    def poly(x):
        return inner(x) * x + c
    return poly


def _apply_twice(f, x):
    return f(f(x))


def _newton_like(f, x0, steps):
    x = x0
    for _ in range(steps):
        x = x - 0.1 * f(x)
    return x


def _rk4(f, y, h, steps):
    """Fourth-order Runge-Kutta, the function given as an argument (GradBench's ode)."""
    def body(yf):
        k1 = f(yf)
        k2 = f(yf + h / 2 * k1)
        k3 = f(yf + h / 2 * k2)
        k4 = f(yf + h * k3)
        return yf + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    for _ in range(steps):
        y = body(y)
    return y


def _make_rhs(x):
    def rhs(y):
        return x * np.roll(y, 1) - 0.5 * y
    return rhs


def _square_plus(v):
    return v * v + 1.0


def _compose(f, g):
    return lambda x: f(g(x))


_DSIN = tg.grad(lambda v: np.sum(np.sin(v) * v))


# ---------------------------------------------------------------- closure factories


@corpus_function(A(4), A(4), wrt=(0, 1))
def closure_factory(x, w):
    f = _make_scale(w)
    return np.sum(f(x) * x)


@corpus_function(A(4), A(4), wrt=(0, 1), jax=False)   # np. in the helper
def closure_factory_lambda(x, w):
    f = _make_shifted_tanh(w, np.sum(w))
    return np.sum(f(x) ** 2)


@corpus_function(A(3), A(3), wrt=(0, 1))
def closure_factory_called_at_once(x, w):
    return np.sum(_make_scale(w * 2.0)(x) + _make_scale(x)(w))


@corpus_function(A(4), A(4), wrt=(0, 1))
def closure_factory_of_factory(x, c):
    return np.sum(_make_poly(c)(x))


@corpus_function(A(3), A(3), wrt=(0, 1))
def closure_factory_in_loop(x, w):
    total = 0.0
    for i in range(3):
        f = _make_scale(w * (i + 1.0))
        total = total + np.sum(np.sin(f(x)))
    return total


@corpus_function(A(3), A(3), wrt=(0, 1))
def closure_factory_two_closures(x, w):
    f = _make_scale(w)
    g = _make_scale(x)
    return np.sum(f(x) * g(w) + f(g(x)))


# ---------------------------------------------------------------- functions as arguments


@corpus_function(A(4), A(4), wrt=(0, 1))
def function_argument_nested(x, y):
    def g(t):
        return np.sin(t) * y
    return np.sum(_apply_twice(g, x))


@corpus_function(A(4), wrt=0)
def function_argument_global(x):
    return np.sum(_apply_twice(_square_plus, x * 0.5) + _apply_twice(np.tanh, x))


@corpus_function(A(4), A(4), wrt=(0, 1))
def function_argument_lambda(x, w):
    return np.sum(_newton_like(lambda t: np.tanh(t) * w, x, 3))


@corpus_function(A(5), P(5), wrt=(0, 1), jax=False)   # np. in the helper
def function_argument_runge_kutta(x, y0):
    f = _make_rhs(x)
    return np.sum(_rk4(f, y0, 0.1, 3) ** 2)


@corpus_function(A(4), A(4), wrt=(0, 1))
def function_alias_and_compose(x, w):
    h = _compose(np.sin, _make_scale(w))
    k = h
    return np.sum(k(x) * x)


@corpus_function(A(4), wrt=0)
def function_list_constant_index(x):
    fs = [np.sin, _square_plus]
    return np.sum(fs[0](x) * fs[1](x))


# ---------------------------------------------------------------- nested differentiation


@corpus_function(A(4), wrt=0, jax=False)
def nested_derivative_constant(x):
    return np.sum(_DSIN(x) ** 2)


@corpus_function(A(4), wrt=0, jax=False)
def nested_derivative_closure(x):
    def inner(y):
        return np.sum(np.sin(x * y) * y)
    return np.sum(tg.grad(inner)(x) * x)


@corpus_function(A(3), A(3), wrt=(0, 1), jax=False)
def nested_derivative_of_local_lambda(x, w):
    energy = lambda y: np.sum(w * y ** 3)   # noqa: E731 (a lambda bound to a name)
    return np.sum(tg.grad(energy)(x) * w)


@corpus_function(A(3), wrt=0, jax=False)
def nested_jvp_closure(x):
    def inner(y):
        return np.sin(y * x)
    return np.sum(tg.jvp(inner)(x, np.ones(3))[1] ** 2)


@corpus_function(A(3), wrt=0, jax=False)
def nested_value_and_grad(x):
    def inner(y):
        return np.sum(np.exp(y) * x)
    value, slope = tg.value_and_grad(inner)(x * 0.5)
    return value + np.sum(slope ** 2)


@corpus_function(A(4), wrt=0)
def function_table_dict(x):
    ops = {"a": np.cos, "b": _square_plus}
    return np.sum(ops["a"](x) * ops["b"](x))


@corpus_function(A(3), A(3), wrt=(0, 1))
def loop_over_functions(x, w):
    total = 0.0
    for fn in [np.sin, _square_plus, lambda t: t * w]:
        total = total + np.sum(fn(x) * w)
    fs = [np.tanh, np.cos]
    for g in fs:
        total = total + np.sum(g(x * w))
    return total
