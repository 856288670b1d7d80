"""The JAX backend on the whole shared corpus, and what it must do beyond it.

``test_corpus_on_jax[<function>-eager]`` runs ``tg.grad``/``tg.vjp`` with ``backend="jax"`` on
JAX arrays and checks the result against the numpy backend to 1e-10 (which ``test_corpus``
checks against ``jax.grad``/``jax.vjp`` and finite differences); ``-jit`` does the same under
``jax.jit`` (Python ints and strings static). A function
whose branches depend on traced values must raise transgrad's error naming the line, never a
tracer error from inside generated code.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import transgrad as tg
from tests import checks
from tests.checks import assert_close, random_cotangent
from tests.corpus import CORPUS
from tests.test_corpus import as_tuple
from tests.test_properties import BINARY, broadcast_shapes

pytestmark = pytest.mark.skipif(not checks.HAVE_JAX, reason="JAX is not installed")
jax, jnp = checks.jax, checks.jnp

# every corpus function, also those that cannot be re-bound onto jax.numpy for a JAX reference
# (math functions, builtin max/min, boolean masks): the reference here is the numpy backend
CASES = [pytest.param(entry, how, id=f"{entry.name}-{how}")
         for entry in CORPUS for how in ("eager", "jit")]


def to_jax(value):
    """Arrays become JAX arrays, also inside lists, tuples and dicts; the rest is kept."""
    if isinstance(value, np.ndarray):
        return jnp.asarray(value)
    if isinstance(value, dict):
        return {k: to_jax(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(to_jax(v) for v in value)
    return value


def traceable(value):
    """Values jax.jit can take as arguments (pytrees of arrays and numbers)."""
    if value is None or isinstance(value, (np.ndarray, float, int, str)):
        return True
    if isinstance(value, dict):
        return all(traceable(v) for v in value.values())
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return all(traceable(v) for v in value)
    return False


def derivative(entry, backend):
    if entry.vector_output:
        return tg.vjp(entry.func, wrt=entry.wrt, backend=backend)
    return tg.grad(entry.func, wrt=entry.wrt, backend=backend)


def assert_like(grad, arg, what):
    """The JAX backend's gradient has its argument's structure, shape and dtype."""
    if isinstance(arg, float):
        assert np.ndim(grad) == 0, what
        return
    if isinstance(arg, np.ndarray):
        assert isinstance(grad, jax.Array), f"{what}: got a {type(grad)}"
        assert grad.shape == arg.shape and grad.dtype == arg.dtype, what


@pytest.mark.parametrize("entry, how", CASES)
def test_corpus_on_jax(entry, how):
    args = entry.sample()
    out = entry.func(*args)
    cotangent = random_cotangent(out) if entry.vector_output else None
    extra = () if cotangent is None else (cotangent,)
    expected = as_tuple(derivative(entry, "numpy")(*entry.sample(), *extra), entry)
    jax_args = tuple(to_jax(a) for a in args)
    generated = derivative(entry, "jax")
    if how == "jit":
        if not all(traceable(a) for a in args):
            pytest.skip("an argument is not a JAX pytree (a dataclass or named tuple)")
        static = tuple(i for i, a in enumerate(args) if isinstance(a, (int, str)))
        generated = jax.jit(generated, static_argnums=static)
    try:
        grads = as_tuple(generated(*jax_args, *extra), entry)
    except tg.TransformError as error:
        assert how == "jit" and "cannot be traced by JAX" in str(error), str(error)
        assert error.lineno is not None and error.source_line
        pytest.skip("control flow on traced values (transgrad said which line)")
    for i, grad, want in zip(entry.wrt_indices, grads, expected):
        what = f"{entry.name} on jax ({how}) d/d argument {i}"
        if how == "eager":
            assert_like(grad, args[i], what)
        assert_close(jax.tree_util.tree_map(np.asarray, grad), want, what, rtol=1e-9, atol=1e-10)


def loss(w1, w2, x, y):
    h = np.maximum(x @ w1, 0.0)
    out = h @ w2
    return np.sum((out - y) ** 2)


def sample_net(rng, batch=8):
    return (rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(batch, 3)),
            rng.normal(size=(batch, 2)))


def test_source_is_jax_numpy():
    text = tg.grad(loss, wrt=(0, 1), backend="jax").source
    code = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert any("jnp.maximum(" in line for line in code)
    assert not any(" np." in line or "(np." in line for line in code)


def test_jit_gives_the_same_numbers_as_eager():
    args = sample_net(np.random.default_rng(0))
    dloss = tg.grad(loss, wrt=(0, 1), backend="jax")
    eager = dloss(*map(jnp.asarray, args))
    jitted = jax.jit(dloss)(*args)
    for e, j, n in zip(eager, jitted, tg.grad(loss, wrt=(0, 1))(*args)):
        assert_close(np.asarray(j), np.asarray(e), "jit vs eager")
        assert_close(np.asarray(j), n, "jit vs numpy backend")


def test_vmap_gives_per_example_gradients():
    w1, w2, x, y = sample_net(np.random.default_rng(1))
    dloss = tg.grad(loss, wrt=(0, 1), backend="jax")
    per_example = jax.vmap(dloss, in_axes=(None, None, 0, 0))(w1, w2, x[:, None], y[:, None])
    assert per_example[0].shape == (8,) + w1.shape
    for k in range(len(x)):
        one = tg.grad(loss, wrt=(0, 1))(w1, w2, x[k:k + 1], y[k:k + 1])
        assert_close(np.asarray(per_example[0][k]), one[0], "vmap row")
        assert_close(np.asarray(per_example[1][k]), one[1], "vmap row")


def test_in_place_update_becomes_at_set():
    def shift(x):
        y = x * 2
        y[1:] = y[1:] * x[:-1]
        return np.sum(y ** 2)
    x = np.random.default_rng(2).normal(size=5)
    dshift = tg.grad(shift, backend="jax")
    got = jax.jit(dshift)(x)
    assert ".at[" in dshift.source
    assert_close(np.asarray(got), tg.grad(shift)(x.copy()), "in-place on jax")


def test_function_written_with_jax_numpy():
    def f(x, w):
        return jnp.sum(jnp.tanh(x @ w) ** 2) + jnp.linalg.det(w)
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    got = jax.jit(tg.grad(f, wrt=1, backend="jax"))(x, w)
    assert_close(np.asarray(got), np.asarray(jax.grad(f, 1)(x, w)), "jnp-written function")


def branchy(x):
    y = x * 2.0
    if np.sum(y) > 0:
        y = y * 3.0
    else:
        y = np.sin(y)
    return np.sum(y ** 2)


def test_branch_on_a_traced_value_becomes_lax_cond():
    dbranchy = tg.grad(branchy, backend="jax")
    xs = np.array([[1.0, 2.0, 3.0], [-1.0, -2.0, 0.5]])
    for x in xs:   # both branches, under jit
        assert_close(np.asarray(jax.jit(dbranchy)(x)), tg.grad(branchy)(x), "jit branch")
    per_row = jax.vmap(dbranchy)(xs)   # each row takes its own branch
    for row, x in zip(per_row, xs):
        assert_close(np.asarray(row), tg.grad(branchy)(x), "vmap branch")
    assert dbranchy.source.count("tgr.cond(cond1") == 2   # primal and adjoint sweeps


def shrink(x):
    while np.sum(x) > 1.0:
        x = x * x * 0.5
    return np.sum(x ** 2)


def halve(x):
    while np.sum(x) > 1.0:
        x = x * 0.5
    return np.sum(x ** 2)


def test_traced_while_names_the_line():
    x = np.ones(3)
    with pytest.raises(tg.TransformError) as caught:
        jax.jit(tg.grad(shrink, backend="jax"))(x)
    message = str(caught.value)
    assert "while np.sum(x) > 1.0:" in message and "max_steps=N" in caught.value.hint
    assert caught.value.lineno == shrink.__code__.co_firstlineno + 1
    # eagerly the loop runs on concrete values and the gradient is right
    assert_close(np.asarray(tg.grad(shrink, backend="jax")(jnp.asarray(x))),
                 tg.grad(shrink)(x), "eager while")
    # a loop whose adjoint reads no saved value reverses under jit (its steps counted)
    assert_close(np.asarray(jax.jit(tg.grad(halve, backend="jax"))(x)), tg.grad(halve)(x),
                 "jit while")


def test_traced_loop_bound_says_to_make_it_static():
    def power(x, n):
        for _ in range(n):
            x = x * 1.5
        return x
    with pytest.raises(tg.TransformError, match="static_argnums"):
        jax.jit(tg.grad(power, backend="jax"))(2.0, 3)
    assert jax.jit(tg.grad(power, backend="jax"), static_argnums=1)(2.0, 3) == 1.5 ** 3


def test_unknown_backend():
    with pytest.raises(tg.TransformError, match="unknown backend 'torch'"):
        tg.grad(loss, backend="torch")


def test_numpy_call_without_a_jax_twin_names_it_and_its_line():
    def noisy(x):
        return np.sum(x * np.random.randn(3))
    with pytest.raises(tg.TransformError, match="np.random.randn") as caught:
        tg.grad(noisy, backend="jax")(np.ones(3))
    assert caught.value.lineno == noisy.__code__.co_firstlineno + 1


def test_missing_jax_gives_the_install_command():
    script = textwrap.dedent("""
        import sys
        sys.modules["jax"] = None       # as if JAX were not installed
        import numpy as np, transgrad as tg
        try:
            tg.grad(np.sum, backend="jax")
        except tg.TransformError as error:
            print(error)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert "not installed" in out and "pip install" in out


SHARDED = textwrap.dedent("""
    import jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import transgrad as tg
    from tests.test_jax_backend import loss, sample_net

    assert len(jax.devices()) == 8, jax.devices()
    args = sample_net(np.random.default_rng(4), batch=64)
    mesh = Mesh(np.array(jax.devices()), ("batch",))
    batch, replicated = NamedSharding(mesh, P("batch")), NamedSharding(mesh, P())
    w1, w2, x, y = args
    sharded = (jax.device_put(w1, replicated), jax.device_put(w2, replicated),
               jax.device_put(x, batch), jax.device_put(y, batch))
    assert len(sharded[2].sharding.device_set) == 8
    dloss = jax.jit(tg.grad(loss, wrt=(0, 1), backend="jax"))
    on_eight = dloss(*sharded)
    on_one = tg.grad(loss, wrt=(0, 1))(*args)
    for a, b in zip(on_eight, on_one):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-10, atol=1e-12)
    print("sharded ok")
""")


def test_sharded_batch_on_eight_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", SHARDED], capture_output=True, text=True,
                            check=False,
                            env=env, cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "sharded ok" in result.stdout


def recurrence(x, w):
    for i in range(50):
        x = np.sin(x * w) * 0.9 + 0.1 * x + 0.01 * i
    return np.sum(x ** 2)


def rnn(h, wh, wx, xs):
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(h @ wh + xs[t] @ wx)
        loss = loss + np.sum(h ** 2)
    return loss


@pytest.mark.parametrize("func, make", [
    (recurrence, lambda rng: (rng.normal(size=3), rng.normal(size=3))),
    (rnn, lambda rng: (rng.normal(size=(2, 4)), rng.normal(size=(4, 4)) * 0.5,
                       rng.normal(size=(3, 4)) * 0.5, rng.normal(size=(7, 2, 3)))),
])
def test_loops_become_scans_with_the_same_numbers(func, make):
    args = make(np.random.default_rng(5))
    wrt = tuple(range(len(args) - (func is rnn)))
    scanned = tg.grad(func, wrt=wrt, backend="jax")
    unrolled = tg.grad(func, wrt=wrt, backend="jax", loops="unroll")
    expected = tg.grad(func, wrt=wrt)(*args)
    for got in (scanned(*args), jax.jit(unrolled)(*args), jax.jit(scanned)(*args)):
        for g, e in zip(got, expected):
            assert_close(np.asarray(g), e, f"{func.__name__} scan", rtol=1e-9, atol=1e-10)
    # .source is the code the last call ran: traced by jit, the scans
    assert scanned.source.count("tgr.scan(") == 2          # the primal and adjoint sweeps
    assert "reverse=True" in scanned.source
    assert "tgr.scan" not in unrolled.source and "for " in unrolled.source


def collect(x, w):
    outs = []
    for i in range(6):
        x = np.tanh(x @ w) + 0.1 * i
        outs.append(x)
    return np.sum(np.stack(outs) ** 2)


def test_list_appended_in_a_loop_is_stacked_by_the_scan():
    rng = np.random.default_rng(11)
    x, w = rng.normal(size=(2, 3)), rng.normal(size=(3, 3)) * 0.5
    dcollect = tg.grad(collect, wrt=(0, 1), backend="jax")
    got = jax.jit(dcollect)(x, w)
    assert dcollect.source.count("tgr.scan(") == 2 and "tgr.extended(outs" in dcollect.source
    for g, e in zip(got, tg.grad(collect, wrt=(0, 1))(x, w)):
        assert_close(np.asarray(g), e, "appended list", rtol=1e-9, atol=1e-10)


def states_rnn(h, w, xs):
    states = [h]
    for t in range(xs.shape[0]):
        states.append(np.tanh(states[t] * w + xs[t]))
    return np.sum(states[-1] ** 2) + np.sum(states[len(states) // 2])


def negative_reads(h, w):
    hs = [h * 2.0]
    for t in range(4):
        a = hs[-1]
        b = hs[len(hs) - 1]
        hs.append(np.sin(a * w) * 0.5 + b)
        h = h + hs[-1] * hs[t]   # read after the append
    return np.sum(hs[2] + hs[-1]) + np.sum(h)


@pytest.mark.parametrize("func, args", [
    (states_rnn, (np.array([0.3, -0.2, 0.5]), np.array([0.9, 1.1, -0.7]),
                  np.random.default_rng(12).normal(size=(6, 3)))),
    (negative_reads, (np.array([0.4, -0.1, 0.2]), np.array([0.5, -0.3, 0.8]))),
])
def test_list_read_in_the_loop_that_appends_it_is_carried_as_a_buffer(func, args):
    wrt = (0, 1)
    dfunc = tg.grad(func, wrt=wrt, backend="jax")
    got = jax.jit(dfunc)(*args)
    assert dfunc.source.count("tgr.scan(") == 2, "the loop was not lowered"
    assert "tgr.history_item(" in dfunc.source and "tgr.history_add(" in dfunc.source
    for g, e in zip(got, tg.grad(func, wrt=wrt)(*args)):
        assert_close(np.asarray(g), e, f"{func.__name__} buffer", rtol=1e-9, atol=1e-10)


def gate(h, w):
    n = h.shape[0]
    return np.tanh(w[:n] * h) + w[n:] * 0.5   # slices at ints made from shapes


def sliced_steps(h, w):
    for i in range(5):
        h = gate(h, w)
    return np.sum(h ** 2)


def growing_total(x, w):
    total = 0.0
    for i in range(4):
        total = total + np.sin(x * w * i)   # a Python float that becomes a vector
    return np.sum(total ** 2)


@pytest.mark.parametrize("func, args", [
    (sliced_steps, (np.array([0.3, -0.2, 0.5]), np.linspace(-0.5, 0.8, 6))),
    (growing_total, (np.array([0.3, -0.2, 0.5]), 0.7)),
])
def test_scans_keep_static_ints_static_and_settle_the_carry(func, args):
    dfunc = tg.grad(func, wrt=(0, 1), backend="jax")
    got = jax.jit(dfunc)(*args)
    assert dfunc.source.count("tgr.scan(") == 2, "the loop was not lowered"
    for g, e in zip(got, tg.grad(func, wrt=(0, 1))(*args)):
        assert_close(np.asarray(g), e, f"{func.__name__} scan", rtol=1e-9, atol=1e-10)


def trajectory(x, n):
    ys = []
    y = x
    for _ in range(n):
        y = np.sin(y) * x
        ys.append(y)   # the list is rebound each step: a push the backward half never reads
    return ys[-1]


def through_helper(x, n):
    return np.sum(trajectory(x, n) ** 2)


def test_called_function_loop_scans_once_unread_saves_go():
    x = np.array([0.3, -0.2, 0.5])
    dthrough = tg.grad(through_helper, backend="jax")
    got = jax.jit(dthrough, static_argnums=1)(x, 4)
    assert dthrough.source.count("tgr.scan(") == 2, "the helper's loop was not lowered"
    assert "stack.append(ys" not in dthrough.source
    assert_close(np.asarray(got), tg.grad(through_helper)(x, 4), "helper scan", rtol=1e-9,
                 atol=1e-10)


def independent_steps(x, w):
    parts = [np.sum(np.cumprod(x * w * (i + 1.0))) ** 2 for i in range(8)]
    return np.sum(np.stack(parts))


def test_independent_iterations_run_batched():
    x, w = np.array([0.3, -0.2, 0.5, 0.9]), np.array([0.7, 1.1, -0.4, 0.2])
    dsteps = tg.grad(independent_steps, wrt=(0, 1), backend="jax")
    got = jax.jit(dsteps)(x, w)
    assert "added=True" in dsteps.source   # the adjoint loop only adds into bx and bw
    traced = str(jax.make_jaxpr(dsteps)(x, w))
    assert "scan" not in traced and "while" not in traced   # both sweeps vmapped
    for g, e in zip(got, tg.grad(independent_steps, wrt=(0, 1))(x, w)):
        assert_close(np.asarray(g), e, "batched iterations", rtol=1e-9, atol=1e-10)


def fill(x, w):
    out = np.zeros(4)
    for i in range(4):
        out[i] = np.sin(x[i] * w)   # the element's old value: a restore nothing reads
    return out


def uses_fill(x, w):
    return np.sum(fill(x, w) ** 2)


def test_element_restores_nothing_reads_are_not_saved_on_jax():
    x = np.array([0.3, -0.2, 0.5, 0.9])
    dfill = tg.grad(uses_fill, wrt=(0, 1), backend="jax")
    got = jax.jit(dfill)(x, 0.7)
    assert "copy_value(out" not in dfill.source and "tgr.set_item(out" not in \
        dfill.source.split("def fill_bwd")[1]
    for g, e in zip(got, tg.grad(uses_fill, wrt=(0, 1))(x, 0.7)):
        assert_close(np.asarray(g), e, "element restores", rtol=1e-9, atol=1e-10)


def picks(x):
    return x[0] * x[3] + np.sum(x[1:3] ** 2) * x[-1]


def test_cotangents_of_static_indexes_are_pads_not_scatters():
    x = np.array([0.3, -0.2, 0.5, 0.9, 1.3])
    dpicks = tg.grad(picks, backend="jax")
    traced = str(jax.make_jaxpr(dpicks)(x))
    assert "scatter" not in traced and "pad" in traced   # as jax.grad writes them: XLA fuses
    assert_close(np.asarray(jax.jit(dpicks)(x)), tg.grad(picks)(x), "static indexes",
                 rtol=1e-12, atol=1e-14)


def test_loop_that_cannot_scan_falls_back_to_python_loops():
    def windows(x):
        total = 0.0
        for i in range(3):
            total = total + np.sum(x[i:i + 2] ** 2)   # a slice moving with the index
        return total
    x = np.random.default_rng(6).normal(size=5)
    dwindows = tg.grad(windows, backend="jax")
    got = jax.jit(dwindows)(x)   # a scan cannot slice with a traced start
    assert_close(np.asarray(got), tg.grad(windows)(x), "fallback")
    assert "tgr.scan" not in dwindows.source   # .source is the code that ran


def test_loops_option_is_checked():
    with pytest.raises(tg.TransformError, match="loops must be"):
        tg.grad(loss, backend="jax", loops="fast")
    with pytest.raises(tg.TransformError, match="backend='jax'"):
        tg.grad(loss, loops="scan")


def test_eager_calls_run_plain_python_loops():
    args = (np.random.default_rng(8).normal(size=3), np.random.default_rng(9).normal(size=3))
    drec = tg.grad(recurrence, wrt=(0, 1), backend="jax")
    eager = drec(*map(jnp.asarray, args))   # JAX would compile a scan body on every call
    assert "tgr.scan" not in drec.source and "for " in drec.source
    jitted = jax.jit(drec)(*args)
    assert "tgr.scan" in drec.source
    for e, j in zip(eager, jitted):
        assert_close(np.asarray(e), np.asarray(j), "eager vs jit", rtol=1e-10, atol=1e-12)


def test_forward_mode_loops_become_one_scan():
    def recur(a, x):
        for i in range(200):
            x = a * np.sin(x) + 0.1 * x
        return x
    djvp = tg.jvp(recur, wrt=0, backend="jax")
    value, tangent = jax.jit(djvp)(0.9, 0.3, 1.0)
    expected = tg.jvp(recur, wrt=0)(0.9, 0.3, 1.0)
    assert_close(float(value), expected[0], "jvp value", rtol=1e-10)
    assert_close(float(tangent), expected[1], "jvp tangent", rtol=1e-9)
    assert djvp.source.count("tgr.scan(") == 1


def test_value_and_grad_on_jax():
    args = sample_net(np.random.default_rng(7))
    value, grads = jax.jit(tg.value_and_grad(loss, wrt=(0, 1), backend="jax"))(*args)
    expected_value, expected = tg.value_and_grad(loss, wrt=(0, 1))(*args)
    assert_close(float(value), expected_value, "value")
    for g, e in zip(grads, expected):
        assert_close(np.asarray(g), e, "value_and_grad on jax")


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(BINARY)), shapes=broadcast_shapes(2),
       seed=st.integers(0, 2 ** 16))
def test_binary_broadcasting_on_jax(name, shapes, seed):
    """Random broadcasting shapes: the JAX backend's jitted vjp equals the numpy backend's."""
    func, *bounds = BINARY[name]
    rng = np.random.default_rng(seed)
    args = tuple(rng.uniform(*b, s) for s, b in zip(shapes, bounds))
    cotangent = random_cotangent(func(*args))
    expected = tg.vjp(func, wrt=(0, 1))(*args, cotangent)
    got = jax.jit(tg.vjp(func, wrt=(0, 1), backend="jax"))(*args, cotangent)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g.shape == args[i].shape
        assert_close(np.asarray(g), e, f"{name} at {shapes} d/d argument {i}", rtol=1e-9,
                     atol=1e-10)


def test_cli_shows_the_jax_code():
    from tests.fixtures import userfuncs as uf
    out = subprocess.run([sys.executable, "-m", "transgrad", "show", f"{uf.__file__}:two_layer",
                          "--wrt", "0,1", "--backend", "jax"],
                         capture_output=True, text=True, check=True)
    assert out.stdout == tg.grad(uf.two_layer, wrt=(0, 1), backend="jax").source
    assert "jnp." in out.stdout


@pytest.mark.parametrize("func, nargs", [(recurrence, 2), (branchy, 1)])
def test_jax_transformations_compose_with_generated_code(func, nargs):
    """jax.jacfwd of the generated gradient (scans and lax.cond inside) is the Hessian."""
    rng = np.random.default_rng(10)
    args = tuple(rng.normal(size=3) for _ in range(nargs))
    hessian = jax.jit(jax.jacfwd(tg.grad(func, backend="jax")))(*args)
    assert_close(np.asarray(hessian), tg.hessian(func)(*args), f"{func.__name__} Hessian",
                 rtol=1e-9, atol=1e-10)


DEFAULT_PRECISION = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import jax, jax.numpy as jnp, numpy as np   # JAX's defaults: float32 (no jax_enable_x64)
    import transgrad as tg
    from precision_functions import loss, recurrence

    rng = np.random.default_rng(12)
    net = (rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(8, 3)),
           rng.normal(size=(8, 2)))
    for func, inputs in ((loss, net), (recurrence, (np.ones(3), np.ones(3) / 2))):
        got = jax.jit(tg.grad(func, wrt=(0, 1), backend="jax"))(*inputs)
        want = tg.grad(func, wrt=(0, 1))(*inputs)
        for g, w in zip(got, want):
            assert g.dtype == jnp.float32, g.dtype
            np.testing.assert_allclose(np.asarray(g), w, rtol=2e-4, atol=2e-4)
    print("float32 ok")
""")

PRECISION_FUNCTIONS = textwrap.dedent("""
    import numpy as np


    def loss(w1, w2, x, y):
        h = np.maximum(x @ w1, 0.0)
        return np.sum((h @ w2 - y) ** 2)


    def recurrence(x, w):
        for i in range(50):
            x = np.sin(x * w) * 0.9 + 0.1 * x + 0.01 * i
        return np.sum(x ** 2)
""")


def test_jax_defaults_give_float32_gradients(tmp_path):
    """Without jax_enable_x64 (JAX's default) float64 numpy inputs run, and come back, as
    float32, close to the float64 numpy gradients."""
    (tmp_path / "precision_functions.py").write_text(PRECISION_FUNCTIONS)
    result = subprocess.run([sys.executable, "-c", DEFAULT_PRECISION, str(tmp_path)],
                            capture_output=True, text=True, check=False,
                            env=dict(os.environ, JAX_PLATFORMS="cpu"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "float32 ok" in result.stdout
