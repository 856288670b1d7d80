"""Calls to user functions: same module, another module, chains, keyword arguments, defaults,
tuple results, recursion with a run-time depth, closures made by a module-level factory,
custom rules (``tg.defvjp``) and ``tg.stop_gradient``.

Helpers written only with operators (``a * x + b``) run on jax.numpy arrays too, so callers of
those keep the JAX check; a helper that calls ``np.`` sees the real numpy even when the caller
is rebound onto JAX, so its callers say ``jax=False``.
"""

import numpy as np

import transgrad as tg
from transgrad.rules.specs import A, P, S, U

from . import corpus_function, helpers_mod
from .control import variant
from .helpers_mod import dense, relu, scaled_tanh

# ---------------------------------------------------------------- helpers in this module


def _affine(x, a, b):
    return a * x + b


def _sin_square(x):
    return np.sin(x) * x * x


def _poly(x, c0=1.0, c1=0.5, c2=0.25):
    return c0 + c1 * x + c2 * x * x


def _scale_shift(x, scale=2.0, *, shift=0.5):
    return x * scale + shift


def _square(x):
    return x * x


def _keyword_only(x, *, w, b=0.0):
    return np.tanh(x * w + b)


def _sum_of_squares(x):
    return np.sum(x * x)


def _outer_helper(x):
    return _middle_helper(x) * 2.0


def _middle_helper(x):
    return np.tanh(_inner_helper(x)) + x


def _inner_helper(x):
    return np.exp(x * 0.5) - 1.0


def _split_stats(x):
    mean = np.mean(x)
    centered = x - mean
    return centered, np.sum(centered ** 2)


def _pair(x, y):
    return x * y, x + y


def _clipped(x, limit):
    if np.max(np.abs(x)) > limit:
        return x * (limit / np.max(np.abs(x)))
    return x


def _iterate(x, n):
    for _ in range(n):
        x = np.sin(x) + x * 0.5
    return x


def _unused_second(x, y):
    return x * 3.0


def _power_rec(x, n):
    if n == 0:
        return x
    return _power_rec(x, n - 1) * x


def _halve_until_small(x):
    if np.max(np.abs(x)) < 1.0:
        return x
    return _halve_until_small(x * 0.5) + 0.1 * x


def _is_even_sum(x, n):
    if n == 0:
        return x
    return _is_odd_sum(np.sin(x), n - 1) + x


def _is_odd_sum(x, n):
    if n == 0:
        return x * 2.0
    return _is_even_sum(np.cos(x), n - 1) * x


def _fib_pair(x, n):
    if n == 0:
        return x, x * 0.5
    a, b = _fib_pair(x, n - 1)
    return b, a + b * 0.9


def _early(x):
    if np.sum(x) > 0:
        return x * x
    y = np.exp(x)
    return y * 0.5


def make_scaler(scale):
    def scaled(x):
        return x * scale
    return scaled


def make_layer(weight, bias):
    def layer(x):
        return np.tanh(x @ weight + bias)
    return layer


def make_power_sum(power):
    inner = make_scaler(0.5)

    def power_sum(x):
        return np.sum(inner(x) ** power)
    return power_sum


SCALE_BY_3 = make_scaler(3.0)
LAYER = make_layer(np.array([[0.5, -0.3], [0.2, 0.8], [-0.6, 0.1]]), np.array([0.1, -0.2]))
CUBE_SUM = make_power_sum(3)


def _log_cosh(x):
    # a stable form whose derivative we supply below
    return np.abs(x) + np.log1p(np.exp(-2.0 * np.abs(x))) - np.log(2.0)


@tg.defvjp(_log_cosh)
def _log_cosh_vjp(g, ans, x):
    return g * np.tanh(x)


def _cube_root(x):
    # Newton iterations transgrad could differentiate, but the closed form is cheaper
    y = np.abs(x) ** (1.0 / 3.0) * np.sign(x)
    return y


@tg.defvjp(_cube_root)
def _cube_root_vjp(g, ans, x):
    return g / (3.0 * ans * ans)


# ---------------------------------------------------------------- corpus


@corpus_function(A(4), wrt=0, jax=False)
def call_same_module(x):
    return np.sum(_sin_square(x) + x)


@corpus_function(A(4), A(4), wrt=(0, 1))
def call_operator_helper(x, y):
    z = _affine(x, y, 1.0)
    return np.sum(z * z)


@corpus_function(A(3, 4), A(4, 2), A(2), wrt=(0, 1, 2), jax=False, float32=True)
def call_other_module(x, w, b):
    return np.sum(relu(dense(x, w, b)) ** 2)


@corpus_function(A(5), wrt=0, jax=False)
def call_module_attribute(x):
    return np.sum(helpers_mod.softplus(x) * x)


@corpus_function(A(3), A(3), wrt=(0, 1), jax=False)
def call_twice(x, y):
    return np.sum(_sin_square(x) * _sin_square(y) + _sin_square(x * y))


@corpus_function(U(4), wrt=0, jax=False)
def call_chain(x):
    return np.sum(_outer_helper(x) ** 2)


@corpus_function(A(4), wrt=0)
def call_keywords(x):
    return np.sum(_poly(x, c2=0.75, c0=-1.0))


@corpus_function(A(4), wrt=0)
def call_defaults(x):
    return np.sum(_poly(x) * x)


@corpus_function(A(3), A(3), wrt=(0, 1))
def call_array_keyword(x, y):
    return np.sum(_affine(x, b=y, a=2.0) * y)


@corpus_function(A(4), wrt=0)
def call_keyword_only(x):
    return np.sum(_scale_shift(x, 3.0, shift=-1.0) ** 2 + _scale_shift(x))


@corpus_function(A(4), wrt=0, jax=False)
def call_keyword_default_other_module(x):
    return np.sum(scaled_tanh(x) + scaled_tanh(x, gain=0.5) * x)


@corpus_function(A(5), wrt=0, jax=False)
def call_returns_tuple(x):
    centered, ss = _split_stats(x)
    return np.sum(centered ** 3) + ss


@corpus_function(A(4), A(4), wrt=(0, 1))
def call_tuple_result_indexed(x, y):
    p = _pair(x, y)
    return np.sum(p[0] * p[1])


@corpus_function(A(4), wrt=0, jax=False)
def call_other_module_tuple(x):
    norm, mean = helpers_mod.norm_and_mean(x)
    return norm * mean + norm


@corpus_function(A(3), A(3), wrt=(0, 1))
def call_helper_ignores_argument(x, y):
    return np.sum(_unused_second(x, y) * y)


@corpus_function(A(3), wrt=0)
def call_with_constant_argument(x):
    return np.sum(_affine(x, 2.0, 3.0) * _square(x))


@corpus_function(A(4), wrt=0)
def call_linear_helper(x):
    return np.sum(_square(SCALE_BY_3(x)))


@corpus_function(A(4), wrt=0, jax=False)
def call_in_loop(x):
    y = x
    for _ in range(3):
        y = _sin_square(y) + x
    return np.sum(y)


@corpus_function(A(3), 4, wrt=0, jax=False)
def call_helper_with_loop(x, n):
    return np.sum(_iterate(x, n) * x)


def _rows_sized_by(theta, nbones):
    rows = np.zeros((int(nbones) + 2, 3), dtype=np.float64)
    rows[0, :] = theta[0:3]
    for i in range(nbones):
        rows[i + 1, i % 3] = theta[i % 3] * rows[i, (i + 1) % 3] + 1.0
    rows[nbones + 1] = np.eye(3)[0] * theta[2]
    return rows


@corpus_function(A(3), 4, wrt=0, jax=False)
def call_helper_sized_by_an_int(theta, nbones):
    """An int argument fixes a helper's array shape (GradBench ht's ``to_pose_params``)."""
    return np.sum(np.cos(_rows_sized_by(theta, nbones)) * np.arange(3.0))


variant(call_helper_sized_by_an_int, "other_int", A(3), 2, wrt=0, jax=False)


@corpus_function(make=lambda rng: (np.array([2.0, -3.0, 1.0]), 1.5), wrt=0, jax=False)
def call_helper_with_branch(x, limit):
    return np.sum(_clipped(x, limit) ** 2)


variant(call_helper_with_branch, "unclipped",
        make=lambda rng: (np.array([0.5, -0.3, 1.0]), 1.5), wrt=0, jax=False)


@corpus_function(make=lambda rng: (rng.uniform(0.5, 1.0, 3),), wrt=0, jax=False)
def call_helper_early_return(x):
    return np.sum(_early(x) * x)


variant(call_helper_early_return, "negative",
        make=lambda rng: (rng.uniform(-1.0, -0.5, 3),), wrt=0, jax=False)


@corpus_function(A(4), 3, wrt=0, float32=True)
def recursion_runtime_depth(x, depth):
    return np.sum(_power_rec(x, depth))


variant(recursion_runtime_depth, "base_case", A(4), 0, wrt=0)


@corpus_function(make=lambda rng: (np.array([5.0, -3.0, 2.5]),), wrt=0, jax=False)
def recursion_value_depth(x):
    return np.sum(_halve_until_small(x) ** 2)


@corpus_function(A(3), 4, wrt=0, jax=False)
def mutual_recursion(x, n):
    return np.sum(_is_even_sum(x, n))


variant(mutual_recursion, "odd", A(3), 3, wrt=0, jax=False)


@corpus_function(A(3), 4, wrt=0)
def recursion_returns_tuple(x, n):
    a, b = _fib_pair(x, n)
    return np.sum(a * b)


@corpus_function(A(4), wrt=0)
def closure_scalar(x):
    return np.sum(SCALE_BY_3(x) * x)


@corpus_function(A(5, 3), wrt=0, jax=False)
def closure_array(x):
    return np.sum(LAYER(x) ** 2)


@corpus_function(A(4), wrt=0, jax=False)
def closure_nested_factory(x):
    return CUBE_SUM(x) + np.sum(x)


@corpus_function(A(3), A(3), wrt=(0, 1))
def call_result_reused(x, y):
    z = _affine(x, y, 0.5)
    return np.sum(z * x + z * y + z)


@corpus_function(A(4), wrt=0, jax=False)
def call_other_module_branch(x):
    return np.sum(helpers_mod.relu_squared_or_linear(x, True)
                  + helpers_mod.relu_squared_or_linear(x, False) * x)


@corpus_function(A(5), S(), wrt=(0, 1))
def call_other_module_loop(coeffs, t):
    return helpers_mod.horner(coeffs, t) ** 2


@corpus_function(A(5), wrt=0, jax=False)
def custom_rule(x):
    return np.sum(_log_cosh(x) * 2.0)


@corpus_function(make=lambda rng: (rng.uniform(0.5, 2.0, 4) * np.array([1, -1, 1, -1]),),
                 wrt=0, jax=False)
def custom_rule_uses_answer(x):
    return np.sum(_cube_root(x) * x)


@corpus_function(A(4), A(4), wrt=(0, 1), jax=False)
def custom_rule_in_loop(x, y):
    acc = 0.0
    for i in range(3):
        acc = acc + np.sum(_log_cosh(x * (i + 1) - y))
    return acc


@corpus_function(A(3, 4), wrt=0, jax=False)
def stop_gradient_max_shift(x):
    # softmax is shift invariant, so stopping the max changes no derivative
    shifted = x - tg.stop_gradient(np.max(x, axis=1, keepdims=True))
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs[:, 0]) + np.sum(log_probs[:, 2] ** 2)


@corpus_function(A(4), P(4), wrt=0, jax=False)
def stop_gradient_constant_input(x, scale):
    s = tg.stop_gradient(scale * 2.0)
    return np.sum(np.sin(x) / s)


@corpus_function(A(4), wrt=0)
def call_square_of_sum(x):
    return _square(np.sum(x)) + np.sum(_square(x))


@corpus_function(A(4), wrt=0, jax=False)
def call_reduction_helper(x):
    return _sum_of_squares(np.sin(x)) * _sum_of_squares(x)


@corpus_function(A(3), A(3), P(), wrt=(0, 1, 2))
def call_quadratic_other_module(x, a, b):
    return np.sum(helpers_mod.quadratic(x, a, b) ** 2)


@corpus_function(A(4), A(4), wrt=(0, 1))
def call_tuple_results_in_loop(x, y):
    products = []
    sums = []
    for _ in range(3):
        p, s = _pair(x, y)
        products.append(p)
        sums.append(s)
        x = p * 0.5
    return np.sum(np.stack(products) * np.stack(sums))


@corpus_function(A(5, 3), wrt=0, jax=False)
def closure_in_loop(x):
    h = x
    for _ in range(3):
        h = np.concatenate([LAYER(h), h[:, :1]], axis=1)
    return np.sum(h ** 2)


@corpus_function(A(4), A(4), wrt=(0, 1))
def call_keyword_array_in_loop(x, y):
    z = x
    for i in range(3):
        z = _affine(z, b=y * i, a=0.5)
    return np.sum(z * z)


@corpus_function(A(4), A(4), A(4), wrt=(0, 1, 2), jax=False)
def call_keyword_only_active(x, w, b):
    return np.sum(_keyword_only(x, b=b * 2.0, w=w) ** 2 + _keyword_only(x, w=w))
