"""What the passes make of a function, printed: a debugging aid, and the engine of the passes'
docstring examples (``tests/test_pass_docs.py`` runs them).

``show(source, through=PASS)`` runs the passes up to ``PASS`` on the function defined in
``source`` and returns the printed tree (``numpy`` is in scope as ``np``)::

    >>> print(show('''
    ... def f(x):
    ...     return np.sum(x.T * 2.0)
    ... ''', through="normalize"))
    def f(x):
        t1 = np.transpose(x)
        t2 = t1 * 2.0
        t3 = np.sum(t2)
        return t3

The order is the pipeline's: ``fence``, ``resolve``, ``normalize``, then ``reverse`` (or
``forward``), ``optimize``, then the JAX lowering ``scan``, ``while_loops``, ``cond``, ``static``,
``functionalize``.
``front_end(source)`` gives the normalized tree itself, for the analyses, and
``printed(tree)`` prints a tree a pass changed in place.
"""

import itertools
import linecache
import math
from types import SimpleNamespace

import gast
import numpy as np

from .. import backends
from ..codegen import to_source
from ..errors import TransformError
from ..naming import Namer
from ..parse import parse_function
from . import (cond, fence, forward, normalize, optimize, resolve, reverse, scan, shapes, static,
               while_loops)
from . import functionalize as functionalize_pass

FRONT_END = ("fence", "resolve", "normalize")
MODE = {"reverse": ("reverse", "optimize"), "forward": ("forward", "optimize")}
JAX_LOWERING = ("scan", "while_loops", "cond", "static", "functionalize")
_RESERVED = ("np", "math", "tgr", "jnp", "jax")   # module names generated code reads
_counter = itertools.count(1)


def function_from(source, namespace=None):
    """The function ``source`` defines (its last ``def``), with readable source: compiled
    under a file name registered in ``linecache``, as a notebook cell's is."""
    filename = f"<show-{next(_counter)}>"
    text = source.strip("\n") + "\n"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope = {"np": np, "numpy": np, "math": math}
    scope.update(namespace or {})
    before = set(scope)
    exec(compile(text, filename, "exec"), scope)   # noqa: S102 (the caller's own source)
    defined = [v for k, v in scope.items() if k not in before and callable(v)]
    return defined[-1]


def front_end(source, through="normalize", namespace=None):
    """(info, tree): the parsed function after the front-end passes up to ``through`` (the
    tree is ``info.tree`` before ``normalize``, its normalized copy after)."""
    info = parse_function(function_from(source, namespace))
    tree = info.tree
    for stage in FRONT_END[:FRONT_END.index(through) + 1]:
        if stage == "fence":
            fence.fence(info)
        elif stage == "resolve":
            resolve.resolve(info)
        else:
            namer = Namer.for_tree(info.tree, reserved=_RESERVED)
            tree = normalize.normalize(info, namer)
            tree.context = SimpleNamespace(backend="numpy", namer=namer,
                                           callee_vjp=_no_callee, callee_jvp=_no_callee)
    return info, tree


def _no_callee(func, wrt):
    """``show`` runs the passes, not the pipeline, which builds called functions' derivatives."""
    raise TransformError(f"show() does not differentiate calls of user functions "
                         f"({func.__name__})", hint="call tg.grad(f) and print its source")


def show(source, through="normalize", wrt=(0,), mode="grad", namespace=None):
    """The printed function after the passes up to ``through`` (see the module docstring).

    ``wrt``: the differentiated positional parameters; ``mode``: reverse mode's ``"grad"``,
    ``"value_and_grad"`` or ``"vjp"``, or ``"jvp"`` (forward mode, as ``through="forward"``).
    The JAX lowering passes print the gradient (or JVP) after ``optimize``."""
    if through in FRONT_END:
        info, tree = front_end(source, through, namespace)
        if through == "fence":   # names print as written
            return gast.unparse(tree).strip("\n")
        return printed(tree)
    direction = "forward" if through == "forward" or mode == "jvp" else "reverse"
    stages = MODE[direction] + (JAX_LOWERING if through in JAX_LOWERING else ())
    info, tree = front_end(source, "normalize", namespace)
    if direction == "reverse":
        fn, builder = reverse.reverse(info, tree, tuple(wrt), len(wrt) == 1, mode, tree.context)
        classes = builder.classes
    else:
        fn = forward.forward(info, tree, tuple(wrt), len(wrt) == 1, tree.context)
        classes = None
    known = shapes.ranks(tree, {})
    for stage in stages[1:stages.index(through) + 1]:
        if stage == "optimize":
            optimize.optimize(fn, known, classes)
        elif stage == "scan":
            (scan.lower_forward_loops if direction == "forward" else scan.lower_loops)(fn)
        elif stage == "while_loops":
            while_loops.lower_while_loops(fn)
        elif stage == "cond":
            cond.lower_branches(fn)
            scan.drop_unused_stack(fn)
        elif stage == "static":
            static.static_values(fn)
        elif stage == "functionalize":
            functionalize_pass.functionalize(fn, known)
    return printed(fn, backend="jax" if through in JAX_LOWERING else "numpy")


def printed(fn, backend="numpy"):
    """The FunctionDef ``fn`` as the source codegen prints for ``backend`` (resolved names
    by their global spelling: ``np.sin``, ``jnp.sin``)."""
    return to_source(fn, {}, backends.load(backend)).rstrip("\n")
