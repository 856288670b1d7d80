"""Views and version counters: shapes, indexing and in-place operations.

A view shares its base's memory, so it shares its base's version counter (``_version``, a
one-element list bumped by every in-place write): ``_view_of`` marks a result as a view when
numpy made one. A node saves the version of each operand its rule reads, and backward refuses
a value changed since (``engine``). In-place operations on Tensors that need gradients
(``_inplace``, ``__setitem__``) compute the new value out of place, record it, and ``_rebase``
the Tensor onto the new node (and its base, for a view made by indexing: PyTorch's
``CopySlices``). ``tensor.py`` attaches ``ViewMethods`` and ``InPlaceMethods`` to ``Tensor``.
"""

import numpy as np

from ..rules import scatter
from .core import Tensor, _operand, _wrap
from .grad_mode import STATE
from .ops import OPS, _apply1, variant
from .record import _record

_ndarray = np.ndarray
_EMPTY = {}
_ADD, _SUB, _MUL, _DIV = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"]
_POW, _REMAINDER, _GETITEM = OPS["pow"], OPS["remainder"], OPS["getitem"]
_RESHAPE, _TRANSPOSE, _UPDATE = OPS["reshape"], OPS["transpose"], OPS["index_update"]


# ---- version counters and in-place updates --------------------------------------------------


def _bump(t):
    t._version[0] += 1


def _check_inplace(t, name):
    if t.grad_fn is None and t._rg:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation. "
            f"({name} on a leaf tensor with requires_grad=True: do the update inside "
            "tg.no_grad(), or work on a clone())")
    view = t._view
    if view is not None:
        base = view[0]
        if base.grad_fn is None and base._rg:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                f"operation ({name}).")


def _inplace(t, op, other, name, kwargs=_EMPTY):
    """``t = op(t, other)`` written into ``t``'s array; recorded when gradients are involved."""
    od, ro = _operand(other) if other is not None else (None, False)
    if STATE.enabled and (t._rg or ro):
        _check_inplace(t, name)
        args = (t,) if other is None else (t, other)
        mask = (t._rg,) if other is None else (t._rg, ro)
        arrays = (t.data,) if other is None else (t.data, od)
        out = op.func(*arrays, **kwargs)
        if type(out) is not _ndarray:
            out = np.asarray(out)
        result = _wrap(out)
        _record(op, result, args, mask, kwargs, inplace=True)
        _rebase(t, result)
        return t
    data = t.data
    if other is None:
        op.func(data, out=data, **kwargs)
    else:
        op.func(data, od, out=data, casting="same_kind")
    _bump(t)
    return t


def _rebase(t, result):
    """Write ``result`` into ``t``'s array and make ``t`` the output of ``result``'s node."""
    np.copyto(t.data, result.data, casting="same_kind")
    _bump(t)
    t.grad_fn = result.grad_fn
    t._nr = 0
    t._rg = True
    view = t._view
    if view is not None:
        base, index, _ = view
        if base._view is not None or index is None:
            raise RuntimeError(
                "transgrad does not support in-place operations that record gradients on a "
                "view made by reshape/view/transpose/permute or on a view of a view; apply "
                "the operation to the base tensor, or clone() the view first")
        # the base's values changed through the view: the base now equals
        # index_update(base_before, index, view_after) (PyTorch's CopySlices)
        t._view = (base, index, t._version[0])
        new_base = _wrap(base.data)
        _record(_UPDATE, new_base, (base, index, t), (base._rg, False, True), inplace=False)
        base.grad_fn = new_base.grad_fn
        base._nr = 0
        base._rg = True
        t._view = (base, index, t._version[0])


def _view_of(out, base, index=None):
    """Mark ``out`` as sharing ``base``'s memory (and so its version counter) when it does."""
    od = out.data
    owner = base.data if base.data.base is None else base.data.base
    if od.base is not None and (od.base is owner or od.base is base.data):
        out._version = base._version
        out._view = (base, index, base._version[0])
    return out


def _index(idx):
    """A subscript with Tensors replaced by their arrays."""
    if isinstance(idx, Tensor):
        return idx.data
    if type(idx) is tuple:
        return tuple(i.data if isinstance(i, Tensor) else i for i in idx)
    return idx


def _index_name(idx):
    items = idx if type(idx) is tuple else (idx,)
    if all(isinstance(i, (int, np.integer)) for i in items):
        return "SelectBackward0"
    if all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
           for i in items):
        return "SliceBackward0"
    return "IndexBackward0"


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class ViewMethods:
    """Shapes (``reshape``, ``view``, ``permute``, ``transpose``, ``expand``...) and indexing;
    each result is a view of this tensor when numpy's is."""

    @property
    def T(self):
        return self.permute(*range(self.data.ndim - 1, -1, -1))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def _reshape(self, shape, name):
        op = _RESHAPE if name == "ViewBackward0" else variant(_RESHAPE, name)
        out = _apply1(op, self, {"shape": shape})
        return _view_of(out, self)

    def reshape(self, *shape, order=None):
        """The same elements in another shape (``-1`` infers one size)."""
        return self._reshape(_shape_arg(shape), "ViewBackward0")

    def view(self, *shape):
        if shape and isinstance(shape[0], (type, np.dtype, str)):
            raise RuntimeError("view(dtype) is not supported by transgrad")
        return self._reshape(_shape_arg(shape), "ViewBackward0")

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        shape = self.data.shape
        if not shape:
            return self._reshape((1,), "ViewBackward0")
        s, e = start_dim % len(shape), end_dim % len(shape)
        n = 1
        for d in shape[s:e + 1]:
            n *= d
        return self._reshape(shape[:s] + (n,) + shape[e + 1:], "ViewBackward0")

    def ravel(self):
        return self.flatten()

    def unsqueeze(self, dim):
        """A new axis of size 1 at ``dim``."""
        shape = list(self.data.shape)
        dim = dim % (len(shape) + 1) if dim < 0 else dim
        shape.insert(dim, 1)
        return self._reshape(tuple(shape), "UnsqueezeBackward0")

    def squeeze(self, dim=None, *, axis=None):
        """Without the axes of size 1 (only ``dim`` when given, if its size is 1)."""
        if axis is not None:
            dim = axis
        shape = self.data.shape
        if dim is None:
            new = tuple(s for s in shape if s != 1)
            name = "SqueezeBackward0"
        else:
            dims = {d % max(len(shape), 1) for d in (dim if isinstance(dim, (tuple, list))
                                                     else (dim,))}
            new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
            name = "SqueezeBackward1"
        return self._reshape(new, name)

    def expand_dims(self, axis):
        return self.unsqueeze(axis)

    def permute(self, *dims):
        """The axes reordered: axis i of the result is axis ``dims[i]`` of this tensor."""
        dims = tuple(int(d) for d in _shape_arg(dims))
        name = "PermuteBackward0"
        op = _TRANSPOSE if name == _TRANSPOSE.name else variant(_TRANSPOSE, name)
        return _view_of(_apply1(op, self, {"axes": dims}), self)

    def _swap(self, dim0, dim1, name):
        n = self.data.ndim
        axes = list(range(n))
        if n:
            dim0, dim1 = dim0 % n, dim1 % n
            axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return _view_of(_apply1(variant(_TRANSPOSE, name), self, {"axes": tuple(axes)}), self)

    def transpose(self, *dims):
        """``transpose(dim0, dim1)`` swaps two axes (PyTorch); ``transpose()`` reverses them
        and ``transpose(axes)`` permutes them (numpy)."""
        if len(dims) == 2 and not isinstance(dims[0], (tuple, list)):
            return self._swap(dims[0], dims[1], "TransposeBackward0")
        if not dims:
            return self.permute(*range(self.data.ndim - 1, -1, -1))
        return self.permute(*dims)

    def swapaxes(self, axis1, axis2):
        return self._swap(axis1, axis2, "TransposeBackward0")

    swapdims = swapaxes

    def t(self):
        """The transpose of a tensor of at most 2 dimensions."""
        if self.data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.data.ndim}D")
        if self.data.ndim < 2:
            return self._swap(0, 0, "TBackward0") if self.data.ndim else self
        return self._swap(0, 1, "TBackward0")

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        shape = self.data.shape
        lead = len(sizes) - len(shape)
        full = tuple(s if s != -1 else shape[i - lead] for i, s in enumerate(sizes))
        return _view_of(_apply1(OPS["expand"], self, {"shape": full}), self)

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, shape):
        return self.expand(shape)

    # ---- indexing ---------------------------------------------------------------------------

    def _getitem(self, index, name):
        op = _GETITEM if name == _GETITEM.name else variant(_GETITEM, name)
        out = self.data[index]
        if type(out) is not _ndarray:
            out = np.asarray(out)
        t = _wrap(out)
        if self._rg and STATE.enabled:
            _record(op, t, (self, index), (True, False))
        return _view_of(t, self, index)

    def __getitem__(self, index):
        index = _index(index)
        return self._getitem(index, _index_name(index))

    def __setitem__(self, index, value):
        """``t[index] = value`` in place; recorded (as ``index_update``) when needed."""
        index = _index(index)
        vd, rv = _operand(value)
        if STATE.enabled and (self._rg or rv):
            _check_inplace(self, "index assignment")
            out = scatter.index_update(self.data, index, vd)
            result = _wrap(out)
            _record(_UPDATE, result, (self, index, value), (self._rg, False, rv))
            _rebase(self, result)
            return
        self.data[index] = vd
        _bump(self)

    def __len__(self):
        if not self.data.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if not self.data.ndim:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))


class InPlaceMethods:
    """``add_``, ``+=``, ``clamp_``, ``fill_``... : written into this tensor's array."""

    def add_(self, other, alpha=1):
        return _inplace(self, _ADD, other if alpha == 1 else other * alpha, "add_")

    def sub_(self, other, alpha=1):
        return _inplace(self, _SUB, other if alpha == 1 else other * alpha, "sub_")

    def mul_(self, other):
        return _inplace(self, _MUL, other, "mul_")

    def div_(self, other):
        return _inplace(self, _DIV, other, "div_")

    def pow_(self, exponent):
        return _inplace(self, _POW, exponent, "pow_")

    def clamp_(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        mn, rmin = _operand(min) if min is not None else (None, False)
        mx, rmax = _operand(max) if max is not None else (None, False)
        if STATE.enabled and (self._rg or rmin or rmax):
            _check_inplace(self, "clamp_")
            op = OPS["clamp"]
            result = _wrap(np.asarray(op.impl(self.data, mn, mx)))
            _record(op, result, (self, min, max), (self._rg, rmin, rmax), inplace=True)
            _rebase(self, result)
            return self
        np.copyto(self.data, OPS["clamp"].impl(self.data, mn, mx), casting="same_kind")
        _bump(self)
        return self

    def fill_(self, value):
        """Set every element to ``value`` (a number or a one-element Tensor)."""
        self[...] = value
        return self

    def zero_(self):
        self[...] = 0
        return self

    def copy_(self, src):
        self[...] = src
        return self

    def __iadd__(self, other):
        return _inplace(self, _ADD, other, "+=")

    def __isub__(self, other):
        return _inplace(self, _SUB, other, "-=")

    def __imul__(self, other):
        return _inplace(self, _MUL, other, "*=")

    def __itruediv__(self, other):
        return _inplace(self, _DIV, other, "/=")

    def __imod__(self, other):
        return _inplace(self, _REMAINDER, other, "%=")
