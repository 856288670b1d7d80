"""Data structures: in-place subscript assignment into local arrays, lists built with append,
tuples, dicts read by constant keys, named tuples and dataclasses passed as arguments.

Writing into an array (``y[i] = v``) cannot run on jax.numpy, so those functions say
``jax=False``. Differentiating with respect to a whole structure (a dict of arrays...) returns
a structure; those checks live in ``tests/test_control_flow.py``.
"""

from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from transgrad.rules.specs import A, P, S

from . import corpus_function

Config = namedtuple("Config", ["scale", "shift"])


@dataclass
class Layer:
    weight: np.ndarray
    bias: np.ndarray


def _config(rng):
    return Config(scale=1.5, shift=rng.normal(size=4))


def _layer(rng):
    return Layer(weight=rng.normal(size=(4, 3)), bias=rng.normal(size=3))


# ---------------------------------------------------------------- in-place subscript assignment

@corpus_function(A(5), wrt=0, jax=False, float32=True)
def inplace_index_loop(x):
    y = np.zeros(5)
    for i in range(5):
        y[i] = x[i] * x[(i + 1) % 5]
    return np.sum(y ** 2)


@corpus_function(A(6), wrt=0, jax=False, float32=True)
def inplace_slice_multiply(x):
    y = x.copy()
    y[2:] *= 3.0
    return np.sum(y * y * x)


@corpus_function(A(3), A(4), wrt=(0, 1), jax=False)
def inplace_two_d_accumulate(x, w):
    y = np.zeros((3, 4))
    for i in range(3):
        for j in range(4):
            y[i, j] += x[i] * w[j]
            y[i, j] += np.sin(x[i] - w[j])
    return np.sum(y ** 2)


@corpus_function(A(4, 3), A(3, 2), wrt=(0, 1), jax=False)
def inplace_row_assign(x, w):
    out = np.zeros((4, 2))
    for i in range(x.shape[0]):
        out[i] = np.tanh(x[i] @ w)
    return np.sum(out * out)


@corpus_function(A(4, 3), A(3), wrt=(0, 1), jax=False)
def inplace_column_assign(x, s):
    out = np.zeros((4, 3))
    for j in range(3):
        out[:, j] = x[:, j] * s[j] + s[j] ** 2
    return np.sum(np.sin(out))


@corpus_function(A(4), wrt=0, jax=False)
def inplace_overwrite_twice(x):
    y = x * 1.0
    y[0] = x[1] * 2.0
    y[0] = y[0] * x[2] + y[3]
    return np.sum(y * x)


@corpus_function(A(5), A(2), wrt=(0, 1), jax=False)
def inplace_negative_and_step(x, v):
    y = np.zeros(5)
    y[::2] = np.sin(x[::2])
    y[-1] = y[-1] + v[0] * v[1]
    y[-2] = x[1] * v[1]
    return np.sum(y * x)


@corpus_function(A(6), wrt=0, jax=False, float32=True)
def inplace_recurrence(x):
    y = np.zeros(6)
    y[0] = x[0]
    for i in range(1, 6):
        y[i] = y[i - 1] * 0.9 + np.tanh(x[i])
    return np.sum(y ** 2)


@corpus_function(A(6), wrt=0, jax=False)
def inplace_prefix_sum(x):
    y = x.copy()
    for i in range(1, y.shape[0]):
        y[i] += y[i - 1]
    return np.sum(np.sin(y))


@corpus_function(A(3, 3), wrt=0, jax=False)
def inplace_diagonal_shift(a):
    b = a.copy()
    for i in range(3):
        b[i, i] = b[i, i] + 2.0 * a[i, i] ** 2
    return np.sum((b @ b) * a)


@corpus_function(A(5), S(), wrt=(0, 1), jax=False)
def inplace_scalar_into_slice(x, a):
    y = x * 2.0
    y[1:3] = a
    y[4] *= a
    return np.sum(y * y)


@corpus_function(A(6), P(5), wrt=(0, 1), jax=False)
def inplace_divide_slice(x, d):
    y = x.copy()
    y[1:] /= d
    y[:3] -= x[3:]
    return np.sum(y ** 2)


@corpus_function(A(5), A(5), True, wrt=(0, 1), jax=False)
def inplace_in_branch(x, y, first):
    z = np.zeros(5)
    if first:
        z[0] = x[0] * y[0]
    else:
        z[1:] = x[1:] * 2.0
    z[2] += y[2] * x[3]
    return np.sum(z * y)


@corpus_function(A(6), wrt=0, jax=False)
def inplace_fancy_index(x):
    y = np.zeros(4)
    y[[0, 2, 3]] = x[:3] * x[3:]
    return np.sum(y * np.arange(1.0, 5.0) + y ** 2)


@corpus_function(make=lambda rng: (np.array([0.8, -0.5, 1.2, -1.4, 0.3]),), wrt=0, jax=False)
def inplace_mask(x):
    y = x * 1.5
    y[x < 0] = 0.0
    return np.sum(y ** 2 + y)


@corpus_function(A(4, 4), A(4), wrt=(0, 1), jax=False)
def inplace_loop_overwrites_row(x, v):
    y = x.copy()
    for i in range(3):
        y[i + 1] = y[i] * v + y[i + 1]
    return np.sum(np.tanh(y))



@corpus_function(A(3), wrt=0, jax=False)
def inplace_outside_value_in_loop(x):
    v = np.sin(x[0])   # defined before the loop, stored (a plain name) only inside it
    y = np.zeros(3)
    for i in range(3):
        y[i] = v
    return np.sum(y * x)


@corpus_function(A(3), 1.0, wrt=0, jax=False)
def inplace_outside_value_in_branch(x, flag):
    v = x[0] * x[1]
    y = np.zeros(3)
    if flag > 0:
        y[2] = v
    return np.sum(y ** 2)


@corpus_function(A(3), wrt=0, jax=False)
def inplace_outside_value_in_while(x):
    v = x * 2.0
    y = np.zeros((2, 3))
    i = 0
    while i < 2:
        y[i] = v
        i += 1
    return np.sum(y * y[::-1])


@corpus_function(A(2, 3), wrt=0, jax=False)
def inplace_read_then_store_in_loop(w):
    y = np.ones((2, 3))
    for i in range(2):
        y[[0, 0]] *= w + i   # reads y's rows (a copy), then stores into them: the read is
    return np.sum(y ** 2)    # saved, not read again in the adjoint loop


# ---------------------------------------------------------------- lists

@corpus_function(A(3), wrt=0, float32=True)
def list_append_stack(x):
    out = []
    h = x
    for _ in range(4):
        h = np.tanh(h * 1.5 + 0.1)
        out.append(h)
    return np.sum(np.stack(out) ** 2)


@corpus_function(A(3), wrt=0)
def list_last_and_first(x):
    out = []
    h = x
    for i in range(3):
        h = np.sin(h) + i
        out.append(h * h)
    return np.sum(out[-1] * out[0]) + np.sum(out[1])


@corpus_function(A(3), A(3), wrt=(0, 1))
def list_literal_stack(a, b):
    parts = [a, b, a * b]
    return np.sum(np.stack(parts, axis=1) ** 2)


@corpus_function(A(3), A(2), wrt=(0, 1))
def list_literal_concatenate(a, b):
    parts = [a, np.sin(b), a[:1] * b[:1]]
    return np.sum(np.concatenate(parts) ** 3)


@corpus_function(A(3), A(3), wrt=(0, 1))
def list_index_products(x, y):
    items = [x, y, x * y]
    return np.sum(items[0] * items[2] - items[1])


@corpus_function(A(4), wrt=0)
def list_iterate_after_building(x):
    parts = []
    for i in range(3):
        parts.append(x * (i + 1.0))
    acc = 0.0
    for p in parts:
        acc = acc + np.sum(np.sin(p))
    return acc


@corpus_function(A(3), wrt=0)
def list_while_length(x):
    out = [x]
    while len(out) < 4:
        out.append(np.cos(out[-1]) * x)
    return np.sum(np.stack(out))


@corpus_function(A(2, 3), wrt=0)
def list_reversed_consumption(x):
    hs = []
    h = x[0]
    for t in range(3):
        h = np.tanh(h + x[1] * t)
        hs.append(h)
    acc = np.zeros(3)
    for h in reversed(hs):
        acc = acc * 0.5 + h
    return np.sum(acc ** 2)


@corpus_function(make=lambda rng: (rng.normal(size=3),
                                   [rng.normal(size=(3, 3)) * 0.5 for _ in range(3)]),
                 wrt=0)
def list_argument_not_differentiated(x, weights):
    h = x
    for w in weights:
        h = np.tanh(w @ h)
    return np.sum(h)


@corpus_function(A(3), A(3), wrt=(0, 1))
def list_of_tuples(x, y):
    pairs = []
    for i in range(3):
        pairs.append((x * i, y + i))
    acc = 0.0
    for a, b in pairs:
        acc = acc + np.sum(a * b)
    return acc


@corpus_function(A(4), wrt=0)
def list_np_array(x):
    rows = []
    for i in range(3):
        rows.append(x * (i + 1.0) + np.sin(x))
    return np.sum(np.array(rows) ** 2)


@corpus_function(A(3), wrt=0, vector_output=True)
def list_stack_vector_output(x):
    out = []
    h = x
    for _ in range(3):
        h = h * np.cos(h)
        out.append(h)
    return np.stack(out)


# ---------------------------------------------------------------- tuples

@corpus_function(A(3), A(3), wrt=(0, 1))
def tuple_pack_unpack(x, y):
    t = (x * 2.0, np.sin(y))
    a, b = t
    return np.sum(a * b)


@corpus_function(A(3), A(3), wrt=(0, 1))
def tuple_indexing(x, y):
    t = (x, y, x - y)
    return np.sum(t[2] ** 2 * t[0]) + np.sum(t[1])


@corpus_function(A(3), A(3), wrt=(0, 1), vector_output=True)
def tuple_output(x, y):
    return np.sin(x) * y, x * y


@corpus_function(A(3), A(3), wrt=(0, 1), vector_output=True)
def tuple_output_from_loop(x, y):
    a = x
    b = y
    for _ in range(3):
        a, b = np.tanh(a + b), a * b
    return a, b


@corpus_function(A(3), A(3), A(3), wrt=(0, 1, 2))
def tuple_nested_unpack(x, y, z):
    a, (b, c) = x * y, (y + z, np.sin(z))
    return np.sum(a * b * c)


@corpus_function(A(4), wrt=0, vector_output=True)
def tuple_output_scalar_and_array(x):
    return np.sum(x ** 2), np.tanh(x)


# ---------------------------------------------------------------- dicts, named tuples, dataclasses

@corpus_function(make=lambda rng: (rng.normal(size=4),
                                   {"scale": 2.0, "bias": rng.normal(size=4)}),
                 wrt=0)
def dict_config(x, cfg):
    y = x * cfg["scale"] + cfg["bias"]
    return np.sum(np.sin(y) * y)


@corpus_function(make=lambda rng: (rng.normal(size=(5, 4)),
                                   {"w1": rng.normal(size=(4, 3)), "w2": rng.normal(size=3)}),
                 wrt=0)
def dict_weights_in_loop(x, weights):
    h = x
    for _ in range(2):
        h = np.tanh(h[:, :3] @ weights["w1"][:3] * 0.5 + weights["w2"])
        h = np.concatenate([h, h[:, :1]], axis=1)
    return np.sum(h ** 2)


@corpus_function(make=lambda rng: (rng.normal(size=4), _config(rng)), wrt=0)
def namedtuple_argument(x, cfg):
    return np.sum(np.tanh(x * cfg.scale + cfg.shift) * x)


@corpus_function(make=lambda rng: (rng.normal(size=4), _config(rng)), wrt=0)
def namedtuple_indexed(x, cfg):
    scale, shift = cfg
    return np.sum((x - shift) ** 2 * scale) + np.sum(cfg[1] * x)


@corpus_function(make=lambda rng: (rng.normal(size=(5, 4)), _layer(rng)), wrt=0)
def dataclass_argument(x, layer):
    h = np.tanh(x @ layer.weight + layer.bias)
    return np.sum(h ** 2)


@corpus_function(A(3), A(3), wrt=(0, 1))
def list_item_assignment(x, y):
    items = [x, y]
    items[0] = items[0] * 2.0 + y
    items[1] = np.sin(items[1])
    return np.sum(items[0] * items[1])


@corpus_function(A(3, 4), wrt=0, jax=False)
def inplace_two_d_slices(x):
    y = x * 1.0
    y[:, 1:] += x[:, :-1] ** 2
    y[1:, :] *= 0.5
    return np.sum(np.tanh(y))


@corpus_function(A(5), wrt=0, vector_output=True, jax=False)
def inplace_vector_output(x):
    y = np.zeros_like(x)
    for i in range(1, 5):
        y[i] = y[i - 1] + x[i] * x[i - 1]
    return y


@corpus_function(A(3), wrt=0)
def nested_lists_in_loops(x):
    rows = []
    for i in range(2):
        row = []
        for j in range(3):
            row.append(x * (i + 1.0) - j)
        rows.append(np.stack(row))
    return np.sum(np.stack(rows) ** 2)


@corpus_function(make=lambda rng: (rng.normal(size=3),
                                   {"a": rng.normal(size=3), "b": rng.normal(size=3)}),
                 wrt=0)
def dict_keys_from_loop(x, params):
    acc = 0.0
    for key in ("a", "b"):
        acc = acc + np.sum(np.sin(x * params[key]))
    return acc



@corpus_function(A(3), wrt=0)
def list_concatenated_with_a_display(x):
    # `a + [v]` concatenates (the rule of array `+` summed the cotangent onto each part)
    a = [x[0] * 2.0]
    b = a + [x[2] * 3.0]
    return b[0] * b[1]


@corpus_function(A(3), wrt=0)
def tuple_concatenated_with_a_display(x):
    a = (x[0] * 2.0, x[1])
    b = a + (x[2] * 3.0,)
    return b[0] * b[2] + b[1] ** 2


@corpus_function(A(3), wrt=0, jax=False)   # jax.numpy refuses `array + list` as written
def array_plus_a_list_display(x):
    return np.sum((x + [x[0] * 2.0, 1.0, x[1]]) ** 2)
