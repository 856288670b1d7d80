"""Rules for ``numpy.fft``: every transform is linear, so its VJP is its transpose.

In JAX's convention (a cotangent ``c`` pairs with ``dz`` as ``Re(c * dz)``, see
``complex_numbers.py``) the transpose of a DFT is the DFT itself (its matrix is symmetric), the
same norm: ``fft``'s VJP is ``fft`` of the cotangent, cut or zero-padded back to the input's
lengths where ``n``/``s`` padded or cut it. ``rfft`` (real to half spectrum) pads the cotangent
to the full spectrum first and keeps the real part; ``irfft`` (half spectrum to real) takes the
inverse DFT's first ``n // 2 + 1`` entries, doubled except for the zero and Nyquist frequencies
(the entries the full spectrum holds twice); ``hfft``/``ihfft`` are ``irfft``/``rfft`` of the
conjugate with the norm's direction swapped, as numpy defines them. Forward mode: each is
linear in ``a`` (its tangent is the transform of the tangent). ``fftshift``'s transpose is
``ifftshift`` and back. Each agrees with ``jax.vjp`` of its ``jnp.fft`` twin and with finite
differences (tests/test_rules.py, tests/test_complex.py).
"""

import numpy as np

from .. import runtime as tgr  # noqa: F401  (rules may use it; see the package contract)
from .registry import Sample, helper, nondifferentiable, vjp
from .specs import A

_COMPLEX_VECTOR = np.array([1.0 + 0.5j, -0.3 + 1.2j, 0.8 - 0.7j, -1.1 - 0.2j, 0.4 + 0.9j])
_COMPLEX_MATRIX = np.array([[0.3 - 1.0j, 1.2 + 0.1j, -0.7 + 0.4j, 0.5 + 0.5j],
                            [-0.2 + 0.8j, 0.9 - 0.3j, 0.1 + 1.1j, -1.3 - 0.6j],
                            [0.6 + 0.2j, -0.4 - 0.9j, 1.0 + 0.3j, 0.2 - 0.1j]])


@helper
def fft_plan(shape, kind, s, axes):
    """(axes, lengths): the transformed axes (non-negative) and the lengths of the transform
    (the input's lengths after ``n``/``s`` cut or pad it; for ``irfft``, the output's)."""
    ndim = len(shape)
    if isinstance(axes, int):               # the 1-d transforms: n and axis
        axes = (axes,)
        s = None if s is None else (s,)
    elif axes is None:
        axes = tuple(range(ndim - (ndim if s is None else len(s)), ndim))
    axes = tuple(ax % ndim for ax in axes)
    if s is None:
        s = [shape[ax] for ax in axes]
        if kind in ("irfft", "hfft"):
            s[-1] = 2 * (shape[axes[-1]] - 1)
    return axes, tuple(s)


@helper
def fit_length(x, axis, length):
    """``x`` cut or zero-padded to ``length`` along ``axis`` (what ``n``/``s`` do)."""
    size = np.shape(x)[axis]
    if size > length:
        index = [slice(None)] * np.ndim(x)
        index[axis] = slice(0, length)
        x = x[tuple(index)]
    elif size < length:
        widths = [(0, 0)] * np.ndim(x)
        widths[axis] = (0, length - size)
        x = np.pad(x, widths)
    return x


@helper
def fft_swap_norm(norm):
    """The norm of the opposite direction (``hfft`` is ``irfft`` with it)."""
    return {None: "forward", "backward": "forward", "forward": "backward"}.get(norm, norm)


@helper
def fft_forward(x, kind, s, axes, norm, like=None):
    """The transform ``kind`` ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft") of ``x`` over
    ``axes`` with lengths ``s`` (the transpose of ``fft_vjp``); its real part where ``like``
    (the value it is the cotangent of) is real."""
    axes, s = fft_plan(np.shape(x), kind, s, axes)
    if kind in ("hfft", "ihfft"):
        transform = np.fft.hfft if kind == "hfft" else np.fft.ihfft
        out = transform(x, n=s[0], axis=axes[0], norm=norm)
    else:
        transform = {"fft": np.fft.fftn, "ifft": np.fft.ifftn, "rfft": np.fft.rfftn,
                     "irfft": np.fft.irfftn}[kind]
        out = transform(x, s=s, axes=axes, norm=norm)
    if like is not None and not np.iscomplexobj(like):
        out = np.real(out)
    return out


@helper(linear=(0,), meta=(1,))
def fft_vjp(g, a, kind, s, axes, norm):
    """Cotangent of ``a`` in the transform ``kind`` of ``a`` (``fft_forward``'s transpose)."""
    if kind == "hfft":
        return np.conj(fft_vjp(g, a, "irfft", s, axes, fft_swap_norm(norm)))
    if kind == "ihfft":
        return fft_vjp(np.conj(g), a, "rfft", s, axes, fft_swap_norm(norm))
    shape = np.shape(a)
    axes, s = fft_plan(shape, kind, s, axes)
    last = axes[-1]
    if kind == "fft":
        ct = np.fft.fftn(g, axes=axes, norm=norm)
    elif kind == "ifft":
        ct = np.fft.ifftn(g, axes=axes, norm=norm)
    elif kind == "rfft":    # the half spectrum's cotangent, zero on the other half
        ct = np.fft.fftn(fit_length(g, last, s[-1]), axes=axes, norm=norm)
    else:                   # irfft: the entries the full spectrum holds twice count twice
        half = s[-1] // 2 + 1
        ct = fit_length(np.fft.ifftn(g, axes=axes, norm=norm), last, half)
        k = np.arange(half)
        twice = np.where((k == 0) | ((k == s[-1] // 2) & (s[-1] % 2 == 0)), 1.0, 2.0)
        ct = ct * np.reshape(twice, (half,) + (1,) * (len(shape) - 1 - last))
    for ax in axes:         # back to the input's lengths: n/s cut or padded it
        ct = fit_length(ct, ax, shape[ax])
    if not np.iscomplexobj(a):
        ct = np.real(ct)
    return ct


@vjp(fft_vjp, samples=[Sample((A(5), A(5), "fft", None, -1, None), wrt=(0,)),
                       Sample((A(3, 6), A(3, 4), "irfft", (3, 6), (0, 1), "ortho"), wrt=(0,))])
def fft_vjp_rule(gg, ans, g, a, kind, s, axes, norm):
    return (tgr.fft_forward(gg, kind, s, axes, norm, g), tgr.zeros_like_value(a),
            None, None, None, None)


nondifferentiable(np.fft.fftfreq, np.fft.rfftfreq, reason="sample frequencies: constants")


# --- the transforms ------------------------------------------------------------------------

_VECTORS = [Sample((A(6),)), Sample((A(2, 5),), {"n": 8}), Sample((A(5, 3),), {"axis": 0}),
            Sample((A(7),), {"n": 4, "norm": "ortho"}), Sample((A(4),), {"norm": "forward"}),
            Sample((_COMPLEX_VECTOR,), {"n": 6})]
_REAL_VECTORS = _VECTORS[:-1]
_HALF_SPECTRA = [Sample((_COMPLEX_VECTOR,)), Sample((_COMPLEX_VECTOR,), {"n": 9}),
                 Sample((_COMPLEX_MATRIX,), {"axis": 0, "norm": "ortho"}),
                 Sample((_COMPLEX_MATRIX,), {"n": 3, "norm": "forward"})]
_ARRAYS = [Sample((A(3, 4),)), Sample((A(2, 3, 4),), {"s": (4, 2), "axes": (0, 2)}),
           Sample((A(3, 4),), {"norm": "ortho"}),
           Sample((_COMPLEX_MATRIX,), {"s": (2, 5), "axes": (0, 1)})]
_REAL_ARRAYS = _ARRAYS[:-1]
_HALF_ARRAYS = [Sample((_COMPLEX_MATRIX,)),
                Sample((_COMPLEX_MATRIX,), {"s": (4, 5), "axes": (0, 1)}),
                Sample((_COMPLEX_MATRIX,), {"norm": "ortho"})]


@vjp(np.fft.fft, linear=(0,), samples=_VECTORS)
def fft(g, ans, a, n=None, axis=-1, norm=None, out=None):
    return tgr.fft_vjp(g, a, "fft", n, axis, norm)


@vjp(np.fft.ifft, linear=(0,), samples=_VECTORS)
def ifft(g, ans, a, n=None, axis=-1, norm=None, out=None):
    return tgr.fft_vjp(g, a, "ifft", n, axis, norm)


@vjp(np.fft.rfft, linear=(0,), samples=_REAL_VECTORS)
def rfft(g, ans, a, n=None, axis=-1, norm=None, out=None):
    return tgr.fft_vjp(g, a, "rfft", n, axis, norm)


@vjp(np.fft.irfft, linear=(0,), samples=_HALF_SPECTRA)
def irfft(g, ans, a, n=None, axis=-1, norm=None, out=None):
    return tgr.fft_vjp(g, a, "irfft", n, axis, norm)


@vjp(np.fft.hfft, linear=(0,), samples=_HALF_SPECTRA)
def hfft(g, ans, a, n=None, axis=-1, norm=None, out=None):
    return tgr.fft_vjp(g, a, "hfft", n, axis, norm)


@vjp(np.fft.ihfft, linear=(0,), samples=_REAL_VECTORS)
def ihfft(g, ans, a, n=None, axis=-1, norm=None, out=None):
    return tgr.fft_vjp(g, a, "ihfft", n, axis, norm)


@vjp(np.fft.fftn, linear=(0,), samples=_ARRAYS)
def fftn(g, ans, a, s=None, axes=None, norm=None, out=None):
    return tgr.fft_vjp(g, a, "fft", s, axes, norm)


@vjp(np.fft.ifftn, linear=(0,), samples=_ARRAYS)
def ifftn(g, ans, a, s=None, axes=None, norm=None, out=None):
    return tgr.fft_vjp(g, a, "ifft", s, axes, norm)


@vjp(np.fft.rfftn, linear=(0,), samples=_REAL_ARRAYS)
def rfftn(g, ans, a, s=None, axes=None, norm=None, out=None):
    return tgr.fft_vjp(g, a, "rfft", s, axes, norm)


@vjp(np.fft.irfftn, linear=(0,), samples=_HALF_ARRAYS)
def irfftn(g, ans, a, s=None, axes=None, norm=None, out=None):
    return tgr.fft_vjp(g, a, "irfft", s, axes, norm)


@vjp(np.fft.fft2, linear=(0,), samples=_ARRAYS[:1] + _ARRAYS[2:])
def fft2(g, ans, a, s=None, axes=(-2, -1), norm=None, out=None):
    return tgr.fft_vjp(g, a, "fft", s, axes, norm)


@vjp(np.fft.ifft2, linear=(0,), samples=_ARRAYS[:1] + _ARRAYS[2:])
def ifft2(g, ans, a, s=None, axes=(-2, -1), norm=None, out=None):
    return tgr.fft_vjp(g, a, "ifft", s, axes, norm)


@vjp(np.fft.rfft2, linear=(0,), samples=[_REAL_ARRAYS[0], _REAL_ARRAYS[2]])
def rfft2(g, ans, a, s=None, axes=(-2, -1), norm=None, out=None):
    return tgr.fft_vjp(g, a, "rfft", s, axes, norm)


@vjp(np.fft.irfft2, linear=(0,), samples=_HALF_ARRAYS)
def irfft2(g, ans, a, s=None, axes=(-2, -1), norm=None, out=None):
    return tgr.fft_vjp(g, a, "irfft", s, axes, norm)


@vjp(np.fft.fftshift, linear=(0,), samples=[Sample((A(5),)), Sample((A(3, 4),), {"axes": 0})])
def fftshift(g, ans, x, axes=None):
    return np.fft.ifftshift(g, axes)


@vjp(np.fft.ifftshift, linear=(0,), samples=[Sample((A(5),)), Sample((A(3, 4),), {"axes": 1})])
def ifftshift(g, ans, x, axes=None):
    return np.fft.fftshift(g, axes)
