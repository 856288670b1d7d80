"""The calls of a backward half for all of a Jacobian's rows (``batch_rows.py``): numpy's
functions, the runtime helpers and a reduction's axes, each rewritten for a leading axis of
rows, and the node builders both modules use."""

import ast

import gast
import numpy as np


class Unbatchable(Exception):
    """A form this pass does not rewrite."""


_ROW_HELPERS = {"unbroadcast_to": "unbroadcast_rows", "match": "match_rows",
                "cotangent_of": "match_rows"}


def _text(node):
    try:
        return ast.unparse(gast.gast_to_ast(node))
    except Exception:  # noqa: BLE001 - only for a message
        return type(node).__name__


def _name(id_, ctx=None):
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def _const(value):
    return gast.Constant(value=value, kind=None)


def _tuple(elts):
    return gast.Tuple(elts=list(elts), ctx=gast.Load())


def _attr_call(value, attr, args, keywords=()):
    return gast.Call(func=gast.Attribute(value=value, attr=attr, ctx=gast.Load()),
                     args=list(args), keywords=list(keywords))


def _np(attr, args, keywords=()):
    return _attr_call(_name("np"), attr, args, keywords)


_REDUCTIONS = ("sum", "mean", "max", "min", "prod")   # as numpy functions and array methods


def _rows_shape_of(node):
    """``(tgr_B,) + np.shape(node)``: the shape of rows like ``node``'s value, at run time
    (shapes the traced run saw may differ in a later call: an int argument, a mask)."""
    return gast.BinOp(left=_tuple([_name("tgr_B")]), op=gast.Add(),
                      right=_np("shape", [node]))


def _rows_shape(shape):
    """``(tgr_B,) + shape`` as an expression."""
    return gast.BinOp(left=_tuple([_name("tgr_B")]), op=gast.Add(),
                      right=_tuple(_const(n) for n in shape))


def _expanded(node, by):
    """``node[:, None, ...]``: a rowed value given ``by`` axes after its rows."""
    if by <= 0:
        return node
    index = _tuple([gast.Slice(lower=None, upper=None, step=None)] + [_const(None)] * by)
    return gast.Subscript(value=node, slice=index, ctx=gast.Load())


def _matmul_rank(left, right):
    """The rank of ``a @ b`` for operands of ranks ``left`` and ``right`` (at least 1)."""
    if left == 1 and right == 1:
        return 0
    if left == 1 or right == 1:
        return max(left, right) - 1
    return max(left, right)


def _slice_all():
    return gast.Call(func=_name("slice"), args=[_const(None)], keywords=[])


class RowCalls:
    """The call rewrites of ``batch_rows._Function`` (which gives ``_expr``, ``_rank``,
    ``_rank_of``, ``_shape``, ``_int``, ``_part_rank``, ``_index_rank``, ``_row_index``,
    ``_reads_rowed``, ``rowed`` and ``namespace``)."""

    def _method(self, node):
        """An array's reduction (``x.sum(axis=0)``, ``x.max()``): over the same axes of each
        row."""
        func = node.func
        if func.attr not in _REDUCTIONS or node.args:
            raise Unbatchable(f"the method {func.attr}")
        value, rank = self._expr(func.value)
        if rank < 0:
            raise Unbatchable("a method of a tuple")
        keywords = {k.arg: k.value for k in node.keywords}
        if set(keywords) - {"axis", "keepdims"}:
            raise Unbatchable(f"{func.attr}'s keywords")
        axes, new_rank = self._axes(keywords.get("axis"), rank, keywords.get("keepdims"))
        new_keywords = [gast.keyword(arg="axis", value=axes)] + [
            k for k in node.keywords if k.arg == "keepdims"]
        return _attr_call(value, func.attr, [], new_keywords), new_rank

    def _axes(self, axis, rank, keepdims):
        """The axes of a reduction moved past the rows, and the rank after it."""
        keep = keepdims is not None and keepdims.__class__ is gast.Constant and keepdims.value
        if keepdims is not None and keepdims.__class__ is not gast.Constant:
            raise Unbatchable("keepdims not a constant")
        if axis is None or axis.__class__ is gast.Constant and axis.value is None:
            axes = list(range(rank))
        elif axis.__class__ is gast.Constant and type(axis.value) is int:
            axes = [axis.value]
        elif axis.__class__ is gast.Tuple and all(
                e.__class__ is gast.Constant and type(e.value) is int for e in axis.elts):
            axes = [e.value for e in axis.elts]
        else:
            raise Unbatchable("an axis not constant")
        axes = [a % rank if rank else a for a in axes]
        moved = _tuple(_const(a + 1) for a in axes)
        return moved, rank if keep else rank - len(set(axes))

    def _axis(self, node, rank):
        """A constant axis of a rowed value of ``rank``, moved past the rows."""
        if node.__class__ is gast.UnaryOp and node.op.__class__ is gast.USub \
                and node.operand.__class__ is gast.Constant:
            return node   # counted from the end: the same axis
        if node.__class__ is not gast.Constant or type(node.value) is not int:
            raise Unbatchable("an axis that is not a constant")
        return _const(node.value % rank + 1 if node.value >= 0 else node.value)

    def _static_shape(self, node):
        """(its length, the shape with rows in front) of a shape: a tuple of constants, or
        ``np.shape(x)`` of an unrowed name (read at run time); else None."""
        if node.__class__ is gast.Tuple and all(
                e.__class__ is gast.Constant and type(e.value) is int for e in node.elts):
            return len(node.elts), _rows_shape([e.value for e in node.elts])
        if node.__class__ is gast.Call and node.func.__class__ is gast.Attribute \
                and node.func.attr == "shape" and len(node.args) == 1 \
                and node.args[0].__class__ is gast.Name and node.args[0].id not in self.rowed:
            return self._rank_of(node.args[0].id), _rows_shape_of(node.args[0])
        return None

    def _permutation(self, node):
        """The axes of a transpose: constants, or ``tgr.inverse_permutation(axes,
        np.ndim(x))`` of constants."""
        if node.__class__ is gast.Tuple and all(
                e.__class__ is gast.Constant and type(e.value) is int for e in node.elts):
            return [e.value for e in node.elts]
        if node.__class__ is gast.Call and node.func.__class__ is gast.Attribute \
                and node.func.attr == "inverse_permutation" and len(node.args) == 2:
            axes, ndim = node.args
            if ndim.__class__ is gast.Call and len(ndim.args) == 1 \
                    and ndim.func.__class__ is gast.Attribute and ndim.func.attr == "ndim" \
                    and ndim.args[0].__class__ is gast.Name:
                from .. import runtime
                rank = self._rank_of(ndim.args[0].id)
                return [int(a) for a in runtime.inverse_permutation(
                    tuple(self._permutation(axes)), rank)]
        raise Unbatchable("a transpose's axes")

    def _numpy(self, node, name):
        obj = getattr(np, name, None)
        if name in ("real", "conj", "conjugate") and len(node.args) == 1 and not node.keywords:
            value, rank = self._expr(node.args[0])   # elementwise, of one argument
            if rank < 0:
                raise Unbatchable(f"np.{name} of a tuple")
            return _np(name, [value]), rank
        if type(obj) is np.ufunc and not node.keywords and len(node.args) == obj.nin:
            args = [self._expr(a) for a in node.args]
            ranks = [r if r >= 0 else self._rank(a) for (e, r), a in zip(args, node.args)]
            rank = max(ranks)
            out = [_expanded(e, rank - r) if r >= 0 else e for e, r in args]
            return _np(name, out), rank
        if name in ("broadcast_to", "full") and len(node.args) == 2 and not node.keywords:
            # np.full(shape, g) of a number g (exact code's broadcast): rows broadcast alike
            value, shape = node.args if name == "broadcast_to" else node.args[::-1]
            value, rank = self._expr(value)
            shape = self._static_shape(shape)
            if rank < 0 or shape is None:
                raise Unbatchable(name)
            return _np("broadcast_to", [_expanded(value, shape[0] - rank), shape[1]]), shape[0]
        if name == "sum" and len(node.args) == 1:
            value, rank = self._expr(node.args[0])
            keywords = {k.arg: k.value for k in node.keywords}
            if rank < 0 or set(keywords) - {"axis", "keepdims"}:
                raise Unbatchable("np.sum")
            axes, new_rank = self._axes(keywords.get("axis"), rank, keywords.get("keepdims"))
            return _np("sum", [value], [gast.keyword(arg="axis", value=axes)] + [
                k for k in node.keywords if k.arg == "keepdims"]), new_rank
        if name == "moveaxis" and len(node.args) == 3 and not node.keywords:
            value, rank = self._expr(node.args[0])
            moved = [self._axis(a, rank) for a in node.args[1:]]
            return _np("moveaxis", [value] + moved), rank
        if name == "swapaxes" and len(node.args) == 3 and not node.keywords:
            value, rank = self._expr(node.args[0])
            return _np("swapaxes", [value] + [self._axis(a, rank) for a in node.args[1:]]), rank
        if name == "transpose" and 1 <= len(node.args) <= 2 and not node.keywords:
            value, rank = self._expr(node.args[0])
            if len(node.args) == 1 or node.args[1].__class__ is gast.Constant \
                    and node.args[1].value is None:
                axes = [0] + list(range(rank, 0, -1))
            else:
                axes = [0] + [a % rank + 1 for a in self._permutation(node.args[1])]
            return _np("transpose", [value, _tuple(_const(a) for a in axes)]), rank
        if name == "reshape" and len(node.args) == 2:
            value, rank = self._expr(node.args[0])
            shape = node.args[1]
            if rank < 0 or shape.__class__ is not gast.Tuple or not all(
                    e.__class__ is gast.Constant and type(e.value) is int and e.value >= 0
                    for e in shape.elts) or any(k.arg != "order" or k.value.__class__
                                                is not gast.Constant or k.value.value != "C"
                                                for k in node.keywords):
                raise Unbatchable("np.reshape")
            return _np("reshape", [value, _rows_shape([e.value for e in shape.elts])],
                       node.keywords), len(shape.elts)
        if name == "concatenate" and len(node.args) == 1 and not node.keywords \
                and node.args[0].__class__ is gast.Tuple:
            return self._concatenate(node.args[0].elts)
        raise Unbatchable(f"np.{name}")

    def _concatenate(self, parts):
        """``np.concatenate`` along the first axis of rowed parts (``(v,)`` a part of one)."""
        out, rank = [], None
        for part in parts:
            if part.__class__ is gast.Tuple and len(part.elts) == 1:
                value, r = self._expr(part.elts[0])
                if r < 0:
                    raise Unbatchable("an unrowed part")
                out.append(_expanded(value, 1))
                r += 1
            else:
                value, r = self._expr(part)
                if r < 0:
                    raise Unbatchable("an unrowed part")
                out.append(value)
            if rank is not None and r != rank:
                raise Unbatchable("parts of different ranks")
            rank = r
        return _np("concatenate", [_tuple(out)], [gast.keyword(arg="axis", value=_const(1))]), rank

    def _helper(self, node, name):
        args = node.args
        if node.keywords and name != "cross_product":
            raise Unbatchable(f"tgr.{name} with keywords")
        if name in _ROW_HELPERS and len(args) == 2 and not self._reads_rowed(args[1]):
            g, rank = self._expr(args[0])
            if rank < 0:
                raise Unbatchable(f"tgr.{name} of a tuple")
            x_rank = self._rank(args[1])
            extra = [_name("tgr_B")] if _ROW_HELPERS[name] == "match_rows" else []
            new = _attr_call(_name("tgr"), _ROW_HELPERS[name], [g, args[1]] + extra)
            return new, (min(rank, x_rank) if name == "unbroadcast_to" else x_rank)
        if name == "shaped_zero" and len(args) == 2 and not self._reads_rowed(args[1]):
            return self._expr(args[0])   # rowed: never the float 0.0 the helper replaces
        if name == "cross_product" and len(args) == 2 and all(
                k.value.__class__ is gast.Constant and k.value.value == (None if k.arg == "axis"
                                                                          else -1)
                for k in node.keywords):
            new = [self._expr(a) for a in args]
            return _attr_call(_name("tgr"), "cross_rows", [e for e, _ in new]), 1
        if name == "add_at" and len(args) == 3 and not self._reads_rowed(args[1]):
            return self._add_at(args)
        if name == "unpacked_cotangent" and len(args) == 2 and not self._reads_rowed(args[1]) \
                and args[0].__class__ is gast.Tuple and args[1].__class__ is gast.Name \
                and (self.names.get(args[1].id) or ("",))[0] in ("tuple", "other") \
                and type(self.names.get(args[1].id)) is tuple:   # of a tuple: its parts
            parts = [self._expr(e) for e in args[0].elts]
            if any(r == -2 for _, r in parts):
                raise Unbatchable("a tuple of tuples")
            return _attr_call(_name("tgr"), name, [_tuple(e for e, _ in parts), args[1]]), -2
        if name == "sum_items_cotangent" and len(args) == 2 and not self._reads_rowed(args[1]) \
                and args[1].__class__ is gast.Name \
                and (self.names.get(args[1].id) or ("",))[0] == "array":
            g, rank = self._expr(args[0])
            items = self._rank_of(args[1].id)
            if rank != 0 or not items:
                raise Unbatchable("sum_items_cotangent")
            return gast.BinOp(left=_np("ones", [_rows_shape_of(args[1])]), op=gast.Mult(),
                              right=_expanded(g, items)), items
        if name == "expand_reduced" and len(args) == 3 and not self._reads_rowed(args[1]) \
                and not self._reads_rowed(args[2]):
            value, rank = self._expr(args[0])
            if rank < 0:
                raise Unbatchable("expand_reduced of a tuple")
            return _attr_call(_name("tgr"), "expand_reduced_rows", [value] + args[1:]), \
                self._rank(args[1])
        if name == "copy_value" and len(args) == 1:
            value, rank = self._expr(args[0])
            if rank < 0:
                raise Unbatchable("a copy of a tuple")
            return _attr_call(value, "copy", []), rank
        if name == "stored_part" and len(args) == 2 and not self._reads_rowed(args[1]) \
                and args[0].__class__ is gast.Name:   # a basic index: a copy of the part
            part = self._part_rank(args[0].id, args[1])
            index = self._row_index(args[1])
            return _attr_call(gast.Subscript(value=args[0], slice=index, ctx=gast.Load()),
                              "copy", []), part
        if name == "owned_copy" and len(args) == 2 and not self._reads_rowed(args[1]) \
                and args[1].__class__ is gast.Name:
            value, rank = self._expr(args[0])
            x_rank = self._rank_of(args[1].id)
            if rank < 0 or rank > x_rank:
                raise Unbatchable("owned_copy")
            zeros = _np("zeros", [gast.BinOp(left=_tuple([_name("tgr_B")]), op=gast.Add(),
                                             right=_np("shape", [args[1]]))])
            return gast.BinOp(left=zeros, op=gast.Add(),
                              right=_expanded(value, x_rank - rank)), x_rank
        if name in ("matmul_vjp_left", "matmul_vjp_right") and len(args) == 3 \
                and not self._reads_rowed(args[1]) and not self._reads_rowed(args[2]):
            return self._matmul_vjp(name, *args)
        raise Unbatchable(f"tgr.{name}")

    def _matmul_vjp(self, name, g, x, y):
        """The cotangents of ``x @ y`` for rowed ``g``, by the operands' ranks (as
        ``exact.py`` writes them for one cotangent)."""
        g, g_rank = self._expr(g)
        rx, ry = self._rank(x), self._rank(y)
        if g_rank != _matmul_rank(rx, ry) or rx > 2 or ry > 2:
            raise Unbatchable(f"tgr.{name} of ranks {rx}, {ry}")
        left = name == "matmul_vjp_left"

        def t(node):
            return gast.Attribute(value=node, attr="T", ctx=gast.Load())

        def matmul(a, b):
            return gast.BinOp(left=a, op=gast.MatMult(), right=b)

        def times(a, b):
            return gast.BinOp(left=a, op=gast.Mult(), right=b)
        if (rx, ry) == (2, 2):
            return (matmul(g, t(y)) if left else matmul(t(x), g)), 2
        if (rx, ry) == (2, 1):
            return (times(_expanded(g, 1), y) if left else matmul(g, x)), (2 if left else 1)
        if (rx, ry) == (1, 2):
            if left:
                return matmul(g, t(y)), 1
            return times(gast.Subscript(value=x, slice=_tuple([
                gast.Slice(lower=None, upper=None, step=None), _const(None)]),
                ctx=gast.Load()), gast.Subscript(value=g, slice=_tuple([
                    gast.Slice(lower=None, upper=None, step=None), _const(None),
                    gast.Slice(lower=None, upper=None, step=None)]), ctx=gast.Load())), 2
        return times(_expanded(g, 1), y if left else x), 1

    def _add_at(self, args):
        target, index, value = args
        if self._reads_rowed(target):
            if target.__class__ is not gast.Name:
                raise Unbatchable("add_at into an expression")
            new_target, rank = target, self._rank_of(target.id)
        elif target.__class__ is gast.Call and target.func.__class__ is gast.Attribute \
                and target.func.attr in ("zeros_like", "zeros_like_value") \
                and len(target.args) == 1 and target.args[0].__class__ is gast.Name:
            rank = self._rank_of(target.args[0].id)
            new_target = _np("zeros", [_rows_shape_of(target.args[0])])
        elif target.__class__ is gast.Call and target.func.__class__ is gast.Attribute \
                and target.func.attr == "zeros" and len(target.args) == 1 \
                and not target.keywords and self._static_shape(target.args[0]) is not None:
            rank, shape = self._static_shape(target.args[0])
            new_target = _np("zeros", [shape])
        else:
            raise Unbatchable("add_at into an unrowed array")
        part = self._index_rank(rank, index)
        new_value, value_rank = self._expr(value)
        if value_rank >= 0:
            new_value = _expanded(new_value, part - value_rank)
        row_index = _tuple([_slice_all()] + (
            list(index.elts) if index.__class__ is gast.Tuple else [index]))
        return _attr_call(_name("tgr"), "add_at", [new_target, row_index, new_value]), rank
