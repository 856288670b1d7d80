"""Property tests: random shapes, broadcasting and axes for operators and reductions.

transgrad reads source, so the differentiated functions are defined here at module level;
hypothesis draws only shapes, axes, flags and a seed for the values. Every vector-Jacobian
product is checked against central finite differences, and every cotangent must have the
type and shape of its argument (a Python float for a Python float).
"""

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import transgrad as tg
from tests.checks import assert_close, numeric_vjp, random_cotangent

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
MORE = settings(PROPERTY, max_examples=150)


# --- the functions ---------------------------------------------------------------------------

def add(x, y):
    return x + y


def subtract(x, y):
    return x - y


def multiply(x, y):
    return x * y


def divide(x, y):
    return x / y


def power(x, y):
    return x ** y


def maximum(x, y):
    return np.maximum(x, y)


def minimum(x, y):
    return np.minimum(x, y)


def where_positive(x, y):
    return np.where(x > 0.0, x * y, y)


def where_mask(c, x, y):
    return np.where(c > 0.0, x, y - x)


def mixed_expression(x, y, z):
    return (x * y - z) / (1.0 + y ** 2) + np.maximum(x, z)


def reduce_sum(x, axis, keepdims):
    return np.sum(x, axis=axis, keepdims=keepdims)


def reduce_mean(x, axis, keepdims):
    return np.mean(x, axis=axis, keepdims=keepdims)


def reduce_max(x, axis, keepdims):
    return np.max(x, axis=axis, keepdims=keepdims)


def reduce_min(x, axis, keepdims):
    return np.min(x, axis=axis, keepdims=keepdims)


def reduce_prod(x, axis, keepdims):
    return np.prod(x, axis=axis, keepdims=keepdims)


def reduce_var(x, axis, keepdims):
    return np.var(x, axis=axis, keepdims=keepdims)


def reduce_std(x, axis, keepdims):
    return np.std(x, axis=axis, keepdims=keepdims)


def method_sum(x, axis, keepdims):
    return x.sum(axis=axis, keepdims=keepdims)


def method_max(x, axis, keepdims):
    return x.max(axis=axis, keepdims=keepdims)


def reduce_then_broadcast(x, axis):
    return x * np.sum(x, axis=axis, keepdims=True) - np.mean(x ** 2, axis=axis, keepdims=True)


ANY = (-2.0, 2.0)
POSITIVE = (0.5, 2.0)

# name -> (function, value range of each operand)
BINARY = {
    "add": (add, ANY, ANY), "subtract": (subtract, ANY, ANY),
    "multiply": (multiply, ANY, ANY), "divide": (divide, ANY, POSITIVE),
    "power": (power, POSITIVE, ANY), "maximum": (maximum, ANY, ANY),
    "minimum": (minimum, ANY, ANY), "where_positive": (where_positive, ANY, ANY),
}
TERNARY = {"where_mask": where_mask, "mixed_expression": mixed_expression}
REDUCTIONS = {f.__name__: f for f in (reduce_sum, reduce_mean, reduce_max, reduce_min,
                                      reduce_prod, reduce_var, reduce_std, method_sum,
                                      method_max)}


# --- strategies ------------------------------------------------------------------------------

@st.composite
def broadcast_shapes(draw, count):
    """``count`` shapes that broadcast together: suffixes of one shape, some axes set to 1."""
    ndim = draw(st.integers(0, 3))
    base = draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim))
    shapes = []
    for _ in range(count):
        drop = draw(st.integers(0, ndim))
        shapes.append(tuple(1 if draw(st.booleans()) else n for n in base[drop:]))
    return shapes


@st.composite
def shape_and_axis(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    ndim = len(shape)
    single = st.integers(-ndim, ndim - 1) if ndim else st.nothing()
    axes = st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).map(
        lambda a: tuple(i - ndim if k % 2 else i for k, i in enumerate(a))) if ndim \
        else st.just(())
    axis = draw(st.one_of(st.none(), single, axes))
    return shape, axis


def value(rng, shape, bounds, python_float):
    """A float array of ``shape``, or a Python float when the shape is () and asked for."""
    if shape == () and python_float:
        return float(rng.uniform(*bounds))
    return rng.uniform(*bounds, shape)


def check_vjp(func, args, wrt):
    out = func(*args)
    cotangent = random_cotangent(out)
    grads = tg.vjp(func, wrt=wrt)(*args, cotangent)
    for i, grad in zip(wrt, grads):
        what = f"{func.__name__} d/d argument {i} at shapes {[np.shape(a) for a in args]}"
        if isinstance(args[i], float):
            assert type(grad) is float, f"{what}: got {type(grad)} for a Python float"
        else:
            assert isinstance(grad, np.ndarray) and grad.shape == args[i].shape, what
            assert grad.dtype == args[i].dtype, what
        assert_close(grad, numeric_vjp(func, args, i, cotangent), what)


# --- the properties --------------------------------------------------------------------------

@MORE
@given(name=st.sampled_from(sorted(BINARY)), shapes=broadcast_shapes(2),
       floats=st.lists(st.booleans(), min_size=2, max_size=2), seed=st.integers(0, 2 ** 16))
def test_binary_broadcasting(name, shapes, floats, seed):
    func, *bounds = BINARY[name]
    rng = np.random.default_rng(seed)
    args = tuple(value(rng, s, b, f) for s, b, f in zip(shapes, bounds, floats))
    check_vjp(func, args, (0, 1))


@PROPERTY
@given(name=st.sampled_from(sorted(TERNARY)), shapes=broadcast_shapes(3),
       floats=st.lists(st.booleans(), min_size=3, max_size=3), seed=st.integers(0, 2 ** 16))
def test_ternary_broadcasting(name, shapes, floats, seed):
    func = TERNARY[name]
    rng = np.random.default_rng(seed)
    args = tuple(value(rng, s, ANY, f) for s, f in zip(shapes, floats))
    check_vjp(func, args, (0, 1, 2) if name == "mixed_expression" else (1, 2))


@MORE
@given(name=st.sampled_from(sorted(REDUCTIONS)), shape_axis=shape_and_axis(),
       keepdims=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_reductions(name, shape_axis, keepdims, seed):
    shape, axis = shape_axis
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, shape)
    if name == "reduce_std":   # the standard deviation of one element has no derivative
        axes = range(len(shape)) if axis is None else np.atleast_1d(axis)
        assume(int(np.prod([shape[a] for a in axes])) >= 2)
    func = REDUCTIONS[name]
    out = func(x, axis, keepdims)
    cotangent = random_cotangent(out)
    grad = tg.vjp(func)(x, axis, keepdims, cotangent)
    assert isinstance(grad, np.ndarray) and grad.shape == x.shape
    assert_close(grad, numeric_vjp(func, (x, axis, keepdims), 0, cotangent),
                 f"{name} of shape {shape} over axis {axis}, keepdims={keepdims}")


@PROPERTY
@given(shape_axis=shape_and_axis(), seed=st.integers(0, 2 ** 16))
def test_sum_vjp_is_broadcast_cotangent(shape_axis, seed):
    """Analytically: the cotangent of a sum is the output cotangent spread over the axes."""
    shape, axis = shape_axis
    x = np.random.default_rng(seed).uniform(-2.0, 2.0, shape)
    out = reduce_sum(x, axis, True)
    cotangent = random_cotangent(out, seed)
    grad = tg.vjp(reduce_sum)(x, axis, True, cotangent)
    assert_close(grad, np.broadcast_to(cotangent, shape), f"sum over {axis} of {shape}")


@PROPERTY
@given(shape_axis=shape_and_axis(), seed=st.integers(0, 2 ** 16))
def test_reduce_then_broadcast(shape_axis, seed):
    shape, axis = shape_axis
    x = np.random.default_rng(seed).uniform(-2.0, 2.0, shape)
    check_vjp(reduce_then_broadcast, (x, axis), (0,))
