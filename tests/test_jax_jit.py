"""The JAX backend under ``jax.jit`` on the constructs real programs use (issue 11): values
that depend only on shapes and constants stay static, branches and loops of called functions
lower to ``lax.cond``/``lax.scan``, builtin ``sum`` of an array, ``while`` loops on traced
values. Each derivative is checked under ``jax.jit`` against ``jax.grad``/``jax.jvp`` of the
same function written on ``jax.numpy`` and against the numpy backend (float64)."""

import numpy as np
import pytest

import transgrad as tg
from tests import checks

pytestmark = pytest.mark.skipif(not checks.HAVE_JAX, reason="JAX is not installed")
jax, jnp = checks.jax, checks.jnp

X = np.array([0.3, -0.2, 0.5, 0.9])


def close(got, want, tol=1e-10):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=tol, atol=tol)


# --- 1. values that depend only on shapes and constants stay static ---------------------------

def pairs(x):
    d = x.shape[0]
    cols = np.repeat(np.arange(d - 1), np.arange(d - 1, 0, -1))
    rows = np.concatenate([np.arange(c + 1, d) for c in range(d - 1)])
    return np.sum(x[rows] * x[cols] ** 2) + len(x) * np.sum(np.tile(x, 2)[: 2 * d - 1])


def pairs_jnp(x):
    d = x.shape[0]
    cols = np.repeat(np.arange(d - 1), np.arange(d - 1, 0, -1))
    rows = np.concatenate([np.arange(c + 1, d) for c in range(d - 1)])
    return jnp.sum(x[rows] * x[cols] ** 2) + len(x) * jnp.sum(jnp.tile(x, 2)[: 2 * d - 1])


def test_index_arrays_from_shapes_stay_static():
    grad = tg.grad(pairs, backend="jax")
    close(jax.jit(grad)(X), jax.grad(pairs_jnp)(X))
    close(jax.jit(grad)(X), tg.grad(pairs)(X))
    assert "np.repeat(" in grad.source and "jnp.repeat(" not in grad.source


def lower_rows(x, d):
    """A helper given its size as an argument (GradBench's gmm): the argument's kind is
    known only when it is called."""
    cols = np.repeat(np.arange(d - 1), np.arange(d - 1, 0, -1))
    return x[cols]


def uses_helper(x):
    return np.sum(lower_rows(x, x.shape[0]) ** 2)


def uses_helper_jnp(x):
    d = x.shape[0]
    return jnp.sum(x[np.repeat(np.arange(d - 1), np.arange(d - 1, 0, -1))] ** 2)


def test_sizes_passed_to_a_called_function_stay_static():
    grad = tg.grad(uses_helper, backend="jax")
    close(jax.jit(grad)(X), jax.grad(uses_helper_jnp)(X))
    close(jax.jit(grad)(X), tg.grad(uses_helper)(X))
    from transgrad import pipeline   # numpy when no argument is a JAX array, else jax.numpy
    assert "tgr.np.repeat(" in pipeline.split(lower_rows, (0,), "jax", loops="scan").source


def sized(x, n):
    counts = np.zeros(n, dtype=int)
    counts[0] = 2   # a store of static values into a static array: a numpy copy
    counts[1:] = 1
    return np.sum(np.repeat(x[:n], counts) ** 2)


def test_python_number_argument_and_static_stores():
    grad = jax.jit(tg.grad(sized, backend="jax"), static_argnums=1)
    want = jax.grad(lambda x: jnp.sum(jnp.repeat(x[:3], np.array([2, 1, 1])) ** 2))(X)
    close(grad(X, 3), want)
    close(grad(X, 3), tg.grad(sized)(X, 3))
    close(tg.grad(sized, backend="jax")(X, 3), want)


# --- 2. branches and loops inside called functions lower like top-level ones ------------------

def step(x, y):
    if np.sum(x) > 0:
        y = y * np.sin(x)
    else:
        y = y + x
    for _ in range(3):
        y = y * 1.5 + x
    return y


def calls_step(x):
    return np.sum(step(x, 2.0 * x))


def calls_step_jnp(x):
    y = 2.0 * x
    y = jnp.where(jnp.sum(x) > 0, y * jnp.sin(x), y + x)
    for _ in range(3):
        y = y * 1.5 + x
    return jnp.sum(y)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_branch_and_loop_in_called_function_reverse(sign):
    x = sign * np.abs(X)
    grad = jax.jit(tg.grad(calls_step, backend="jax"))
    close(grad(x), jax.grad(calls_step_jnp)(x))
    close(grad(x), tg.grad(calls_step)(x))


def test_called_function_halves_are_lowered():
    from transgrad import pipeline
    source = pipeline.split(step, (0, 1), "jax", loops="scan").source
    assert "tgr.cond(" in source and "tgr.scan(" in source
    assert "stack" not in source   # the tape holds the scans' stacks, not a Python list


def test_branch_and_loop_in_called_function_forward():
    jvp = jax.jit(tg.jvp(calls_step, backend="jax"))
    t = np.array([1.0, 0.5, -0.25, 2.0])
    value, tangent = jvp(X, t)
    want_value, want_tangent = jax.jvp(calls_step_jnp, (X,), (t,))
    close(value, want_value)
    close(tangent, want_tangent)
    close(tangent, tg.jvp(calls_step)(X, t)[1])


# --- 3. builtin sum of an array -------------------------------------------------------------

def rows_sum(x):
    return np.sum(sum(x * x) * np.arange(1.0, 3.0)) + sum([x[0, 0], x[1, 1]])


def test_builtin_sum_of_array_and_list():
    x = np.arange(1.0, 7.0).reshape(3, 2) / 7.0
    want = jax.grad(lambda x: jnp.sum(jnp.sum(x * x, axis=0) * jnp.arange(1.0, 3.0))
                    + x[0, 0] + x[1, 1])(x)
    close(jax.jit(tg.grad(rows_sum, backend="jax"))(x), want)
    close(tg.grad(rows_sum)(x), want)


# --- 4. while loops on traced values --------------------------------------------------------

def grow(x):
    while np.sum(x * x) < 10.0:
        x = x * 1.5 + 0.1
    return x


def grow_jnp(x):
    return jax.lax.while_loop(lambda y: jnp.sum(y * y) < 10.0, lambda y: y * 1.5 + 0.1, x)


def partial_sum(x, n):
    i = 0
    s = 0.0
    while i < n:
        s = s + x[i] ** 2
        i = i + 1
    return s


def test_while_on_traced_value_is_a_while_loop_in_forward_mode():
    t = np.array([1.0, 0.5, -0.25, 2.0])
    jvp = jax.jit(tg.jvp(grow, backend="jax"))
    assert "tgr.while_loop(" in tg.jvp(grow, backend="jax").source
    for got, want in zip(jvp(X, t), jax.jvp(grow_jnp, (X,), (t,))):
        close(got, want)
    close(jvp(X, t)[1], tg.jvp(grow)(X, t)[1])
    # a traced bound, the index dynamic
    value, tangent = jax.jit(tg.jvp(partial_sum, backend="jax"))(X, 3, t)
    close(value, np.sum(X[:3] ** 2))
    close(tangent, np.sum(2 * X[:3] * t[:3]))


def test_reverse_through_a_while_whose_steps_save_nothing():
    """The adjoint of ``x = x * 1.5 + 0.1`` reads no saved value: the primal loop is a
    ``lax.while_loop`` counting its steps, the adjoint a ``fori_loop`` over that count (the
    shape ``tgr.match`` reads is the loop's entry value, saved once)."""
    for f in (lambda x: np.sum(grow(x)), sum_grown):
        grad = tg.grad(f, backend="jax")
        close(jax.jit(grad)(X), tg.grad(f)(X))
    assert "tgr.repeat(" in grad.source and "stack" not in grad.source


def sum_grown(x):
    while np.sum(x * x) < 10.0:
        x = x * 1.5 + 0.1
    return np.sum(x)


def square_up(x):
    while np.sum(x * x) < 10.0:
        x = x * x + 0.5
    return x


def test_reverse_through_traced_while_is_refused_with_a_bound_hint():
    grad = jax.jit(tg.grad(lambda x: np.sum(square_up(x)), backend="jax"))
    with pytest.raises(tg.TransformError) as caught:
        grad(X)
    assert "max_steps" in caught.value.hint and "tg.checkpoint" in caught.value.hint
    assert "forward mode" in caught.value.hint
    assert caught.value.lineno == square_up.__code__.co_firstlineno + 1   # the while line
    # concrete values run the Python loop
    close(tg.grad(lambda x: np.sum(square_up(x)), backend="jax")(X),
          tg.grad(lambda x: np.sum(square_up(x)))(X))


def descend(w, x):
    """A solver's loop (``while True`` with breaks, branching on a value that depends on
    ``w``) that no derivative flows through: only the value after it carries one."""
    fx = np.sum(w * x * x)
    while True:
        if np.sum(x * x) < 0.01:
            break
        x_new = x * 0.5
        if np.sum(w * x_new * x_new) > fx:
            break
        x = x_new
    return np.sum(w * x) * 3.0


def test_reverse_past_a_while_no_derivative_flows_through():
    grad = tg.grad(descend, backend="jax")
    x = np.array([1.0, 2.0, -0.5, 0.25])
    close(jax.jit(grad)(X, x), tg.grad(descend)(X, x))
    assert "tgr.while_loop(" in grad.source and "stack" not in grad.source


def halve_until(x):
    """``while True`` with a break in the middle, a name only the loop binds, read after."""
    y = None
    while True:
        y = x * 0.5
        if np.sum(y * y) < 1.0:
            break
        x = y + 0.1 * np.sin(y)
    return np.sum(y ** 2)


def test_while_true_with_break_is_a_while_loop_in_forward_mode():
    t = np.array([1.0, 0.5, -0.25, 2.0])
    x = 3.0 * X + 1.0
    jvp = tg.jvp(halve_until, backend="jax")
    for got, want in zip(jax.jit(jvp)(x, t), tg.jvp(halve_until)(x, t)):
        close(got, want)
    assert "tgr.while_loop(" in jvp.source and "break" not in jvp.source


def grow_bounded(x):
    while tg.checkpoint(np.sum(x * x) < 10.0, snapshots=2, max_steps=20):
        x = x * 1.5 + 0.1
    return np.sum(x)


def test_reverse_through_while_with_the_bound_the_hint_names():
    grad = jax.jit(tg.grad(grow_bounded, backend="jax"))
    close(grad(X), tg.grad(lambda x: np.sum(grow(x)))(X))


# --- 5. a derivative on JAX differentiated again ----------------------------------------------

def cost(points, centers):
    d2 = np.sum((points[:, None, :] - centers[None, :, :]) ** 2, axis=2)
    return np.sum(np.min(d2, axis=1))


def test_jvp_of_a_jax_gradient_under_jit():
    """GradBench kmeans' ``dir``: ``tg.jvp`` of a ``backend="jax"`` gradient of a lambda over
    a traced closure value, all under ``jax.jit``: the inner derivative is differentiated as
    its numpy code and lowered again."""
    points = np.array([[0.0, 1.0], [2.0, 0.5], [1.5, 1.5], [-1.0, 0.0], [0.3, -0.7]])
    centers = np.array([[0.1, 0.2], [1.9, 1.1]])

    @jax.jit
    def direction(points, centers):
        f_diff = tg.grad(lambda cs: cost(points, cs), backend="jax")
        d, hes = tg.jvp(f_diff, backend="jax")(centers, jnp.ones(centers.shape))
        return d / hes

    f_diff = tg.grad(lambda cs: cost(points, cs))
    d, hes = tg.jvp(f_diff)(centers, np.ones(centers.shape))
    close(direction(points, centers), d / hes)


# --- a scatter over the whole array, then a reverse: XLA aborts the process ------------------

WHOLE_ARRAY_SCATTER = """
import sys, warnings
import numpy as np, jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
import transgrad as tg
from tests.fuzz import check as C

def flipped_column(w):          # adjoint: add_at(zeros, (:, None), g), then add_at(zeros, ::-1)
    return np.sum(w[::-1][:, None] * w[:, None])

def flipped_column_jnp(w):
    return jnp.sum(w[::-1][:, None] * w[:, None])

def whole_store(w):             # y[:] = ... and its adjoint by[:] = 0, then a reverse
    y = w * 2
    y[:] = y * w
    y[0:3] += np.sin(w)
    return np.sum(y[::-1] * w)

w = np.array([0.3, -1.2, 0.7])
got = jax.jit(tg.grad(flipped_column, backend="jax"))(w)
np.testing.assert_allclose(np.asarray(got), jax.grad(flipped_column_jnp)(w), rtol=1e-12)
got = jax.jit(tg.grad(whole_store, backend="jax"))(w)
np.testing.assert_allclose(np.asarray(got), tg.grad(whole_store)(w.copy()), rtol=1e-12)
for method in ("set", "add", "subtract", "multiply", "divide", "power", "min", "max"):
    tgr = tg.backends.jax_runtime.module
    f = jax.jit(lambda a: tgr.update_at(a, slice(None), method, 1.5)[::-1])
    want = getattr(jnp.arange(1.0, 4.0).at[:], method)(1.5)[::-1]
    np.testing.assert_array_equal(np.asarray(f(jnp.arange(1.0, 4.0))), np.asarray(want))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    with open("tests/fixtures/fuzz_seed_2204060.py") as program:
        result = C.check_source(program.read(), [[3, 3], [3], 1], 2204060,
                                modes=("jax_jit",), twin=False)
print("fuzz seed 2204060:", result.outcome, result.modes["jax_jit"].cls)
"""


def test_scatter_over_the_whole_array_then_a_reverse_compiles(tmp_path):
    """Fuzz seed 2204060 (jax_jit) killed the interpreter: XLA rewrites a scatter that covers
    the whole array (``x.at[:].add(v)``, the adjoint of ``w[:, None]``) into a ``map``, and
    its algebraic simplifier aborts on ``reverse`` of a ``map`` ("Invalid binary instruction
    opcode map"); ``jax.jit(lambda a: a.at[:].add(1.0)[::-1])`` alone does it. The JAX
    runtime writes such an update elementwise (``jax_runtime._at``). Run in a child process:
    the old code aborts it."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = tmp_path / "whole_array_scatter.py"     # a file: transgrad reads the source
    script.write_text(WHOLE_ARRAY_SCATTER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         check=False, cwd=root, env=env, timeout=600)
    assert run.returncode == 0, (run.returncode, run.stderr[-3000:])
    assert "fuzz seed 2204060: ok ok" in run.stdout, run.stdout + run.stderr[-2000:]


@pytest.mark.parametrize("index", [slice(None), (slice(None), None), Ellipsis, slice(0, 7),
                                   slice(-3, None), slice(1, None), slice(None, None, -1),
                                   (0, slice(None)), np.array([2, 0, 2])])
@pytest.mark.parametrize("method", ["set", "add", "multiply", "divide"])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.filterwarnings("ignore:scatter inputs have incompatible types")
def test_whole_array_updates_match_jax_at(index, method, dtype):
    """The elementwise form gives what ``.at[index].<method>`` gives: values, dtype, shape
    (eagerly: each operation compiled alone is not the pattern XLA aborts on)."""
    from transgrad.backends.jax_runtime import _at, _selects_all
    shape = (1, 3) if isinstance(index, tuple) and index[0] == 0 else (3,)
    target = jnp.asarray(np.arange(1, 4).reshape(shape), dtype=dtype)
    for value in (2.5, np.array([0.5, 2.0, -1.0])[: len(range(3)[index])]
                  if isinstance(index, slice) else 2.5):
        want = getattr(target.at[index], method)(value)
        got = _at(target, index, method, value)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert _selects_all(shape, index) == (
        not isinstance(index, np.ndarray) and index not in (slice(1, None),
                                                            slice(None, None, -1)))
