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


# ------------------------------------------ a parameter rebound, then a view of a local copy
# (GradBench's lstm `predict`: `x = x * w2[0]`, then `x = s2[i]` of `s2 = s.copy()`)

def _rows_of_a_copy(s, x):
    s2 = s.copy()
    x = x * 2.0                  # x no longer holds the caller's array
    for i in range(0, len(s), 2):
        h, c = np.tanh(s[i] + x), s[i + 1] * x
        s2[i], s2[i + 1] = h, c
        x = s2[i]                # a view of s2, not of the argument
    return x * 3.0, s2


def parameter_rebound_then_a_view(x):
    states = [x.reshape(2, 3) * 1.0]
    inp = x[:3] * 1.0
    total = 0.0
    for _ in range(2):
        y, new = _rows_of_a_copy(states[-1], inp)
        states.append(new)       # the caller's list, and `inp`, are not changed by the call
        total += np.sum(y * inp)
        inp = new[1]
    return total + np.sum(states[0])


def _row_of_the_argument(s, x):
    x = x * 2.0
    x = s[0]                     # a view of the argument itself
    x *= 2.0                     # the caller's array changes
    return x


def helper_updates_a_view_of_its_argument(x):
    s = x.reshape(2, 3) * 1.0
    y = _row_of_the_argument(s, x[:3])
    return np.sum(s) + np.sum(y)


def test_parameter_rebound_shares_nothing_with_the_caller():
    check_grad(parameter_rebound_then_a_view, (np.linspace(-0.6, 0.9, 6),))
    refused_at(helper_updates_a_view_of_its_argument, (np.linspace(-0.6, 0.9, 6),),
               "y = _row_of_the_argument", "`_row_of_the_argument` updates its argument `s`")


# ------------------------------------------ lists of ints updated in place (GradBench's det)

def _minor(A, n, m, r, c):
    R0 = r[n]                    # an int read from a list of ints: shares nothing
    Cj = c[n]
    if m == 1:
        return A[R0 * n + Cj]
    total = 0.0
    sign = 1
    r[n] = r[R0]                 # remove the row (restored below)
    Cj1 = n
    for j in range(m):
        c[Cj1] = c[Cj]           # remove the column
        sub = _minor(A, n, m - 1, r, c)   # changes r and c in place, and restores them
        c[Cj1] = Cj
        if sign > 0:
            total = total + A[R0 * n + Cj] * sub
        else:
            total = total - A[R0 * n + Cj] * sub
        Cj1 = Cj
        Cj = c[Cj]
        sign = -sign
    r[n] = R0
    return total


def cofactor_determinant(A, ell):
    r = [0] * (ell + 1)
    c = [0] * (ell + 1)
    for i in range(ell):
        r[i] = i + 1
        c[i] = i + 1
    return _minor(A, ell, ell, r, c)


def _shift(idx):
    idx[0] = idx[1]
    return 0.0


def helper_changes_an_index_list_read_by_a_gather(x):
    idx = [0, 2]
    y = x[idx] * x[idx]          # the gather's derivative reads idx again
    s = _shift(idx)              # ... after the helper changed it
    return np.sum(y) + s


def _zero_first(buf):
    buf[0] = 0.0
    return 0.0


def helper_changes_a_factor_read_by_a_derivative(x):
    w = np.array([1.0, 2.0, 3.0])
    t = x * w                    # the derivative reads w again (bx = bt * w) ...
    s = _zero_first(w)           # ... after a call that is not differentiated changed it
    return np.sum(t) + s


def _double_first(v):
    v[0] = v[0] * 2.0
    return 0.0


def helper_changes_a_list_of_floats(x):
    vals = [x[0] * 1.0, x[1] * 1.0]   # numbers with derivatives: the helper changes them
    s = _double_first(vals)
    return vals[0] * vals[1] + s


def test_lists_of_ints_updated_in_place_by_helpers():
    A = np.array([0.3, -0.7, 1.1, 0.5, 2.0, -1.3, 0.9, 0.4, -0.2])
    assert abs(cofactor_determinant(A, 3) - np.linalg.det(A.reshape(3, 3))) < 1e-12
    check_grad(cofactor_determinant, (A, 3))
    assert_close(tg.grad(cofactor_determinant)(A, 3),
                 (np.linalg.det(A.reshape(3, 3)) * np.linalg.inv(A.reshape(3, 3)).T).ravel(),
                 "the determinant's gradient: det(A) inv(A)^T")
    refused_at(helper_changes_an_index_list_read_by_a_gather, (X3,), "s = _shift(idx)",
               "`_shift` updates its argument `idx` in place", "read again")
    refused_at(helper_changes_a_factor_read_by_a_derivative, (X3,), "s = _zero_first(w)",
               "`_zero_first` updates its argument `buf` in place", "read again")
    refused_at(helper_changes_a_list_of_floats, (X3,), "s = _double_first(vals)",
               "`_double_first` updates its argument `v` in place")


# ------------------------------------------ recursion: the summary is a fixed point

def _descend(a, n):
    if n <= 0:
        return a * 1.0           # a new array on the last call
    return _descend(np.sin(a), n - 1)


def _descend_to_itself(a, n):
    if n <= 0:
        return a                 # the argument itself on the last call
    return _descend_to_itself(a, n - 1)


def recursion_returns_a_new_array(x, n):
    y = x * 1.0
    z = _descend(y, n)           # n unknown when the code is built
    z += 1.0
    return np.sum(y * z)


def recursion_returns_its_argument(x, n):
    y = x * 1.0
    z = _descend_to_itself(y, n)
    z += 1.0
    return np.sum(y * z)


def test_recursive_helpers_are_summarized_to_a_fixed_point():
    check_grad(recursion_returns_a_new_array, (X3, 2))
    refused_at(recursion_returns_its_argument, (X3, 2), "z = _descend_to_itself(y, n)",
               "`z` is updated in place", "`y` shares its memory")


W23 = np.array([[0.2, -0.4, 0.9], [0.5, 0.1, -0.3]])


def rebound_in_a_loop_that_runs(w):
    h = w[-1]
    for i in range(2):
        h = np.tanh(h + 1.0)
    h -= 1.0
    return np.sum(h * w[0])


def rebound_in_a_loop_that_may_not_run(w, n):
    h = w[-1]
    for i in range(n):
        h = np.tanh(h + 1.0)
    h -= 1.0
    return np.sum(h * w[0])


def rebound_after_a_break(w):
    h = w[-1]
    for i in range(2):
        if np.sum(w) > 0.0:
            break
        h = np.tanh(h + 1.0)
    h -= 1.0
    return np.sum(h * w[0])


def test_a_loop_over_a_constant_range_runs_its_body():
    """``h = w[-1]`` views w, but a loop over ``range(2)`` rebinds h before ``h -= 1.0``
    (a false refusal of the seventh fuzz run, seed 1500051); over ``range(n)`` the loop may
    not run, and a ``break`` before the rebinding leaves h the view: both stay refused."""
    check_grad(rebound_in_a_loop_that_runs, (W23,))
    refused_at(rebound_in_a_loop_that_may_not_run, (W23, 2), "h = w[-1]", "shares")
    refused_at(rebound_after_a_break, (W23,), "h = w[-1]", "shares")
