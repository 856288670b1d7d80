"""Fit a small two-layer network with a gradient that transgrad writes as Python source.

Run: python examples/quickstart.py
"""

import numpy as np

import transgrad as tg


def loss(w1, w2, x, y):
    h = np.maximum(x @ w1, 0.0)
    out = h @ w2
    return np.mean((out - y) ** 2)


def main():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8))
    true_w = rng.normal(size=(8, 1))
    y = np.sin(x @ true_w) + 0.1 * rng.normal(size=(256, 1))
    w1 = rng.normal(size=(8, 32)) * 0.3
    w2 = rng.normal(size=(32, 1)) * 0.3

    dloss = tg.value_and_grad(loss, wrt=(0, 1))
    dloss(w1, w2, x, y)   # builds the code for these arguments (matrices)
    print("The gradient transgrad generated for `loss`:\n")
    print(dloss.source)

    learning_rate = 0.05
    for step in range(501):
        value, (g1, g2) = dloss(w1, w2, x, y)
        w1 -= learning_rate * g1
        w2 -= learning_rate * g2
        if step % 100 == 0:
            print(f"step {step:3d}  loss {value:.4f}")
    first = loss(rng.normal(size=(8, 32)) * 0.3, rng.normal(size=(32, 1)) * 0.3, x, y)
    print(f"final loss {loss(w1, w2, x, y):.4f} (an untrained network: {first:.4f})")


if __name__ == "__main__":
    main()
