"""Bind the non-local names of a function body to the Python objects they refer to.

The one home of name binding, below both the rules (a rule's template is bound the same way as
user code) and the passes (``passes/resolve.py`` binds user code with it)::

    x = np.sin(w)      # the Attribute node np.sin gets .resolved = numpy.sin
"""

import types

import gast
import numpy as np

from .ir import walk

_MISSING = object()


def local_names(tree):
    """Parameters and every name the function assigns (a comprehension's variables are its
    own, not the function's)."""
    names = {a.id for a in tree.args.args + tree.args.kwonlyargs + tree.args.posonlyargs}
    own = comprehension_variables(tree.body)
    for node in walk(tree):
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del,
                                                                   gast.Param)) \
                and id(node) not in own:
            names.add(node.id)
        elif isinstance(node, gast.FunctionDef) and node is not tree:
            names.add(node.name)   # a nested helper, inlined where it is called
    return names


def resolve_body(body, namespace, locals_, error):
    """Resolve the non-local names of the statements ``body`` in ``namespace``.

    ``error(message, node, hint=None)`` builds the exception for an undefined name.
    """
    own = comprehension_variables(body)
    for stmt in body:
        for node in walk(stmt):
            if id(node) not in own:
                _resolve_node(node, namespace, locals_, error)


_COMPREHENSIONS = (gast.ListComp, gast.GeneratorExp, gast.SetComp, gast.DictComp)


def comprehension_variables(body):
    """The ids of the Name nodes in ``body`` that are a comprehension's own variables (its
    targets and their uses inside it): Python 3 gives a comprehension a scope of its own, so
    ``[f(v) for f in fs]`` leaves a global ``f`` read elsewhere a global."""
    own = set()
    for stmt in body:
        for node in walk(stmt):
            if not isinstance(node, _COMPREHENSIONS):
                continue
            targets = {n.id for g in node.generators for n in walk(g.target)
                       if isinstance(n, gast.Name)}
            inner = [node.key, node.value] if isinstance(node, gast.DictComp) else [node.elt]
            for g in node.generators:
                inner += [g.target] + g.ifs
            inner += [g.iter for g in node.generators[1:]]
            for part in inner:
                own.update(id(n) for n in walk(part)
                           if isinstance(n, gast.Name) and n.id in targets)
    return own


def _resolve_node(node, namespace, locals_, error):
    if hasattr(node, "resolved"):
        return
    if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
        if node.id in locals_:
            return
        value = namespace.get(node.id, _MISSING)
        if value is _MISSING:
            raise error(f"name `{node.id}` is not defined", node,
                        hint="define it at module level or pass it as an argument")
        node.resolved = numpy_twin(value)
    elif isinstance(node, gast.Attribute) and isinstance(node.ctx, gast.Load):
        _resolve_node(node.value, namespace, locals_, error)
        if not hasattr(node.value, "resolved"):
            return
        value = getattr(node.value.resolved, node.attr, _MISSING)
        if value is _MISSING:
            raise error(f"`{node.value.resolved!r}` has no attribute `{node.attr}`", node)
        node.resolved = numpy_twin(value)


_JAX_NUMPY = {"jax.numpy": np, "jax.numpy.linalg": np.linalg}


def numpy_twin(value):
    """numpy's function (or module) for a ``jax.numpy`` one, so code written with ``jnp`` finds
    the same rules; the JAX backend prints it back as ``jnp``. Anything else is kept."""
    module = value.__name__ if isinstance(value, types.ModuleType) \
        else getattr(value, "__module__", None)
    if module not in _JAX_NUMPY:
        return value
    if isinstance(value, types.ModuleType):
        return _JAX_NUMPY[module]
    twin = getattr(_JAX_NUMPY[module], getattr(value, "__name__", ""), None)
    return twin if callable(twin) else value
