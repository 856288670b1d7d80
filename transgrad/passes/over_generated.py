"""Refuse, with the line, what reverse mode cannot do yet over generated code (a derivative
differentiated again): helpers of generated code without rules, and two uses of the stack."""

import gast

from .. import ir
from ..rules.registry import check_source_differentiable
from .activity import assignments, stack_pushes
from .normalize import stack_operation


def check_reverse_over_generated(info, tree):
    """Reverse mode over generated code: refuse helpers that need rules, and the two uses of
    the stack that reverse mode does not differentiate yet (its own pushes and pops have
    rules in ``passes/reverse.py``): a stack that arrives in a tape (the backward half of a
    user function's derivative pops what the forward half pushed), and a user function's tape
    bound inside a loop or branch (a call there): its cotangent is a tuple, which adjoints that
    start at ``0.0`` there cannot add."""
    check_source_differentiable(info.func, "reverse-mode")
    if not info.generated:
        return
    pushed = {stack: value for _, stack, value in stack_pushes(tree.body)}
    results, unpacks = set(), []   # what calls into other generated code return
    for node in ir.walk(tree):
        if not isinstance(node, gast.Assign):
            continue
        stack = stack_operation(node.value, "pop")
        if stack is not None and stack.id not in pushed:
            raise info.error(
                "reverse mode over the backward half of a user function's derivative with "
                "loops or branches (its stack arrives in a tape) is not supported yet", node,
                hint=_FORWARD_OVER_REVERSE)
        called = getattr(getattr(node.value, "func", None), "resolved", None)
        code = getattr(called, "__code__", None)
        if code is not None and code.co_filename.startswith("<transgrad-") \
                and not getattr(called, "returns_no_tape", False):   # a jvp: (value, tangent)
            results.update(ir.assigned(node))
        elif isinstance(node.targets[0], gast.Tuple) and isinstance(node.value, gast.Name):
            unpacks.append(node)
    results.update(v for node in unpacks if node.value.id in results for v in ir.assigned(node))
    for block in tree.body:   # a tape bound inside a loop or branch (a call there)
        if isinstance(block, (gast.If, gast.For, gast.While)):
            for stmt in assignments([block]):
                if results.intersection(ir.assigned(stmt)):
                    raise info.error(
                        "reverse mode over a derivative that calls a user function inside a "
                        "loop or branch (the call's tape) is not supported yet", stmt,
                        hint=_FORWARD_OVER_REVERSE)

_FORWARD_OVER_REVERSE = ("use forward over reverse: tg.hvp(f), tg.hessian(f), "
                         "tg.jvp(tg.grad(f)), tg.jacfwd(tg.grad(f))")
