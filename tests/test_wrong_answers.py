"""Regression tests for wrong answers, crashes and false refusals real programs hit (issue 10).

Every derivative is compared with central finite differences in float64 (``tests/checks``);
the refusals check the exact message and the line they name.
"""

import math
from dataclasses import dataclass

import numpy as np
import pytest

import transgrad as tg
from tests.checks import assert_close, numeric_vjp

rng = np.random.default_rng(10)
X2 = np.array([0.3, 0.7])
W23 = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])


def check_grad(f, args, wrt=0, forward=True):
    """grad, value_and_grad (and jvp along a random direction) against finite differences."""
    expected = numeric_vjp(f, args, wrt, 1.0)
    assert_close(tg.grad(f, wrt=wrt)(*args), expected, f"grad of {f.__name__}")
    value, grad = tg.value_and_grad(f, wrt=wrt)(*args)
    assert_close(value, f(*args), f"value of {f.__name__}")
    assert_close(grad, expected, f"value_and_grad of {f.__name__}")
    if forward:
        direction = rng.normal(size=np.shape(args[wrt]))
        if isinstance(args[wrt], float):
            direction = float(direction)
        _, tangent = tg.jvp(f, wrt=wrt)(*args, direction)
        assert_close(tangent, np.sum(expected * direction), f"jvp of {f.__name__}")


# ------------------------------------------ zero adjoints: values that miss the output

def overwritten_in_loop(x, w):
    for i in range(2):
        h = x @ w
    return np.sum(h)


def reshaped_in_loop(x, w):
    h = x * 1.0
    for i in range(2):
        h = (x @ w).reshape(-1)
    return np.sum(h)


def unused_on_branch_taken(x, w, c=False):
    a = x * 2.0
    b = np.outer(a, a)
    if c:
        return np.sum(b)
    return np.sum(x @ w)


def broadcast_product_in_loop(x, w):
    for i in range(3):
        h = x[:, None] * w[None, :2]
    return np.sum(h)


def stacked_list_overwritten(x, w):
    for i in range(2):
        outs = []
        for j in range(2):
            outs.append(x * w[j, :2])
        s = np.stack(outs)
    return np.sum(s)


def concatenated_before_early_return(x, w, c=True):
    outs = [x * 2.0, w[0] * x[0]]
    joined = np.concatenate(outs)
    m = joined.reshape(1, -1) @ np.ones((5, 1))
    if c:
        return np.sum(x * x)
    return np.sum(m)


def builtin_sum_of_list_unused(x, w, c=True):
    outs = []
    for j in range(2):
        outs.append(w[j] * x[j])
    total = sum(outs)
    if c:
        return np.sum(x ** 3)
    return np.sum(total)


def set_item_of_unused(x, w):
    for i in range(2):
        y = np.zeros((2, 3))
        y[0] = w[0] * x[0]
    return np.sum(x * x)


@pytest.mark.parametrize("f", [overwritten_in_loop, reshaped_in_loop, unused_on_branch_taken,
                               broadcast_product_in_loop, stacked_list_overwritten,
                               concatenated_before_early_return, builtin_sum_of_list_unused,
                               set_item_of_unused])
@pytest.mark.parametrize("wrt", [0, 1])
def test_zero_adjoint_reaches_shape_reading_rules(f, wrt):
    check_grad(f, (X2, W23), wrt=wrt)


def test_zero_adjoint_on_the_other_branch_too():
    assert_close(tg.grad(unused_on_branch_taken)(X2, W23, True),
                 numeric_vjp(lambda x: unused_on_branch_taken(x, W23, True), (X2,), 0, 1.0))


def test_zero_adjoint_is_materialized_only_where_needed():
    d = tg.grad(overwritten_in_loop)
    d(X2, W23)
    # the first iteration's h reaches nothing: its rule is skipped (no zeros, no 0 * inf)
    assert "if not tgr.unreached(bh):" in d.source
    import sys
    sys.path.insert(0, "benchmarks")
    try:
        from bench_grad import rnn_loss
    finally:
        sys.path.remove("benchmarks")
    d = tg.grad(rnn_loss, wrt=(0, 1, 2))
    d(rng.normal(size=(3, 4)), rng.normal(size=(4, 4)), rng.normal(size=4),
      rng.normal(size=(5, 3)), rng.normal(size=4))
    # every iteration's h reaches the output
    assert "shaped_zero" not in d.source and "unreached" not in d.source


# ------------------------------------------ stores with repeated indices follow numpy

def store_repeated(x):
    y = np.zeros(3)
    y[[0, 0]] = x[:2]            # numpy keeps the last write: y[0] = x[1]
    return np.sum(y * np.arange(1.0, 4.0))


def add_store_repeated(x):
    y = np.ones(3)
    y[[0, 0]] += x[:2]           # buffered: y[0] = 1 + x[1], once
    return np.sum(y * y)


def add_store_repeated_on_active(x):
    y = x * 1.0
    y[[0, 0]] += x[:2] ** 2
    return np.sum(y * y)


def store_repeated_rows(x):
    y = np.zeros((3, 2))
    y[np.array([2, 0, 2])] = np.stack([x[:2], x[1:], x[::2]])
    return np.sum(np.sin(y) * np.arange(6.0).reshape(3, 2))


def store_repeated_scalar(x):
    y = x * 2.0
    y[[1, 1, 2]] = x[0] * x[1]   # one value broadcast to three writes
    return np.sum(y ** 2)


def store_distinct(x):
    y = np.zeros(3)
    y[[2, 0]] = x[:2] ** 2
    return np.sum(y * np.arange(1.0, 4.0))


def store_mask_and_slice(x):
    y = x * 1.0
    y[x > 0.5] = x[x > 0.5] ** 2
    y[1:] += x[:2]
    return np.sum(y * y)


STORES = [store_repeated, add_store_repeated, add_store_repeated_on_active,
          store_repeated_rows, store_repeated_scalar, store_distinct, store_mask_and_slice]
X3 = np.array([0.3, 0.7, 1.1])


@pytest.mark.parametrize("f", STORES)
def test_stores_with_repeated_indices_follow_numpy(f):
    check_grad(f, (X3,))


def test_repeated_store_gives_the_overwritten_write_zero():
    assert_close(tg.grad(store_repeated)(X3), np.array([0.0, 1.0, 0.0]))
    assert_close(tg.grad(add_store_repeated)(X3), np.array([0.0, 2 * (1 + X3[1]), 0.0]))


@pytest.mark.parametrize("f", STORES)
def test_stores_with_repeated_indices_on_jax(f):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    expected = numeric_vjp(f, (X3,), 0, 1.0)
    d = tg.value_and_grad(f, backend="jax")
    # a boolean mask needs concrete values: traced under jit it is a located refusal
    for run in (d,) if f is store_mask_and_slice else (d, jax.jit(d)):
        value, grad = run(jax.numpy.asarray(X3))
        assert_close(np.asarray(value), f(X3))
        assert_close(np.asarray(grad), expected)


def test_second_derivatives_through_repeated_stores():
    v = np.array([0.2, -0.4, 0.5])
    expected = (tg.grad(add_store_repeated_on_active)(X3 + 1e-6 * v)
                - tg.grad(add_store_repeated_on_active)(X3 - 1e-6 * v)) / 2e-6
    assert_close(tg.hvp(add_store_repeated_on_active)(X3, v), expected, rtol=1e-4)


# ------------------------------------------ every reverse rule has a forward twin

# reverse rules with no forward rule, each with the reason (none at present)
NO_FORWARD_RULE = {}


def test_every_reverse_rule_has_a_forward_twin():
    from transgrad.rules import all_rules
    from transgrad.rules.forward import forward_kind
    missing = sorted({rule.name for rule in all_rules() if not rule.user
                      for primitive in rule.primitives
                      if forward_kind(primitive) is None} - set(NO_FORWARD_RULE))
    assert not missing, f"reverse rules without a forward rule: {missing}"


def math_functions(x):
    return (math.atanh(x / 2.0) + math.asinh(x) + math.acosh(x + 1.5) + math.log10(x + 1.0)
            + math.log2(x + 1.0))


def float_in_condition_and_value(x):
    s = float(np.sum(x))
    if float(x[0]) > 0.0:
        s = s * 2.0
    return s * x[1]


@pytest.mark.parametrize("f, arg", [(math_functions, 0.4),
                                    (float_in_condition_and_value, np.array([0.3, 0.7])),
                                    (float_in_condition_and_value, np.array([-0.3, 0.7]))])
def test_math_and_float_rules_in_both_modes(f, arg):
    check_grad(f, (arg,))


# ------------------------------------------ aliasing: numbers are values, lists are shared

def number_second_name(x):
    a = float(np.sum(x))
    s = a
    s += 2.0
    return s * a + np.sum(x)


def unpacked_number(x):
    d, e = (1.0, np.cos(1.0))
    e *= 0
    return np.sum(x) * e + d * np.sum(x)


def unpacked_fresh_arrays(x):
    d, c = x * 2.0, x * 3.0
    c += 1.0
    return np.sum(d * c)


def swapped_in_loop(x):
    e = np.sum(x)
    s = 2.0 * e
    for i in range(3):
        e, s = s, e
        s += 1.0
    return e * s


def accumulator_in_branch(x):
    acc = 0.0
    if x[0] > 0.0:
        acc *= 1.0
    acc += np.sum(x)
    return acc * acc


def augmented_with_conditional(x, c=True):
    o = x * 1.0
    o += (o if c else -o) / 2.0
    return np.sum(o * o)


def early_return_accumulator(x):
    total = 0.0
    for i in range(3):
        total += x[i] * x[i]
        if total > 0.5:
            return total
    return total


def list_of_ints_stored(x):
    r = [1, 2, 3]
    n = 1
    r0 = r[n]
    r[n] = 5
    return np.sum(x) * r0 * r[n]


def early_return_element_or_accumulator(x):
    m = np.outer(x, x)
    if x[0] > 5.0:
        return m[0, 0]
    acc = 0.0
    for i in range(2):
        acc += m[i, i]
    return acc


def fancy_copy_updated(x):
    v = x[[0, 1]]
    v += 1.0
    return np.sum(x * x) + np.sum(v * v)


def list_copies_appended(x):
    a = [x * 2.0]
    b = list(a)
    b.append(x * 3.0)
    c = a[:]
    c.append(x * 4.0)
    d = a.copy()
    d.append(x * 6.0)
    a.append(x * 5.0)
    return np.sum(np.stack(a) * np.stack(b) * np.stack(c) * np.stack(d))


def held_then_rebound(x):
    h = x * 1.0
    outs = []
    for i in range(2):
        outs.append(h)
        h = h * 2.0
    h += 1.0
    return np.sum(np.stack(outs)) + np.sum(h * h)


@pytest.mark.parametrize("f", [number_second_name, unpacked_number, unpacked_fresh_arrays,
                               swapped_in_loop, accumulator_in_branch,
                               augmented_with_conditional, early_return_accumulator,
                               list_of_ints_stored, early_return_element_or_accumulator,
                               fancy_copy_updated, list_copies_appended, held_then_rebound])
def test_no_false_refusal_where_nothing_is_shared(f):
    check_grad(f, (X3,))


def appended_through_second_name(x):
    a = []
    b = a
    b.append(x * 2.0)
    a.append(x * 3.0)
    return np.sum(np.stack(a) * np.array([[1.0], [10.0]]))


def view_updated_then_base_read(x):
    v = x[1:]
    v += 1.0
    return np.sum(x * x)


def base_updated_then_reshape_read(x):
    y = x * 1.0
    v = y.reshape(3, 1)
    y += 1.0
    return np.sum(v)


def transpose_updated(x):
    y = np.outer(x, x)
    v = y.T
    v *= 2.0
    return np.sum(y)


def held_array_updated(x):
    h = x * 1.0
    outs = []
    for i in range(2):
        outs.append(h)
        h += 1.0
    return np.sum(np.stack(outs))


def swap_of_arrays_updated(x):
    e = x * 1.0
    s = e
    e, s = s, e
    s += 1.0
    return np.sum(e * s)


@pytest.mark.parametrize("f, line, words", [
    (appended_through_second_name, "b = a",
     ["`b` is changed in place by `.append`", "`a` is the same list", "`b = list(a)`"]),
    (view_updated_then_base_read, "v = x[1:]",
     ["`v` is updated in place by an augmented assignment", "`x` shares its memory"]),
    (base_updated_then_reshape_read, "v = y.reshape(3, 1)", ["`y` is updated", "`v`"]),
    (transpose_updated, "v = y.T", ["`v` is updated", "`y`"]),
    (held_array_updated, "outs.append(h)", ["`h` is updated", "`outs` holds it"]),
    (swap_of_arrays_updated, "e, s = s, e", ["`s` is updated", "`e`"])])
def test_real_sharing_is_refused_naming_the_users_variables(f, line, words):
    import inspect
    with pytest.raises(tg.TransformError) as info:
        tg.grad(f)(X3)
    error = info.value
    lines, first = inspect.getsourcelines(f)
    assert error.lineno == first + next(k for k, text in enumerate(lines) if line in text)
    for word in words:
        assert word in str(error) or word in (error.hint or ""), (word, str(error))
    assert not any(f"`{t}`" in str(error) for t in ("t1", "t2", "result1", "a_1", "b_1"))


# ------------------------------------------ gradients with respect to user objects

class Dense:
    def __init__(self, w, b):
        self.w = w
        self.b = b
        self.name = "dense"        # not a number: no gradient, kept as it is

    def forward(self, x):
        return np.tanh(x @ self.w + self.b)


def dense_loss(layer, x):
    return np.sum(layer.forward(x) ** 2)


def dense_fields_loss(layer, x):
    return np.sum(layer.w * x[0][:, None]) + np.sum(layer.b ** 2)


@dataclass
class Scaled:
    w: np.ndarray
    scale: float = 2.0

    @property
    def scaled(self):
        return self.w * self.scale

    def energy(self, x):
        return np.sum((x @ self.scaled) ** 2)


def scaled_loss(p, x):
    return p.energy(x) + np.sum(p.scaled)


def _object_fd(f, obj, x, names):
    """Finite differences of f with respect to each named attribute of obj."""
    import copy
    grads = {}
    for attr in names:
        value = getattr(obj, attr)

        def along(v, attr=attr):
            moved = copy.copy(obj)
            setattr(moved, attr, v)
            return f(moved, x)
        grads[attr] = numeric_vjp(along, (value,), 0, 1.0)
    return grads


@pytest.mark.parametrize("f, make, names", [
    (dense_loss, lambda: Dense(rng.normal(size=(3, 2)), rng.normal(size=2)), ("w", "b")),
    (dense_fields_loss, lambda: Dense(rng.normal(size=(3, 2)), rng.normal(size=2)),
     ("w", "b")),
    (scaled_loss, lambda: Scaled(rng.normal(size=(3, 2)), 1.5), ("w", "scale"))])
def test_gradient_with_respect_to_a_user_object(f, make, names):
    obj, x = make(), rng.normal(size=(4, 3))
    grad = tg.grad(f)(obj, x)
    assert type(grad) is type(obj)
    expected = _object_fd(f, obj, x, names)
    for attr in names:
        assert_close(getattr(grad, attr), expected[attr], f"{f.__name__}.{attr}")
    if isinstance(obj, Dense):
        assert grad.name == "dense"


class Tripled(Scaled):
    @property
    def scaled(self):
        return self.w * 3.0


def test_a_subclass_overriding_a_property_is_refused_not_misread():
    obj = Tripled(rng.normal(size=(3, 2)))
    with pytest.raises(tg.TransformError, match="overrides the property `scaled`"):
        tg.grad(scaled_loss)(obj, rng.normal(size=(4, 3)))


# ------------------------------------------ a nested function without `return`

def appends_through_helper(x):
    outs = []

    def add(v):
        outs.append(v * 2.0)

    add(x)
    add(x * x)
    return np.sum(np.stack(outs))


def helper_returns_on_one_path(x):
    def pick(v, flag):
        if flag:
            return v * 3.0

    a = pick(x, True)
    b = pick(x, False)
    return np.sum(a) + (0.0 if b is None else 1.0)


@pytest.mark.parametrize("f", [appends_through_helper, helper_returns_on_one_path])
def test_nested_function_without_return(f):
    check_grad(f, (X2,))


# ------------------------------------------ the mean of an empty array

def mean_of_empty(x):
    return np.mean(x[:0]) * 0.0 + np.sum(x)


def mean_of_empty_axis(x):
    return np.sum(np.mean(x[:, :0], axis=1)) + np.sum(x * x)


def test_mean_of_an_empty_array_follows_numpy():
    import warnings
    x = np.ones((2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # numpy's: mean of an empty slice
        assert_close(tg.grad(mean_of_empty_axis)(x), 2 * x)
        assert_close(tg.grad(mean_of_empty)(x), np.ones((2, 3)))
        value, grad = tg.value_and_grad(mean_of_empty)(np.ones(0))
        assert np.isnan(value) and grad.shape == (0,)
        value, tangent = tg.jvp(mean_of_empty)(x, np.ones((2, 3)))
        assert np.isnan(value) and np.isnan(tangent)   # as numpy: nan * 0.0 is nan


def tanh_overwritten_in_loop(x, w):
    for i in range(2):
        h = np.tanh(x @ w)
    return np.sum(h ** 2) + np.sum(x ** 3)


def sine_unused_on_branch_taken(x, w, c=False):
    a = np.sin(x)
    b = np.outer(a, a)
    if c:
        return np.sum(b)
    return np.sum(np.tanh(x @ w))


@pytest.mark.parametrize("f", [tanh_overwritten_in_loop, sine_unused_on_branch_taken])
def test_second_derivatives_through_zero_adjoints(f):
    v = np.array([0.2, -0.4])
    expected = (tg.grad(f)(X2 + 1e-6 * v, W23) - tg.grad(f)(X2 - 1e-6 * v, W23)) / 2e-6
    assert_close(tg.hvp(f)(X2, W23, v), expected, rtol=1e-4)
    assert_close(tg.jacrev(tg.grad(f))(X2, W23) @ v, expected, rtol=1e-4)


def _doubled(a):
    return a * 2.0


def _same(a, flag=True):
    if flag:
        return a
    return a * 1.0


def fresh_helper_result_updated(x):
    y = _doubled(x)
    y += 1.0
    return np.sum(x * y)


def helper_may_return_its_argument(x):
    y = x * 1.0
    z = _same(y)
    z += 1.0
    return np.sum(y * z)


def test_user_functions_returning_new_arrays_share_nothing():
    check_grad(fresh_helper_result_updated, (X3,))
    with pytest.raises(tg.TransformError, match="`z` is updated in place"):
        tg.grad(helper_may_return_its_argument)(X3)


def vector_elements_updated(x):
    total = x * 1.0
    for v in total:
        v *= 2.0          # an element of a vector is a number: total does not change
    return np.sum(total * x)


def test_elements_of_a_vector_are_numbers():
    check_grad(vector_elements_updated, (X3,))


def rows_unpacked(x, w):
    u, v = x                 # the rows of a matrix
    return np.sum(u * v) + np.sum(x ** 2)


def sum_of_list_after_early_return(x, w, c=False):
    u1 = np.mean(x)
    u2, u3 = x
    for i in range(1, 3):
        if c:
            return np.sum(u2)
    hs = []
    for i in range(2):
        hs.append(u1 * w[0, 0])
    return sum(hs)


@pytest.mark.parametrize("f", [rows_unpacked, sum_of_list_after_early_return])
def test_unpacked_rows_and_lists_summed_after_a_branch(f):
    x = rng.normal(size=(2, 3))
    check_grad(f, (x, W23))
    assert_close(tg.hvp(f)(x, W23, np.ones((2, 3))),
                 (tg.grad(f)(x + 1e-6, W23) - tg.grad(f)(x - 1e-6, W23)) / 2e-6, rtol=1e-4)


def test_jax_store_with_repeated_index_keeps_numpys_last_write_on_any_device():
    jax = pytest.importorskip("jax")
    from transgrad.backends import jax_runtime
    set_item = jax_runtime.module.set_item
    got = set_item(jax.numpy.zeros(3), np.array([0, 0, 2]), jax.numpy.array([1.0, 2.0, 3.0]))
    assert np.asarray(got).tolist() == [2.0, 0.0, 3.0]
    rows = np.arange(6.0).reshape(3, 2)
    expected = np.zeros((3, 2))
    expected[np.array([1, 1]), :] = rows[:2]
    got = set_item(jax.numpy.zeros((3, 2)), (np.array([1, 1]), slice(None)),
                   jax.numpy.asarray(rows[:2]))
    assert np.asarray(got).tolist() == expected.tolist()


# ------------------------------------------ a path not taken must not poison the gradient

def overflow_on_a_path_not_taken(x, w):
    for i in range(4):
        w = w ** 3 * w ** 2         # w ** 625: inf in the last steps where |w| > 4 or so
    if np.sum(x) > 0.0:
        return np.sum(x * x)        # taken: w reaches nothing
    return np.sum(w)


def test_overflow_on_a_path_not_taken_gives_zero_not_nan():
    """The loop's adjoint would multiply a zero adjoint by inf (nan); jax.grad, which traces
    only the path taken, gives 0 there, and so does transgrad."""
    x, w = np.array([0.5, 1.0]), np.array([0.5, 40.0])
    with np.errstate(over="ignore", invalid="ignore"):
        assert tg.grad(overflow_on_a_path_not_taken, wrt=1)(x, w).tolist() == [0.0, 0.0]
        assert_close(tg.grad(overflow_on_a_path_not_taken)(x, w), 2 * x)
        assert tg.hvp(overflow_on_a_path_not_taken, wrt=1)(x, w, np.ones(2)).tolist() \
            == [0.0, 0.0]
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def twin(x, w):
        for i in range(4):
            w = w ** 3 * w ** 2
        return jnp.sum(x * x) if np.sum(x) > 0.0 else jnp.sum(w)
    assert np.asarray(jax.grad(twin, 1)(x, w)).tolist() == [0.0, 0.0]


# ------------------------------------------ `a + b` of two lists held in names concatenates

def lists_in_names_added(x):
    a = [x[0] * 2.0]
    b = [x[2] * 3.0]
    c = a + b                    # [2 x0, 3 x2], not an elementwise sum
    return c[0] * c[1]


def lists_appended_in_a_loop_added(x):
    a = []
    b = []
    for i in range(2):
        a.append(x[i] * 1.0)
        b.append(x[i + 1] * 2.0)
    c = a + b
    return c[0] * c[3] + c[1]


def tuples_in_names_added(x):
    a = (x[0] * 2.0, x[1])
    b = (x[2],)
    c = a + b
    return c[0] * c[2] + c[1]


def _two_items(x):
    return [x[0] * 2.0, x[1]]


def helpers_list_added(x):
    a = _two_items(x)            # a helper returning a list
    b = [x[2]]
    c = a + b
    d = b + a
    return c[0] * c[2] + d[2] * d[0]


def rows_of_a_list_of_lists_added(x):
    rows = [[x[0] * 2.0], [x[1], x[2]]]
    c = rows[0] + rows[1]        # elements of a list of lists are lists
    return c[0] * c[2] + c[1]


def list_grown_in_a_loop_added_to_itself(x):
    acc = []
    for i in range(3):
        acc = acc + [x[i] * (i + 1.0)]
    more = acc
    both = acc + more
    return both[0] * both[5] + both[1]


def arrays_in_names_added(x):
    a = x * 2.0
    b = x[::-1] * 1.0
    return np.sum(a + b)


@pytest.mark.parametrize("f", [lists_in_names_added, lists_appended_in_a_loop_added,
                               tuples_in_names_added, helpers_list_added,
                               rows_of_a_list_of_lists_added,
                               list_grown_in_a_loop_added_to_itself, arrays_in_names_added])
def test_plus_of_sequences_in_names_concatenates(f):
    """Python's `+` of two lists or tuples concatenates; the rule of array `+` would give
    `[7.8, 0, 11.7]` for `[6.6, 0, 1.8]` (lists_in_names_added)."""
    x = np.array([0.3, -0.7, 1.1])
    check_grad(f, (x,))
    if f is lists_in_names_added:
        assert_close(tg.grad(f)(x), np.array([6 * x[2], 0.0, 6 * x[0]]))


def test_plus_of_arrays_in_names_stays_arithmetic():
    assert "add_or_concatenate" not in tg.grad(arrays_in_names_added).source
    assert "add_or_concatenate" in tg.grad(lists_in_names_added).source


# ------------------------------------------ np.where whose condition alone varies

def where_on_a_float_condition(x):
    c = x * 1.0                      # a float array used as the condition: it has a tangent
    return np.sum(np.where(c, 2.0, 3.0) * x)


def test_forward_mode_where_whose_condition_alone_varies():
    """The rule gives nothing for the condition: the result's tangent is zero, not None (fuzz
    seed 800084: hvp crashed in ast.py on `tgr.broadcast_tangent(None, t9)`)."""
    x = np.array([0.3, 0.0, -1.1])
    _, tangent = tg.jvp(where_on_a_float_condition)(x, np.array([1.0, 1.0, 1.0]))
    assert_close(tangent, 2.0 + 3.0 + 2.0)


# ------------------------------------------ nested tuple literals unpacked

def nested_literal_unpacked(x):
    a, (b, c) = x[0] * 2.0, (x[1], x[2] * 3.0)
    return a * b + c


def nested_literal_swapped(x):
    a, b, c = x[0] * 1.0, x[1] * 1.0, x[2] * 1.0
    a, (b, c) = b, (c, a)
    return a * 2.0 + b * 3.0 * c


def nested_pairs_in_a_loop(x):
    pairs = [(x[0], (x[1], x[2])), (x[2], (x[0], x[1]))]
    s = 0.0
    for a, (b, c) in pairs:
        s = s + a * b - c
    return s


def nested_starred_rest(x):
    a, *rest = x[0] * 1.0, (x[1], x[2]), x[2]
    (b, c), d = rest
    return a * b * c * d


@pytest.mark.parametrize("f", [nested_literal_unpacked, nested_literal_swapped,
                               nested_pairs_in_a_loop, nested_starred_rest])
def test_nested_tuple_literals_unpacked(f):
    """`a, (b, c) = x, (y, z)` and its kin (the reverse pass once failed on a nested tuple
    literal unpacked: 'cannot broadcast a non-scalar to a scalar array')."""
    check_grad(f, (np.array([0.3, -0.7, 1.1]),))
    assert_close(tg.hvp(f)(np.array([0.3, -0.7, 1.1]), np.ones(3)),
                 tg.jvp(tg.grad(f))(np.array([0.3, -0.7, 1.1]), np.ones(3))[1])
