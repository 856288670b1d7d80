"""Forward mode (``tg.jvp``) over the shared corpus, against central differences and jax.jvp.

Forward rules are derived from the reverse table (elementwise and multilinear primitives);
corpus functions that use anything else are skipped here with the reason, so the coverage of
forward mode is visible in the test report.
"""

import numpy as np
import pytest

import transgrad as tg
from tests import checks
from tests.corpus import CORPUS

EPS = 1e-6


def _is_differentiable_value(value):
    return isinstance(value, float) or (isinstance(value, np.ndarray) and value.dtype.kind == "f")


def _directional(func, args, wrt, tangents):
    up = func(*checks.shifted(args, wrt, tangents, EPS))
    down = func(*checks.shifted(args, wrt, tangents, -EPS))
    if isinstance(up, tuple):
        return tuple((np.asarray(u, float) - np.asarray(d, float)) / (2 * EPS)
                     for u, d in zip(up, down))
    return (np.asarray(up, float) - np.asarray(down, float)) / (2 * EPS)


@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_jvp(entry):
    args = entry.sample()
    wrt = entry.wrt_indices
    if not all(_is_differentiable_value(args[i]) for i in wrt):
        pytest.skip("structured argument: forward mode takes arrays and floats")
    rng = np.random.default_rng(3)
    tangents = [checks.random_direction(args[i], rng) for i in wrt]
    tangent = tangents[0] if isinstance(entry.wrt, int) else tuple(tangents)
    try:
        value, slope = tg.jvp(entry.func, wrt=entry.wrt)(*args, tangent)
    except tg.TransformError as error:
        if "no forward-mode rule" in str(error) or "keyword arguments" in str(error):
            pytest.skip(str(error).splitlines()[0])
        raise
    checks.assert_close(value, entry.func(*args), f"{entry.name} value")
    checks.assert_close(slope, _directional(entry.func, list(args), wrt, tangents),
                        f"{entry.name} tangent", rtol=1e-4, atol=1e-5)
    if entry.jax and checks.HAVE_JAX:
        jf = checks.jax_version(entry.func)
        jargs = [checks.jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]

        def along(*moving):
            call = list(jargs)
            for i, m in zip(wrt, moving):
                call[i] = m
            return jf(*call)
        primals = tuple(jargs[i] for i in wrt)
        jtangents = tuple(checks.jnp.asarray(t) if isinstance(t, np.ndarray) else t
                          for t in tangents)
        _, expected = checks.jax.jvp(along, primals, jtangents)
        checks.assert_close(slope, np.asarray(expected) if not isinstance(expected, tuple)
                            else tuple(np.asarray(e) for e in expected),
                            f"{entry.name} vs jax.jvp", rtol=1e-6, atol=1e-8)


def test_jvp_source_puts_each_tangent_after_its_statement():
    from tests.fixtures import userfuncs as uf
    dfun = tg.jvp(uf.recurrence, wrt=(0, 1))
    value, slope = dfun(0.5, 0.3, (1.0, 0.0))
    assert value == pytest.approx(uf.recurrence(0.5, 0.3))
    assert slope == pytest.approx((uf.recurrence(0.5 + EPS, 0.3)
                                   - uf.recurrence(0.5 - EPS, 0.3)) / (2 * EPS), rel=1e-6)
    assert isinstance(slope, float)
    assert "stack" not in dfun.source and "dx = " in dfun.source


def test_jvp_without_a_forward_rule_says_so():
    from tests.fixtures import userfuncs as uf
    with pytest.raises(tg.TransformError, match="no forward-mode rule") as info:
        tg.jvp(uf.no_rule)(np.ones(3), np.ones(3))
    assert "np.nextafter" in info.value.source_line
