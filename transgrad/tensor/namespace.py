"""numpy and ``transgrad.runtime`` over Tensors, for recording the backward pass itself.

Rules are written over the names ``np`` and ``tgr``. With ``create_graph=True`` the engine runs
a rule's own code with those names bound here instead (``rebind``): each numpy call on Tensors
then records a node with *its* rule, so the backward pass becomes part of the graph and can be
differentiated again. No derivative is written here either: ``NAMESPACE.f`` applies ``np.f``
and looks its rule up in the table; ``RUNTIME`` is ``transgrad.runtime`` re-bound onto
``NAMESPACE``, except ``add_at`` (in place in numpy), which becomes the functional
``index_add`` primitive; ``MATH`` is ``math`` sending Tensors to numpy's namesakes.
"""

import math
import types

import numpy as np

from .. import runtime
from ..rules import scatter
from . import specialize
from .tensor import Tensor, apply, tensor


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
            ns[name] = specialize.rebind(obj, ns)
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


def rebind(fn):
    """``fn`` (a rule or a pruned rule) with ``np``/``tgr`` bound to the Tensor namespaces."""
    if isinstance(fn, specialize.Selecting):
        return specialize.Selecting(rebind(fn.fn), fn.positions, fn.nparams)
    key = id(fn.__globals__)
    entry = _GLOBALS.get(key)
    if entry is None or entry[0] is not fn.__globals__:
        globals_ = dict(fn.__globals__)
        globals_.update(np=NAMESPACE, tgr=RUNTIME, math=MATH)
        entry = _GLOBALS[key] = (fn.__globals__, globals_)
    return specialize.rebind(fn, entry[1])
