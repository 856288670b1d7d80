"""Rules for the helpers that generated code calls (``tgr.*``), so that generated code can be
differentiated again: ``tg.jvp(tg.grad(f))``, ``tg.hvp``, ``tg.hessian``.

Most helpers are linear in the cotangent they carry and constant in the other arguments (a
shape to sum back to, an axis, a permutation): their forward rules are declared by position in
``rules/forward.py`` (``LINEAR_IN``). The ones here give zeros or integers only.
"""

from .. import runtime
from .registry import nondifferentiable

nondifferentiable(runtime.zeros_like_value, runtime.zero_tangent, reason="constructs a zero")
nondifferentiable(runtime.reduced_count, runtime.inverse_permutation, runtime.is_basic_index,
                  slice, reason="integer-valued")
nondifferentiable(runtime.check_power, reason="checks an argument")
