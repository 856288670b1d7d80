"""Refuse, with the line, what reverse mode cannot do yet over generated code (a derivative
differentiated again): helpers of generated code without rules, and two uses of the stack."""

import gast

from .. import ir
from ..rules.registry import check_source_differentiable
from .activity import stack_pushes
from .normalize import stack_operation


def check_reverse_over_generated(info, tree):
    """Reverse mode over generated code: refuse helpers that need rules, and the use of the
    stack that reverse mode does not differentiate yet (its own pushes and pops have rules in
    ``passes/reverse.py``): a stack that arrives in a tape (the backward half of a user
    function's derivative pops what the forward half pushed). A user function's tape bound
    inside a loop or branch is differentiated: its cotangent is a ``tgr.ListCotangent``
    (``tgr.unpacked_cotangent``), which adds to the ``0.0`` an adjoint starts from there."""
    check_source_differentiable(info.func, "reverse-mode")
    if not info.generated:
        return
    pushed = {stack: value for _, stack, value in stack_pushes(tree.body)}
    for node in ir.walk(tree):
        if not isinstance(node, gast.Assign):
            continue
        stack = stack_operation(node.value, "pop")
        if stack is not None and stack.id not in pushed:
            raise info.error(
                "reverse mode over the backward half of a user function's derivative with "
                "loops or branches (its stack arrives in a tape) is not supported yet", node,
                hint=_FORWARD_OVER_REVERSE)


_FORWARD_OVER_REVERSE = ("use forward over reverse: tg.hvp(f), tg.hessian(f), "
                         "tg.jvp(tg.grad(f)), tg.jacfwd(tg.grad(f))")
