"""A PyTorch-style namespace over ``transgrad.tensor``: run PyTorch autograd code unchanged.

Change ``import torch`` to ``import transgrad.torch as torch`` and the tensor-creation
functions, dtypes, grad modes, ``autograd.Function`` and ``autograd.grad`` are transgrad's.
Tensors live on the CPU as numpy arrays; every derivative comes from transgrad's rule table.

Example::

    import transgrad.torch as torch

    x = torch.randn(64, 1000)
    w = torch.randn(1000, 10, requires_grad=True)
    loss = x.mm(w).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        w -= 1e-6 * w.grad
        w.grad.zero_()

Differences from PyTorch: random numbers come from numpy (``manual_seed`` seeds them, but
the streams differ from PyTorch's); type promotion follows numpy; ``Tensor.data`` is the
numpy array itself.
"""

import builtins
import importlib
import types

import numpy as np

# `transgrad.tensor` the attribute is the factory function; the package is loaded by name
_t = importlib.import_module("transgrad.tensor")
from .rules.registry import TORCH_NAMES
from .tensor import (
    Function,
    Tensor,
    cat,
    device,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
    stack,
    where,
)
from .tensor.core import _wrap
from .tensor.ops import OPS, apply
from .tensor.tensor import GENERATED_METHODS
from .tensor.torch_modules import modules as _submodules

__all__ = ["Function", "Tensor", "arange", "autograd", "bool", "cat", "device", "double",
           "empty", "enable_grad", "eye", "fft", "float", "float32", "float64", "from_numpy",
           "full", "get_default_dtype", "int64", "is_grad_enabled", "is_tensor", "linspace",
           "linalg", "long", "manual_seed", "no_grad", "ones", "ones_like", "rand", "randn",
           "set_grad_enabled", "special", "stack", "tensor", "where", "zeros", "zeros_like"]

float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
float16 = half = np.dtype(np.float16)
int32 = int = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
bool = np.dtype(np.bool_)
_DEFAULT = float32

_rng = np.random.default_rng()


def manual_seed(seed):
    """Seed the generator behind ``randn``/``rand`` (numpy's; not PyTorch's stream)."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def get_default_dtype():
    return _DEFAULT


def is_tensor(obj):
    return isinstance(obj, Tensor)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _make(array, dtype, device, requires_grad):
    if device is not None:
        _t.device(device)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    out = _wrap(np.ascontiguousarray(array))
    if requires_grad:
        out.requires_grad_(True)
    return out


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data``; Python floats become float32 (the default)."""
    if isinstance(data, Tensor):
        array = np.array(data.data, copy=True)
    else:
        array = np.array(data, copy=True)
        if dtype is None and array.dtype == np.float64 and not isinstance(data, np.ndarray):
            array = array.astype(_DEFAULT)
    return _make(array, dtype, device, requires_grad)


def from_numpy(array):
    """A tensor sharing ``array``'s memory."""
    return _wrap(array)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and dtype is None:
        return data
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return _wrap(data)
    return tensor(data, dtype=dtype, device=device)


def _factory(fill):
    def make(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None,
             pin_memory=False, generator=None):
        array = fill(_size(size), np.dtype(dtype) if dtype is not None else _DEFAULT)
        return _make(array, None, device, requires_grad)
    return make


randn = _factory(lambda s, d: _rng.standard_normal(s).astype(d))
rand = _factory(lambda s, d: _rng.random(s).astype(d))
zeros = _factory(lambda s, d: np.zeros(s, d))
ones = _factory(lambda s, d: np.ones(s, d))
empty = _factory(lambda s, d: np.empty(s, d))
randn.__doc__ = "Standard normal samples of the given size (float32 unless ``dtype``)."
rand.__doc__ = "Uniform samples in [0, 1) of the given size (float32 unless ``dtype``)."
zeros.__doc__ = "A tensor of zeros of the given size."
ones.__doc__ = "A tensor of ones of the given size."
empty.__doc__ = "An uninitialized tensor of the given size."


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = _DEFAULT if isinstance(fill_value, builtins.float) else None
    return _make(np.full(_size((size,)), fill_value, dtype), None, device, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    array = _rng.integers(low, high, _size((size,)))
    return _make(array, dtype or int64, device, requires_grad)


def _like(fill):
    def make(input, dtype=None, device=None, requires_grad=False, layout=None,
             memory_format=None):
        data = input.data if isinstance(input, Tensor) else np.asarray(input)
        return _make(fill(data, dtype or data.dtype), None, device, requires_grad)
    return make


zeros_like = _like(lambda a, d: np.zeros(a.shape, d))
ones_like = _like(lambda a, d: np.ones(a.shape, d))
empty_like = _like(lambda a, d: np.empty(a.shape, d))
randn_like = _like(lambda a, d: _rng.standard_normal(a.shape).astype(d))
rand_like = _like(lambda a, d: _rng.random(a.shape).astype(d))


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    data = input.data if isinstance(input, Tensor) else np.asarray(input)
    return _make(np.full(data.shape, fill_value, dtype or data.dtype), None, device,
                 requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """``[start, end)`` by ``step``: int64 for integer arguments, float32 otherwise."""
    if end is None:
        start, end = 0, start
    integral = builtins.all(isinstance(v, (builtins.int, np.integer)) for v in (start, end, step))
    array = np.arange(start, end, step, dtype=dtype or (int64 if integral else _DEFAULT))
    return _make(array, None, device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    return _make(np.linspace(start, end, steps, dtype=dtype or _DEFAULT), None, device,
                 requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _make(np.eye(n, m, dtype=dtype or _DEFAULT), None, device, requires_grad)


# functional forms of the Tensor's operations: ``torch.exp(x)`` is ``x.exp()``. They are the
# torch names declared with the rules (``torch=`` in transgrad/rules/: ``TORCH_NAMES``), the
# Tensor methods made from the ops table, and these, which the rules do not declare
_METHODS = ("unsqueeze", "argmax", "argmin", "detach", "numel", "allclose", "equal", "eq", "ne",
            "lt", "le", "gt", "ge")


def _method(name):
    def call(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            input = tensor(input)
        return getattr(input, name)(*args, **kwargs)
    call.__name__ = name
    call.__doc__ = f"``input.{name}(...)``"
    return call


def _torch_function(name, func):
    """``torch.<name>``: the Tensor method of that name, or of the op applying ``func``."""
    if hasattr(Tensor, name):
        return _method(name)
    for op_name, op in OPS.items():
        if op.func is func and hasattr(Tensor, op_name):
            return _method(op_name)

    def call(*args, **kwargs):
        return apply(func, *args, **kwargs)
    call.__name__ = name
    call.__doc__ = f"``{name}(...)``: the primitive applied to Tensors"
    return call


for _name in (*_METHODS, *GENERATED_METHODS):
    globals()[_name] = _method(_name)
for _name, _func in TORCH_NAMES.items():
    if _name not in globals():      # cat, stack, where: the package's functions
        globals()[_name] = _torch_function(_name, _func)
del _name, _func


# torch.fft, torch.special, torch.linalg: PyTorch's names where it has the function
_namespaces = _submodules()
fft, special, linalg = _namespaces["fft"], _namespaces["special"], _namespaces["linalg"]
del _namespaces


def square(input):
    """``input ** 2``."""
    return _method("__pow__")(input, 2)


def is_floating_point(input):
    return input.data.dtype.kind == "f"


def cuda_is_available():
    return False


cuda = types.SimpleNamespace(is_available=cuda_is_available, device_count=lambda: 0)


def _autograd_backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
                       inputs=None):
    return _t.backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


autograd = types.ModuleType("transgrad.torch.autograd")
autograd.Function = Function
autograd.grad = _t.grad
autograd.backward = _autograd_backward
autograd.function = types.SimpleNamespace(Function=Function,
                                          FunctionCtx=_t.BackwardCFunction)
autograd.no_grad = no_grad
autograd.enable_grad = enable_grad
autograd.set_grad_enabled = set_grad_enabled
autograd.__doc__ = "``torch.autograd``: Function, grad, backward."
