"""The alias analysis (passes/aliasing.py, passes/alias_calls.py): programs that share no
memory where it matters are accepted, with gradients equal to central differences; each
truly aliasing variant is refused with a TransformError at the line that made the sharing.

The accepted forms were false refusals of the differential fuzzer (tests/fuzz/FINDINGS.md).
"""

import inspect

import numpy as np
import pytest

import transgrad as tg
from tests.checks import assert_close, numeric_vjp

X3 = np.array([0.3, -0.7, 1.1])


def check_grad(f, args):
    """grad and value_and_grad against central differences, and the value against f."""
    expected = numeric_vjp(f, args, 0, 1.0)
    assert_close(tg.grad(f)(*args), expected, f"grad of {f.__name__}")
    value, grad = tg.value_and_grad(f)(*args)
    assert_close(value, f(*args), f"value of {f.__name__}")
    assert_close(grad, expected, f"value_and_grad of {f.__name__}")


def refused_at(f, args, line_text, *words):
    """f is refused, at the line of f containing ``line_text``, with ``words`` said."""
    with pytest.raises(tg.TransformError) as info:
        tg.grad(f)(*args)
    lines, first = inspect.getsourcelines(f)
    assert info.value.lineno == first + next(k for k, t in enumerate(lines) if line_text in t)
    text = str(info.value) + (info.value.hint or "")
    for word in words:
        assert word in text, (word, text)


# ------------------------------------------ a helper that returns its argument on one path

def _smoothed(a, n):
    if n <= 0:
        return a
    return _smoothed(np.tanh(a) * 0.5, n - 1)


def helper_called_with_depth_two(x):
    y = x * 1.0
    z = _smoothed(y, 2)          # n = 2: the result is a new array
    z += 1.0
    return np.sum(y * z)


def helper_called_with_depth_zero(x):
    y = x * 1.0
    z = _smoothed(y, 0)          # n = 0: z is y
    z += 1.0
    return np.sum(y * z)


def helper_called_with_unknown_depth(x, n):
    y = x * 1.0
    z = _smoothed(y, n)          # n unknown when the code is built: z may be y
    z += 1.0
    return np.sum(y * z)


def test_helper_returning_its_argument_only_on_a_path_not_taken():
    check_grad(helper_called_with_depth_two, (X3,))
    refused_at(helper_called_with_depth_zero, (X3,), "z = _smoothed(y, 0)",
               "`z` is updated in place", "`y` shares its memory")
    refused_at(helper_called_with_unknown_depth, (X3, 2), "z = _smoothed(y, n)", "`y`")


# ------------------------------------------ numbers: results of helpers, sums, scalars

def _pair(a, *, k=0.5):
    t = a * 2.0
    return a * k, np.min(t)


def number_in_a_helpers_tuple(x):
    u, w = _pair(x)
    h = w                        # np.min(t): a number, so h and w share nothing
    w /= 2.0
    return np.sum(u) + h * w


def array_in_a_helpers_tuple(x):
    u, w = _pair(x)
    h = u                        # the array part: h is u
    u /= 2.0
    return np.sum(h * x)


def sum_of_a_list_of_numbers(x):
    parts = []
    for i in range(2):
        parts.append(np.mean(x) * i)
    total = sum(parts)
    before = total
    total *= 2.0
    return before + total


def sum_of_a_list_of_arrays(x):
    parts = []
    for i in range(2):
        parts.append(x * 1.0)
    total = sum(parts)          # a new array (the sum of two)
    before = parts[0]
    before += 1.0               # parts[0] is the array the list holds
    return np.sum(total * x) + np.sum(np.stack(parts))


def dot_product_is_a_scalar(x):
    s = x @ x                    # rank 0: a numpy scalar, which never changes in place
    t = s
    s += 1.0
    return t * s


def view_of_a_0d_array_is_not_a_number(x):
    s = np.reshape(np.sum(x * x, keepdims=True), ())   # a 0-d array, updated in place
    t = s
    s += 1.0
    return t * s


def test_numbers_share_no_memory():
    for f in (number_in_a_helpers_tuple, sum_of_a_list_of_numbers, dot_product_is_a_scalar):
        check_grad(f, (X3,))
    refused_at(array_in_a_helpers_tuple, (X3,), "h = u", "`u` is updated in place")
    refused_at(sum_of_a_list_of_arrays, (X3,), "before = parts[0]", "`before` is updated")
    refused_at(view_of_a_0d_array_is_not_a_number, (X3,), "t = s", "`s` is updated")


# ------------------------------------------ a conditional expression that may return w

def conditional_rebinds(x):
    w = x * 1.0
    w = np.sin(w) if np.sum(x) > 0.0 else w    # maybe the same object: old w is not read
    w += 1.0
    return np.sum(w * x)


def conditional_keeps_old_name_read(x):
    w = x * 1.0
    v = np.sin(w) if np.sum(x) > 0.0 else w    # on the else path v is w, read below
    v += 1.0
    return np.sum(v * w)


@pytest.mark.parametrize("x", [X3, -X3])
def test_conditional_expression_returning_the_same_object(x):
    check_grad(conditional_rebinds, (x,))
    refused_at(conditional_keeps_old_name_read, (x,), "v = np.sin(w) if", "`w`")


# ------------------------------------------ helpers that update their arguments in place

def _bump(a):
    a += 1.0
    return a * 2.0


def _store_first(buf, v):
    buf[0] = v
    return np.sum(buf)


def argument_updated_by_helper_then_read(x):
    y = x * 1.0
    z = _bump(y)                 # y is x * 1.0 + 1.0 after this call
    return np.sum(y * z)


def argument_stored_into_by_helper_then_read(x):
    y = x * 1.0
    s = _store_first(y, x[2])
    return s + np.sum(y * x)


def argument_updated_by_helper_not_read(x):
    z = _bump(x * 1.0)
    y = x * 2.0
    w = _bump(y)                 # y is not read again
    return np.sum(z * w)


def test_helpers_updating_their_arguments():
    refused_at(argument_updated_by_helper_then_read, (X3,), "z = _bump(y)",
               "`_bump` updates its argument `a` in place", "`y` changes",
               "_bump(y.copy(), ...)")
    refused_at(argument_stored_into_by_helper_then_read, (X3,), "s = _store_first(y",
               "`_store_first` updates its argument `buf`")
    check_grad(argument_updated_by_helper_not_read, (X3,))


# ------------------------------------------ elements of a vector met through zip

def zip_over_a_reshaped_vector(x):
    v = x.reshape(1, 3)[0] / (2.0 + np.cos(x))   # a vector: its rank follows the reshape
    total = 0.0
    for a, b in zip(v, v[::-1]):
        b *= np.tanh(a)                          # b is a number: v does not change
        total = total + b
    return total + np.sum(v * v)


def zip_over_the_rows_of_a_matrix(x):
    m = np.outer(x, x).reshape(3, 3) * 1.0
    total = 0.0
    for a, b in zip(m, m[::-1]):
        b *= 2.0                                 # b is a row of m: m changes
        total = total + np.sum(a * b)
    return total + np.sum(m)


def test_zip_over_vector_elements_and_matrix_rows():
    check_grad(zip_over_a_reshaped_vector, (X3,))
    refused_at(zip_over_the_rows_of_a_matrix, (X3,), "for a, b in zip(m, m[::-1])", "`b`")


# ------------------------------------------ Python-number arguments share nothing

def number_argument_renamed(x, s):
    t = s
    t += 1.0                     # s is a Python float here: t is a new number
    return np.sum(x) * t * s


def test_python_number_arguments_share_nothing():
    check_grad(number_argument_renamed, (X3, 1.5))
    assert_close(tg.grad(number_argument_renamed, wrt=1)(X3, 1.5),
                 numeric_vjp(number_argument_renamed, (X3, 1.5), 1, 1.0))
    refused_at(number_argument_renamed, (X3, np.array([1.5, 2.0, 0.5])), "t = s",
               "`t` is updated in place")   # an array argument: t is s
