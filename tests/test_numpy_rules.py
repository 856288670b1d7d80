"""The numpy and numpy.linalg rules of issue 12 where the per-rule test cannot reach: forward
mode of the rules declared linear, arguments the sample harness does not build (nested lists,
sequences of arrays, coordinates JAX does not take), second derivatives, and the refusals."""

import numpy as np
import pytest

import transgrad as tg
from tests.checks import assert_close, numeric_vjp, random_cotangent

EPS = 1e-6

SOURCE = '''
import numpy as np


def diff2(x):
    return np.diff(x, n=2, axis=0)


def gradient_coords(x):
    return np.gradient(x, np.array([0.0, 0.3, 0.5, 1.1, 1.4]), edge_order=2)


def gradient_axes(x):
    gy, gx = np.gradient(x, 0.5, 2.0)
    return gy * 2.0 + gx


def cross_rows(a, b):
    return np.cross(a, b)


def trapezoid_xy(y, x):
    return np.trapezoid(y, x)


def convolve_same(a, v):
    return np.convolve(a, v, mode="same")


def correlate_full(a, v):
    return np.correlate(a, v, mode="full")


def along_axis(a):
    return np.take_along_axis(a, np.array([[0, 2, 2], [1, 0, 1]]), axis=1)


def rotate_roll(a):
    return np.rollaxis(np.rot90(a, 1, (1, 2)), 2)


def split_parts(a):
    left, right = np.hsplit(a, [1])
    top, bottom = np.vsplit(a, 2)
    return left * 2.0, right, top + bottom, np.dsplit(a[None], 3)[1]


def nested_block(a, b):
    return np.block([[a, b], [b, a]])


def partition_pairs(a):
    return np.partition(a, (0, 3))


def chain(u, m, v):
    return np.linalg.multi_dot([u, m, m, v])


def pick(a, b):
    return np.select([a > 0.0, b > 0.0], [a * 2.0, b], 0.5)


def median_of_rows(a):
    return np.median(a, axis=1, keepdims=True)


def thin_svd(a):
    return np.linalg.svd(a, full_matrices=False)


def eigh_parts(a):
    w, v = np.linalg.eigh(a)
    return w, v


def square_sum_diff(x):
    return np.sum(np.diff(x) ** 2) + np.sum(np.convolve(x, x) ** 2)


def full_svd(a):
    return np.linalg.svd(a)


def wide_qr(a):
    return np.linalg.qr(a)


def nearest_quantile(a):
    return np.quantile(a, 0.3, method="nearest")
'''


@pytest.fixture(scope="module")
def mod(tmp_path_factory):
    import importlib.util
    path = tmp_path_factory.mktemp("numpy_rules") / "numpy_rules_module.py"
    path.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location("numpy_rules_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rng_args(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-2, 2, s) for s in shapes]


CASES = [("diff2", [(5, 3)]), ("gradient_coords", [(5,)]), ("gradient_axes", [(3, 4)]),
         ("cross_rows", [(4, 3), (4, 3)]), ("trapezoid_xy", [(2, 5), (5,)]),
         ("convolve_same", [(6,), (3,)]), ("correlate_full", [(4,), (3,)]),
         ("along_axis", [(2, 3)]), ("rotate_roll", [(2, 3, 4)]), ("split_parts", [(4, 3)]),
         ("nested_block", [(2, 2), (2, 2)]), ("partition_pairs", [(5,)]),
         ("chain", [(3,), (3, 3), (3,)]), ("pick", [(5,), (5,)]),
         ("median_of_rows", [(3, 5)]), ("thin_svd", [(4, 3)])]


def _directional(func, args, i, direction):
    up = list(args)
    down = list(args)
    up[i] = args[i] + EPS * direction
    down[i] = args[i] - EPS * direction
    hi, lo = func(*up), func(*down)
    if isinstance(hi, tuple):
        return tuple((np.asarray(h) - np.asarray(l)) / (2 * EPS) for h, l in zip(hi, lo))
    return (np.asarray(hi) - np.asarray(lo)) / (2 * EPS)


@pytest.mark.parametrize("name,shapes", CASES, ids=[c[0] for c in CASES])
def test_reverse_and_forward(mod, name, shapes):
    """tg.vjp and tg.jvp in each argument against central differences."""
    func = getattr(mod, name)
    args = _rng_args(*shapes)
    if name == "trapezoid_xy":
        args[1] = np.sort(args[1])
    cotangent = random_cotangent(func(*args))
    for i in range(len(args)):
        grad = tg.vjp(func, wrt=i)(*args, cotangent)
        assert_close(grad, numeric_vjp(func, list(args), i, cotangent), f"{name} vjp {i}")
        direction = np.random.default_rng(5).uniform(-1, 1, np.shape(args[i]))
        _, slope = tg.jvp(func, wrt=i)(*args, direction)
        assert_close(slope, _directional(func, args, i, direction), f"{name} jvp {i}",
                     rtol=1e-4, atol=1e-6)


def test_eigh_reverse_against_jax(mod):
    """Both outputs' cotangents, on a symmetric matrix, as jax.vjp gives them."""
    from tests.checks import HAVE_JAX, jax, jnp
    if not HAVE_JAX:
        pytest.skip("JAX is not installed")
    a = _rng_args((4, 4))[0]
    a = a + a.T + 4 * np.eye(4)
    cotangent = random_cotangent(mod.eigh_parts(a))
    grad = tg.vjp(mod.eigh_parts, wrt=0)(a, cotangent)
    _, pullback = jax.vjp(lambda m: tuple(jnp.linalg.eigh(m)), jnp.asarray(a))
    expected = pullback(tuple(jnp.asarray(c) for c in cotangent))[0]
    assert_close(grad, np.asarray(expected), "eigh against jax")


def test_second_order(mod):
    """Forward over reverse through the rules whose helpers have rules (diff, convolve)."""
    x = _rng_args((6,))[0]
    v = np.random.default_rng(2).uniform(-1, 1, 6)
    hv = tg.hvp(mod.square_sum_diff, wrt=0)(x, v)
    grad = tg.grad(mod.square_sum_diff, wrt=0)
    expected = (grad(x + EPS * v) - grad(x - EPS * v)) / (2 * EPS)
    assert_close(hv, expected, "hvp of diff and convolve", rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name,shape,message", [
    ("full_svd", (4, 3), "full_matrices=True"), ("wide_qr", (2, 4), "at least as many rows"),
    ("nearest_quantile", (5,), "method='nearest'")])
def test_refusals(mod, name, shape, message):
    """Where a derivative is not implemented the error says what to do, never a wrong value."""
    func = getattr(mod, name)
    args = _rng_args(shape)
    with pytest.raises(ValueError, match=message):
        tg.vjp(func, wrt=0)(*args, random_cotangent(func(*args)))
