"""Callables whose results carry no derivative: constructors, shapes, indices, rounding, RNG.

Comparisons and logical operators are declared beside their arithmetic twins (arithmetic.py).
"""

import math
import operator

import numpy as np

from .registry import declare, nondifferentiable, nondifferentiable_methods

nondifferentiable(np.zeros, np.ones, np.full, np.eye, np.identity, np.arange, np.linspace,
                  np.logspace, np.geomspace, np.zeros_like, np.ones_like, np.full_like,
                  np.empty, np.empty_like, np.tri, np.indices, np.meshgrid, np.mgrid, np.ogrid,
                  np.dtype, np.finfo, np.iinfo, np.result_type,
                  reason="constructs a constant array")

nondifferentiable(np.shape, np.ndim, np.size, len, np.argmax, np.argmin, np.argsort,
                  np.argwhere, np.argpartition, np.lexsort, np.searchsorted, np.digitize,
                  np.bincount, np.histogram, np.unique, np.sign, np.signbit, np.heaviside,
                  np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix,
                  np.isnan, np.isfinite, np.isinf, np.isposinf, np.isneginf, np.isclose,
                  np.allclose, np.array_equal, np.nonzero, np.flatnonzero, np.count_nonzero,
                  np.all, np.any, operator.truth, operator.index, round,
                  int, bool, range, isinstance, type,
                  reason="piecewise constant or integer-valued")

# random numbers: the module-level functions (methods of numpy's global RandomState) and the
# methods of any Generator or RandomState, e.g. ``rng.normal`` for a module-level ``rng``
nondifferentiable(*(getattr(np.random, name) for name in dir(np.random)
                    if name[0].islower() and callable(getattr(np.random, name))),
                  np.random.Generator, np.random.RandomState, np.random.SeedSequence,
                  reason="random numbers")
nondifferentiable_methods(np.random.Generator, np.random.RandomState)

nondifferentiable(math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite,
                  round, reason="integer-valued")

# array methods and attributes of these (x.argmax() is np.argmax(x), x.shape is np.shape(x))
for _name in ("argmax", "argmin", "argsort", "any", "all", "round", "nonzero"):
    declare(getattr(np, _name), method=_name)
for _name in ("shape", "ndim", "size"):
    declare(getattr(np, _name), attribute=_name)
# they read only the shape, dtype or size of their argument (the Tensor's tape keeps it unchecked)
declare(np.shape, np.ndim, np.size, np.zeros_like, np.ones_like, np.empty_like, meta=0)
