"""Declarations of ``runtime.py``'s own helpers (``tgr.match``, ``tgr.add_at``, the container
cotangents...), so that generated code can be differentiated again: ``tg.jvp(tg.grad(f))``,
``tg.hvp``, ``tg.hessian``, and reverse mode over a gradient (``tg.grad(tg.grad(f))``).

Most helpers are linear in the cotangent they carry and constant in the other arguments (a
shape to sum back to, an axis, an index): each is declared with that linearity (forward mode)
and its reverse rule, the transpose. An argument read only for its shape gets a zero cotangent
of its shape. The derivative formulas (``tgr.tile_vjp``...) are declared with their own rules
next to the rule that calls them, in their family module.
"""

import numpy as np

from .. import runtime
from .. import runtime as tgr
from .registry import (  # noqa: F401
    SOURCE_DIFFERENTIABLE,
    Sample,
    check_source_differentiable,
    declare,
    linear,
    nondifferentiable,
    vjp,
)
from .specs import A

nondifferentiable(runtime.zeros_like_value, runtime.zero_tangent, reason="constructs a zero")
declare(runtime.zeros_like_value, runtime.reduced_count, meta=0)   # read x for its shape
linear(runtime.restore_shape, runtime.part_cotangent, positions=(0,))   # rules in their users
nondifferentiable(runtime.reduced_count, runtime.is_basic_index, slice, reason="integer-valued")
nondifferentiable(runtime.check_member, reason="checks an argument")
nondifferentiable(runtime._has_no_zeros, runtime.unreached, runtime.extremum_mask,
                  reason="a test of values")


@vjp(runtime.match, runtime.cotangent_of, linear=(0,),
     samples=[Sample((A(3), A(3)), wrt=(0,)), Sample((A(2, 3), A(3)), wrt=(0,)),
              Sample((A(3), A(1, 3)), wrt=(0,))])
def match(gg, ans, g, x):
    """``match`` sums a gradient with broadcast axes back to ``x``'s shape: the transpose
    broadcasts."""
    return tgr.restore_shape(gg, g), tgr.zeros_like_value(x)


@vjp(runtime.unbroadcast_to, linear=(0,), meta=1, samples=[Sample((A(2, 3), A(3)), wrt=(0,)),
                                      Sample((A(3, 4), A(3, 1)), wrt=(0,)),
                                      Sample((A(3), A(3)), wrt=(0,))])
def unbroadcast_to(gg, ans, g, x):
    """The transpose of summing over broadcast axes: broadcasting back."""
    return tgr.restore_shape(gg, g), tgr.zeros_like_value(x)


@vjp(runtime.broadcast_tangent, broadcasting=True, linear=(0,),
     samples=[Sample((A(3), A(2, 3)), wrt=(0,)), Sample((A(2, 3), A(2, 3)), wrt=(0,))])
def broadcast_tangent(gg, ans, t, value):
    return gg, tgr.zeros_like_value(value)


@vjp(runtime.owned_copy, broadcasting=True, linear=(0,),
     samples=[Sample((A(3), A(2, 3)), wrt=(0,)), Sample((A(2, 3), A(2, 3)), wrt=(0,))])
def owned_copy(gg, ans, g, x):
    return gg, tgr.zeros_like_value(x)


@vjp(runtime.ListCotangent, linear=(0,), samples=[Sample(([A(3), A(2)],))])
def list_cotangent(gg, ans, entries):
    """A list of cotangents as one: the entries' cotangents are its entries."""
    return (gg,)


@vjp(runtime.structure_part_list, linear=(0,),
     samples=[Sample((A(2, 3), A(2, 3)), wrt=(0,))])
def structure_part_list(gg, ans, g, like):
    return tgr.unpacked_cotangent(gg, like), None


@vjp(runtime.unpacked_cotangent, linear=(0,),
     samples=[Sample(((A(3), A(3)), A(2, 3)), wrt=(0,)),
                                           Sample(((A(3), A(2)), (A(3), A(2))), wrt=(0,))])
def unpacked_cotangent(gg, ans, parts, like):
    """Linear in the parts: an array's rows go back one by one, a tuple's entries as they
    are."""
    return tgr.structure_part_list(gg, like), None


_STORES = [Sample((A(4), np.array([0, 2, 0])), wrt=(0,)), Sample((A(3, 2), 1), wrt=(0,)),
           Sample((A(3, 2), (np.array([1, 1]), slice(None))), wrt=(0,))]


@vjp(runtime.stored_part, linear=(0,), samples=_STORES)
def stored_part(gg, ans, g, idx):
    """Linear in ``g``: the cotangent goes back where the kept writes were read."""
    return tgr.unstore(gg, g, idx), None


@vjp(runtime.unstore, linear=(0,),
     samples=[Sample((A(3), A(4), np.array([0, 2, 0])), wrt=(0,)),
                               Sample((A(2), A(3, 2), 1), wrt=(0,))])
def unstore(gg, ans, c, g, idx):
    """Linear in ``c``: the transpose of ``unstore`` is ``stored_part``."""
    return tgr.stored_part(gg, idx), tgr.zeros_like_value(g), None


@vjp(runtime.shaped_zero, linear=(0,), samples=[Sample((A(2, 3), A(2, 3)), wrt=(0,))])
def shaped_zero(gg, ans, g, x):
    """The adjoint itself, or zeros when it is the scalar 0.0: linear in ``g``."""
    return tgr.restore_shape(gg, g), tgr.zeros_like_value(x)


@vjp(runtime.copy_value, linear=(0,), samples=[Sample((A(3, 2),))])
def copy_value(gg, ans, x):
    return gg


@vjp(runtime.expand_reduced, linear=(0,), meta=1,
     samples=[Sample((A(3), A(3, 4), 1), wrt=(0,)),
                                      Sample((A(4), A(3, 4), 0), wrt=(0,)),
                                      Sample((A(3, 4), A(3, 4), None), wrt=(0,))])
def expand_reduced(gg, ans, g, x, axis):
    return np.reshape(gg, np.shape(g)), tgr.zeros_like_value(x)


@vjp(runtime.add_at, broadcasting=True, jointly_linear=(0, 2),
     samples=[Sample((A(5), np.array([0, 2, 2]), A(3)), wrt=(0,)),
              Sample((A(4, 3), 1, A(3)), wrt=(0,))])
def add_at(gg, ans, target, idx, values):
    """``target`` with ``values`` added at ``idx`` (repeats accumulate); it updates ``target``
    in place, so the samples check the cotangent of ``target`` only (tests/test_higher.py
    checks that of ``values``)."""
    return gg, None, gg[idx]


# --- the cotangents of products: linear in g and in the other operand ---------------------
# ``left(g, a, b)`` is the cotangent of ``a`` in the product ``p(a, b)``: the ``ba`` with
# ``<ba, da> = <g, p(da, b)>`` for every ``da``. So ``<gg, left(g, a, b)> = <g, p(gg, b)>``:
# its cotangent in ``g`` is the product ``p(gg, b)``, in ``b`` the product's own right cotangent
# ``right(g, gg, b)``; ``a`` is read for its shape only. The same for ``right`` with the
# operands' roles exchanged.


# --- the cotangents of reshaping, copying and selecting: linear in g only ------------------
# each is the transpose of the primitive it differentiates (read for its shape only), so its
# own cotangent in ``g`` is that primitive applied to ``gg``


@vjp(runtime.structure_part, linear=(0,),
     samples=[Sample((A(3), 1, (A(2), A(3))), wrt=(0,)),
                                      Sample((A(2, 3), 0, (A(3), A(3))), wrt=(0,))])
def structure_part(gg, ans, g, i, like):
    """Entry ``i`` of ``g``: ``gg`` there, zeros elsewhere (``like`` is read for its
    structure)."""
    return tgr.part_cotangent(gg, i, g, like), None, tgr.zeros_like_value(like)


@vjp(runtime._scatter_set, broadcasting=True, jointly_linear=(0, 2), samples=[
    Sample((A(4, 3), 1, A(3))), Sample((A(4, 3), (Ellipsis, 0), A(4))),
    Sample((A(5), np.array([0, 3]), A(2))), Sample((A(2, 3), (Ellipsis, 1), 1.0), wrt=(0,))])
def scatter_set(gg, ans, target, index, values):
    """``target`` with ``values`` set at ``index`` (a fresh array; the source of
    ``cumprod_vjp`` calls it): the cotangent there goes to ``values``."""
    return tgr._scatter_set(np.copy(gg), index, 0.0), None, gg[index]

