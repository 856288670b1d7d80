"""Nested differentiation: a differentiated function that calls a derivative transgrad made
(``tg.grad(inner)(x)``), in the four mode combinations, against ``jax.grad``; perturbation
confusion (Siskind and Pearlmutter); and the located refusals where a call's function is
known only when the code runs."""

import numpy as np
import pytest

import transgrad as tg
from tests import checks
from tests.checks import assert_close

jax, jnp = checks.jax, checks.jnp
needs_jax = pytest.mark.skipif(not checks.HAVE_JAX, reason="JAX is not installed")


def _outer_derivative(kind):
    """d/dx by reverse mode (``r``) or forward mode (``f``), for a scalar x."""
    if kind == "r":
        return tg.grad
    return lambda f: (lambda x: tg.jvp(f)(x, 1.0)[1])


def _inner_derivative(kind):
    if kind == "r":
        return tg.grad
    return lambda f: (lambda y: tg.jvp(f)(y, 1.0)[1])


# --- perturbation confusion -------------------------------------------------------------------

def confusion(x):
    """d/dx (x * d/dy (x + y))|_{y=1}: the inner derivative is 1 whatever x is, so the answer is
    1; a tool that confuses the two perturbations of x answers 2."""
    def inner(y):
        return x + y
    return x * tg.grad(inner)(1.0)


def confusion_forward_inside(x):
    def inner(y):
        return x + y
    return x * tg.jvp(inner)(1.0, 1.0)[1]


def same_variable_inside(x):
    """d/dx (d/dy (x * y))|_{y=x} = d/dx x = 1 (the inner derivative at the outer x)."""
    def inner(y):
        return x * y
    return tg.grad(inner)(x)


@pytest.mark.parametrize("outer", ["r", "f"])
@pytest.mark.parametrize("func", [confusion, confusion_forward_inside, same_variable_inside])
def test_perturbation_confusion(func, outer):
    assert _outer_derivative(outer)(func)(1.0) == pytest.approx(1.0, abs=1e-12)
    assert _outer_derivative(outer)(func)(3.0) == pytest.approx(1.0, abs=1e-12)


@needs_jax
def test_perturbation_confusion_matches_jax():
    expected = jax.grad(lambda x: x * jax.grad(lambda y: x + y)(1.0))(1.0)
    assert float(expected) == 1.0
    assert tg.grad(confusion)(1.0) == pytest.approx(float(expected), abs=1e-12)


# --- a derivative differentiated again, as GradBench's particle and saddle do ----------------

def _energy(v):
    return np.sum(np.sin(v) * v ** 2)


DGRAD = tg.grad(_energy)


def squared_gradient(x):
    return np.sum(DGRAD(x) ** 2)


def _jax_squared_gradient(x):
    return jnp.sum(jax.grad(lambda v: jnp.sum(jnp.sin(v) * v ** 2))(x) ** 2)


@needs_jax
@pytest.mark.parametrize("outer", ["grad", "jvp"])
def test_module_level_derivative_called_inside(outer):
    """``tg.grad(lambda x: np.sum(dgrad(x) ** 2))``: reverse over reverse and forward over
    reverse of a derivative a user made at module level."""
    x = np.array([0.3, -1.2, 0.7])
    want = np.asarray(jax.grad(_jax_squared_gradient)(x))
    if outer == "grad":
        assert_close(tg.grad(lambda v: np.sum(DGRAD(v) ** 2))(x), want, "rr")
        assert_close(tg.grad(squared_gradient)(x), want, "rr, def")
    else:
        tangent = np.array([1.0, 0.5, -2.0])
        assert_close(tg.jvp(squared_gradient)(x, tangent)[1], want @ tangent, "fr")


def charged(x, w):
    """A potential whose charges depend on the outer argument ``w``, its gradient taken inside
    (particle's ``grad(p)(x)``), in a loop of Euler steps."""
    charges = [np.array([1.0, 2.0 - w]), np.array([1.5, -0.5 * w])]

    def potential(p):
        return 1.0 / np.sqrt(np.sum((p - charges[0]) ** 2)) \
            + 1.0 / np.sqrt(np.sum((p - charges[1]) ** 2))
    velocity = np.zeros(2)
    for _ in range(3):
        velocity = velocity - 0.1 * tg.grad(potential)(x)
        x = x + 0.1 * velocity
    return np.sum(x ** 2)


def _jax_charged(x, w):
    charges = [jnp.array([1.0, 2.0 - w]), jnp.array([1.5, -0.5 * w])]

    def potential(p):
        return 1.0 / jnp.sqrt(jnp.sum((p - charges[0]) ** 2)) \
            + 1.0 / jnp.sqrt(jnp.sum((p - charges[1]) ** 2))
    velocity = jnp.zeros(2)
    for _ in range(3):
        velocity = velocity - 0.1 * jax.grad(potential)(x)
        x = x + 0.1 * velocity
    return jnp.sum(x ** 2)


@needs_jax
@pytest.mark.parametrize("outer", ["grad", "jvp"])
def test_closure_over_outer_argument_in_loop(outer):
    x, w = np.array([0.2, 0.1]), 0.3
    want = float(jax.grad(_jax_charged, argnums=1)(x, w))
    if outer == "grad":
        got = tg.grad(charged, wrt=1)(x, w)
    else:
        got = tg.jvp(charged, wrt=1)(x, w, 1.0)[1]
    assert got == pytest.approx(want, rel=1e-9)


@needs_jax
@pytest.mark.parametrize("inner", ["r", "f"])
@pytest.mark.parametrize("outer", ["r", "f"])
def test_four_mode_combinations(inner, outer):
    """An inner derivative of either mode, passed in as GradBench's solvers take their
    gradient operator, inside an outer derivative of either mode."""
    inner_derivative = _inner_derivative(inner)

    def objective(w):
        def f(y):
            return np.sin(w * y) * y
        return w * inner_derivative(f)(0.5)

    def jax_objective(w):
        return w * jax.grad(lambda y: jnp.sin(w * y) * y)(0.5)

    want = float(jax.grad(jax_objective)(0.8))
    assert _outer_derivative(outer)(objective)(0.8) == pytest.approx(want, rel=1e-10)


def _helper_of_inner(a):
    return np.tanh(a) * a


def _inner_with_helper(x):
    return np.sum(_helper_of_inner(np.sin(x)) ** 2)


_inner_jvp = tg.jvp(_inner_with_helper)


def directional_of_inner(x, v):
    """A directional derivative that forward mode made, whose code calls the helper's JVP
    with a tuple of tangents (``helper_jvp(a, (da,))``): reverse mode over it must take the
    tuple's cotangent (it was dropped, or refused, before)."""
    return _inner_jvp(x, v)[1] * np.sum(x)


@needs_jax
@pytest.mark.parametrize("wrt", [0, 1])
def test_reverse_over_forward_code_that_calls_a_user_function(wrt):
    def jax_inner(x):
        return jnp.sum((jnp.tanh(jnp.sin(x)) * jnp.sin(x)) ** 2)

    def jax_directional(x, v):
        return jax.jvp(jax_inner, (x,), (v,))[1] * jnp.sum(x)

    x, v = np.array([0.3, -0.2, 0.5]), np.array([1.0, 0.5, -0.3])
    want = jax.grad(jax_directional, argnums=wrt)(x, v)
    assert_close(tg.grad(directional_of_inner, wrt=wrt)(x, v), np.asarray(want), rtol=1e-10)


# --- function values known only when the code runs: refused with their line --------------------

def _square(v):
    return v * v


def indexed_by_variable(x, i):
    fs = [np.sin, _square]
    return np.sum(fs[i](x))


def rebinds_in_branch(x):
    if np.sum(x) > 0:
        f = np.sin
    else:
        f = np.cos
    return np.sum(f(x))


def _apply_twice(f, x):
    return f(f(x))


def calls_a_parameter(x, f):
    return np.sum(_apply_twice(f, x) * x + f(x))


def test_parameter_holding_a_function():
    """A function given as an argument of the differentiated function is part of the code's
    key: each function gets code of its own, calling it (no stale code for another)."""
    x = np.array([0.3, -0.5, 0.9])
    derivative = tg.grad(calls_a_parameter)
    for f, df in [(np.sin, np.cos), (_square, lambda v: 2 * v), (np.sin, np.cos)]:
        want = _apply_twice(f, x) + x * df(f(x)) * df(x) + df(x)
        assert_close(derivative(x, f), want, f"grad with {f.__name__}")
    slope = tg.jvp(calls_a_parameter)(x, _square, np.ones(3))[1]
    assert slope == pytest.approx(np.sum(_apply_twice(_square, x) + 4 * x ** 4 + 2 * x))


def nested_function_as_value(x):
    def g(y):
        return y * 2.0
    return [g, x]


@pytest.mark.parametrize("func, args, words", [
    (indexed_by_variable, (np.ones(3), 1), "indexed by a value known only when the code runs"),
    (rebinds_in_branch, (np.ones(3),), "bound to different functions"),
    (nested_function_as_value, (np.ones(3),), "holds a function"),
])
def test_run_time_function_values_are_refused_with_their_line(func, args, words):
    with pytest.raises(tg.TransformError) as info:
        tg.vjp(func)(*args, np.ones(3) if func is not nested_function_as_value else None)
    assert words in str(info.value)
    assert info.value.lineno is not None and info.value.source_line
