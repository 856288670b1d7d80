"""The Tensor's data: what a Tensor holds, its plain attributes and its conversions.

A Tensor is a numpy array (``data``) plus what the tape needs: whether it requires grad
(``_rg``), the node that made it (``grad_fn``, output ``_nr``), its gradient (``_grad``), a
version counter shared with its views (``_version``, see ``views``), the view it is
(``_view``), its leaf accumulator (``_accum``) and tensor hooks (``_hooks``).

This module defines the class with those slots and the methods that only read them; the
operations are attached by ``tensor.py`` from the modules of their jobs (``ops`` and
``methods``: computing; ``views``: shapes, indexing, in place; ``record``: hooks;
``engine``: backward; ``namespace``: numpy's protocols; ``torch_shims``: PyTorch spellings).
Every other module of the package imports ``Tensor`` and ``_wrap`` from here.
"""

import numpy as np

_ndarray = np.ndarray
_new = object.__new__
_SCALARS = (int, float, bool, np.number, np.bool_)
FLOAT_KINDS = "fc"     # dtype kinds that can require grad


class Tensor:
    """A numpy array that records the operations applied to it, for ``backward()``.

    Create one with ``tg.tensor(data, requires_grad=False, dtype=None)``. Operations follow
    PyTorch's names and broadcasting (``x * y``, ``x.mm(w)``, ``x.sum(dim=1, keepdim=True)``);
    numpy's spellings work too (``x.sum(axis=1)``, ``np.sin(x)``).

    Example::

        x = tg.tensor(np.random.randn(3), requires_grad=True)
        y = (x * x).sum()
        y.backward()
        x.grad                  # tensor equal to 2 * x
    """

    __slots__ = (
        "__weakref__",
        "_accum",
        "_grad",
        "_hooks",
        "_nr",
        "_rg",
        "_version",
        "_view",
        "data",
        "grad_fn",
    )
    __array_priority__ = 1000

    # ---- attributes -----------------------------------------------------------------------

    @property
    def requires_grad(self):
        return self._rg

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on a leaf tensor; returns it."""
        requires_grad = bool(requires_grad)
        if self.grad_fn is not None:
            if requires_grad:
                return self
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if requires_grad and self.data.dtype.kind not in FLOAT_KINDS:
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients "
                f"(this one is {self.data.dtype})")
        self._rg = requires_grad
        return self

    @property
    def grad(self):
        """The accumulated gradient (a Tensor), or None. Leaves only, unless ``retain_grad()``."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                value = _wrap(np.array(value, copy=True))
            if value.shape != self.shape:
                raise RuntimeError(
                    f"assigned grad has data of a different size: {value.shape} for a tensor "
                    f"of shape {self.shape}")
        self._grad = value

    @property
    def is_leaf(self):
        """True for tensors that no recorded operation produced."""
        return self.grad_fn is None

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def _base(self):
        return None if self._view is None else self._view[0]

    @property
    def output_nr(self):
        return self._nr

    @property
    def _version_counter(self):
        return self._version[0]

    def item(self):
        """The single element as a Python number."""
        if self.data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.data.size} elements cannot be converted to Scalar")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def numpy(self, force=False):
        """The underlying numpy array (shared, not copied)."""
        if self._rg and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead.")
        return self.data

    def detach(self):
        """The same values (shared memory and version counter) outside the graph."""
        t = _wrap(self.data)
        t._version = self._version
        return t

    def detach_(self):
        if self._view is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._rg = False
        return self

    # ---- conversions ------------------------------------------------------------------------

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous "
                f"({self.data.size} values)")
        return bool(self.data.item())

    def __format__(self, spec):
        if self.data.size == 1 and spec:
            return format(self.data.item(), spec)
        return format(str(self), spec)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._rg:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    def __reduce__(self):
        return (_rebuild, (self.data, self._rg))


def _wrap(data):
    t = _new(Tensor)
    t.data = data
    t._rg = False
    t._grad = None
    t.grad_fn = None
    t._nr = 0
    t._version = [0]
    t._view = None
    t._accum = None
    t._hooks = None
    return t


def _as_array(x, dtype=None):
    if isinstance(x, Tensor):
        x = x.data
    return np.asarray(x, dtype=dtype)


def _operand(x):
    """(value for numpy, requires grad) of an operand of a binary operation."""
    if isinstance(x, Tensor):
        return x.data, x._rg
    if isinstance(x, (*_SCALARS, _ndarray)):
        return x, False
    return np.asarray(x), False


def _rebuild(data, requires_grad):
    t = _wrap(data)
    t._rg = requires_grad
    return t

