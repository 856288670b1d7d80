"""Rules for complex numbers: ``real``, ``imag``, ``conj``, ``angle``, ``real_if_close`` (``abs``
is elementwise's).

JAX's convention: a cotangent ``c`` of a complex value ``z`` pairs with a tangent ``dz`` as
``Re(c * dz)`` (no conjugate). So a holomorphic function's rule is the real one unchanged
(``g * f'(z)``: ``exp``, ``log``, products, ``@`` and the FFTs need nothing more), the gradient of
a real ``f`` of ``z`` is ``df/dx - i df/dy`` (``tg.grad(lambda z: abs(z) ** 2)(z) == 2 *
conj(z)``, as ``jax.grad`` gives), and a real argument keeps the real part of its cotangent
(``runtime.match``). The functions here are not holomorphic: each rule says its pairing.
A real output of a complex input (``real``, ``imag``, ``angle``, ``abs``; ``var``, ``std`` and
``norm`` through ``times_conj``) reads only the real part of its cotangent, as JAX casts a real
value's cotangent to real.
"""

import numpy as np

from .. import runtime as tgr  # noqa: F401  (rules may use it; see the package contract)
from .registry import Sample, helper, jvp, nondifferentiable, vjp
from .specs import A

_ANY = [Sample((A(3, 4),))]
_COMPLEX = np.array([[1.0 + 2.0j, -0.5 + 0.3j, 0.7 - 1.1j], [-1.2 - 0.4j, 0.2 + 0.9j, 2.0 + 0.1j]])


nondifferentiable(np.iscomplexobj, np.isrealobj, np.iscomplex, np.isreal,
                  reason="a dtype or a test of the imaginary part")


@helper(source=True)
def abs_slope(x):
    """The slope of ``|x|``, conjugated: ``sign(x)`` for a real ``x``, ``conj(x) / |x|`` for a
    complex one (0 at 0), written out so that second derivatives see it vary with ``x``."""
    if np.iscomplexobj(x):
        magnitude = np.abs(x)
        slope = np.conj(x) / np.where(magnitude == 0, 1.0, magnitude)
    else:
        slope = np.sign(x)
    return slope


@helper(source=True)
def times_conj(g, x):
    """``g * x`` for a real ``x``; ``Re(g) * conj(x)`` for a complex one: the cotangent of a
    real output (a norm, a variance) times its conjugated slope, in JAX's convention."""
    if np.iscomplexobj(x):
        product = np.real(g) * np.conj(x)
    else:
        product = g * x
    return product


@vjp(np.real, linear=True, attribute="real", samples=_ANY + [Sample((_COMPLEX,), wrt=(0,))])
def real(g, ans, val):
    """``g * Re(dz) == Re(g * dz)`` for the output's (real) cotangent ``g``."""
    return np.real(g)


@vjp(np.imag, linear=True, attribute="imag", samples=[Sample((_COMPLEX,), wrt=(0,))])
def imag(g, ans, val):
    """``g * Im(dz) == Re(-1j * g * dz)``; a real argument keeps the real part, 0."""
    return -1j * np.real(g)


@vjp(np.conjugate, linear=True, method=("conj", "conjugate"),
     samples=_ANY + [Sample((_COMPLEX,), wrt=(0,))])
def conjugate(g, ans, x):
    """``Re(g * conj(dz)) == Re(conj(g) * dz)``."""
    return np.conj(g)


_CLOSE = [Sample((_COMPLEX,), wrt=(0,)), Sample((A(3, 4),))]


@vjp(np.real_if_close, samples=_CLOSE)
def real_if_close(g, ans, a, tol=100):
    """Where the imaginary part was dropped (all of it within ``tol``), ``real``'s rule; else
    the identity. As in autograd, the choice is constant: no derivative moves it."""
    if np.iscomplexobj(ans):
        cotangent = g
    else:
        cotangent = np.real(g)
    return cotangent


@jvp(np.real_if_close, samples=_CLOSE)
def real_if_close_jvp(g, ans, a, tol=100):
    if np.iscomplexobj(ans):
        tangent = g
    else:
        tangent = np.real(g)
    return tangent


@vjp(np.angle, elementwise=True, samples=[Sample((_COMPLEX,), wrt=(0,)),
                                          Sample((_COMPLEX, True), wrt=(0,))])
def angle(g, ans, z, deg=False):
    """``d angle(z) == Im(dz / z) == Re(-1j * dz / z)`` (0 for real ``z``, away from 0)."""
    if deg:
        slope = -1j * (180 / np.pi) / z
    else:
        slope = -1j / z
    return np.real(g) * slope


@jvp(np.angle, samples=[Sample((_COMPLEX,), wrt=(0,))])
def angle_jvp(g, ans, z, deg=False):
    """The tangent is real: ``Im(dz / z)``."""
    if deg:
        tangent = np.imag(g / z) * (180 / np.pi)
    else:
        tangent = np.imag(g / z)
    return tangent
