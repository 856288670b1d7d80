"""``a + b`` where ``a`` or ``b`` may hold a list or tuple: Python's ``+`` (a rewrite).

Normalization sends ``+`` with a display on one side (``a + [v]``) to
``tgr.add_or_concatenate``; a ``+`` of two names goes through the rule of array ``+``, which
sums the cotangent of the longer list onto each part when both are lists. The alias
analysis knows which names may hold a list or tuple on some path (built from displays,
``append``, ``list(...)``, ``[0] * n``, elements of a list of lists, helpers returning one),
so those ``+`` become ``tgr.add_or_concatenate`` too, which concatenates two sequences and
adds anything else, as Python does::

    a = [x[0] * 2.0]
    b = [x[2] * 3.0]
    c = a + b                    # t = tgr.add_or_concatenate(a, b)

Parameters of a function called from generated code are not known (a list passed to a
helper that adds it to another list): README's limitations say to write ``[*a, *b]``.
"""

import operator

import gast

from .. import ir, runtime
from .activity import assignments
from .aliasing import analyse_flow
from .normalize_calls import resolved_name


def _additions(tree):
    """The statements ``t = a + b`` with a name on either side."""
    for stmt in assignments(tree.body):
        value = stmt.value
        if isinstance(value, gast.BinOp) and ir.primitive(value).func is operator.add \
                and (isinstance(value.left, gast.Name) or isinstance(value.right, gast.Name)):
            yield stmt


def _makes_sequences(tree):
    """Whether anything in ``tree`` may make a list or tuple (a display, ``list(...)``,
    ``append``, a call of a user function)."""
    for node in ir.walk(tree):
        if isinstance(node, (gast.List, gast.Tuple)) and isinstance(node.ctx, gast.Load):
            return True
        if isinstance(node, gast.Call):
            func = getattr(node.func, "resolved", None)
            if func in (list, tuple, runtime.append, runtime.add_or_concatenate) \
                    or callable(func) and hasattr(func, "__code__"):
                return True
    return False


def _carries_nothing(operand, state):
    """A constant, an int, or a sequence of them (a shape): no derivative flows."""
    if isinstance(operand, (gast.Tuple, gast.List)):
        return all(_carries_nothing(e, state) for e in operand.elts)
    return isinstance(operand, gast.Constant) or isinstance(operand, gast.Name) and (
        operand.id in state.int_items or operand.id in state.ints)


def concatenate_sequences(info, tree, param_ranks=None, numbers=()):
    """Rewrite, in place, each ``t = a + b`` whose operand may be a list or tuple."""
    additions = list(_additions(tree))
    if info.generated or not additions or not _makes_sequences(tree):
        return
    analysis = analyse_flow(info, tree, param_ranks, numbers, refuse=False)
    for stmt in additions:
        state = analysis.before.get(id(stmt))
        if state is None:
            continue   # never reached
        operands = (stmt.value.left, stmt.value.right)
        if all(_carries_nothing(a, state) for a in operands):
            continue   # shapes and indices (`(*x.shape, 1)`): no derivative either way
        if any(isinstance(a, gast.Name) and a.id in state.sequences for a in operands):
            stmt.value = gast.copy_location(gast.Call(
                func=resolved_name(runtime.add_or_concatenate, stmt.value),
                args=list(operands), keywords=[]), stmt.value)
