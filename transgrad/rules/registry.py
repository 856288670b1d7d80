"""The registry behind the rule table: one ``Rule`` per derivative, keyed by callable identity."""

import inspect
import textwrap
import warnings
from dataclasses import dataclass, field

import gast


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
    """

    name: str
    primitives: tuple
    vjp: object
    broadcasting: bool = False
    elementwise: bool = False
    samples: list = field(default_factory=list)
    user: bool = False      # registered with tg.defvjp (no samples: the user's own rule)
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
                from ..errors import TransformError
                raise TransformError(
                    f"rule `{self.name}` must end with its only `return`",
                    filename=inspect.getsourcefile(self.vjp),
                    lineno=self.vjp.__code__.co_firstlineno,
                    hint="assign the result in each branch, then return it once at the end")
            self._template = tree
        return self._template

    def _resolve(self, tree):
        """Bind the body's globals (np, math, tgr, builtins) to objects, as for user code."""
        import builtins

        from ..errors import TransformError
        from ..passes.resolve import local_names, resolve_body

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


def vjp(*primitives, broadcasting=False, elementwise=False, samples=()):
    """Declare the reverse rule of ``primitives`` (numpy functions, operators, math functions)."""
    def decorate(fn):
        rule = Rule(fn.__name__, tuple(primitives), fn, broadcasting=broadcasting,
                    elementwise=elementwise, samples=list(samples))
        register_vjp(rule)
        return rule
    return decorate


def nondifferentiable(*primitives, reason="piecewise constant or integer-valued"):
    """Declare callables whose outputs carry no derivative (shapes, indices, rounding, RNG)."""
    for primitive in primitives:
        NONDIFFERENTIABLE[_key(primitive)] = reason


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
