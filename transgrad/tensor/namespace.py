"""numpy and ``transgrad.runtime`` over Tensors, for recording the backward pass itself.

Rules are written over the names ``np`` and ``tgr``. With ``create_graph=True`` the engine runs
a copy of a rule with those names bound here instead (``recording_copy``): each numpy call on
Tensors
then records a node with *its* rule, so the backward pass becomes part of the graph and can be
differentiated again. No derivative is written here either: ``NAMESPACE.f`` applies ``np.f``
and looks its rule up in the table; ``RUNTIME`` is ``transgrad.runtime`` re-bound onto
``NAMESPACE``, except ``add_at`` (in place in numpy), which becomes the functional
``index_add`` primitive; ``MATH`` is ``math`` sending Tensors to numpy's namesakes.

``NumpyProtocol`` (attached to ``Tensor`` by ``tensor.py``) is the other direction: numpy's
functions called on Tensors by user code (``np.sin(x)``, ``np.cumsum(x)``, ``x.cumsum()``).
"""

import math
import types

import numpy as np

from .. import runtime
from ..functions import copy_function
from ..rules import scatter
from .core import Tensor, _wrap
from .grad_mode import STATE
from .ops import apply
from .prepare import Selecting
from .torch_shims import tensor

_ndarray = np.ndarray


def _has_tensor(args, kwargs):
    for a in args:
        if isinstance(a, Tensor):
            return True
        if type(a) in (list, tuple):
            for t in a:
                if isinstance(t, Tensor):
                    return True
    for v in kwargs.values():
        if isinstance(v, Tensor):
            return True
    return False


class _Dispatch:
    """``np.<name>`` that records on Tensors and is plain numpy otherwise."""

    def __init__(self, func):
        self.__wrapped__ = func
        self.__name__ = getattr(func, "__name__", "func")

    def __call__(self, *args, **kwargs):
        if _has_tensor(args, kwargs):
            return apply(self.__wrapped__, *args, **kwargs)
        return self.__wrapped__(*args, **kwargs)

    def __getattr__(self, name):      # np.add.at, np.add.reduce: on arrays only
        return getattr(self.__wrapped__, name)

    def __repr__(self):
        return f"<tensor-aware {self.__wrapped__!r}>"


class TensorNumpy(types.ModuleType):
    """A stand-in for ``numpy`` whose functions accept Tensors and record what they do."""

    def __init__(self, module, name):
        super().__init__(name)
        self._module = module

    def __getattr__(self, name):
        attr = getattr(self._module, name)
        if isinstance(attr, types.ModuleType):
            value = TensorNumpy(attr, f"{self.__name__}.{name}")
        elif isinstance(attr, type) or not callable(attr):
            value = attr
        else:
            value = _Dispatch(attr)
        setattr(self, name, value)
        return value


def _shape(a):
    return a.data.shape if isinstance(a, Tensor) else np.shape(a)


def _ndim(a):
    return a.data.ndim if isinstance(a, Tensor) else np.ndim(a)


def _size(a, axis=None):
    if isinstance(a, Tensor):
        a = a.data
    return np.size(a, axis)


def _asarray(a, dtype=None, **kwargs):
    if isinstance(a, Tensor):
        return a if dtype is None else a.astype(dtype)
    return np.asarray(a, dtype=dtype, **kwargs)


NAMESPACE = TensorNumpy(np, "transgrad.tensor.numpy")
NAMESPACE.shape = _shape
NAMESPACE.ndim = _ndim
NAMESPACE.size = _size
NAMESPACE.asarray = _asarray
NAMESPACE.array = lambda a, dtype=None, copy=True, **kw: (
    (a.clone() if dtype is None else a.astype(dtype)) if isinstance(a, Tensor)
    else np.array(a, dtype=dtype, copy=copy, **kw))
NAMESPACE.tensor = tensor


def _add_at(target, idx, values):
    """``runtime.add_at`` as the functional ``index_add`` (recorded) when Tensors are involved."""
    if isinstance(target, Tensor) or isinstance(values, Tensor):
        return apply(scatter.index_add, target, idx, values)
    return runtime.add_at(target, idx, values)


def _runtime_namespace():
    module = types.ModuleType("transgrad.tensor.runtime")
    ns = module.__dict__
    ns.update({k: v for k, v in vars(runtime).items() if not k.startswith("__")})
    ns["np"] = NAMESPACE
    for name, obj in list(ns.items()):
        if isinstance(obj, types.FunctionType) and obj.__module__ == runtime.__name__:
            ns[name] = copy_function(obj, ns)
    ns["add_at"] = _add_at
    return module


RUNTIME = _runtime_namespace()


class TensorMath(types.ModuleType):
    """``math`` whose functions, given a Tensor, apply numpy's namesake (``math.cos`` ->
    ``np.cos``) or, without one, record the math function itself through its rule."""

    def __init__(self):
        super().__init__("transgrad.tensor.math")

    def __getattr__(self, name):
        attr = getattr(math, name)
        if not callable(attr):
            return attr
        twin = getattr(np, name, None)

        def call(*args, **kwargs):
            if _has_tensor(args, kwargs):
                if twin is not None and callable(twin):
                    return getattr(NAMESPACE, name)(*args, **kwargs)
                return apply(attr, *args, **kwargs)
            return attr(*args, **kwargs)
        call.__name__ = name
        call.__wrapped__ = attr
        setattr(self, name, call)
        return call


MATH = TensorMath()
_GLOBALS = {}


def recording_copy(fn):
    """A copy of ``fn`` (a rule or a pruned rule) with ``np``, ``tgr`` and ``math`` bound to
    the Tensor namespaces, so that running it on Tensors records each operation."""
    if isinstance(fn, Selecting):
        return Selecting(recording_copy(fn.fn), fn.positions, fn.nparams)
    key = id(fn.__globals__)
    entry = _GLOBALS.get(key)
    if entry is None or entry[0] is not fn.__globals__:
        globals_ = dict(fn.__globals__)
        globals_.update(np=NAMESPACE, tgr=RUNTIME, math=MATH)
        entry = _GLOBALS[key] = (fn.__globals__, globals_)
    return copy_function(fn, entry[1])


def _unwrapped_index(x):
    """An index tuple of ``np.add.at(target, index, values)`` with its Tensors as arrays
    (numpy would read a tuple holding a Tensor as an object, not an integer array)."""
    if type(x) is tuple and any(isinstance(i, Tensor) for i in x):
        return tuple(i.data if isinstance(i, Tensor) else i for i in x)
    return x


class NumpyProtocol:
    """numpy's functions on Tensors: ufuncs and array functions apply their rule (``apply``);
    ``x.cumsum(...)`` and other ndarray methods the Tensor lacks go through ``NAMESPACE``."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or "out" in kwargs:
            if STATE.enabled and any(isinstance(x, Tensor) and x._rg for x in inputs):
                what = f"np.{ufunc.__name__}" + (f".{method}" if method != "__call__" else "")
                raise RuntimeError(
                    f"{what} with out= or as a ufunc method is not recorded: use the plain call "
                    f"(np.{ufunc.__name__}(x)) or a reduction such as np.sum on Tensors that "
                    "require grad, or compute it inside tg.no_grad()")
            arrays = [x.data if isinstance(x, Tensor) else _unwrapped_index(x) for x in inputs]
            if "out" in kwargs:
                kwargs["out"] = tuple(o.data if isinstance(o, Tensor) else o
                                      for o in kwargs["out"])
            result = getattr(ufunc, method)(*arrays, **kwargs)
            return _wrap(np.asarray(result)) if isinstance(result, _ndarray) else result
        return apply(ufunc, *inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        impl = getattr(NAMESPACE, getattr(func, "__name__", ""), None)
        if impl is not None and getattr(impl, "__wrapped__", None) is func:
            if not _has_tensor(args, kwargs):     # impl would call func, which comes back here
                raise RuntimeError(
                    f"np.{func.__name__}: a Tensor nested deeper than one list or tuple "
                    "(np.block([[a, b], [c, d]])) is not recorded: pass a flat list (np.block of "
                    "np.concatenate results) or compute it on numpy arrays")
            return impl(*args, **kwargs)
        return apply(func, *args, **kwargs)

    def __getattr__(self, name):
        # numpy's array methods (``x.cumsum(axis=0)``) through the Tensor namespace
        if not name.startswith("_") and callable(getattr(_ndarray, name, None)):
            func = getattr(NAMESPACE, name, None)
            if func is not None:
                return lambda *args, **kwargs: func(self, *args, **kwargs)
        raise AttributeError(f"'Tensor' object has no attribute '{name}'")

