"""The shared corpus: plain numerical functions that every mode and backend must differentiate.

Each module holds one feature group. A corpus function is declared with its sample inputs::

    @corpus_function(A(3, 4), P(4), wrt=(0, 1))
    def divide_broadcast(x, y):
        return np.sum(x / y)

``args`` are array specs from ``transgrad.rules.specs`` (``A(3, 4)`` any floats, ``P(3)``
positive, ``U(3)`` inside (-0.9, 0.9), ``SPD(3)``, ``S()`` a Python float) or plain values
passed as given; ``make=`` instead takes a function of a ``numpy.random.Generator`` that returns
the argument tuple. ``wrt`` is an index or a tuple of indices, exactly as ``tg.grad`` takes it.

Flags:

* ``vector_output=True``: the output is not a scalar (or is a tuple); only ``tg.vjp`` applies.
* ``jax=False``: the function cannot run on ``jax.numpy`` by rebinding the global ``np``
  (it uses ``numpy.``, ``from numpy import``, ``math``, builtin ``min``/``max`` on values, or
  a boolean mask, whose result shape JAX cannot trace).
* ``float32=True``: also check that float32 inputs give float32 gradients.

The functions are written with ``np.`` wherever possible so that ``tests.checks.jax_version``
can run the same code on JAX. Besides straight-line code, the corpus covers loops, branches,
calls to user functions and containers (``control``, ``calls``, ``data``, ``programs``).
"""

from dataclasses import dataclass

import numpy as np

from transgrad.rules.specs import ArraySpec

CORPUS = []


@dataclass(frozen=True)
class CorpusFunction:
    func: object
    args: tuple
    make: object
    wrt: object
    vector_output: bool
    jax: bool
    float32: bool

    @property
    def group(self):
        return self.func.__module__.rsplit(".", 1)[-1]

    @property
    def name(self):
        return f"{self.group}.{self.func.__name__}"

    @property
    def wrt_indices(self):
        return (self.wrt,) if isinstance(self.wrt, int) else tuple(self.wrt)

    def sample(self, seed=0):
        """Concrete float64 arguments (a fresh tuple on every call)."""
        rng = np.random.default_rng(seed)
        if self.make is not None:
            return tuple(self.make(rng))
        return tuple(a.make(rng) if isinstance(a, ArraySpec) else a for a in self.args)

    def __repr__(self):
        return f"<corpus {self.name}>"


def corpus_function(*args, wrt=0, make=None, vector_output=False, jax=True, float32=False):
    """Register the decorated function in ``CORPUS`` with its sample inputs; returns it as is."""
    if args and make is not None:
        raise ValueError("give either array specs or make=, not both")

    def register(func):
        CORPUS.append(CorpusFunction(func, args, make, wrt, vector_output, jax, float32))
        return func
    return register


from . import (  # noqa: F401,I001  (registers the corpus)
    arithmetic, constants, elementwise, indexing, linalg, models, reductions, scalars, shapes,
    control, calls, data, programs, syntax, functions, numerics)

try:    # scipy is optional
    import scipy  # noqa: F401
except ImportError:  # pragma: no cover
    pass
else:
    from . import scipy_funcs  # noqa: F401
