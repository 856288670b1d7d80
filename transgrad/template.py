"""Inline a rule's body into generated code.

A rule is a plain function (see ``transgrad.rules``). To use it, the compiler binds the rule's
parameters to the operands of one primitive, renames the rule's local variables so they
collide with nothing, and splices the body in; the returned expressions become adjoint
contributions. So ``bx = bz * np.cos(x)`` appears in the generated code, not a call into a
library.
"""

import inspect

import gast

from .ir import ATOMS, clone, index_value

_LITERALS = (type(None), bool, int, float, complex, str)


def _literal(value):
    if isinstance(value, _LITERALS):
        return gast.Constant(value=value, kind=None)
    if isinstance(value, tuple) and all(isinstance(v, _LITERALS) for v in value):
        return gast.Tuple(elts=[_literal(v) for v in value], ctx=gast.Load())
    return None


def _instantiate(node, bindings, renames):
    """A copy of the template ``node`` with parameters replaced by their bound expressions
    and local names renamed, made in one pass (rules are inlined many times per build);
    nodes are made as ``ir.clone`` makes them, without gast's slow constructors."""
    if node.__class__ is list:
        return [_instantiate(n, bindings, renames) for n in node]
    if not isinstance(node, gast.AST):
        return node
    kind = node.__class__
    if kind is gast.Name:
        if node.id in renames:
            return gast.Name(id=renames[node.id], ctx=node.ctx, annotation=None,
                             type_comment=None)
        if node.id in bindings and isinstance(node.ctx, gast.Load):
            return index_value(clone(bindings[node.id]))
        return clone(node)
    if kind is gast.Subscript and isinstance(node.slice, gast.Name) \
            and node.slice.id in bindings:   # keep a bound index as a subscript, slices too
        return gast.Subscript(value=_instantiate(node.value, bindings, renames),
                              slice=clone(bindings[node.slice.id]), ctx=node.ctx)
    new = kind.__new__(kind)
    source, target = node.__dict__, new.__dict__
    for field in kind._fields:
        value = source.get(field)
        target[field] = value if value.__class__ in ATOMS or field == "ctx" \
            else _instantiate(value, bindings, renames)
    if "resolved" in source:
        target["resolved"] = source["resolved"]
    return new


def bind(rule, g, ans, args, kwargs, error):
    """Map each rule parameter name to an expression node; ``error(msg)`` builds the exception.

    Returns (bindings, positional parameter names in order, vararg name or None).
    """
    params = list(rule.params.values())[2:]   # skip g, ans
    bindings = {}
    positional = []
    vararg = None
    remaining = list(args)
    for param in params:
        if param.kind == param.VAR_POSITIONAL:
            vararg = param.name
            bindings[param.name] = gast.Tuple(elts=remaining, ctx=gast.Load())
            positional.extend(f"{param.name}[{i}]" for i in range(len(remaining)))
            remaining = []
            continue
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            positional.append(param.name)
            if remaining:
                bindings[param.name] = remaining.pop(0)
                if param.name in kwargs:
                    raise error(f"got multiple values for argument `{param.name}`")
                continue
        if param.name in kwargs:
            bindings[param.name] = kwargs[param.name]
        elif param.default is not inspect.Parameter.empty:
            literal = _literal(param.default)
            if literal is None:
                raise error(f"rule `{rule.name}` has a non-literal default for `{param.name}`")
            bindings[param.name] = literal
        else:
            raise error(f"missing argument `{param.name}`")
    if remaining:
        raise error(f"too many positional arguments ({len(args)})")
    unknown = set(kwargs) - set(bindings)
    if unknown:
        raise error(f"unsupported keyword argument `{min(unknown)}`")
    return bindings, positional, vararg


def inline(rule, g, ans, args, kwargs, namer, error):
    """Splice ``rule``'s body in for one primitive application.

    Returns (statements, outputs): outputs[i] is the contribution expression for positional
    operand i (None where the rule gives none); a vararg's outputs come one per operand.
    """
    bindings, positional, vararg = bind(rule, g, ans, args, kwargs, error)
    template = rule.template
    g_name, ans_name = (a.id for a in template.args.args[:2])
    bindings[g_name] = g
    bindings[ans_name] = ans
    renames = {name: namer.unique(name) for name in rule.template_locals}
    *statements, ret = _instantiate(template.body, bindings, renames)
    if not isinstance(ret, gast.Return):
        raise error(f"rule `{rule.name}` must end with a return statement")
    value = ret.value
    outputs = list(value.elts) if isinstance(value, gast.Tuple) else [value]
    if vararg is not None and (len(outputs) != len(positional)
                               or not isinstance(value, gast.Tuple)):
        # a vararg rule returning a computed sequence (even of one entry): index it
        outputs = [gast.Subscript(value=clone(value),
                                  slice=gast.Constant(value=i, kind=None), ctx=gast.Load())
                   for i in range(len(positional))]
    outputs = [None if isinstance(o, gast.Constant) and o.value is None else o
               for o in outputs]
    outputs += [None] * (len(positional) - len(outputs))
    return statements, outputs
