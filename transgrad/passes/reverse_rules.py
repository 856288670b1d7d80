"""Applying a primitive's derivative rule in the reverse pass: the rule's body is inlined with
the statement's operands, and each operand receives its cotangent (summed back over broadcast
axes unless the shapes analysis proves the shapes equal)."""


import operator

import gast
import numpy as np

from .. import ir
from ..ir import assign, name, tgr_call
from ..rules import lookup_vjp
from ..rules.suggest import missing_rule_hint
from ..template import inline
from .activity import differentiable


class RuleApplication:
    """The rule methods of ``ReverseBuilder`` (which holds the state they use)."""

    def apply_rule(self, stmt, bz, ans):
        target = stmt.targets[0].id
        prim = ir.primitive(stmt.value)
        if prim.func is ir.COPY:
            for var in ir.operand_names(stmt.value):
                if var in self.active:
                    self.accumulate(var, bz)
            return
        if prim.func is ir.PACK:
            if self.active.intersection(ir.operand_names(stmt.value)):
                self.contribute_parts(stmt.value, bz)
            return
        if not differentiable(prim):
            return
        if prim.func is getattr and isinstance(prim.args[0], gast.Name):   # params.w
            if prim.args[0].id in self.active:
                self.accumulate_at(prim.args[0].id, prim.args[1], bz)
            return
        if prim.func is operator.getitem and isinstance(prim.args[0], gast.Name):
            if prim.args[0].id in self.active:
                self.accumulate_at(prim.args[0].id, prim.args[1], bz)
            return
        call = self.user_call(stmt)
        if call is not None:
            parts = self.namer.temp("b_parts")
            self.out.append(assign(parts, call.backward_call(bz)))
            for j, operand in enumerate(call.operands):
                self.accumulate(operand, gast.Subscript(
                    value=name(parts), slice=gast.Constant(value=j, kind=None), ctx=gast.Load()))
            return
        operands = [n for a in list(prim.args) + list(prim.kwargs.values())
                    for n in ir.operand_names(a)]
        if not self.active.intersection(operands):
            return   # a call on constants (h(0.5, 0)): no cotangent goes anywhere
        rule = lookup_vjp(prim.func)
        if rule is None:
            spelled = describe_callable(prim.func)
            raise self.info.error(f"no derivative rule for `{spelled}`", ir.where(stmt),
                                  hint=missing_rule_hint(prim.func, spelled))

        def error(message):
            return self.info.error(
                f"cannot differentiate `{describe_callable(prim.func)}`: {message}",
                ir.where(stmt))
        statements, outputs = inline(rule, bz, ans, prim.args, prim.kwargs, self.namer, error)
        if self.here[1]:
            shape_from = _ShapeFrom(self.shape_source)
            statements = [shape_from.visit(s) for s in statements]
            outputs = [o if o is None else shape_from.visit(o) for o in outputs]
        self.out.extend(statements)
        outputs = _merged_repeats(prim.args, list(outputs))
        for i, operand in enumerate(prim.args):
            if i >= len(outputs):
                break
            self.contribute(operand, outputs[i], rule, target, prim, i, stmt)
        positional = [p.name for p in list(rule.params.values())[2:]
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for keyword, operand in prim.kwargs.items():   # np.average(x, weights=w)
            index = positional.index(keyword) if keyword in positional else len(outputs)
            output = outputs[index] if index < len(outputs) else None
            self.contribute(operand, output, rule, target, prim, index, stmt)

    def contribute(self, operand, output, rule, result, prim, index, stmt):
        active = [v for v in ir.operand_names(operand) if v in self.active]
        if not active or output is _NOTHING:
            return
        if output is None:
            raise self.info.error(
                f"`{describe_callable(prim.func)}` has no derivative with respect to its "
                f"argument {index + 1}", stmt.origin,
                hint="wrap that argument in tg.stop_gradient if no derivative should flow")
        if isinstance(operand, gast.Name):
            if getattr(rule, "user", False):   # tg.defvjp: check the shape the rule returns
                output = tgr_call("rule_cotangent", output, name(operand.id),
                                  gast.Constant(value=describe_callable(prim.func), kind=None))
            elif rule.broadcasting and not self.same_shape(operand.id, result):
                output = tgr_call("unbroadcast_to", output, name(operand.id))
            self.accumulate(operand.id, output)
            return
        self.contribute_parts(operand, output)

    def contribute_parts(self, display, output):
        """A tuple/list operand (``np.stack([a, b])``, nested ``[[a, b], [b, a]]``): the rule
        gives one cotangent per element, element by element down the nesting."""
        parts = self.namer.temp("b_parts")
        self.out.append(assign(parts, output))
        for j, elt in enumerate(display.elts):
            part = gast.Subscript(value=name(parts), slice=gast.Constant(value=j, kind=None),
                                  ctx=gast.Load())
            if isinstance(elt, gast.Name) and elt.id in self.active:
                self.accumulate(elt.id, part)
            elif isinstance(elt, (gast.Tuple, gast.List)) \
                    and self.active.intersection(ir.operand_names(elt)):
                self.contribute_parts(elt, part)


class _ShapeFrom(ir.Transformer):
    """``np.shape(t7)`` -> ``np.shape(h)`` where h certainly has t7's shape (``shape_source``)
    and is read anyway: t7 is then read by no rule, and not saved."""

    def __init__(self, source):
        self.source = source

    def visit_Call(self, node):
        self.generic_visit(node)
        if getattr(node.func, "resolved", None) is np.shape and len(node.args) == 1 \
                and isinstance(node.args[0], gast.Name):
            node.args[0] = name(self.source(node.args[0].id))
        return node


def _merged_repeats(operands, outputs):
    """One operand passed twice with the same cotangent twice (``d * d``: ``g * d`` and
    ``g * d``) receives it once, doubled (``2 * g * d``): one term, not two."""
    for i, operand in enumerate(operands[:len(outputs)]):
        if not isinstance(operand, gast.Name) or outputs[i] is None:
            continue
        for j in range(i + 1, min(len(operands), len(outputs))):
            other = operands[j]
            if isinstance(other, gast.Name) and other.id == operand.id \
                    and outputs[j] is not None \
                    and gast.dump(outputs[i]) == gast.dump(outputs[j]):
                doubled, output = gast.Constant(value=2, kind=None), outputs[i]
                if isinstance(output, gast.BinOp) and isinstance(output.op, gast.Mult):
                    output.left = gast.BinOp(left=doubled, op=gast.Mult(), right=output.left)
                    outputs[i] = output
                else:
                    outputs[i] = gast.BinOp(left=doubled, op=gast.Mult(), right=output)
                outputs[j] = _NOTHING
    return outputs


_NOTHING = object()   # an operand's cotangent already given with another position's


def describe_callable(func):
    """``func`` as the user wrote it, for messages: ``np.fft.fft``, ``mymodule.helper``."""
    module = getattr(func, "__module__", None) or ""
    qual = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    owner = getattr(func, "__self__", None)
    if module.startswith("scipy.stats") and isinstance(getattr(owner, "name", None), str):
        return f"scipy.stats.{owner.name}.{func.__name__}"     # a distribution's method
    if type(func).__name__ == "ufunc" and not hasattr(np, func.__name__):
        return f"scipy.special.{func.__name__}"     # numpy's ufuncs are np's; the rest scipy's
    if module.startswith("numpy") or type(func).__name__ == "ufunc":
        public = module.split(".")[1:] if "._" not in module else []   # np.fft.fft
        return ".".join(["np", *public, getattr(func, "__name__", qual)])
    return f"{module}.{qual}" if module and module != "builtins" else qual
