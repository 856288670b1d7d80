"""How ``normalize`` desugars list comprehensions and generator expressions: into the loop a
person would write, appending to a fresh list, where the expression stands (so it runs when
Python would run it, after what comes before it in the statement)::

    ys = [f(x[i]) for i in range(n) if i != k]      items = []
                                                    for i in range(n):
                                              ->        if i != k:
                                                            items.append(f(x[i]))
                                                    ys = items

A generator expression becomes the same list (``sum(g(v) for v in vs)`` sums it): the
functions transgrad differentiates have no side effects, so building every item first gives
the same value. The comprehension's variables are its own (Python 3 scoping): one that a name
outside it also uses gets a fresh name.

For example (``show`` runs the passes up to the one named and prints the result):

>>> from transgrad.passes.show import show
>>> print(show('''
... def f(x, n):
...     ys = [np.sin(x[i]) for i in range(n) if i != 1]
...     return np.sum(np.stack(ys))
... ''', through="normalize"))
def f(x, n):
    items1 = []
    steps1 = range(n)
    for i in steps1:
        cond1 = i != 1
        if cond1:
            t1 = x[i]
            t2 = np.sin(t1)
            items1 = tgr.append(items1, t2)
    ys = items1
    t3 = np.stack(ys)
    t4 = np.sum(t3)
    return t4
"""

import gast

from .. import ir
from ..ir import clone, walk
from .normalize_jumps import assigned_in_compound

COMPREHENSIONS = (gast.ListComp, gast.GeneratorExp)
_SCOPES = (gast.ListComp, gast.GeneratorExp, gast.SetComp, gast.DictComp)


class ComprehensionDesugaring:
    """The comprehension method of ``Normalizer`` (which holds the state it uses)."""

    def comprehension(self, node):
        """``[elt for ... in ... if ...]`` -> a loop appending to a fresh list; its Name."""
        for generator in node.generators:
            if getattr(generator, "is_async", 0):
                raise self.info.error("`async for` in a comprehension is not supported",
                                      generator.iter, hint="use a plain `for`")
        renames, kept = self._comprehension_renames(node)
        items = self.fresh("items", multi=True)
        append = gast.Expr(value=gast.Call(
            func=gast.Attribute(value=ir.name(items), attr="append", ctx=gast.Load()),
            args=[_renamed(node.elt, renames)], keywords=[]))
        body = [append]
        for position, generator in reversed(list(enumerate(node.generators))):
            for condition in reversed(generator.ifs):
                body = [gast.If(test=_renamed(condition, renames), body=body, orelse=[])]
            iterable = generator.iter if position == 0 else _renamed(generator.iter, renames)
            body = [gast.For(target=_renamed(generator.target, renames), iter=iterable,
                             body=body, orelse=[], type_comment=None)]
        loop = body[0]
        for stmt in walk(loop):
            if isinstance(stmt, gast.stmt):
                gast.copy_location(stmt, node)
        self.multi |= assigned_in_compound([loop]) | set(renames.values())
        self.assign_temp(items, gast.List(elts=[], ctx=gast.Load()))
        self._comprehension_scopes.append(kept)
        try:
            self.visit_for(loop)
        finally:
            self._comprehension_scopes.pop()
        self._comprehension_names |= kept
        return ir.name(items)

    def _comprehension_renames(self, node):
        """(variable -> its new name, the variables that keep theirs): a variable keeps its name
        unless a name outside the comprehension (or in an enclosing one) is spelled the same;
        sibling comprehensions may share a name."""
        if not hasattr(self, "_names_outside"):
            self._names_outside = set()
            _names_outside_comprehensions(self.info.tree, self._names_outside)
            self._comprehension_scopes = []   # the names kept by those being desugared
            self._comprehension_names = set()   # kept by earlier ones: free to reuse
        targets = sorted({n.id for g in node.generators for n in walk(g.target)
                          if isinstance(n, gast.Name)})
        renames, kept = {}, set()
        for name in targets:
            taken = name in self.current or name in self.defined
            if name in self._names_outside or any(name in s for s in self._comprehension_scopes) \
                    or taken and name not in self._comprehension_names:
                renames[name] = self.fresh(name, multi=True)
            else:
                kept.add(name)
        return renames, kept


def _renamed(node, renames):
    node = clone(node)
    if renames:
        for n in walk(node):
            if isinstance(n, gast.Name) and n.id in renames:
                n.id = renames[n.id]
    return node


def _names_outside_comprehensions(node, out):
    """Add to ``out`` the names ``node`` uses outside every comprehension (and the names
    comprehensions' first iterables read, which are the enclosing scope's)."""
    if isinstance(node, _SCOPES):
        _names_outside_comprehensions(node.generators[0].iter, out)
        return
    if isinstance(node, gast.Name):
        out.add(node.id)
    for child in gast.iter_child_nodes(node):
        _names_outside_comprehensions(child, out)
