# grad: wrong_derivative: max abs error 0.125 (argument 0); got [-10.21851, -1.381927, 0.071448], expected [-10.34361, -1.394569, 0.072323]
# value_and_grad: wrong_derivative: max abs error 0.125 (argument 0); got [-10.21851, -1.381927, 0.071448], expected [-10.34361, -1.394569, 0.072323]
# vjp: wrong_derivative: max abs error 0.125 (argument 0); got [-10.21851, -1.381927, 0.071448], expected [-10.34361, -1.394569, 0.072323]
# hvp: wrong_derivative: max abs error 0.947 (argument 0); got [72.249436, 12.005778, 9.23096], expected [73.196906, 12.155795, 9.343532]
# args: [[3]]
# seed: 1102495
import math
import numpy as np


def h7(a, n):
    if n <= 0:
        return a
    return h7(np.cos(a) * 0.71 + -0.31, n - 1)

def h9(a, b, scale=1.0):
    if np.sum(a) > -0.47:
        return +np.exp(np.tanh(a)) * scale
    return a + b

def apply13(fn, a):
    return fn(fn(a) * 0.62) + fn(a)

def h11(a, b, scale=1.0):
    t12 = np.ones((3,)) * 0.93 @ (np.ones((3,)) * 0.89) - b * a
    return (a - +apply13(lambda u: u * b, a)) * scale + b

def h15(a, b, scale=1.0):
    t16 = a
    return np.min(np.ones((2, 3)) * 1.8) * scale + b

def h17(a, n):
    if n <= 0:
        return a
    return h17(np.cos(a) * -0.7 + -0.48, n - 1)

def h14(a, *, k=0.5):
    t = h15(b=a, a=a * a, scale=0.5)
    return (h17(a, 3) * k, t)

def h18(a, b, scale=1.0):
    t19 = b
    return 2.0 ** np.tanh(t19) * 2.0 ** np.tanh(t19) * scale + b

def make24(c):

    def g(u):
        return np.tanh(u * c) + c * 1.97
    return g

def apply25(fn, a):
    return fn(fn(a) * 0.73) + fn(a)

def h27(a, *, k=0.5):
    t = a
    return ((t - +a) * k, np.mean(t))

def f(x):
    acc = 0.0
    for s1, t2 in zip(x, x[::-1]):
        if s1 < -0.04:
            continue
        u3 = np.stack([x, x[::-1]])
        p4 = acc + t2 * (-1.5) ** 3
        b5 = u3
    u6 = h7(1.71 * acc, 2) - +-np.dot(x, x) ** 2
    c8 = h9(np.stack([x, x[::-1]]) - --np.stack([x, x[::-1]]), b=np.stack([x, x[::-1]]))
    u10 = h11(u6, np.sum(c8)) + h14(np.mean(c8))[0]
    if acc < -0.31:
        return -h18(acc, u10, scale=1.94) ** 2
    y20 = np.zeros((3,))
    y20[[0, 0]] = np.exp(np.tanh(x))[:2]
    y20[-1] = u6
    u21, w22 = (np.stack([y20, y20 ** 2, y20]), np.cos(np.cos(c8)))
    q23 = np.exp(np.tanh(np.cos(c8))) * (make24(y20 * np.ones((2, 3)))(c8) * -apply25(np.tanh, c8))
    s26 = np.exp(-u21 ** 2)
    y20 = h27(y20, k=1.2)[1] * y20
    x = x * --u10 * acc
    k28 = 0
    while k28 < 1 and np.sum(q23) < -2.91:
        c29 = y20
        s30 = c8 @ u21
        k28 += 1
    return u10 + -0.91 * np.mean(w22) + -0.35 * y20.sum()
