"""The one gradient checker: central finite differences in float64, and JAX where it applies.

Every test of a derivative (corpus functions, rules, the Tensor) goes through these helpers, so
"correct" means the same thing everywhere.
"""

import types

import numpy as np

from transgrad.rules.specs import ArraySpec

RTOL = 1e-5
ATOL = 1e-6
EPS = 1e-6

try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    HAVE_JAX = True
except ImportError:  # pragma: no cover - jax is a test dependency
    jax = jnp = None
    HAVE_JAX = False


def materialize(args, seed=0):
    """Turn array specs (A(3, 4), P(3), S()...) into concrete float64 values, also inside
    lists and tuples (``np.concatenate([A(2), A(3)])``)."""
    rng = np.random.default_rng(seed)
    return tuple(make_value(a, rng) for a in args)


def make_value(value, rng):
    """One argument: a spec becomes an array; lists and tuples of specs are made elementwise."""
    if isinstance(value, ArraySpec):
        return value.make(rng)
    if isinstance(value, (list, tuple)) and any(isinstance(v, ArraySpec) for v in value):
        return type(value)(make_value(v, rng) for v in value)
    return value


def is_float_value(x):
    return isinstance(x, float) or (isinstance(x, np.ndarray) and x.dtype.kind == "f")


def numeric_vjp(f, args, i, cotangent, eps=EPS):
    """d/d args[i] of sum(cotangent * f(*args)) by central differences."""
    x = args[i]
    if isinstance(x, np.ndarray) and x.dtype.kind == "c":
        # JAX's convention for a complex argument: d/d(real part) - 1j d/d(imaginary part)
        def along(unit):
            def moved(*call_args):
                call_args = list(call_args)
                call_args[i] = x + unit * call_args[i]
                return f(*call_args)
            at_zero = list(args)
            at_zero[i] = np.zeros(x.shape)
            return numeric_vjp(moved, at_zero, i, cotangent, eps)
        return along(1.0) - 1j * along(1j)
    scalar = isinstance(x, float)
    x_arr = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x_arr)

    def value(xv):
        call_args = list(args)
        call_args[i] = float(xv) if scalar else xv
        out = f(*call_args)
        return _contract(out, cotangent)

    flat = x_arr.reshape(-1)
    gflat = grad.reshape(-1)
    for k in range(flat.size):
        orig = flat[k]
        flat[k] = orig + eps
        up = value(x_arr.copy())
        flat[k] = orig - eps
        down = value(x_arr.copy())
        flat[k] = orig
        gflat[k] = (up - down) / (2 * eps)
    return float(grad) if scalar else grad


def _parts(out):
    """A lazily computed sequence of cotangents (``tgr.einsum_vjp``'s) as a list."""
    from transgrad.runtime import EinsumCotangents
    return list(out) if isinstance(out, EinsumCotangents) else out


def random_direction(value, rng):
    """A random tangent (or direction) shaped like ``value``: a float for a float."""
    if isinstance(value, float):
        return float(rng.uniform(-1, 1))
    return rng.uniform(-1, 1, np.shape(value)).astype(value.dtype)


def shifted(args, indices, directions, step):
    """``args`` with ``args[i] + step * direction`` at each index (a float stays a float)."""
    out = list(args)
    for i, d in zip(indices, directions):
        out[i] = args[i] + step * d
        if isinstance(args[i], float):
            out[i] = float(out[i])
    return out


def _contract(out, cotangent):
    out = _parts(out)
    if out is None:   # an entry with no value (the cotangent of einsum's subscripts)
        return 0.0
    if isinstance(out, (tuple, list)):
        return sum(_contract(o, c) for o, c in zip(out, cotangent))
    out = np.asarray(out)
    if out.dtype.kind != "c":
        out = out.astype(np.float64)
    return float(np.real(np.sum(out * cotangent)))   # Re(c * y): JAX's pairing


def random_cotangent(out, seed=1):
    rng = np.random.default_rng(seed)
    out = _parts(out)
    if out is None:
        return None
    if isinstance(out, (tuple, list)):
        return tuple(random_cotangent(o, seed + k) for k, o in enumerate(out))
    return rng.uniform(-1, 1, np.shape(out)) if np.ndim(out) else float(rng.uniform(-1, 1))


def assert_close(actual, expected, what="", rtol=RTOL, atol=ATOL):
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected), what
        for a, e in zip(actual, expected):
            assert_close(a, e, what, rtol, atol)
        return
    assert np.shape(actual) == np.shape(expected), \
        f"{what}: shape {np.shape(actual)} != expected {np.shape(expected)}"
    complex_ = np.iscomplexobj(actual) or np.iscomplexobj(expected)
    dtype = np.complex128 if complex_ else np.float64
    np.testing.assert_allclose(np.asarray(actual, dtype=dtype),
                               np.asarray(expected, dtype=dtype), rtol=rtol, atol=atol,
                               err_msg=what)


def with_namespace(func, **names):
    """``func`` re-bound to other globals, e.g. ``np=jax.numpy`` to run numpy code on JAX."""
    globals_ = dict(func.__globals__)
    globals_.update(names)
    new = types.FunctionType(func.__code__, globals_, func.__name__, func.__defaults__,
                             func.__closure__)
    new.__kwdefaults__ = func.__kwdefaults__
    return new


def jax_version(func):
    """``func`` with ``np`` bound to ``jax.numpy`` (for functions written only with ``np.``)."""
    return with_namespace(func, np=jnp)


def jax_grad(func, args, wrt):
    """jax.grad of ``func`` (re-bound onto jax.numpy) at float64 ``args``."""
    jf = jax_version(func)
    jargs = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
    grads = jax.grad(jf, argnums=wrt)(*jargs)
    if isinstance(wrt, int):
        return np.asarray(grads)
    return tuple(np.asarray(g) for g in grads)
