"""Callables whose results carry no derivative: constructors, shapes, indices, rounding, RNG."""

import numpy as np

from .registry import nondifferentiable

nondifferentiable(np.zeros, np.ones, np.full, np.eye, np.identity, np.arange, np.linspace,
                  np.zeros_like, np.ones_like, np.full_like, np.empty, np.empty_like,
                  reason="constructs a constant array")
nondifferentiable(np.shape, np.ndim, np.size, len, np.argmax, np.argmin, np.argsort,
                  np.sign, np.floor, np.ceil, np.round, np.rint, np.trunc, np.isnan,
                  np.isfinite, np.isinf, np.nonzero, np.flatnonzero, np.count_nonzero,
                  np.all, np.any, int, bool, range, isinstance, type,
                  reason="piecewise constant or integer-valued")
