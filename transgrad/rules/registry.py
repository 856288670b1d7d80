"""The registry behind the rule table: one declaration per primitive, read by every part.

A family module (``rules/shape.py``, ``rules/linalg.py``...) declares each primitive once, with
``vjp`` (its reverse rule, and in keywords its forward linearity, array-method spelling,
Tensor and torch names, JAX twin), ``jvp`` (an explicit forward rule), ``nondifferentiable``
and ``helper`` (a formula that generated code calls as ``tgr.<name>``, installed into the
``tgr`` namespace). The tables below are what the compiler, the JAX backend, the Tensor and
``python -m transgrad rules`` read; nothing else declares a primitive.
"""

import ast
import builtins
import inspect
import pathlib
import sys
import textwrap
import warnings
from dataclasses import dataclass, field

import gast
import numpy as np

from .. import runtime
from .. import runtime as tgr  # noqa: F401  (the namespace rules and helpers call: tgr.<name>)
from ..binding import local_names, resolve_body
from ..errors import TransformError


@dataclass
class Sample:
    """Sample inputs for a rule's test.

    ``args`` may hold array specs (see ``tests/checks.py``: ``A(3, 4)`` is a random float array,
    ``P(3)`` a positive one, ``U(3)`` one inside (-1, 1)), or plain values passed as given.
    ``kwargs`` are passed as given. ``wrt`` lists the positional arguments to check (default:
    every float array or float).
    """

    args: tuple
    kwargs: dict = field(default_factory=dict)
    wrt: tuple = None


@dataclass
class Rule:
    """A derivative rule: ``vjp(g, ans, *args, **kwargs)`` returns one cotangent per leading
    positional parameter (``None`` where the argument is not differentiable).

    ``broadcasting``: the cotangents may carry broadcast axes that the engine sums away.
    ``elementwise``: the output has the shape of the (broadcast) inputs.
    ``splits``: the cotangents are disjoint views of ``g`` (``g[:-1]`` and ``g[-1]``): where
    ``g`` is an array the adjoint code owns, so are they, and no copy is needed to update
    them in place.
    """

    name: str
    primitives: tuple
    vjp: object
    broadcasting: bool = False
    elementwise: bool = False
    samples: list = field(default_factory=list)
    user: bool = False      # registered with tg.defvjp (no samples: the user's own rule)
    splits: bool = False
    _template: object = None
    _locals: list = None
    _params: object = None

    @property
    def template(self):
        """The rule's source as a gast FunctionDef, parsed once, for the compiler to inline."""
        if self._template is None:
            source = textwrap.dedent(inspect.getsource(self.vjp))
            tree = gast.parse(source).body[0]
            tree.decorator_list = []
            if tree.body and isinstance(tree.body[0], gast.Expr) \
                    and isinstance(tree.body[0].value, gast.Constant):
                tree.body = tree.body[1:]   # the docstring is for readers of the table
            self._resolve(tree)
            returns = [n for n in gast.walk(tree) if isinstance(n, gast.Return)]
            if not isinstance(tree.body[-1], gast.Return) or len(returns) != 1:
                raise TransformError(
                    f"rule `{self.name}` must end with its only `return`",
                    filename=inspect.getsourcefile(self.vjp),
                    lineno=self.vjp.__code__.co_firstlineno,
                    hint="assign the result in each branch, then return it once at the end")
            self._template = tree
        return self._template

    def _resolve(self, tree):
        """Bind the body's globals (np, math, tgr, builtins) to objects, as for user code."""
        namespace = {**vars(builtins), **self.vjp.__globals__}

        def error(message, node, hint=None):
            return TransformError(f"in rule `{self.name}`: {message}", hint=hint)
        resolve_body(tree.body, namespace, local_names(tree), error)

    @property
    def template_locals(self):
        """The names the rule's body assigns, sorted (renamed on each inlining)."""
        if self._locals is None:
            self._locals = sorted({n.id for stmt in self.template.body for n in gast.walk(stmt)
                                   if isinstance(n, gast.Name)
                                   and isinstance(n.ctx, gast.Store)})
        return self._locals

    @property
    def uses_ans(self):
        """Whether the rule's body reads ``ans`` (its second parameter)."""
        ans = self.template.args.args[1].id
        return any(isinstance(n, gast.Name) and n.id == ans for s in self.template.body
                   for n in gast.walk(s))

    @property
    def params(self):
        """The rule function's parameters (``inspect.Parameter`` by name), computed once."""
        if self._params is None:
            self._params = inspect.signature(self.vjp).parameters
        return self._params


VJP_RULES = {}
NONDIFFERENTIABLE = {}


def _key(obj):
    """``obj`` as a key of the tables: itself, or its identity where it cannot be hashed (an
    instance of a dataclass called as a function is not hashable)."""
    try:
        hash(obj)
        return obj
    except TypeError:
        return ("id", id(obj))


def register_vjp(rule, *, override_warning=False):
    for primitive in rule.primitives:
        key = _key(primitive)
        if override_warning and key in VJP_RULES:
            warnings.warn(f"transgrad: overriding the derivative rule of {primitive!r}",
                          stacklevel=3)
        VJP_RULES[key] = rule


def vjp(*primitives, broadcasting=False, elementwise=False, samples=(), splits=False,
        **declared):
    """Declare the reverse rule of ``primitives`` (numpy functions, operators, math functions),
    and in ``declared`` the rest of what transgrad knows about them (``declare``'s keywords:
    forward linearity, method spelling, Tensor and torch names, JAX twin)."""
    def decorate(fn):
        rule = Rule(fn.__name__, tuple(primitives), fn, broadcasting=broadcasting,
                    elementwise=elementwise, samples=list(samples), splits=splits)
        register_vjp(rule)
        declare(*primitives, **declared)
        return rule
    return decorate


def nondifferentiable(*primitives, reason="piecewise constant or integer-valued", **declared):
    """Declare callables whose outputs carry no derivative (shapes, indices, rounding, RNG);
    ``declared``: ``declare``'s keywords (``method="argmax"``, ``attribute="shape"``,
    ``meta=0``)."""
    for primitive in primitives:
        NONDIFFERENTIABLE[_key(primitive)] = reason
    declare(*primitives, **declared)


def lookup_vjp(obj):
    """The Rule for ``obj`` or None."""
    try:
        return VJP_RULES.get(_key(obj))
    except TypeError:
        return None


NONDIFFERENTIABLE_OWNERS = {}


def nondifferentiable_methods(*classes, reason="random numbers"):
    """Declare every bound method of instances of ``classes`` non-differentiable (the methods
    of a random generator: ``rng.normal`` is a new bound method object on each access)."""
    for cls in classes:
        NONDIFFERENTIABLE_OWNERS[cls] = reason


def is_nondifferentiable(obj):
    if type(getattr(obj, "__self__", None)) in NONDIFFERENTIABLE_OWNERS:
        return True
    try:
        return _key(obj) in NONDIFFERENTIABLE
    except TypeError:
        return False


def all_rules():
    """Every distinct registered Rule, in registration order."""
    seen, rules = set(), []
    for rule in VJP_RULES.values():
        if id(rule) not in seen:
            seen.add(id(rule))
            rules.append(rule)
    return rules


# --- the tables the rest of transgrad reads, filled by the declarations ----------------------

class CallableTable(dict):
    """A table keyed by callables, which a pass asks about any callable it resolved: one that
    cannot be hashed (an instance of a dataclass called as a function) is in none, rather
    than a ``TypeError`` deep inside the pass."""

    def __contains__(self, key):
        try:
            return dict.__contains__(self, key)
        except TypeError:
            return False

    def get(self, key, default=None):
        try:
            return dict.get(self, key, default)
        except TypeError:
            return default


class CallableSet(set):
    """A set of callables, asked as ``CallableTable`` is."""

    def __contains__(self, key):
        try:
            return set.__contains__(self, key)
        except TypeError:
            return False


# forward mode (rules/forward.py derives each JVP from these and the reverse table)
MULTILINEAR = CallableSet()   # linear in each positional argument separately: f(dx, y) + f(x, dy)
LINEAR_IN = CallableTable()   # func -> positions it is linear in, each separately
JOINTLY_LINEAR = CallableTable()   # func -> positions it is linear in together: f(dx, dy)
SEQUENCE_LINEAR = CallableTable()   # func -> (position, offset): a sequence of operands (einsum)
REDUCTIONS = CallableSet()   # each output reads its own slice: sum(vjp(ones) * dx, axis)
DIAGONAL = CallableSet()   # a diagonal Jacobian, not declared elementwise: the VJP with dx
JVP_RULES = CallableTable()   # func -> {argument position: Rule}, the explicit forward rules
# the normalizer: x.sum(...) -> np.sum(x, ...), x.reshape(2, 3) -> np.reshape(x, (2, 3)), x.T
METHODS = {}
VARARG_METHODS = set()
ATTRIBUTES = {}
# the eager Tensor: its ops (name -> TensorOp), torch functional names, and the calls that read
# only an argument's shape, dtype or size ((namespace, name) -> position)
TENSOR_OPS = {}
TORCH_NAMES = {}
META_CALLS = {}
SHAPE_ONLY = CallableTable()   # callable -> positions of the arguments read only for their shape
# the JAX backend: the printed twin of a callable whose jax.numpy twin is not its namesake
JAX_TWINS = CallableTable()
# helpers of generated code declared in rules/ (name -> function), and those without a rule
# that are differentiated from their source
HELPERS = {}
SOURCE_DIFFERENTIABLE = CallableSet()


@dataclass(frozen=True)
class TensorOp:
    """An operation of the eager Tensor: the primitive whose rule it uses, its node's name
    (PyTorch's ``grad_fn`` name), and what computes the value (``func`` or a faster twin)."""

    func: object
    node: str
    impl: object


def declare(*primitives, linear=None, jointly_linear=None, sequence_linear=None,
            reduction=False, diagonal=False, method=None, vararg_method=False, attribute=None,
            tensor=None, tensor_node=None, tensor_impl=None, torch=(), jax=None, meta=None):
    """Record what transgrad knows about ``primitives`` besides their rules.

    Forward mode (every primitive): ``linear=True`` (each positional argument separately) or a
    tuple of positions; ``jointly_linear``: positions linear together; ``sequence_linear``:
    ``(position, offset)``; ``reduction``; ``diagonal``. The first primitive only: ``method``
    (a name or a tuple of names: ``x.<name>(...)`` calls it with ``x`` first), with
    ``vararg_method`` (``x.reshape(2, 3)``); ``attribute`` (``x.T``); ``tensor`` (the Tensor
    op's name) with ``tensor_node`` and ``tensor_impl``; ``torch`` (torch functional names)
    (both apply the first numpy primitive: ``np.add`` for ``operator.add, np.add``);
    ``jax`` (its printed JAX twin, e.g. ``"tgr.math_log"``); ``meta``: the position of the one
    argument it reads only for shape, dtype or size (as the Tensor's tape needs to know).
    """
    for func in primitives:
        if linear is True:
            MULTILINEAR.add(func)
        elif linear is not None:
            LINEAR_IN[func] = tuple(linear)
        if jointly_linear is not None:
            JOINTLY_LINEAR[func] = tuple(jointly_linear)
        if sequence_linear is not None:
            SEQUENCE_LINEAR[func] = tuple(sequence_linear)
        if reduction:
            REDUCTIONS.add(func)
        if diagonal:
            DIAGONAL.add(func)
    if not primitives:
        return
    first = primitives[0]
    for name in (method,) if isinstance(method, str) else method or ():
        METHODS[name] = first
        if vararg_method:
            VARARG_METHODS.add(name)
    if attribute is not None:
        ATTRIBUTES[attribute] = first
    # the Tensor and torch apply the numpy twin (np.add for operator.add, np.add)
    applied = next((p for p in primitives if isinstance(p, np.ufunc)
                    or (getattr(p, "__module__", None) or "").startswith("numpy")), first)
    if tensor is not None:
        TENSOR_OPS[tensor] = TensorOp(applied, tensor_node, tensor_impl or applied)
    for name in (torch,) if isinstance(torch, str) else torch:
        TORCH_NAMES[name] = applied
    if jax is not None:
        JAX_TWINS[first] = jax
    if meta is not None:
        for func in primitives:
            META_CALLS[(_spelling(func), func.__name__)] = meta
            SHAPE_ONLY[func] = (meta,) if isinstance(meta, int) else tuple(meta)


def _spelling(func):
    """The module name rules spell ``func`` with: ``np`` or ``tgr``."""
    return "tgr" if getattr(func, "__module__", None) == runtime.__name__ else "np"


def linear(*primitives, positions=None, jointly=False):
    """Declare the forward linearity of callables whose reverse rule is declared elsewhere or
    that need none (``list``, ``float``): in each positional argument (``positions=None``),
    in the listed ones each separately, or in them together (``jointly=True``)."""
    if jointly:
        declare(*primitives, jointly_linear=positions)
    else:
        declare(*primitives, linear=True if positions is None else positions)


def jvp(*primitives, argnum=0, samples=()):
    """Declare the forward rule of ``primitives`` with respect to their argument ``argnum``:
    ``rule(g, ans, <the primitive's parameters>)`` returns the output's tangent for the tangent
    ``g`` of that argument (one expression; a tuple-valued primitive's tangent is a tuple).
    ``samples`` (as for reverse rules) are checked against central differences by the tests."""
    def register(fn):
        rule = Rule(fn.__name__, tuple(primitives), fn, samples=list(samples))
        rule.argnum = argnum
        for primitive in primitives:
            JVP_RULES.setdefault(primitive, {})[argnum] = rule
        return rule
    return register


def helper(fn=None, *, source=False, **declared):
    """Declare ``fn`` a helper that generated code calls as ``tgr.<name>`` (a derivative
    formula, next to the rule that calls it): it is installed into the ``tgr`` namespace
    (``transgrad.runtime``, which generated code runs with; ``__module__`` says so, for the
    JAX and Tensor re-binding and for export). It refers to other ``tgr`` names by their bare
    names. ``declared``: ``declare``'s keywords (``linear=(0,)``: forward mode over generated
    code; ``meta=1``). ``source=True``: it has no rule of its own and is differentiated from
    its source (written in the subset transgrad differentiates)."""
    def install(fn):
        name = fn.__name__
        present = runtime.__dict__.get(name)
        if present is not None and present is not fn:
            raise ValueError(f"tgr.{name} is declared twice")
        fn._tgr_home = fn.__module__
        fn.__module__ = runtime.__name__
        setattr(runtime, name, fn)
        HELPERS[name] = fn
        if source:
            SOURCE_DIFFERENTIABLE.add(fn)
        declare(fn, **declared)
        return fn
    return install if fn is None else install(fn)


def helper_source(obj):
    """The source of a helper declared in ``rules/`` (decorators dropped), for ``export``."""
    if isinstance(obj, type):
        text = pathlib.Path(inspect.getsourcefile(sys.modules[obj._tgr_home])).read_text()
        node = next(n for n in ast.parse(text).body
                    if isinstance(n, ast.ClassDef) and n.name == obj.__name__)
        lines = text.splitlines()[node.lineno - 1:node.end_lineno]
    else:
        lines = textwrap.dedent(inspect.getsource(obj)).splitlines()
    while lines and lines[0].startswith("@"):
        depth = 0
        while True:   # a decorator may span lines
            line = lines.pop(0)
            depth += line.count("(") - line.count(")")
            if depth <= 0:
                break
    return "\n".join(lines) + "\n"


def check_source_differentiable(func, mode):
    """Raise TransformError when a helper of generated code without a rule would be
    differentiated by its source, unless it is one written for that."""
    if getattr(func, "__module__", None) == runtime.__name__ \
            and func not in SOURCE_DIFFERENTIABLE:
        raise TransformError(
            f"no {mode} rule for `tgr.{func.__name__}` (called by generated code) yet",
            hint="second derivatives through this function are not supported yet")
