"""The numpy backend: generated code runs on ``numpy`` with ``transgrad.runtime`` helpers."""

import builtins
import math
import types

import numpy as np

from .. import runtime

_MODULES = {np: "np", math: "math", runtime: "tgr"}
_SUBMODULES = ((np, "np"), (np.linalg, "np.linalg"), (np.fft, "np.fft"),
               (np.random, "np.random"), (math, "math"), (runtime, "tgr"))


class NumpyBackend:
    name = "numpy"
    functional = False          # in-place subscript assignment stays in place

    def globals(self):
        """The module names generated code refers to."""
        return {"np": np, "math": math, "tgr": runtime}

    def canonical(self, obj):
        """The dotted name generated code uses for ``obj``, if it has a standard one."""
        if isinstance(obj, types.ModuleType) and obj in _MODULES:
            return _MODULES[obj]
        name = getattr(obj, "__name__", None)
        if isinstance(name, str):
            for module, prefix in _SUBMODULES:
                try:
                    if getattr(module, name, None) is obj:
                        return f"{prefix}.{name}"
                except TypeError:
                    pass
            if getattr(builtins, name, None) is obj:
                return name
        return None

    def translate(self, obj):
        """The object generated code for this backend calls in place of ``obj``."""
        return obj
