"""Active calls of user functions in the reverse pass: a call of a Python function without a
rule becomes its forward half in the primal sweep and its backward half in the adjoint sweep,
both built by the same pipeline (``context.callee_vjp``, ``pipeline.split``)."""


import inspect

import gast

from .. import ir
from ..ir import clone, name
from ..parse import Derivative, check_callee_source
from ..rules import is_nondifferentiable, lookup_vjp
from ..rules.generated import check_source_differentiable


class UserCalls:
    """The user-call method of ``ReverseBuilder`` (which holds ``calls``, its cache)."""

    def user_call(self, stmt):
        """The UserCall for an active call of a Python function without a rule, else None."""
        key = id(stmt)
        if key in self.calls:
            return self.calls[key]
        self.calls[key] = None
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Call)):
            return None
        prim = ir.primitive(stmt.value)
        func, receiver = prim.func, None
        if inspect.ismethod(func) and inspect.isfunction(func.__func__) \
                and lookup_vjp(func) is None:   # obj.method(...) on a global object
            func, receiver = func.__func__, func.__self__
        derived = isinstance(func, Derivative)   # a transgrad derivative: its generated code
        if not (inspect.isfunction(func) or derived) or lookup_vjp(func) is not None \
                or is_nondifferentiable(func) or not self.active.intersection(ir.assigned(stmt)):
            return None
        if not derived:
            check_source_differentiable(func, "reverse-mode")   # a helper of generated code
            check_callee_source(func, self.info, stmt.origin)   # exec(): name the call instead
        params = [] if derived else list(inspect.signature(func).parameters)
        offset = 0 if receiver is None else 1
        positions, operands = [], []
        for i, arg in enumerate(prim.args):
            if isinstance(arg, gast.Name) and arg.id in self.active:
                positions.append(i + offset)
                operands.append(arg.id)
            elif self.active.intersection(ir.operand_names(arg)):
                raise self.info.error("pass differentiable values to user functions one by one",
                                      stmt.origin, hint="bind the list or tuple to a name first")
        for key_name, arg in prim.kwargs.items():
            if isinstance(arg, gast.Name) and arg.id in self.active:
                if key_name not in params:
                    raise self.info.error(f"`{func.__name__}` has no parameter `{key_name}`",
                                          stmt.origin)
                positions.append(params.index(key_name))
                operands.append(arg.id)
            elif self.active.intersection(ir.operand_names(arg)):   # never dropped silently
                raise self.info.error("pass differentiable values to user functions one by one",
                                      stmt.origin, hint="bind the list or tuple to a name first")
        if not positions:
            return None
        pair = self.context.callee_vjp(func, tuple(positions))   # by the same pipeline
        tape = self.namer.temp("tape")
        saved = bool(self.overwritable.intersection(ir.assigned(stmt)))
        self.calls[key] = UserCall(pair, tape, operands, saved, receiver)
        return self.calls[key]


class UserCall:
    """An active call of a user function: its forward half runs in the primal sweep and
    returns a tape; its backward half, given the tape and the output's adjoint, returns the
    cotangents of ``operands`` (the differentiated arguments, in order)."""

    def __init__(self, pair, tape, operands, tape_saved, receiver=None):
        self.pair, self.tape, self.operands, self.tape_saved = pair, tape, operands, tape_saved
        self.receiver = receiver   # the object of a bound method: its first argument

    def _half(self, attr):
        ref = name(self.pair.__name__)
        ref.resolved = self.pair
        return gast.Attribute(value=ref, attr=attr, ctx=gast.Load())

    def forward_statement(self, stmt):
        """``y, tape = f_vjp.fwd(...)`` in place of ``y = f(...)``."""
        args = [clone(a) for a in stmt.value.args]
        if self.receiver is not None:
            obj = name(type(self.receiver).__name__.lower())
            obj.resolved = self.receiver
            args.insert(0, obj)
        call = gast.Call(func=self._half("fwd"), args=args,
                         keywords=[clone(k) for k in stmt.value.keywords])
        target = gast.Tuple(elts=[clone(stmt.targets[0]), name(self.tape, store=True)],
                            ctx=gast.Store())
        new = gast.Assign(targets=[target], value=call, type_comment=None)
        return gast.copy_location(new, stmt)

    def backward_call(self, g):
        return gast.Call(func=self._half("bwd"), args=[name(self.tape), g], keywords=[])
