"""The Tensor's computing methods: arithmetic, reductions and comparisons.

Each applies one entry of the ops table (``ops.OPS``), choosing the PyTorch node name from
the arguments (``x.sum(1)`` records ``SumBackward1``, ``x.matmul(v)`` with a vector
``MvBackward0``). Methods that apply one primitive and take nothing but operands
(``x.exp()``, ``x.maximum(y)``) are not written here: they come from ``ops.UNARY`` and
``ops.BINARY``. ``tensor.py`` attaches these classes' methods to ``Tensor``.
"""

import numpy as np

from .core import FLOAT_KINDS, Tensor, _as_array, _operand, _wrap
from .grad_mode import STATE
from .ops import OPS, _apply1, _apply2, _apply_astype, apply_op, variant
from .record import _record

_ndarray = np.ndarray
_ADD, _SUB, _MUL, _DIV = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"]
_POW, _MATMUL, _NEG, _SUM = OPS["pow"], OPS["matmul"], OPS["neg"], OPS["sum"]
_REMAINDER, _CLAMP = OPS["remainder"], OPS["clamp"]
_CLAMP_MIN = variant(_CLAMP, "ClampMinBackward0")
_CLAMP_MAX = variant(_CLAMP, "ClampMaxBackward0")


class ArithmeticMethods:
    """Operators, products, ``clamp``, ``clone`` and ``astype``."""

    def __add__(self, other):
        return _apply2(_ADD, self, other)

    def __radd__(self, other):
        return _apply2(_ADD, other, self)

    def __sub__(self, other):
        return _apply2(_SUB, self, other)

    def __rsub__(self, other):
        return _apply2(variant(_SUB, "RsubBackward1"), other, self)

    def __mul__(self, other):
        return _apply2(_MUL, self, other)

    def __rmul__(self, other):
        return _apply2(_MUL, other, self)

    def __truediv__(self, other):
        return _apply2(_DIV, self, other)

    def __rtruediv__(self, other):
        return _apply2(_DIV, other, self)

    def __pow__(self, other):
        if isinstance(other, Tensor):
            return _apply2(variant(_POW, "PowBackward1"), self, other)
        return _apply2(_POW, self, other)

    def __rpow__(self, other):
        return _apply2(variant(_POW, "PowBackward2"), other, self)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return _wrap(np.array(other)).matmul(self) if not isinstance(other, Tensor) else \
            other.matmul(self)

    def __neg__(self):
        return _apply1(_NEG, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __mod__(self, other):
        """Python's (and numpy's) remainder, with the sign of the divisor."""
        if isinstance(other, Tensor):
            return _apply2(variant(_REMAINDER, "RemainderBackward1"), self, other)
        return _apply2(_REMAINDER, self, other)

    def __rmod__(self, other):
        return _apply2(variant(_REMAINDER, "RemainderBackward1"), other, self)

    remainder = __mod__

    def matmul(self, other):
        """Matrix product with numpy's (and PyTorch's) rules for 1-D and batched operands."""
        nd = (self.data.ndim, other.data.ndim if isinstance(other, Tensor) else np.ndim(other))
        name = {(2, 2): "MmBackward0", (1, 1): "DotBackward0", (2, 1): "MvBackward0"}.get(
            nd, "MatmulBackward0")
        op = _MATMUL if name == "MmBackward0" else variant(_MATMUL, name)
        return _apply2(op, self, other)

    def mm(self, other):
        """The product of two matrices (2-D only, as in PyTorch)."""
        if self.data.ndim != 2 or (isinstance(other, Tensor) and other.data.ndim != 2):
            raise RuntimeError(f"mm: expected 2-D tensors, got {self.data.ndim}-D and "
                               f"{np.ndim(other)}-D")
        return _apply2(_MATMUL, self, other)

    def clamp(self, min=None, max=None):
        """Limit values to [min, max]; the gradient passes where ``min <= x <= max``."""
        if max is None:
            if min is None:
                raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
            op = _CLAMP_MIN
        else:
            op = _CLAMP if min is not None else _CLAMP_MAX
        if not isinstance(min, Tensor) and not isinstance(max, Tensor):
            out = op.impl(self.data, min, max)
            t = _wrap(out if type(out) is _ndarray else np.asarray(out))
            if self._rg and STATE.enabled:
                _record(op, t, (self, min, max), (True, False, False))
            return t
        return apply_op(op, self, min, max)

    clip = clamp

    def clone(self):
        """A copy; gradients flow back to the original."""
        return _apply1(OPS["clone"], self)

    def astype(self, dtype):
        """A copy converted to ``dtype`` (numpy's spelling of ``to(dtype)``)."""
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        if self._rg and STATE.enabled and dtype.kind in FLOAT_KINDS:
            return _apply_astype(self, dtype)
        return _wrap(self.data.astype(dtype))


class ReductionMethods:
    """``sum``, ``mean``, ``prod``, ``max``, ``min`` (over all axes or ``dim``/``axis``) and
    the constant ``argmax``/``argmin``."""

    def _reduce(self, op, dim, keepdim, axis, keepdims, dtype=None):
        if axis is not None:
            dim = axis
        if keepdims is not None:
            keepdim = keepdims
        dim = _dims(dim, self.data.ndim)
        kwargs = {}
        if dim is not None:
            kwargs["axis"] = dim
            if op.name.endswith("0"):
                op = variant(op, op.name[:-1] + "1")
        if keepdim:
            kwargs["keepdims"] = True
        if dtype is not None:
            return self.to(dtype)._reduce(op, dim, keepdim, None, None)
        return _apply1(op, self, kwargs)

    def sum(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        """Sum over ``dim`` (an int or tuple; all when None), keeping it with ``keepdim``."""
        if dim is None and axis is None and not keepdim and not keepdims and dtype is None:
            return _apply1(_SUM, self)
        return self._reduce(_SUM, dim, keepdim, axis, keepdims, dtype)

    def mean(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        return self._reduce(OPS["mean"], dim, keepdim, axis, keepdims, dtype)

    def prod(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        return self._reduce(OPS["prod"], dim, keepdim, axis, keepdims, dtype)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The largest element; with ``dim``, ``(values, indices)`` along it; with a Tensor,
        the elementwise maximum."""
        return self._minmax("max", np.argmax, dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return self._minmax("min", np.argmin, dim, keepdim, axis, keepdims)

    def _minmax(self, which, arg, dim, keepdim, axis, keepdims):
        if isinstance(dim, Tensor):
            return self.maximum(dim) if which == "max" else self.minimum(dim)
        if axis is not None or keepdims is not None or dim is None:
            # numpy spelling or a full reduction: the np.max / np.min rule
            return self._reduce(OPS[which], dim, keepdim, axis, keepdims)
        dim = int(dim) % max(self.data.ndim, 1)
        indices = arg(self.data, axis=dim)
        index = list(np.indices(indices.shape, sparse=True))
        index.insert(dim, indices) if self.data.ndim else None
        index = tuple(index) if self.data.ndim else ()
        name = "MaxBackward0" if which == "max" else "MinBackward0"
        values = self._getitem(index, name)
        idx = _wrap(indices)
        if keepdim:
            values = values.unsqueeze(dim)
            idx = _wrap(np.expand_dims(indices, dim))
        return MinMax(values, idx)

    def argmax(self, dim=None, keepdim=False):
        return _wrap(np.asarray(np.argmax(self.data, axis=dim, keepdims=keepdim)))

    def argmin(self, dim=None, keepdim=False):
        return _wrap(np.asarray(np.argmin(self.data, axis=dim, keepdims=keepdim)))


class ComparisonMethods:
    """Comparisons and logical operators: constants (no gradient flows through them)."""

    def _compare(self, func, other):
        return _wrap(np.asarray(func(self.data, _operand(other)[0])))

    def __lt__(self, other):
        return self._compare(np.less, other)

    def __le__(self, other):
        return self._compare(np.less_equal, other)

    def __gt__(self, other):
        return self._compare(np.greater, other)

    def __ge__(self, other):
        return self._compare(np.greater_equal, other)

    def __eq__(self, other):
        if other is None:
            return False
        return self._compare(np.equal, other)

    def __ne__(self, other):
        if other is None:
            return True
        return self._compare(np.not_equal, other)

    __hash__ = object.__hash__

    def __invert__(self):
        return _wrap(np.asarray(~self.data))

    def __and__(self, other):
        return self._compare(np.logical_and if self.data.dtype == bool else np.bitwise_and,
                             other)

    def __or__(self, other):
        return self._compare(np.logical_or if self.data.dtype == bool else np.bitwise_or,
                             other)

    def equal(self, other):
        return bool(np.array_equal(self.data, _as_array(other)))

    def allclose(self, other, rtol=1e-5, atol=1e-8):
        return bool(np.allclose(self.data, _as_array(other), rtol=rtol, atol=atol))


def _dims(dim, ndim):
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        return tuple(int(d) for d in dim)
    return int(dim)


class MinMax(tuple):
    """``(values, indices)`` from ``max(dim)``/``min(dim)``, like PyTorch's named tuple."""

    def __new__(cls, values, indices):
        return tuple.__new__(cls, (values, indices))

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]
