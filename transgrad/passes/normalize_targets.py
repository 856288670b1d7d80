"""How ``normalize`` desugars unpacking: assignment targets that are not all names, and
starred expressions in sequences and calls, into the indexing a person would write.

* ``(s2[i], s2[i + 1]) = f(x)`` -> ``t1, t2 = f(x); s2[i] = t1; s2[i + 1] = t2`` (targets
  assigned left to right, as Python does); nested targets ``(a, (b, c)) = v`` unpack twice;
* ``a, *rest = seq`` -> ``a = seq[0]; rest = list(seq[1:])``;
* ``(*w.shape, 1)`` -> ``tuple(np.shape(w)) + (1,)`` (a shape holds integers); any other
  ``[*xs, y]`` -> a loop appending to a fresh list (the differentiable spelling);
* ``f(*(a, b))`` splices; ``f(*args)`` and ``f(*args, y)`` of a Python function or a ufunc
  index ``args`` for the parameters it fills; ``f(**d)`` passes ``d[k]`` for each parameter
  ``k`` it fills (the keys of a dict known when the code is built, the callee's remaining
  parameters otherwise).

For example (``show`` runs the passes up to the one named and prints the result):

>>> from transgrad.passes.show import show
>>> print(show('''
... def f(x, w):
...     s2 = np.zeros(4)
...     (s2[0], s2[1]) = np.sin(x), w
...     a, *rest, (b, c) = x
...     return np.reshape(a * np.stack(rest) * b, (*w.shape, 1))
... ''', through="normalize"))
def f(x, w):
    s2 = np.zeros(4)
    t1 = np.sin(x)
    s2[0] = t1
    s2[1] = w
    a = x[0]
    t2 = x[1:-1]
    rest = list(t2)
    t3 = x[-1]
    b, c = t3
    t4 = np.stack(rest)
    t5 = a * t4
    t6 = t5 * b
    t7 = np.shape(w)
    t8 = tuple(t7)
    t9 = t8 + (1,)
    t10 = np.reshape(t6, t9)
    return t10
"""

import inspect
from typing import NamedTuple

import gast
import numpy as np

from .. import ir
from ..ir import clone, walk
from .normalize_calls import resolved_name

_SIMPLE = (int, float, complex, str, bool, type(None))


class Signature(NamedTuple):
    """What unpacking needs of a called function's parameters."""

    positional: list     # names of the parameters that can be passed by position
    defaults: dict       # name -> default value (a non-constant default: NotImplemented)
    varargs: bool        # it takes *args
    keyword_only: list


def _constant(value):
    return gast.Constant(value=value, kind=None)


def _index(sequence, position):
    return gast.Subscript(value=clone(sequence), slice=_constant(position), ctx=gast.Load())


class TargetUnpacking:
    """The unpacking methods of ``Normalizer`` (which holds the state they use)."""

    # --- targets ----------------------------------------------------------------------------
    def unpack(self, target, value):
        """Assign ``value`` to the Tuple or List ``target`` whose elements are not all plain
        names (subscripts, nested tuples, one starred name)."""
        starred = [i for i, e in enumerate(target.elts) if isinstance(e, gast.Starred)]
        if len(starred) > 1:
            raise self.info.error("two starred targets in one assignment", target.elts[1],
                                  hint="Python allows one `*name` per target list")
        if not starred and isinstance(value, (gast.Tuple, gast.List)) \
                and len(value.elts) == len(target.elts):
            # a literal: element by element, every value read before any target is written
            stored = {n.id for n in walk(target) if isinstance(n, gast.Name)}
            stored |= {self.current.get(n, n) for n in stored}
            values = [self.assign_temp(self.fresh(), v)
                      if any(isinstance(n, gast.Name) and n.id in stored for n in walk(v))
                      else self.atom(v) for v in value.elts]
            for elt, elt_value in zip(target.elts, values):
                self.assign_target(elt, elt_value)
            return
        source = self.atom(value)
        if starred:
            self._unpack_starred(target.elts, starred[0], source)
            return
        # Names before the first other target are stored at once; the rest through
        # temporaries, assigned left to right after the whole value is unpacked
        elts = target.elts
        first = next(i for i, e in enumerate(elts) if not isinstance(e, gast.Name))
        temps = [None] * first + [self.fresh() for _ in elts[first:]]
        stores = [self.store(e.id) for e in elts[:first]] + [
            ir.name(t, store=True) for t in temps[first:]]
        self.emit(gast.Assign(targets=[gast.Tuple(elts=stores, ctx=gast.Store())],
                              value=source, type_comment=None))
        for elt, temp in zip(elts[first:], temps[first:]):
            self.assign_target(elt, ir.name(temp))

    def _unpack_starred(self, elts, star, source):
        """``a, *rest, z = source``: ``a = source[0]``, ``rest = list(source[1:-1])``,
        ``z = source[-1]``."""
        after = len(elts) - star - 1
        for i, elt in enumerate(elts[:star]):
            self.assign_target(elt, _index(source, i))
        upper = _constant(-after) if after else None
        rest = gast.Subscript(value=clone(source), slice=gast.Slice(
            lower=_constant(star) if star else None, upper=upper, step=None), ctx=gast.Load())
        rest = gast.Call(func=resolved_name(list, elts[star]), args=[self.atom(rest)],
                         keywords=[])
        self.assign_target(elts[star].value, rest)
        for i, elt in enumerate(elts[star + 1:]):
            self.assign_target(elt, _index(source, i - after))

    def assign_target(self, target, value):
        if isinstance(target, gast.Starred):
            raise self.info.error("a starred target must be in a tuple or list of targets",
                                  target, hint="write `a, *rest = ...`")
        self.assign(target, value)

    # --- starred sequences ------------------------------------------------------------------
    def starred_sequence(self, node):
        """A Tuple or List expression with ``*`` elements, as a primitive (see the module
        docstring)."""
        if all(isinstance(e.value, (gast.Tuple, gast.List))
               for e in node.elts if isinstance(e, gast.Starred)):
            elts = []
            for e in node.elts:
                elts.extend(e.value.elts if isinstance(e, gast.Starred) else [e])
            return self.expr(gast.copy_location(type(node)(elts=elts, ctx=gast.Load()), node))
        if isinstance(node, gast.Tuple) and all(
                _is_shape(e.value) for e in node.elts if isinstance(e, gast.Starred)):
            parts, run = [], []
            for e in node.elts:
                if isinstance(e, gast.Starred):
                    if run:
                        parts.append(gast.Tuple(elts=run, ctx=gast.Load()))
                        run = []
                    parts.append(gast.Call(func=resolved_name(tuple, e), args=[e.value],
                                           keywords=[]))
                else:
                    run.append(e)
            if run:
                parts.append(gast.Tuple(elts=run, ctx=gast.Load()))
            total = parts[0]
            for part in parts[1:]:
                total = gast.BinOp(left=total, op=gast.Add(), right=part)
            return self.expr(gast.copy_location(total, node))
        items = self.fresh("items", multi=True)
        self.assign_temp(items, gast.List(elts=[], ctx=gast.Load()))
        for e in node.elts:
            if isinstance(e, gast.Starred):
                self.extend_items(items, e.value)
            else:
                self.visit_stmt(_append(items, e))
        if isinstance(node, gast.Tuple):
            return gast.Call(func=resolved_name(tuple, node), args=[ir.name(items)],
                             keywords=[])
        return ir.name(items)

    def extend_items(self, items, iterable):
        """``for v in iterable: items.append(v)``, normalized."""
        item = self.fresh("item", multi=True)
        loop = gast.For(target=ir.name(item, store=True), iter=iterable,
                        body=[_append(items, ir.name(item))], orelse=[], type_comment=None)
        for stmt in (loop, loop.body[0]):
            gast.copy_location(stmt, iterable)
        self.visit_for(loop)

    # --- starred arguments ------------------------------------------------------------------
    def spread_arguments(self, node):
        """``node.args`` and ``node.keywords`` with ``*`` and ``**`` spread into single
        arguments (raw expressions, normalized by the caller)."""
        args, keywords = list(node.args), list(node.keywords)
        if any(isinstance(a, gast.Starred) for a in args):
            args = self._spread_star(node, args, keywords)
        if any(k.arg is None for k in keywords):
            keywords = self._spread_double_star(node, args, keywords)
        return args, keywords

    def _spread_star(self, node, args, keywords):
        spliced = []
        for a in args:
            if isinstance(a, gast.Starred) and isinstance(a.value, (gast.Tuple, gast.List)) \
                    and not any(isinstance(e, gast.Starred) for e in a.value.elts):
                spliced.extend(a.value.elts)
            else:
                spliced.append(a)
        stars = [i for i, a in enumerate(spliced) if isinstance(a, gast.Starred)]
        if not stars:
            return spliced
        star = stars[0]
        if len(stars) > 1:
            raise self.info.error(
                "one `*` unpacking per call is supported", spliced[stars[1]],
                hint="unpack into names first (`a, b = args`) and pass them one by one")
        signature = self._callee_signature(node)
        if signature is None:
            raise self.info.error(
                "cannot tell how many arguments `*` unpacks here: the called function's "
                "parameters are not known", spliced[star],
                hint="unpack into names first (`a, b = args`) and pass them one by one")
        positional, defaults = signature.positional, signature.defaults
        if signature.varargs:
            raise self.info.error(
                "`*` unpacking into a function that takes `*args` is not supported",
                spliced[star], hint="pass the arguments one by one")
        given = {k.arg for k in keywords if k.arg is not None}
        remaining = [p for p in positional[star:] if p not in given]
        after = spliced[star + 1:]
        if after:   # f(*args, y): args fills what y leaves, when no parameter is optional
            optional = [p for p in remaining if p in defaults]
            if optional or len(after) > len(remaining):
                raise self.info.error(
                    "cannot tell how many arguments `*` unpacks before the arguments after it"
                    + (f": `{optional[0]}` has a default" if optional else ""),
                    spliced[star], hint="pass the arguments after `*args` by keyword")
            remaining = remaining[:len(remaining) - len(after)]
        source = self.atom_of(spliced[star].value)
        out = spliced[:star]
        for position, param in enumerate(remaining):
            item = _index(source, position)
            if param in defaults:   # may be left out: the default where args is shorter
                default = defaults[param]
                if not isinstance(default, _SIMPLE):
                    raise self.info.error(
                        f"`*` may fill `{param}`, whose default is not a number or a string",
                        spliced[star], hint=f"pass `{param}` explicitly")
                length = gast.Call(func=resolved_name(len, node), args=[clone(source)],
                                   keywords=[])
                item = gast.IfExp(test=gast.Compare(left=length, ops=[gast.Gt()],
                                                    comparators=[_constant(position)]),
                                  body=item, orelse=_constant(default))
            out.append(gast.copy_location(item, spliced[star]))
        return out + after

    def _spread_double_star(self, node, args, keywords):
        explicit = [k for k in keywords if k.arg is not None]
        given = {k.arg for k in explicit}
        known, unknown = [], []
        for k in keywords:
            if k.arg is not None:
                continue
            mapping = getattr(k.value, "resolved", None)
            if isinstance(mapping, dict) and all(isinstance(key, str) for key in mapping):
                known.append((k, mapping))
            else:
                unknown.append(k)
        out = list(explicit)
        for k, mapping in known:
            for key in mapping:
                if key in given:
                    raise self.info.error(f"`{key}` is passed twice (by `**`)", k.value)
                given.add(key)
                out.append(gast.keyword(arg=key, value=gast.copy_location(gast.Subscript(
                    value=clone(k.value), slice=_constant(key), ctx=gast.Load()), k.value)))
        if not unknown:
            return out
        if len(unknown) > 1:
            raise self.info.error(
                "cannot tell which of two `**` dicts holds which parameter: their keys are "
                "known only when the code runs", unknown[1].value,
                hint="pass one of them as keywords (`f(a=d['a'], **e)`)")
        signature = self._callee_signature(node)
        if signature is None:
            raise self.info.error(
                "cannot tell which keywords `**` passes here: the called function's "
                "parameters are not known", unknown[0].value,
                hint="pass the entries as keywords (`f(a=d['a'])`)")
        defaults = signature.defaults
        params = signature.positional[len(args):] + signature.keyword_only
        missing = [p for p in params if p not in given]
        optional = [p for p in missing if p in defaults]
        if optional:
            raise self.info.error(
                f"`**` may or may not pass `{optional[0]}`, which has a default: the dict's "
                "keys are known only when the code runs", unknown[0].value,
                hint=f"pass `{optional[0]}` explicitly, or give the dict every parameter "
                     "and drop the default")
        source = self.atom_of(unknown[0].value)
        for param in missing:
            out.append(gast.keyword(arg=param, value=gast.copy_location(gast.Subscript(
                value=clone(source), slice=_constant(param), ctx=gast.Load()),
                unknown[0].value)))
        return out

    def _callee_signature(self, node):
        """The called function's Signature; None when it cannot be known."""
        func = node.func
        if isinstance(func, gast.Name) and func.id in self.local_functions:
            fn_args = self.local_functions[func.id].args
            positional = [a.id for a in fn_args.posonlyargs + fn_args.args]
            defaults = {p: d.value if isinstance(d, gast.Constant) else NotImplemented
                        for p, d in zip(positional[len(positional) - len(fn_args.defaults):],
                                        fn_args.defaults)}
            defaults.update((a.id, NotImplemented) for a, d in zip(fn_args.kwonlyargs,
                                                                   fn_args.kw_defaults)
                            if d is not None)
            return Signature(positional, defaults, fn_args.vararg is not None,
                             [a.id for a in fn_args.kwonlyargs])
        target = getattr(func, "resolved", None)
        if isinstance(target, np.ufunc):
            return Signature([f"x{i + 1}" for i in range(target.nin)], {}, False, [])
        if not inspect.isfunction(target):
            return None
        try:
            params = inspect.signature(target).parameters.values()
        except (TypeError, ValueError):
            return None
        kinds = inspect.Parameter
        positional = [p.name for p in params
                      if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
        defaults = {p.name: p.default for p in params if p.default is not kinds.empty}
        return Signature(positional, defaults, any(p.kind is kinds.VAR_POSITIONAL for p in params),
                         [p.name for p in params if p.kind is kinds.KEYWORD_ONLY])


def _append(items, value):
    call = gast.Call(func=gast.Attribute(value=ir.name(items), attr="append", ctx=gast.Load()),
                     args=[value], keywords=[])
    return gast.copy_location(gast.Expr(value=call), value)


def _is_shape(node):
    """``x.shape`` or ``np.shape(x)``: a tuple of integers."""
    if isinstance(node, gast.Attribute) and node.attr == "shape":
        return True
    return isinstance(node, gast.Call) and getattr(node.func, "resolved", None) is np.shape
