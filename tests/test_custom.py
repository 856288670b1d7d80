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


def clipped_rnn_by_hand(h0, xs, w, bound):
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(hs[-1] @ w + x))
    bh, bw = np.full_like(h0, 10.0), np.zeros_like(w)
    for t in reversed(range(len(xs))):
        bh = np.clip(bh, -bound, bound)
        bpre = bh * (1 - hs[t + 1] ** 2)
        bw += hs[t].T @ bpre
        bh = bpre @ w.T
    return bw


def test_grad_of_clips_inside_the_loop():
    rng = np.random.default_rng(0)
    h, xs, w = rng.normal(size=(1, 3)), rng.normal(size=(4, 1, 3)), rng.normal(size=(3, 3))
    dfun = tg.grad(uf.clipped_rnn, wrt=2)
    assert_close(dfun(h, xs, w), clipped_rnn_by_hand(h, xs, w, 0.01))
    assert "np.clip(gh, -0.01, 0.01)" in dfun.source


def test_grad_of_on_a_parameter_and_plain_call():
    x = np.array([1.0, -2.0])
    assert_close(tg.grad(uf.scaled_gradient)(x), 0.5 * 18.0 * x)
    assert uf.scaled_gradient(x) == np.sum((3.0 * x) ** 2)   # runs as plain Python too


def test_defvjp_rejects_a_rule_with_an_early_return():
    import pytest

    with pytest.raises(tg.TransformError, match="only `return`"):
        @tg.defvjp(uf.softplus)
        def early(g, ans, x):
            if x is None:
                return g
            return g * 2.0
