"""Marks the call-time rewrite (``exact.py``) leaves on products whose operands' shapes it
knows, for the passes that run on its result: ``deferred`` sums a loop's products as one
product of stacked operands (``node.stacking``), ``projections`` makes a loop's input
projections per chunk of steps (``node.projection``)."""

import gast
import numpy as np

from .exact_values import F64, PY_INT


def mark_stacking(node, exact):
    """Mark a product (``node`` of a rewritten copy) whose sum over a loop's iterations is one
    product of its operands stacked, for ``deferred``: ``np.outer`` of two vectors stacks
    rows; ``x.T @ g`` (x a matrix, g a vector or matrix) concatenates both along axis 0,
    ``g @ y.T`` (two matrices) along axis 1. In a sum (``bw + x.T @ g``) the right operand
    is the product looked at."""
    if node.__class__ is gast.BinOp and node.op.__class__ is gast.Add:
        node = node.right

    def rank(operand):   # of a float64 array of known shape, else None
        return _f64_rank(exact, operand)

    if node.__class__ is gast.BinOp and node.op.__class__ is gast.MatMult:
        left, right = node.left, node.right
        if left.__class__ is gast.Attribute and left.attr == "T":
            if rank(left.value) == 2 and rank(right) in (1, 2):
                node.stacking = "rows"
        elif right.__class__ is gast.Attribute and right.attr == "T":
            if rank(left) == 2 and rank(right.value) == 2:
                node.stacking = "columns"
    elif node.__class__ is gast.Call and len(node.args) == 2 and not node.keywords \
            and exact.resolve(node.func) is np.outer:
        if rank(node.args[0]) == 1 and rank(node.args[1]) == 1:
            node.stacking = "outer"


def _f64_rank(exact, operand):
    """The rank of a name whose value is a float64 array of known shape; else None."""
    value = exact.value(operand) if operand.__class__ is gast.Name else None
    ok = value is not None and value.array and value.dtype is F64 and value.shape is not None
    return len(value.shape) if ok else None


def mark_projection(node, exact):
    """Mark, for ``projections``, what a loop's input projections are made of: a row
    ``xs[t]`` of a float64 matrix by a Python int (``row``), and a product of two names, a
    float64 matrix and a vector (``left`` for ``W @ v``, ``right`` for ``v @ W``)."""
    kind = node.__class__
    if kind is gast.Subscript and node.value.__class__ is gast.Name \
            and node.slice.__class__ is gast.Name:
        if _f64_rank(exact, node.value) == 2 and exact.value(node.slice) == PY_INT:
            node.projection = "row"
    elif kind is gast.BinOp and node.op.__class__ is gast.MatMult:
        ranks = _f64_rank(exact, node.left), _f64_rank(exact, node.right)
        if ranks == (2, 1):
            node.projection = "left"
        elif ranks == (1, 2):
            node.projection = "right"
