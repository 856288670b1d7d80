"""Rules for Python's arithmetic operators and their numpy ufunc twins.

The in-place operator functions (``operator.iadd``...) have no rules: ``x += y`` reaches the
compiler as ``x = x + y``, and an explicit ``operator.imul(x, y)`` overwrites the ``x`` that the
derivative needs.
"""

import operator

import numpy as np

from .. import runtime as tgr
from ..runtime import unbroadcast, zeros_like_value  # noqa: F401
from .registry import Sample, helper, nondifferentiable, vjp
from .specs import A, P, S

_BINARY = [Sample((A(3, 4), A(3, 4))), Sample((A(3, 4), A(4))), Sample((A(2, 1, 3), A(4, 1))),
           Sample((S(), A(3)))]
_POSITIVE_RIGHT = [Sample((A(3, 4), P(3, 4))), Sample((A(3, 1), P(4)))]


@vjp(operator.add, np.add, tensor="add", tensor_node="AddBackward0", torch=("add",),
     broadcasting=True, elementwise=True, samples=_BINARY)
def add(g, ans, x, y):
    return g, g


@vjp(operator.sub, np.subtract, tensor="sub", tensor_node="SubBackward0", torch=("sub",),
     broadcasting=True, elementwise=True,
     samples=_BINARY)
def subtract(g, ans, x, y):
    return g, -g


@vjp(operator.mul, np.multiply, tensor="mul", tensor_node="MulBackward0", torch=("mul",),
     broadcasting=True, elementwise=True, samples=_BINARY)
def multiply(g, ans, x, y):
    return g * y, g * x


@vjp(operator.truediv, np.divide, tensor="div", tensor_node="DivBackward0", torch=("div",),
     broadcasting=True,
     elementwise=True, samples=_POSITIVE_RIGHT)
def divide(g, ans, x, y):
    return g / y, -g * ans / y


@vjp(operator.neg, np.negative, tensor="neg", tensor_node="NegBackward0", torch=("neg",),
     elementwise=True, samples=[Sample((A(3),)), Sample((S(),))])
def negative(g, ans, x):
    return -g


@vjp(operator.pos, np.positive, elementwise=True, samples=[Sample((A(3),))])
def positive(g, ans, x):
    return g


@vjp(operator.pow, np.power, tensor="pow", tensor_node="PowBackward0", torch=("pow",),
     broadcasting=True, elementwise=True,
     samples=[Sample((P(3, 4), A(3, 4))), Sample((A(3), 2)), Sample((A(3), 3.0), wrt=(0,)),
              Sample((P(3), A(2, 1)))])
def power(g, ans, x, y):
    return g * y * x ** (y - 1), g * ans * np.log(np.where(x > 0, x, 1))


@vjp(np.float_power, broadcasting=True, elementwise=True,
     samples=[Sample((P(3, 4), A(3, 4)))])
def float_power(g, ans, x, y):
    return g * y * np.float_power(x, y - 1), g * ans * np.log(np.where(x > 0, x, 1))


@vjp(operator.matmul, np.matmul, linear=True, tensor="matmul", tensor_node="MmBackward0",
     torch=("matmul", "mm"), samples=[
    Sample((A(3, 4), A(4, 2))), Sample((A(4), A(4, 2))), Sample((A(3, 4), A(4))),
    Sample((A(4), A(4))), Sample((A(2, 3, 4), A(4, 5))), Sample((A(2, 3, 4), A(2, 4, 5)))])
def matmul(g, ans, x, y):
    """Matrices get the two products a person writes; the compiler picks the branch when it
    knows the ranks (from the arguments of the call), else the code decides at run time."""
    if np.ndim(x) == 2 and np.ndim(y) == 2:
        left = g @ y.T
        right = x.T @ g
    else:
        left = tgr.matmul_vjp_left(g, x, y)
        right = tgr.matmul_vjp_right(g, x, y)
    return left, right


# the cotangents of products are linear in g and in the other operand; the cotangent of
# each, ``left(g, a, b)``, is the ``ba`` with ``<ba, da> = <g, p(da, b)>``, so its own
# cotangent in ``g`` is the product ``p(gg, b)``, in ``b`` the product's right cotangent
# ``right(g, gg, b)``; ``a`` is read for its shape only (the same for ``right``)
@helper(linear=(0, 2), meta=(1,))
def matmul_vjp_left(g, x, y):
    """Cotangent of ``x`` in ``x @ y`` (1-D, 2-D and batched operands)."""
    if x.ndim == 2 and y.ndim == 2:
        return g @ y.T
    if y.ndim == 1:
        bx = g[..., None] * y if x.ndim > 1 else g * y
    elif x.ndim == 1:
        bx = (g[..., None, :] @ y.swapaxes(-1, -2))[..., 0, :]
    else:
        bx = g @ y.swapaxes(-1, -2)
    return unbroadcast(bx, x.shape)


@helper(linear=(0, 1), meta=(2,))
def matmul_vjp_right(g, x, y):
    """Cotangent of ``y`` in ``x @ y`` (1-D, 2-D and batched operands)."""
    if x.ndim == 2 and y.ndim == 2:
        return x.T @ g
    if x.ndim == 1:
        by = x[:, None] * g[..., None, :] if y.ndim > 1 else g * x
    elif y.ndim == 1:
        by = (x.swapaxes(-1, -2) @ g[..., None])[..., 0]
    else:
        by = x.swapaxes(-1, -2) @ g
    return unbroadcast(by, y.shape)


_MATMUL = [Sample((A(2), A(4), A(4, 2))), Sample((A(3), A(3, 4), A(4))),
           Sample((A(), A(4), A(4))), Sample((A(2, 3, 5), A(2, 3, 4), A(4, 5))),
           Sample((A(2, 3, 5), A(3, 4), A(2, 4, 5))), Sample((A(2, 5), A(4), A(2, 4, 5))),
           Sample((A(3, 2), A(3, 4), A(4, 2)))]


@vjp(matmul_vjp_left, samples=_MATMUL)
def matmul_vjp_left_rule(gg, ans, g, x, y):
    return gg @ y, tgr.zeros_like_value(x), tgr.matmul_vjp_right(g, gg, y)


@vjp(matmul_vjp_right, samples=_MATMUL)
def matmul_vjp_right_rule(gg, ans, g, x, y):
    return x @ gg, tgr.matmul_vjp_left(g, x, gg), tgr.zeros_like_value(y)


@vjp(operator.mod, np.mod, np.remainder, broadcasting=True, elementwise=True,
     tensor="remainder", tensor_node="RemainderBackward0", torch=("remainder",),
     samples=[Sample((P(3, 4), P(3, 4))), Sample((A(3, 4), 0.7), wrt=(0,))])
def mod(g, ans, x, y):
    """``x % y = x - floor(x / y) * y``: slope 1 in x, ``-floor(x / y)`` in y."""
    return g, -g * np.floor_divide(x, y)


nondifferentiable(operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne,
                  operator.not_, operator.invert, operator.floordiv,
                  operator.and_, operator.or_, operator.xor, operator.is_, operator.is_not,
                  operator.contains, np.floor_divide, np.less,
                  np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
                  np.logical_and, np.logical_or, np.logical_not, np.logical_xor)
