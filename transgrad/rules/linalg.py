"""Rules for linear algebra: products, decompositions, solves."""

import numpy as np  # noqa: F401

from .. import runtime as tgr  # noqa: F401
from .registry import Sample, vjp  # noqa: F401
from .specs import A  # noqa: F401
