"""Control-flow rewrites that ``normalize`` makes before A-normal form: early returns become
one return at the end, and the statements after a ``break``/``continue`` move into the paths
that do not jump, so every jump ends its path."""


import gast

from .. import ir
from ..ir import clone, walk


def walk_loop_body(stmts):
    """The nodes of a loop body, not descending into inner loops (their breaks are theirs)."""
    for stmt in stmts:
        yield stmt
        if isinstance(stmt, (gast.For, gast.While)):
            continue
        for child in gast.iter_child_nodes(stmt):
            if isinstance(child, gast.stmt):
                yield from walk_loop_body([child])
            else:
                yield from walk(child)


def assigned_in_compound(body, inside=False):
    """Names stored anywhere inside if/for/while statements (and loop targets)."""
    names = set()
    for stmt in body:
        if isinstance(stmt, (gast.If, gast.For, gast.While)):
            for node in walk(stmt):
                if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                    names.add(node.id)
                elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                        and node.func.attr == "append" \
                        and isinstance(node.func.value, gast.Name):
                    names.add(node.func.value.id)   # becomes values = append(values, v)
    return names


def _may_jump(stmt):
    return any(isinstance(n, (gast.Break, gast.Continue)) for n in walk_loop_body([stmt]))


def _returns(stmt):
    return any(isinstance(n, gast.Return) for n in walk(stmt))


def lift_returns(stmts, result, flag, top=True):
    """Rewrite early ``return``s into one return at the end. In branches::

        if n == 0:                       if n == 0:
            return 1.0                       result = 1.0
        return x * f(x, n - 1)    ->     else:
                                             result = x * f(x, n - 1)
                                         return result

    and in loops, as a ``break`` that sets ``flag`` (the rest then runs only without it)::

        for i in range(n):               returned = False
            if x[i] > 1.0:               for i in range(n):
                return x[i]                  if x[i] > 1.0:
        return 0.0                ->             result = x[i]
                                                 returned = True
                                                 break
                                         if not returned:
                                             result = 0.0
                                         return result
    """
    out = []
    for i, stmt in enumerate(stmts):
        if isinstance(stmt, gast.Return):
            if top and i == len(stmts) - 1 and not out_has_lifted(out):
                out.append(stmt)
                return out
            value = stmt.value if stmt.value is not None else gast.Constant(value=None,
                                                                           kind=None)
            out.append(gast.copy_location(gast.Assign(
                targets=[ir.name(result, store=True)], value=value, type_comment=None), stmt))
            break
        if isinstance(stmt, (gast.For, gast.While)) and _returns(stmt):
            if stmt.orelse:
                raise ReturnInLoop(stmt)
            out.append(gast.copy_location(gast.Assign(
                targets=[ir.name(flag, store=True)], value=gast.Constant(value=False, kind=None),
                type_comment=None), stmt))
            stmt.body = _returns_to_breaks(stmt.body, result, flag)
            stmt.lifted = True
            out.append(stmt)
            rest = lift_returns(stmts[i + 1:], result, flag, top=False)
            unless = gast.UnaryOp(op=gast.Not(), operand=ir.name(flag))
            if rest:
                out.append(gast.copy_location(gast.If(test=unless, body=rest, orelse=[]),
                                              stmt))
            break
        if isinstance(stmt, gast.If) and _returns(stmt):
            rest = stmts[i + 1:]
            # clone before lifting: lifting the body's copy rewrites its statements in place
            other_rest = [clone(r) for r in rest]
            stmt.body = lift_returns(stmt.body + rest, result, flag, top=False)
            stmt.orelse = lift_returns(stmt.orelse + other_rest, result, flag, top=False)
            stmt.lifted = True
            out.append(stmt)
            break
        out.append(stmt)
    if top and not (out and isinstance(out[-1], gast.Return)):
        out.append(gast.Return(value=ir.name(result)))
    return out


def _returns_to_breaks(stmts, result, flag):
    """Inside a loop: ``return v`` becomes ``result = v; flag = True; break``; an inner loop
    that returned is followed by ``if flag: break``."""
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.Return):
            value = stmt.value if stmt.value is not None else gast.Constant(value=None,
                                                                           kind=None)
            out += [gast.copy_location(node, stmt) for node in (
                gast.Assign(targets=[ir.name(result, store=True)], value=value, type_comment=None),
                gast.Assign(targets=[ir.name(flag, store=True)],
                            value=gast.Constant(value=True, kind=None), type_comment=None),
                gast.Break())]
            return out
        if isinstance(stmt, gast.If) and _returns(stmt):
            stmt.body = _returns_to_breaks(stmt.body, result, flag)
            stmt.orelse = _returns_to_breaks(stmt.orelse, result, flag)
        elif isinstance(stmt, (gast.For, gast.While)) and _returns(stmt):
            if stmt.orelse:
                raise ReturnInLoop(stmt)
            stmt.body = _returns_to_breaks(stmt.body, result, flag)
            out.append(stmt)
            out.append(gast.copy_location(gast.If(test=ir.name(flag), body=[gast.Break()],
                                                  orelse=[]), stmt))
            continue
        out.append(stmt)
    return out


def out_has_lifted(out):
    return any(getattr(s, "lifted", False) for s in out)


class ReturnInLoop(Exception):
    def __init__(self, node):
        self.node = node


def restructure_jumps(stmts):
    """Move the statements after an ``if`` that may ``break``/``continue`` into the paths that
    do not jump, so every jump ends its path and the adjoint sweep needs no jump flags::

        for ...:                        for ...:
            if c:                           if c:
                continue          ->            pass
            y = f(x)                        else:
                                                y = f(x)
    """
    out = []
    for i, stmt in enumerate(stmts):
        if isinstance(stmt, (gast.Break, gast.Continue)):
            out.append(stmt)
            return out   # the rest of the block is dead
        if isinstance(stmt, (gast.For, gast.While)):
            stmt.body = restructure_jumps(stmt.body)
        elif isinstance(stmt, gast.If) and _may_jump(stmt):
            rest = stmts[i + 1:]
            stmt.body = restructure_jumps(stmt.body + rest)
            stmt.orelse = restructure_jumps(stmt.orelse + [clone(r) for r in rest])
            out.append(stmt)
            return out
        elif isinstance(stmt, gast.If):
            stmt.body = restructure_jumps(stmt.body)
            stmt.orelse = restructure_jumps(stmt.orelse)
        out.append(stmt)
    return out
