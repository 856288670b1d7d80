"""Array specs for rule samples: shapes and value ranges, turned into arrays by the tests."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ArraySpec:
    shape: tuple
    low: float = -2.0
    high: float = 2.0
    kind: str = "float"     # "float", "spd" (symmetric positive definite), "wc", "int"

    def make(self, rng):
        import numpy as np
        if self.kind == "spd":
            n = self.shape[-1]
            a = rng.uniform(-1, 1, self.shape)
            return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)
        if self.kind == "wc":
            n = self.shape[-1]
            return rng.uniform(-1, 1, self.shape) + n * np.eye(n)
        if self.kind == "int":
            return rng.integers(int(self.low), int(self.high), self.shape)
        if self.shape == "scalar":
            return float(rng.uniform(self.low, self.high))
        return rng.uniform(self.low, self.high, self.shape)


def A(*shape):
    """A float array of ``shape`` with values in (-2, 2)."""
    return ArraySpec(shape)


def P(*shape):
    """A positive float array of ``shape``, values in (0.5, 2)."""
    return ArraySpec(shape, 0.5, 2.0)


def U(*shape):
    """A float array of ``shape`` with values inside (-0.9, 0.9)."""
    return ArraySpec(shape, -0.9, 0.9)


def G(*shape):
    """A float array of ``shape`` with values greater than 1.1 (for arccosh)."""
    return ArraySpec(shape, 1.1, 3.0)


def SPD(n, batch=()):
    """A well-conditioned symmetric positive definite ``n x n`` matrix."""
    return ArraySpec(tuple(batch) + (n, n), kind="spd")


def S(low=-2.0, high=2.0):
    """A Python float in (low, high)."""
    return ArraySpec("scalar", low, high)


def W(n, batch=()):
    """A well-conditioned (diagonally dominant, not symmetric) ``n x n`` matrix."""
    return ArraySpec(tuple(batch) + (n, n), kind="wc")
