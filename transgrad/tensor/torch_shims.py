"""PyTorch's spellings on the Tensor: ``device``, ``size()``, ``to()``, ``tensor()`` and
the torch-named aliases of operators (``x.mul(y)``, ``x.eq(y)``, ``x.dim()``).

Nothing here computes or records anything of its own: each shim reads an attribute or calls
the operation it names. ``tensor.py`` attaches ``TorchMethods`` to ``Tensor``;
``transgrad/torch.py`` builds the ``torch`` namespace on top.
"""

import numpy as np

from .core import Tensor, _wrap


class _Size(int):
    """``t.size``: the element count (numpy's ``size``) that can also be called like
    PyTorch's ``size()`` (the shape) or ``size(dim)``."""

    def __new__(cls, shape):
        n = 1
        for s in shape:
            n *= s
        self = int.__new__(cls, n)
        self._shape = shape
        return self

    def __call__(self, dim=None):
        return self._shape if dim is None else self._shape[dim]


class device:
    """Where a Tensor lives: always ``cpu`` (numpy). ``tg.device("cpu")``."""

    __slots__ = ("index", "type")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type = type.type
        kind = str(type).split(":")[0]
        if kind != "cpu":
            raise RuntimeError(
                f"transgrad cannot place tensors on device {type!r}: the Tensor runs on the "
                "CPU through numpy. For GPUs, use the compiler's JAX backend "
                "(tg.grad(f, backend=\"jax\")), which runs the generated code on jax.numpy.")
        self.type = "cpu"
        self.index = None

    def __eq__(self, other):
        if isinstance(other, str):
            return other.split(":")[0] == "cpu"
        return isinstance(other, device)

    def __hash__(self):
        return hash("cpu")

    def __str__(self):
        return "cpu"

    def __repr__(self):
        return "device(type='cpu')"


CPU = device("cpu")


def _check_device(dev):
    if dev is not None and not isinstance(dev, device):
        device(dev)


def tensor(data, requires_grad=False, dtype=None, device=None):
    """A new leaf Tensor holding a copy of ``data`` (an array, a nested list, a number).

    Example::

        x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    """
    _check_device(device)
    if isinstance(data, Tensor):
        data = data.data
    array = np.array(data, dtype=dtype, copy=True)
    t = _wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


class TorchMethods:
    """PyTorch's names for what the Tensor does under numpy's (or its own) names."""

    def __init__(self, data, requires_grad=False, dtype=None):
        """``Tensor(data)``: as ``tensor(data)``."""
        t = tensor(data, requires_grad=requires_grad, dtype=dtype)
        for name in Tensor.__slots__:
            if name != "__weakref__":
                setattr(self, name, getattr(t, name))

    @property
    def size(self):
        return _Size(self.data.shape)

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self):
        return False

    def dim(self):
        return self.data.ndim

    def numel(self):
        return self.data.size

    def nelement(self):
        return self.data.size

    def element_size(self):
        return self.data.itemsize

    def copy(self):
        return self.clone()

    def contiguous(self):
        return self

    def cpu(self):
        return self

    def cuda(self, *args, **kwargs):
        device("cuda")

    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)``."""
        dtype = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        kwargs.pop("copy", None)
        kwargs.pop("non_blocking", None)
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, device)):
                dev = a
            else:
                dtype = a
        _check_device(dev)
        if dtype is None or np.dtype(dtype) == self.data.dtype:
            return self
        return self.astype(dtype)

    def type(self, dtype=None):
        if dtype is None:
            return str(self.data.dtype)
        return self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def long(self):
        return self.to(np.int64)

    def add(self, other, alpha=1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def neg(self):
        return -self

    def pow(self, exponent):
        return self ** exponent

    def dot(self, other):
        return self.matmul(other)

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    # ``float``, ``int`` and ``bool`` come last: inside a class body they shadow the builtins

    def float(self):
        return self.to(np.float32)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

