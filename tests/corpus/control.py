"""Branches and loops: if/elif/else, conditional expressions, and/or/not, early returns,
for over ranges and sequences (enumerate, zip, reversed), nested loops, while, break, continue.

A branch on a runtime value is checked on both sides: the function is registered a second time
under another name (``variant``) with sample inputs that take the other side. Sample points stay
well away from where a condition switches, so finite differences never cross it. Functions that
branch on a traced value (``if np.sum(x) > 0``) cannot run under ``jax.grad`` and say
``jax=False``; branches on Python flags, shapes and loop counters run on JAX too.
"""

import types

import numpy as np

from transgrad.rules.specs import A, P, S, U

from . import corpus_function


def variant(func, suffix, *args, **options):
    """Register ``func`` again as ``<name>_<suffix>`` with other sample inputs.

    The copy shares the code (so transgrad reads the same source) under its own name, so both
    sides of a branch get their own test ids.
    """
    copy = types.FunctionType(func.__code__, func.__globals__, f"{func.__name__}_{suffix}",
                              func.__defaults__, func.__closure__)
    copy.__qualname__ = copy.__name__
    copy.__kwdefaults__ = func.__kwdefaults__
    corpus_function(*args, **options)(copy)
    return copy


def _shifted(shift, *shape):
    """A maker of one array of ``shape`` whose entries all lie at ``shift`` +- 0.5."""
    return lambda rng: (rng.uniform(-0.5, 0.5, shape) + shift,)


# ---------------------------------------------------------------- branches on Python flags

@corpus_function(A(4), True, wrt=0)
def flag_branch(x, use_sin):
    if use_sin:
        y = np.sin(x)
    else:
        y = np.cos(x) * x
    return np.sum(y * x)


variant(flag_branch, "off", A(4), False, wrt=0)


@corpus_function(A(3, 2), "square", wrt=0)
def mode_chain(x, mode):
    if mode == "square":
        y = x * x
    elif mode == "cube":
        y = x ** 3
    elif mode == "exp":
        y = np.exp(x)
    else:
        y = np.abs(x) + x
    return np.sum(y)


variant(mode_chain, "cube", A(3, 2), "cube", wrt=0)
variant(mode_chain, "exp", A(3, 2), "exp", wrt=0)
variant(mode_chain, "other", A(3, 2), "other", wrt=0)


@corpus_function(A(4), A(4), True, False, wrt=(0, 1))
def nested_flags(x, y, outer, inner):
    z = x * y
    if outer:
        if inner:
            z = z + np.sin(x)
        else:
            z = z * np.cos(y)
    else:
        z = z - y
    return np.sum(z ** 2)


variant(nested_flags, "tt", A(4), A(4), True, True, wrt=(0, 1))
variant(nested_flags, "ff", A(4), A(4), False, False, wrt=(0, 1))


@corpus_function(A(5, 3), wrt=0)
def branch_on_shape(x):
    if x.shape[0] > 3:
        y = x[:3] * x[-3:]
    else:
        y = x * 2.0
    return np.sum(np.tanh(y))


variant(branch_on_shape, "small", A(2, 3), wrt=0)


@corpus_function(A(3, 3), wrt=0)
def branch_on_ndim(x):
    if x.ndim == 2:
        return np.sum((x @ x.T) ** 2)
    return np.sum(x ** 4)


variant(branch_on_ndim, "vector", A(5), wrt=0)


@corpus_function(A(4), 2.0, None, wrt=0)
def optional_argument(x, scale, bias):
    y = x * scale
    if bias is not None:
        y = y + bias
    return np.sum(np.sin(y))


variant(optional_argument, "given", A(4), 2.0, np.array([0.1, 0.2, 0.3, 0.4]), wrt=0)


@corpus_function(A(4), False, wrt=0)
def flag_conditional_expression(x, squared):
    y = x * x if squared else np.abs(x) * 1.5
    return np.sum(y + x)


variant(flag_conditional_expression, "on", A(4), True, wrt=0)


# ---------------------------------------------------------------- branches on runtime values

@corpus_function(make=_shifted(1.0, 4), wrt=0, jax=False, float32=True)
def branch_on_sum(x):
    if np.sum(x) > 0:
        y = np.sin(x) * x
    else:
        y = np.exp(x)
    return np.sum(y)


variant(branch_on_sum, "negative", make=_shifted(-1.0, 4), wrt=0, jax=False)


@corpus_function(make=_shifted(1.5, 3), wrt=0, jax=False)
def elif_on_mean(x):
    m = np.mean(x)
    if m > 1.0:
        y = x ** 2
    elif m > 0.0:
        y = np.sin(x)
    elif m > -1.0:
        y = x * np.cos(x)
    else:
        y = np.exp(x) * 3.0
    return np.sum(y) * m


variant(elif_on_mean, "second", make=_shifted(0.5, 3), wrt=0, jax=False)
variant(elif_on_mean, "third", make=_shifted(-0.5, 3), wrt=0, jax=False)
variant(elif_on_mean, "last", make=_shifted(-1.5, 3), wrt=0, jax=False)


@corpus_function(1.5, 0.5, wrt=(0, 1), jax=False)
def scalar_branch(a, b):
    if a > b:
        c = a * b + a
    else:
        c = a / b
    return c * c


variant(scalar_branch, "else", 0.5, 1.5, wrt=(0, 1), jax=False)


@corpus_function(make=_shifted(1.0, 5), wrt=0, jax=False)
def branch_one_side_only(x):
    y = x * 2.0
    if np.max(x) > 0.2:
        y = y * np.sin(x)
    return np.sum(y)


variant(branch_one_side_only, "skipped", make=_shifted(-1.0, 5), wrt=0, jax=False)


@corpus_function(make=lambda rng: (rng.uniform(0.5, 1.0, 4), rng.uniform(-1.0, -0.5, 4)),
                 wrt=(0, 1), jax=False)
def nested_value_branches(x, y):
    if np.sum(x) > 0:
        if np.sum(y) > 0:
            z = x * y
        else:
            z = x - np.sin(y)
    else:
        if np.sum(y) > 0:
            z = np.exp(x) + y
        else:
            z = x * x * y
    return np.sum(z * z)


variant(nested_value_branches, "pp", make=lambda rng: (rng.uniform(0.5, 1.0, 4),
                                                        rng.uniform(0.5, 1.0, 4)),
        wrt=(0, 1), jax=False)
variant(nested_value_branches, "np", make=lambda rng: (rng.uniform(-1.0, -0.5, 4),
                                                        rng.uniform(0.5, 1.0, 4)),
        wrt=(0, 1), jax=False)
variant(nested_value_branches, "nn", make=lambda rng: (rng.uniform(-1.0, -0.5, 4),
                                                        rng.uniform(-1.0, -0.5, 4)),
        wrt=(0, 1), jax=False)


@corpus_function(make=_shifted(1.0, 4), wrt=0, jax=False)
def conditional_expression(x):
    y = np.sin(x) * x if np.sum(x) > 0 else np.cos(x)
    return np.sum(y)


variant(conditional_expression, "else", make=_shifted(-1.0, 4), wrt=0, jax=False)


@corpus_function(2.0, 0.5, wrt=(0, 1), jax=False)
def scalar_conditional_expression(a, b):
    c = a * b if a > 1.0 else a - b
    return c * a


variant(scalar_conditional_expression, "else", 0.5, 2.0, wrt=(0, 1), jax=False)


@corpus_function(make=lambda rng: (np.array([1.0, -0.8, 0.6, 0.3]),), wrt=0, jax=False)
def and_or_conditions(x):
    if np.max(x) > 0.5 and np.min(x) < -0.5:
        y = x * x
    elif np.max(x) > 2.0 or np.min(x) > 0.0:
        y = np.sin(x)
    else:
        y = x * 3.0
    return np.sum(y * x)


variant(and_or_conditions, "or", make=lambda rng: (np.array([0.4, 0.9, 1.3, 0.2]),),
        wrt=0, jax=False)
variant(and_or_conditions, "neither", make=lambda rng: (np.array([0.4, -0.2, 0.1, 0.3]),),
        wrt=0, jax=False)


@corpus_function(make=_shifted(-1.0, 3), wrt=0, jax=False)
def not_condition(x):
    y = x
    if not np.all(x > 0):
        y = np.exp(x)
    return np.sum(y * y)


variant(not_condition, "all_positive", make=_shifted(1.0, 3), wrt=0, jax=False)


@corpus_function(make=_shifted(1.0, 4), wrt=0, jax=False)
def early_return(x):
    if np.sum(x) > 0:
        return np.sum(x ** 2)
    return np.sum(np.exp(x))


variant(early_return, "fallthrough", make=_shifted(-1.0, 4), wrt=0, jax=False)


@corpus_function(make=_shifted(1.5, 3), wrt=0, jax=False)
def early_return_every_branch(x):
    m = np.mean(x)
    y = x * 2.0
    if m > 1.0:
        return np.sum(y * x)
    elif m > 0.0:
        z = np.sin(y)
        return np.sum(z * m)
    else:
        return np.sum(np.cos(y))


variant(early_return_every_branch, "elif", make=_shifted(0.5, 3), wrt=0, jax=False)
variant(early_return_every_branch, "else", make=_shifted(-0.5, 3), wrt=0, jax=False)


@corpus_function(make=lambda rng: (rng.uniform(0.5, 1.0, 3), rng.uniform(0.5, 1.0, 3)),
                 wrt=(0, 1), jax=False)
def early_return_nested(x, y):
    s = x * y
    if np.sum(x) > 0:
        if np.sum(y) > 0:
            return np.sum(s * s)
        s = s + 1.0
    t = np.tanh(s)
    return np.sum(t * x)


variant(early_return_nested, "inner_skipped",
        make=lambda rng: (rng.uniform(0.5, 1.0, 3), rng.uniform(-1.0, -0.5, 3)),
        wrt=(0, 1), jax=False)
variant(early_return_nested, "outer_skipped",
        make=lambda rng: (rng.uniform(-1.0, -0.5, 3), rng.uniform(0.5, 1.0, 3)),
        wrt=(0, 1), jax=False)


@corpus_function(A(4), 1, wrt=0)
def early_return_on_flag(x, order):
    if order == 0:
        return np.sum(x)
    if order == 1:
        return np.sum(np.sin(x) * x)
    return np.sum(x ** order)


variant(early_return_on_flag, "zero", A(4), 0, wrt=0)
variant(early_return_on_flag, "three", A(4), 3, wrt=0)


@corpus_function(make=lambda rng: (rng.normal(size=4) * 2.0, rng.normal(size=4) * 0.5),
                 wrt=(0, 1), jax=False)
def branch_compares_norms(x, y):
    if np.linalg.norm(x) > np.linalg.norm(y):
        big, small = x, y
    else:
        big, small = y, x
    return np.sum(big * 2.0 - small ** 2)


variant(branch_compares_norms, "swapped",
        make=lambda rng: (rng.normal(size=4) * 0.5, rng.normal(size=4) * 2.0),
        wrt=(0, 1), jax=False)


# ---------------------------------------------------------------- for over ranges

@corpus_function(U(4), wrt=0, float32=True)
def for_constant_range(x):
    for _ in range(4):
        x = np.sin(x) + x * 0.5
    return np.sum(x)


@corpus_function(U(3, 2), 5, wrt=0)
def for_runtime_range(x, n):
    y = x
    for i in range(n):
        y = np.tanh(y * 1.5 + i * 0.1)
    return np.sum(y * x)


variant(for_runtime_range, "zero_trips", U(3, 2), 0, wrt=0)


@corpus_function(A(10), 1, 9, 3, wrt=0)
def for_start_stop_step(x, start, stop, step):
    acc = x[0]
    for i in range(start, stop, step):
        acc = acc * np.cos(x[i]) + x[i]
    return acc


@corpus_function(A(7), wrt=0)
def for_negative_step(x):
    acc = 0.0
    for i in range(6, 0, -2):
        acc = acc + x[i] * x[i - 1]
    return acc


@corpus_function(A(6), wrt=0)
def for_range_len(x):
    acc = 0.0
    for i in range(len(x)):
        acc = acc + np.sin(x[i]) * (i + 1)
    return acc


@corpus_function(A(5, 3), wrt=0)
def for_range_shape(x):
    acc = np.zeros(3)
    for i in range(x.shape[0]):
        acc = acc + x[i] * x[x.shape[0] - 1 - i]
    return np.sum(acc ** 2)


@corpus_function(A(4), A(4), wrt=(0, 1))
def for_range_from_values(x, y):
    n = int(x.size // 2)
    z = y
    for k in range(n, 2 * n):
        z = z * x[k] + y
    return np.sum(z)


@corpus_function(A(4), wrt=0)
def for_empty_range(x):
    y = x * 2.0
    for i in range(3, 3):
        y = y * np.sin(x)
    return np.sum(y ** 2)


@corpus_function(A(6), wrt=0)
def loop_negative_indices(x):
    acc = 0.0
    for i in range(3):
        acc = acc + x[i] * x[-1 - i]
    return acc


@corpus_function(A(8), wrt=0)
def loop_sliding_slices(x):
    acc = 0.0
    for i in range(6):
        window = x[i:i + 3]
        acc = acc + np.sum(window) ** 2
    return acc


@corpus_function(A(5), wrt=0)
def loop_augmented_accumulator(x):
    acc = 0.0
    for i in range(5):
        acc += x[i] ** 3
        acc *= 0.9
    return acc


@corpus_function(P(5), wrt=0)
def loop_product(x):
    prod = 1.0
    for i in range(x.shape[0]):
        prod = prod * x[i]
    return prod


@corpus_function(A(2), wrt=0)
def loop_two_carries(x):
    a = x[0]
    b = x[1]
    for _ in range(5):
        a, b = b, a * 0.5 + np.sin(b)
    return a * b


@corpus_function(A(3, 3), wrt=0)
def loop_matrix_power(a):
    y = a
    for _ in range(3):
        y = y @ a * 0.5
    return np.sum(y)


@corpus_function(A(4), 3, wrt=0)
def loop_index_after_loop(x, n):
    y = x
    for i in range(n):
        y = y * 0.5 + x
    return np.sum(y) * i


@corpus_function(A(3), wrt=0)
def loop_reassigns_input(x):
    for i in range(3):
        x = x * np.cos(x) + i
    return np.sum(x)


@corpus_function(A(4), A(4), wrt=(0, 1))
def loop_unused_carry(x, y):
    z = x
    w = y
    for _ in range(3):
        z = np.sin(z) * y
        w = w * 2.0
    return np.sum(z)


# ---------------------------------------------------------------- for over sequences

@corpus_function(A(4, 3), wrt=0, float32=True)
def for_over_rows(x):
    acc = np.zeros(3)
    for row in x:
        acc = acc + np.sin(row) * row
    return np.sum(acc)


@corpus_function(A(3), A(3), A(3), wrt=(0, 1, 2))
def for_over_list(a, b, c):
    acc = 0.0
    for v in [a, b, c]:
        acc = acc + np.sum(v ** 2) * np.sum(v)
    return acc


@corpus_function(A(3), A(2, 3), wrt=(0, 1))
def for_over_tuple(a, b):
    acc = a
    for v in (b[0], a, b[1]):
        acc = acc * v + 1.0
    return np.sum(acc)


@corpus_function(A(4, 2), wrt=0, float32=True)
def for_enumerate(x):
    acc = 0.0
    for i, row in enumerate(x):
        acc = acc + np.sum(row * row) * (i + 1)
    return acc


@corpus_function(A(5), A(5), wrt=(0, 1))
def for_zip(x, y):
    acc = 0.0
    for a, b in zip(x, y):
        acc = acc + a * np.tanh(b)
    return acc


@corpus_function(A(3, 2), A(3, 2), wrt=(0, 1))
def for_enumerate_zip(x, y):
    acc = 0.0
    for i, (a, b) in enumerate(zip(x, y)):
        acc = acc + np.sum(a * b) * i - np.sum(a)
    return acc


@corpus_function(A(4), S(), wrt=(0, 1))
def horner_reversed(coeffs, t):
    acc = 0.0
    for i in reversed(range(coeffs.shape[0])):
        acc = acc * t + coeffs[i]
    return acc


@corpus_function(A(3), A(3), wrt=(0, 1))
def for_reversed_list(a, b):
    acc = a
    for v in reversed([a, b, a * b]):
        acc = np.sin(acc) * v
    return np.sum(acc)


@corpus_function(A(4, 3), wrt=0)
def for_reversed_rows(x):
    h = np.zeros(3)
    for row in reversed(x):
        h = np.tanh(h + row)
    return np.sum(h)


# ---------------------------------------------------------------- nested loops

@corpus_function(A(3), wrt=0)
def nested_range_loops(x):
    y = x
    for i in range(3):
        for j in range(2):
            y = y * np.cos(y) + 0.1 * (i - j)
    return np.sum(y)


@corpus_function(A(5), wrt=0)
def nested_triangular(x):
    acc = 0.0
    for i in range(5):
        for j in range(i):
            acc = acc + x[i] * x[j] * (i - j)
    return acc


@corpus_function(A(3, 4), A(4, 2), wrt=(0, 1))
def nested_loops_matmul(a, b):
    acc = 0.0
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            acc = acc + np.sin(np.sum(a[i] * b[:, j]))
    return acc


@corpus_function(A(3, 2), A(4), wrt=(0, 1))
def nested_sequence_loops(x, w):
    acc = 0.0
    for row in x:
        for k, wk in enumerate(w):
            acc = acc + np.sum(row * wk) ** 2 / (k + 1)
    return acc


# ---------------------------------------------------------------- while

@corpus_function(A(4), wrt=0, float32=True)
def while_counter(x):
    i = 0
    y = x
    while i < 4:
        y = np.sin(y) * 1.5 + x
        i += 1
    return np.sum(y)


@corpus_function(make=lambda rng: (rng.uniform(0.5, 1.0, 3),), wrt=0, jax=False)
def while_value_condition(x):
    y = x
    while np.sum(y) < 20.0:
        y = y * 1.7 + 0.1
    return np.sum(np.sqrt(y))


@corpus_function(make=lambda rng: (rng.uniform(0.5, 1.0, 3),), wrt=0, jax=False)
def while_two_conditions(x):
    y = x
    n = 0
    while n < 10 and np.max(y) < 30.0:
        y = y * y + 1.0
        n = n + 1
    return np.sum(np.log(y))


@corpus_function(make=lambda rng: (rng.uniform(0.5, 1.0, 3),), wrt=0, jax=False)
def while_true_break(x):
    y = x
    while True:
        y = y * 2.0 + np.sin(y)
        if np.sum(y) > 15.0:
            break
    return np.sum(y * y)


@corpus_function(A(3), 3, wrt=0)
def while_nested_in_for(x, n):
    y = x
    for i in range(n):
        k = 0
        while k < i + 1:
            y = np.tanh(y) + 0.5 * x
            k += 1
    return np.sum(y)


# ---------------------------------------------------------------- break and continue

@corpus_function(make=lambda rng: (np.array([0.5, 0.7, 0.9]),), wrt=0, jax=False)
def for_break_on_value(x):
    y = x
    for _ in range(10):
        y = y * 1.8
        if np.max(y) > 3.0:
            break
    return np.sum(y ** 2)


@corpus_function(A(6), 3, wrt=0)
def for_break_on_counter(x, stop):
    acc = 0.0
    for i in range(6):
        if i == stop:
            break
        acc = acc + np.exp(x[i])
    return acc


@corpus_function(A(6), wrt=0)
def for_continue_on_counter(x):
    acc = 0.0
    for i in range(6):
        if i % 2 == 0:
            continue
        acc = acc + x[i] * x[i - 1]
    return acc


@corpus_function(make=lambda rng: (np.array([0.9, -0.7, 0.3, -1.2, 1.5]),), wrt=0, jax=False)
def for_continue_on_value(x):
    acc = 0.0
    for v in x:
        if v < 0:
            continue
        acc = acc + np.sin(v) * v
    return acc


@corpus_function(make=lambda rng: (np.array([0.9, -0.7, 0.3, -1.2, 1.5]),), wrt=0, jax=False)
def loop_branch_per_element(x):
    acc = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            acc = acc + x[i] ** 2
        elif x[i] > -1.0:
            acc = acc - np.sin(x[i])
        else:
            acc = acc * x[i]
    return acc


@corpus_function(A(3, 4), 2, wrt=0)
def nested_inner_break(x, width):
    acc = 0.0
    for row in x:
        for j in range(4):
            if j >= width:
                break
            acc = acc + row[j] * row[3 - j]
    return acc


@corpus_function(make=lambda rng: (rng.uniform(0.2, 0.4, 3),), wrt=0, jax=False)
def branch_inside_loop(x):
    y = x
    for _ in range(6):
        if np.sum(y) > 2.0:
            y = np.sqrt(y) + 0.1
        else:
            y = y * 1.9
    return np.sum(y)


@corpus_function(make=lambda rng: (np.array([0.8, -0.4, 1.3, 0.2, -1.1, 0.6]),), wrt=0,
                 jax=False)
def data_dependent_trip_count(x):
    n = int(np.sum(x > 0))
    y = x[:3]
    for _ in range(n):
        y = np.sin(y) + x[3:]
    return np.sum(y)


@corpus_function(A(3, 4), wrt=0)
def for_over_columns(x):
    acc = np.zeros(3)
    for col in x.T:
        acc = np.tanh(acc + col)
    return np.sum(acc * x[:, 0])


@corpus_function(make=lambda rng: (np.array([0.4, -0.9, 1.3, 0.7, -0.2, 2.1, 0.5]),), wrt=0,
                 jax=False)
def while_break_and_continue(x):
    i = 0
    acc = 0.0
    while i < x.shape[0]:
        v = x[i]
        i = i + 1
        if v < 0:
            continue
        if v > 2.0:
            break
        acc = acc + v * np.exp(v)
    return acc


@corpus_function(make=lambda rng: (np.array([0.9, -0.7, 0.3, -1.2, 1.5]),), wrt=0, jax=False)
def loop_conditional_expression(x):
    acc = 0.0
    for v in x:
        acc = acc + (v * v if v > 0 else np.sin(v))
    return acc


@corpus_function(make=_shifted(1.0, 3), wrt=0, vector_output=True, jax=False)
def early_return_vector_output(x):
    y = np.tanh(x)
    if np.sum(x) > 0:
        return y * x
    return y + 1.0


variant(early_return_vector_output, "fallthrough", make=_shifted(-1.0, 3), wrt=0,
        vector_output=True, jax=False)


@corpus_function(make=_shifted(0.5, 3), wrt=0, jax=False)
def loop_then_early_return(x):
    y = x
    for _ in range(3):
        y = np.sin(y) + x
    if np.sum(y) > 0:
        return np.sum(y * y)
    z = y * 3.0
    return np.sum(z)


variant(loop_then_early_return, "fallthrough", make=_shifted(-1.0, 3), wrt=0, jax=False)


@corpus_function(A(4), wrt=0)
def for_enumerate_start(x):
    acc = 0.0
    for i, v in enumerate(x, start=1):
        acc = acc + np.sin(v) * i
    return acc


@corpus_function(A(3, 2), wrt=0)
def for_enumerate_start_positional(x):
    acc = 0.0
    for i, row in enumerate(x, 2):
        acc = acc + np.sum(row ** 2) * i
    return acc


@corpus_function(make=lambda rng: (np.array([0.5, 0.3, 0.4]),), wrt=0, jax=False)
def and_condition_in_loop(x):
    # the first test holds and the second fails: the short circuit goes both ways
    y = x
    for _ in range(3):
        if np.sum(y) > 0 and np.sum(y) > 100.0:
            y = y * 0.5
        y = y * 1.1 + np.sin(y)
    return np.sum(y)


@corpus_function(make=lambda rng: (np.array([0.5, 0.3, 0.4]),), wrt=0, jax=False)
def or_condition_in_loop(x):
    y = x
    for _ in range(3):
        if np.sum(y) < 0 or np.sum(y) > 100.0:
            y = y * 0.5
        y = y * 1.1 + np.sin(y)
    return np.sum(y)


# --- return from inside loops (a flag and a break, then one return at the end) ------------

def _first_large_args(rng):
    return (np.array([0.3, 1.6, 2.2, -0.4]),)


def _none_large_args(rng):
    return (np.array([0.3, 0.6, -0.2, -0.4]),)


@corpus_function(make=_first_large_args, wrt=0, jax=False)
def return_first_large(x):
    for i in range(len(x)):
        if x[i] > 1.0:
            return x[i] * x[i] + np.sum(x)
    return np.sum(x ** 2)


variant(return_first_large, "none", make=_none_large_args, wrt=0, jax=False)


@corpus_function(S(0.5, 0.9), wrt=0)
def return_from_nested_loops(x):
    for i in range(3):
        for j in range(3):
            if i * j > 2:
                return x * i + j * x * x
        x = x * 1.5
    return x * 0.5


@corpus_function(S(1.2, 1.5), wrt=0, jax=False)
def return_from_while(x):
    y = x
    while y < 100.0:
        y = y * y + 0.5
        if y > 10.0:
            return np.log(y)
    return y
