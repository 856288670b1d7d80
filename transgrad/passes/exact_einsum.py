"""A primal ``np.einsum`` of operands whose exact shapes are known, given its contraction
(part of the call-time rewrite, ``exact.py``).

numpy's ``einsum`` runs one C loop over the whole index space unless ``optimize`` is given.
Over a large index space with a contracted axis that loop is slow: GradBench gmm's
``np.einsum("ijk,mik->mij", Ls, xcentered)`` (20,000 points) took 345 us, the optimized
contraction (a BLAS product) 28 us. The path search that ``optimize=True`` runs costs about
10 us a call, so the rewrite searches once, for the known shapes, and passes the path::

    t5 = np.einsum('ijk,mik->mij', Ls, xcentered)
    ->  t5 = np.einsum('ijk,mik->mij', Ls, xcentered, optimize=['einsum_path', (0, 1)])

Below 2048 points the C loop is faster, and the call is left as written. The value is the
same up to rounding (the sums are taken in another order). The adjoint's einsums choose the
same way at run time (``rules/einsum.py``, ``einsum_contract``).
"""

import gast
import numpy as np

POINTS = 2048   # index-space points from which the contraction beats numpy's C loop


def with_path(node, resolve, value):
    """``node`` (a Call) with ``optimize=<path>`` added where it is an ``np.einsum`` of two
    or more float64 operands of known shapes over at least ``POINTS`` points and says
    nothing of ``optimize`` itself; else None. ``resolve``: the object a name refers to;
    ``value``: the ``Value`` of an expression."""
    if resolve(node.func) is not np.einsum or node.keywords or len(node.args) < 3:
        return None
    spec = node.args[0]
    if spec.__class__ is not gast.Constant or not isinstance(spec.value, str):
        return None
    shapes = []
    for operand in node.args[1:]:
        known = value(operand)
        if known is None or not known.array or known.shape is None:
            return None
        shapes.append(known.shape)
    points = index_points(spec.value, shapes)
    if points is None or points < POINTS:
        return None
    try:
        path = np.einsum_path(spec.value, *(np.zeros(s) for s in shapes),
                              optimize="greedy")[0]
    except ValueError:
        return None
    steps = [gast.Constant(value=path[0], kind=None)] + [
        gast.Tuple(elts=[gast.Constant(value=i, kind=None) for i in step], ctx=gast.Load())
        for step in path[1:]]
    return gast.Call(func=node.func, args=node.args, keywords=[gast.keyword(
        arg="optimize", value=gast.List(elts=steps, ctx=gast.Load()))])


def index_points(subscripts, shapes):
    """The number of points of the index space of ``np.einsum(subscripts, *operands)`` for
    operands of ``shapes`` (the broadcast axes of ``...`` counted once), or None where the
    subscripts do not fit the shapes."""
    sizes, broadcast = {}, ()
    inputs = subscripts.replace(" ", "").partition("->")[0].split(",")
    if len(inputs) != len(shapes):
        return None
    for spec, shape in zip(inputs, shapes):
        left, dots, right = spec.partition("...")
        extra = len(shape) - len(left) - len(right)
        if extra < 0 or (extra and not dots):
            return None
        sizes.update(zip(left, shape[:len(left)]))
        sizes.update(zip(right, shape[len(shape) - len(right):]))
        if dots:
            middle = shape[len(left):len(left) + extra]
            broadcast = np.broadcast_shapes(broadcast, middle)
    points = 1
    for n in list(sizes.values()) + list(broadcast):
        points *= n
    return points
