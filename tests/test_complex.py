"""Complex numbers as values and as inputs, in JAX's convention, and numpy.fft end to end.

A cotangent ``c`` of a complex value pairs with a tangent ``dz`` as ``Re(c * dz)``, so the
gradient of a real ``f`` of ``z`` is ``df/dx - 1j df/dy`` (``jax.grad``'s). Every derivative here
is compared with JAX (``jax.grad``, ``jax.vjp``, ``jax.jvp``) and, for real losses, with
central differences along the real and imaginary parts.
"""

import numpy as np
import pytest

import transgrad as tg
from tests.checks import HAVE_JAX, assert_close, jax, jax_version, jnp

pytestmark = pytest.mark.skipif(not HAVE_JAX, reason="JAX is the reference for complex rules")

EPS = 1e-6
RNG = np.random.default_rng(13)
Z = RNG.uniform(-1, 1, 4) + 1j * RNG.uniform(-1, 1, 4)
W = RNG.uniform(-1, 1, 4) + 1j * RNG.uniform(-1, 1, 4)
X = RNG.uniform(0.2, 1.0, 4)
CT = RNG.uniform(-1, 1, 4) + 1j * RNG.uniform(-1, 1, 4)


def numeric_grad(f, z):
    """``df/dx - 1j df/dy`` of a real ``f`` by central differences."""
    out = np.zeros(z.shape, dtype=complex)
    for k in range(z.size):
        for unit, weight in ((1.0, 1.0), (1j, -1j)):
            step = np.zeros(z.shape, dtype=complex)
            step.flat[k] = EPS * unit
            out.flat[k] += weight * (f(z + step) - f(z - step)) / (2 * EPS)
    return out


def to_numpy(tree):
    return jax.tree_util.tree_map(np.asarray, tree)


# --- real functions of complex inputs: tg.grad against jax.grad ------------------------------

def abs_squared(z):
    return np.sum(np.abs(z) ** 2)


def real_of_product(z):
    return np.sum(np.real(z * z * np.exp(z)))


def imag_and_conj(z):
    return np.sum(np.imag(z) * np.real(np.conj(z) * z) + np.angle(z))


def methods_and_attributes(z):
    return np.sum(z.real * z.imag + (z.conj() * 2.0).real + np.abs(z.conjugate() - 1.0))


def mixed(z, w):
    return np.sum(np.abs(np.sin(z) / (w + 2.0)) + np.real(np.log(z) * w))


def matrix_form(z):
    m = np.outer(z, z) + np.eye(4)
    return np.real(np.sum(m @ np.conj(z))) + np.abs(np.sum(np.tanh(z)))


REAL_LOSSES = [abs_squared, real_of_product, imag_and_conj, methods_and_attributes, matrix_form]


@pytest.mark.parametrize("f", REAL_LOSSES, ids=lambda f: f.__name__)
def test_grad_of_a_real_function_of_a_complex_input_matches_jax_grad(f):
    got = tg.grad(f)(Z)
    assert got.dtype == np.complex128
    assert_close(got, np.asarray(jax.grad(jax_version(f))(jnp.asarray(Z))), f.__name__)
    assert_close(got, numeric_grad(f, Z), f.__name__, rtol=1e-5, atol=1e-6)


def test_abs_squared_is_twice_the_conjugate_as_in_jax():
    assert_close(tg.grad(abs_squared)(Z), 2 * np.conj(Z))


def test_two_complex_arguments():
    got = tg.grad(mixed, wrt=(0, 1))(Z, W)
    want = jax.grad(jax_version(mixed), argnums=(0, 1))(jnp.asarray(Z), jnp.asarray(W))
    assert_close(got, to_numpy(want))


# --- complex intermediates in real functions of real inputs ----------------------------------

def unit_circle(x):
    return np.sum(np.abs(np.exp(1j * x)))


def phasor(x):
    z = np.exp(1j * x) * (x + 0.5j)
    return np.sum(np.real(z) ** 2 + np.imag(z) + np.angle(z + 2.0))


def test_complex_intermediates_keep_real_gradients_real():
    got = tg.grad(unit_circle)(X)
    assert got.dtype == np.float64
    assert_close(got, np.zeros(4))              # |exp(ix)| == 1
    got = tg.grad(phasor)(X)
    assert got.dtype == np.float64
    assert_close(got, np.asarray(jax.grad(jax_version(phasor))(jnp.asarray(X))))
    value, slope = tg.jvp(phasor)(X, np.ones(4))
    assert_close(slope, (phasor(X + EPS) - phasor(X - EPS)) / (2 * EPS), rtol=1e-5)


# --- tg.vjp with complex cotangents, tg.jvp with complex tangents ------------------------------

def holomorphic(z, w):
    return z * w * np.exp(z) - np.sin(z) / (w + 2.0) + z @ w * z ** 2


def test_vjp_with_a_complex_cotangent_matches_jax_vjp():
    got = tg.vjp(holomorphic, wrt=(0, 1))(Z, W, CT)
    _, pullback = jax.vjp(jax_version(holomorphic), jnp.asarray(Z), jnp.asarray(W))
    assert_close(got, to_numpy(pullback(jnp.asarray(CT))))


def test_jvp_with_complex_tangents_matches_jax_jvp():
    value, slope = tg.jvp(holomorphic, wrt=(0, 1))(Z, W, (CT, np.conj(CT)))
    want_value, want_slope = jax.jvp(jax_version(holomorphic), (jnp.asarray(Z), jnp.asarray(W)),
                                     (jnp.asarray(CT), jnp.asarray(np.conj(CT))))
    assert_close(value, np.asarray(want_value))
    assert_close(slope, np.asarray(want_slope))


def nonholomorphic(z):
    return np.abs(z) * np.conj(z) + np.real(z) * 1j + np.angle(z)


def test_nonholomorphic_vjp_and_jvp_match_jax():
    got = tg.vjp(nonholomorphic)(Z, CT)
    _, pullback = jax.vjp(jax_version(nonholomorphic), jnp.asarray(Z))
    assert_close(got, np.asarray(pullback(jnp.asarray(CT))[0]))
    _, slope = tg.jvp(nonholomorphic)(Z, CT)
    _, want = jax.jvp(jax_version(nonholomorphic), (jnp.asarray(Z),), (jnp.asarray(CT),))
    assert_close(slope, np.asarray(want))


def test_refusals_say_what_jax_would():
    with pytest.raises(tg.TransformError, match="real float array"):
        tg.jvp(unit_circle)(X, CT)          # a complex tangent of a real argument

    def first_square(z):
        return (z * z)[0]
    with pytest.raises(tg.TransformError, match="complex"):
        tg.grad(first_square)(Z)

    def sum_of_squares(z):       # a full reduction: certainly a scalar, yet complex
        return np.sum(z * z)
    with pytest.raises(tg.TransformError, match="needs a real output"):
        tg.grad(sum_of_squares)(Z)
    with pytest.raises(tg.TransformError, match="needs a real output"):
        tg.value_and_grad(sum_of_squares)(Z)
    assert_close(tg.grad(sum_of_squares)(X), 2.0 * X)


# --- numpy's other rules on complex inputs: vjp and jvp against JAX --------------------------

A3 = RNG.uniform(-1, 1, (3, 3)) + 1j * RNG.uniform(-1, 1, (3, 3))
ON_COMPLEX = [
    lambda z: np.linalg.norm(z), lambda z: np.linalg.norm(z, axis=1),
    lambda z: np.var(z), lambda z: np.std(z, axis=0, ddof=1),
    lambda z: np.vdot(z, z * 2.0), lambda z: np.prod(z, axis=0) + np.cumprod(z, axis=1)[1],
    lambda z: np.einsum("ij,jk->ik", z, z) + z @ z.T,
    lambda z: np.linalg.inv(z + 3 * np.eye(3)) * np.linalg.det(z + 3 * np.eye(3)),
    lambda z: np.where(np.array([True, False, True]), z, 2.0 * z)[[0, 2], 1:],
    lambda z: np.max(np.abs(z), axis=0) * np.mean(z, axis=1),
    # norms other than the default: each slope conjugated (were not: silently wrong)
    lambda z: np.linalg.norm(z, 2, 1), lambda z: np.linalg.norm(z, 3, 0),
    lambda z: np.linalg.norm(z[0], 0.5) + np.linalg.norm(z[1], 1),
    lambda z: np.linalg.norm(z, -np.inf, 1) + np.linalg.norm(z[2], np.inf),
    lambda z: np.linalg.norm(z, 2), lambda z: np.linalg.norm(z, -2),
    lambda z: np.linalg.norm(z, "nuc"), lambda z: np.linalg.norm(z, 1),
    lambda z: np.linalg.norm(z, np.inf), lambda z: np.linalg.norm(z, "fro"),
    lambda z: np.linalg.vector_norm(z, axis=1, ord=3),
    lambda z: np.linalg.matrix_norm(z, ord="nuc"),
]


@pytest.mark.parametrize("k", range(len(ON_COMPLEX)))
def test_rules_on_complex_inputs_match_jax(k):
    f = ON_COMPLEX[k]
    out = f(A3)
    ct = RNG.uniform(-1, 1, np.shape(out))
    if np.iscomplexobj(out):
        ct = ct + 1j * RNG.uniform(-1, 1, np.shape(out))
    _, pullback = jax.vjp(jax_version(f), jnp.asarray(A3))
    assert_close(tg.vjp(f)(A3, ct), np.asarray(pullback(jnp.asarray(ct).astype(out.dtype))[0]))
    tangent = RNG.uniform(-1, 1, A3.shape) + 1j * RNG.uniform(-1, 1, A3.shape)
    _, want = jax.jvp(jax_version(f), (jnp.asarray(A3),), (jnp.asarray(tangent),))
    assert_close(tg.jvp(f)(A3, tangent)[1], np.asarray(want))


# --- numpy.fft: vjp with complex cotangents and jvp against JAX --------------------------------

M = RNG.uniform(-1, 1, (3, 6)) + 1j * RNG.uniform(-1, 1, (3, 6))
R = RNG.uniform(-1, 1, (3, 6))
H = RNG.uniform(-1, 1, (3, 4)) + 1j * RNG.uniform(-1, 1, (3, 4))   # half spectra

FFT_CASES = [
    (M, lambda a: np.fft.fft(a)),
    (M, lambda a: np.fft.fft(a, n=8, axis=0)),
    (R, lambda a: np.fft.fft(a, n=4, norm="ortho")),
    (M, lambda a: np.fft.ifft(a, norm="forward")),
    (R, lambda a: np.fft.ifft(a, n=9)),
    (R, lambda a: np.fft.rfft(a)),
    (R, lambda a: np.fft.rfft(a, n=7, axis=0, norm="ortho")),
    (H, lambda a: np.fft.irfft(a)),
    (H, lambda a: np.fft.irfft(a, n=7)),
    (H, lambda a: np.fft.irfft(a, n=4, axis=0, norm="forward")),
    (H, lambda a: np.fft.hfft(a)),
    (H, lambda a: np.fft.hfft(a, n=5, norm="ortho")),
    (R, lambda a: np.fft.ihfft(a, n=5)),
    (M, lambda a: np.fft.fftn(a)),
    (M, lambda a: np.fft.fftn(a, s=(4, 4), axes=(0, 1))),
    (M, lambda a: np.fft.ifftn(a, norm="ortho")),
    (R, lambda a: np.fft.fft2(a)),
    (M, lambda a: np.fft.ifft2(a, s=(2, 8))),
    (R, lambda a: np.fft.rfftn(a, s=(4, 5), axes=(0, 1))),
    (R, lambda a: np.fft.rfft2(a, norm="forward")),
    (H, lambda a: np.fft.irfftn(a)),
    (H, lambda a: np.fft.irfftn(a, s=(3, 5), axes=(0, 1))),
    (H, lambda a: np.fft.irfft2(a, norm="ortho")),
    (M, lambda a: np.fft.fftshift(a)),
    (R, lambda a: np.fft.ifftshift(a, axes=1)),
]


@pytest.mark.parametrize("a, f", FFT_CASES, ids=[str(k) for k in range(len(FFT_CASES))])
def test_fft_vjp_and_jvp_match_jax(a, f):
    out = f(a)
    ct = RNG.uniform(-1, 1, out.shape)
    if np.iscomplexobj(out):
        ct = ct + 1j * RNG.uniform(-1, 1, out.shape)
    got = tg.vjp(f)(a, ct)
    _, pullback = jax.vjp(jax_version(f), jnp.asarray(a))
    want = np.asarray(pullback(jnp.asarray(ct))[0])
    assert got.dtype == a.dtype
    assert_close(got, want, "vjp")
    tangent = RNG.uniform(-1, 1, a.shape) + (1j * RNG.uniform(-1, 1, a.shape)
                                              if np.iscomplexobj(a) else 0)
    value, slope = tg.jvp(f)(a, tangent)
    assert_close(value, out)
    assert_close(slope, f(tangent), "jvp")   # linear


def spectrum_loss(z):
    spectrum = np.fft.fft(z * np.exp(z), n=6)
    back = np.fft.irfft(spectrum[:4] * 0.5, n=6, norm="ortho")
    return np.sum(np.abs(spectrum) ** 2) + np.sum(back ** 3) + np.real(np.fft.ifft(z)[1])


def test_grad_through_ffts_matches_jax_grad_and_differences():
    got = tg.grad(spectrum_loss)(Z)
    want = jax.grad(jax_version(spectrum_loss))(jnp.asarray(Z))
    assert_close(got, np.asarray(want))
    assert_close(got, numeric_grad(spectrum_loss, Z), rtol=1e-5, atol=1e-6)


def power_spectrum(x):
    return np.sum(np.abs(np.fft.rfft(x)) ** 2 * np.arange(3.0)) + np.sum(np.fft.fftshift(x) * x)


def test_real_signal_through_rfft_grad_jvp_hessian():
    x = RNG.uniform(-1, 1, 4)
    got = tg.grad(power_spectrum)(x)
    assert got.dtype == np.float64
    assert_close(got, np.asarray(jax.grad(jax_version(power_spectrum))(jnp.asarray(x))))
    _, slope = tg.jvp(power_spectrum)(x, np.ones(4))
    assert_close(slope, got.sum())
    hessian = tg.hessian(power_spectrum)(x)
    assert_close(hessian, np.asarray(jax.hessian(jax_version(power_spectrum))(jnp.asarray(x))))


def test_fft_on_the_jax_backend():
    x = RNG.uniform(-1, 1, 4)
    grad = tg.grad(power_spectrum, backend="jax")
    assert "jnp.fft.rfft" in grad.source
    assert_close(np.asarray(grad(jnp.asarray(x))), tg.grad(power_spectrum)(x))


def test_complex_values_on_the_jax_backend():
    for f, a in ((phasor, X), (abs_squared, Z), (methods_and_attributes, Z)):
        got = np.asarray(tg.grad(f, backend="jax")(jnp.asarray(a)))
        assert got.dtype == a.dtype
        assert_close(got, tg.grad(f)(a), f.__name__)
