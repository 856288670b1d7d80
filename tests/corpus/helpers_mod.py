"""User functions that live in another module than the corpus functions calling them.

transgrad reads their source here, resolves their names in this module's globals, and builds
their derivatives recursively.
"""

import numpy as np

GAIN = 1.25


def softplus(x):
    return np.log1p(np.exp(x))


def dense(x, w, b):
    return x @ w + b


def relu(x):
    return np.maximum(x, 0.0)


def scaled_tanh(x, gain=GAIN):
    return np.tanh(x) * gain


def quadratic(x, a, b):
    # only operators: runs on jax.numpy arrays as well
    return a * x * x + b * x


def norm_and_mean(x):
    return np.sqrt(np.sum(x * x)), np.mean(x)


def horner(coeffs, t):
    acc = 0.0
    for c in coeffs:
        acc = acc * t + c
    return acc


def relu_squared_or_linear(x, squared):
    if squared:
        return relu(x) ** 2
    return relu(x)
