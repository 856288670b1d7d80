"""Front-end syntax (issue 11): a lambda as the differentiated function (also two on one line),
list comprehensions and generator expressions (conditions, nested ``for``, zip, a variable
shadowing one outside), assignment targets that are not names (subscripts, nested tuples, a
starred name), starred expressions in tuples, lists and calls, and ``**`` of a dict.

A lambda has no name of its own: ``named`` gives it one for the corpus's test ids (the
compiler reads it by its code object, whatever ``__name__`` says). Writing into an array
(``y[i] = v``) cannot run on jax.numpy, so those functions say ``jax=False``.
"""

import numpy as np

from transgrad.rules.specs import A, P

from . import corpus_function


def named(name, func):
    func.__name__ = func.__qualname__ = name
    return func


def _pair(a, b):
    return a * b, a + b


def _scaled(x, scale=2.0):
    return x * scale


def _keywords(*, a, b, c):
    return a * b * c + c * c


CONSTANTS = {"a": 2.0, "b": 0.5}

# ---------------------------------------------------------------- lambdas

lambda_closure = corpus_function(A(4))(
    named("lambda_closure", lambda x: np.sum(np.sin(x) * _scaled(x, 3.0))))

lambda_default = corpus_function(A(4), wrt=0)(
    named("lambda_default", lambda x, k=1.5: np.sum(np.tanh(x * k) * x)))

# two lambdas on one line, told apart by where their code starts
lambda_left, lambda_right = (
    corpus_function(A(3))(named("lambda_left", lambda x: np.sum(x ** 2 * np.cos(x)))),
    corpus_function(A(3))(named("lambda_right", lambda x: np.sum(np.exp(x) * x))))

lambda_multiline = corpus_function(A(3), A(3), wrt=(0, 1))(named("lambda_multiline", lambda x, y:
    np.sum(x * y)
    + np.sum(np.sin(x) ** 2)))

# ---------------------------------------------------------------- comprehensions


@corpus_function(A(4))
def list_comprehension(x):
    ys = [np.sin(x[i]) * x[i] for i in range(4)]
    return np.sum(np.stack(ys))


@corpus_function(A(5))
def comprehension_condition(x):
    return np.sum(np.stack([x[i] ** 2 for i in range(5) if i % 2 == 0]))


@corpus_function(A(4))
def comprehension_nested_for(x):
    pairs = [x[r] * x[c] for r in range(4) for c in range(r) if c != 1]
    return np.sum(np.stack(pairs))


@corpus_function(A(3))
def comprehension_of_comprehension(x):
    rows = [np.stack([x[r] * np.sin(x[c]) for c in range(3)]) for r in range(3)]
    return np.sum(np.stack(rows) ** 2)


@corpus_function(A(4))
def generator_sum(x):
    return sum(np.tanh(v) * v for v in x)


@corpus_function(A(4), A(4), wrt=(0, 1))
def comprehension_zip(x, y):
    return np.sum(np.stack([w * np.cos(v) for w, v in zip(x, y)]))


@corpus_function(A(4))
def comprehension_shadows(x):
    i = 2.5   # the comprehension's i is its own
    total = sum(x[i] * x[i + 1] for i in range(3))
    return total * i + sum(x[i] for i in range(2))


@corpus_function(A(3))
def comprehension_in_branch(x):
    if np.sum(x) > 0:
        return np.sum(np.stack([v * v for v in x]))
    return np.sum(np.stack([np.sin(v) for v in x]))


# ---------------------------------------------------------------- assignment targets


@corpus_function(A(4), jax=False)
def unpack_into_subscripts(x):
    s2 = np.zeros(4)
    for i in range(0, 4, 2):
        (s2[i], s2[i + 1]) = _pair(x[i], x[i + 1])
    return np.sum(s2 ** 2)


@corpus_function(A(3))
def nested_targets(x):
    (a, (b, c)) = x[0], (x[1], np.sin(x[2]))
    t = (x[0] * 2, (x[1], x[2] * 3))
    (d, (e, f)) = t
    return a * b * c + d * e * f


@corpus_function(A(4))
def starred_target(x):
    a, *rest = x
    *init, z = x
    p, *middle, q = (x[0], x[1], x[2], x[3])
    return a * np.sum(np.stack(rest)) + z * np.sum(np.stack(init)) + p * q * len(middle)


@corpus_function(A(2, 3))
def starred_shape(w):
    return np.sum(np.reshape(w, (*w.shape, 1)) * np.ones((1, 1, 2)) * w[:, :, None])


@corpus_function(A(3))
def starred_list(x):
    a = [x[0], x[1]]
    b = [*a, x[2] * 2, *a]
    t = (*a, np.sin(x[2]))
    return np.sum(np.stack(b) ** 2) + np.sum(np.stack(t) ** 3)


@corpus_function(A(3))
def starred_call(x):
    args = (x[0], x[1])
    first, _ = _pair(*args)
    _, second = _pair(*(x[1], x[2]))
    return first * second + np.sum(np.maximum(*args)) + np.sum(_scaled(*[x]))


@corpus_function(make=lambda rng: (rng.normal(size=3), {"a": rng.normal(size=3),
                                                          "b": rng.normal(size=3)}), wrt=0)
def double_star_dict(x, d):
    return np.sum(_keywords(**d, c=x)) + np.sum(_keywords(**CONSTANTS, c=x * x))


@corpus_function(P(3))
def unpack_in_loop_target(x):
    total = 0.0
    for i, (a, b) in enumerate(zip(x, x * 2)):
        total = total + a * b * (i + 1)
    return total
