"""tg.defvjp and tg.stop_gradient."""

import warnings

import numpy as np

import transgrad as tg
from tests.checks import assert_close
from tests.fixtures import userfuncs as uf


def test_defvjp_rule_is_inlined_and_used():

    @tg.defvjp(uf.softplus)
    def softplus_vjp(g, ans, x):
        return g / (1.0 + np.exp(-x))

    dfun = tg.grad(uf.uses_softplus)
    x = np.array([-1.0, 0.5, 2.0])
    assert_close(dfun(x), 2.0 / (1.0 + np.exp(-x)))
    assert "np.exp(-x)" in dfun.source or "np.exp(" in dfun.source
    assert "softplus_vjp" not in dfun.source      # inlined, not called


def test_defvjp_override_warns_and_rebuilds():
    @tg.defvjp(uf.softplus)
    def first(g, ans, x):
        return g * 0.0

    x = np.array([0.3])
    assert_close(tg.grad(uf.uses_softplus)(x), np.zeros(1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @tg.defvjp(uf.softplus)
        def second(g, ans, x):
            return g * 1.0
    assert any("overriding" in str(w.message) for w in caught)
    assert_close(tg.grad(uf.uses_softplus)(x), 2.0 * np.ones(1))


def test_stop_gradient():
    x = np.array([1.0, 2.0])
    assert_close(tg.grad(uf.stopped)(x), x)
