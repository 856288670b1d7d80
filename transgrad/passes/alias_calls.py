"""What a call of a user function does to memory, read from the function's own source.

``passes/aliasing.py`` asks this for each call of a user function: which parameters the
result may share (``h(a, n)`` returning ``a`` only when ``n <= 0`` returns a new array when
called as ``h(y, 2)``: the analysis runs for the call's numbers and constants), whether it
is a number, and which arguments the function updates in place (the caller must not read
them afterwards as if they had not changed)::

    def bump(a):
        a += 1.0            # bump(y) changes the caller's y
        return a * 2.0
"""

import inspect
import weakref

import gast

from .. import ir
from ..errors import TransformError
from .alias_state import param_token


class _Summary:
    """What a call of a user function does to memory, from its source: the parameters its
    result may share (``shares``), whether the result is a number, per position of a tuple
    result whether it is a number (``items``), the parameters it updates in place
    (``mutates``: parameter -> line), the parameters it reads only in ways whose derivative
    never reads them again (``safe``: ``r[i]``, ``len(r)``, stores, such calls; None: all),
    and the lists of ints that stay lists of ints (``kept``; None: all)."""

    __slots__ = ("shares", "number", "items", "mutates", "safe", "kept", "sequence", "refusal")

    def __init__(self, shares, number, items, mutates, safe=None, kept=None, sequence=False):
        self.shares, self.number, self.items, self.mutates = shares, number, items, mutates
        self.safe, self.kept = safe, kept
        self.sequence = sequence   # the result may be a list or tuple
        self.refusal = None   # the TransformError its own updates raise in this call

    def __eq__(self, other):
        return isinstance(other, _Summary) and (
            self.shares, self.number, self.items, self.safe, self.kept, self.sequence) == (
            other.shares, other.number, other.items, other.safe, other.kept, other.sequence) \
            and set(self.mutates) == set(other.mutates)

    __hash__ = None

    def join(self, other):
        """What either may do (a recursive call's summary, one round further)."""
        mutates = dict(other.mutates)
        mutates.update(self.mutates)
        items = self.items if self.items == other.items else None
        return _Summary(self.shares | other.shares, self.number and other.number, items,
                        mutates, _meet(self.safe, other.safe), _meet(self.kept, other.kept),
                        self.sequence or other.sequence)


def _meet(a, b):
    """The parameters in both (None: every parameter)."""
    return b if a is None else a if b is None else a & b


# a recursive call's first assumption: it shares, returns and changes nothing; the rounds
# that follow (see `summary`) widen it until the function's summary agrees with it
_NOTHING = _Summary(frozenset(), True, None, {})
_SUMMARIES = {}   # (code, numbers, constants, ranks, kinds) -> _Summary or None
_TREES = {}       # code -> (info, normalized tree), or None where it cannot be read
_LIMIT = 4096     # entries kept before the caches start over (programs with many helpers)
_ROUNDS = 8       # rounds of a recursive function's summary before giving up (None)
# the summaries being made, outermost first: [key, assumption, whether a call inside read
# the assumption, whether this summary read an outer one's (then it is not cached)]
_STACK = []
_GENERIC = {}     # code -> refusal_without_kinds's answer
# code of the functions whose callers checked their updates for each call (see `vet`)
_VETTED = weakref.WeakSet()


def bind_call(func, prim):
    """Parameter name -> the argument node of this call (defaults that are numbers too), or
    None when it cannot be told (``*args``, not a plain function)."""
    if not inspect.isfunction(func) or getattr(func, "__code__", None) is None \
            or any(isinstance(a, gast.Starred) for a in prim.args) or None in prim.kwargs:
        return None
    try:
        signature = inspect.signature(func, follow_wrapped=False)
        bound = signature.bind_partial(*prim.args, **prim.kwargs)
    except (TypeError, ValueError):
        return None
    params = signature.parameters
    if any(params[p].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
           for p in bound.arguments):
        return None
    passed = dict(bound.arguments)
    for name, param in params.items():
        if name not in passed and type(param.default) in (int, float, bool):
            passed[name] = gast.Constant(value=param.default, kind=None)
    return passed


def summary(func, numbers, constants, analyse, ranks=(), kinds=()):
    """The _Summary of calling ``func`` with the parameters ``numbers`` holding numbers and
    ``constants`` (pairs) known; None when unsure (unreadable, or a recursion whose summary
    does not settle). ``ranks``: (parameter, ndim) pairs the caller knows; ``kinds``:
    (parameter, kinds) pairs (a list of numbers, see aliasing.run).
    ``analyse(info, tree, numbers, constants, ranks, kinds)`` runs the analysis.

    A recursive call (the same key, inside its own analysis) first assumes `_NOTHING`; the
    analysis runs again with the summary found until they agree, a fixed point."""
    key = (func.__code__, numbers, constants, ranks, kinds)
    for depth, frame in enumerate(_STACK):
        if frame[0] == key:
            frame[2] = True
            for inner in _STACK[depth + 1:]:
                inner[3] = True   # depends on an assumption not yet settled
            return frame[1]
    if key in _SUMMARIES:
        return _SUMMARIES[key]
    if len(_SUMMARIES) > _LIMIT:
        _SUMMARIES.clear()
    if len(_STACK) > 32:
        return None
    frame = [key, _NOTHING, False, False]
    _STACK.append(frame)
    try:
        info, tree = _normalized(func)
        for _ in range(_ROUNDS):
            frame[2] = False
            analysis = analyse(info, tree, numbers, dict(constants), dict(ranks), dict(kinds))
            found = _summarize(analysis, tree)
            if found is None or not frame[2] or found == frame[1]:
                break
            frame[1] = frame[1].join(found)
        else:
            found = None
        if found is not None:
            found.refusal = _refusal(analysis.check)
    except TransformError as error:
        if not getattr(error, "alias_refusal", False):
            found = None   # the function cannot be read: its own build says why
        else:
            raise   # a function it calls refuses this call's arguments
    except Exception:   # noqa: BLE001 - unreadable or unsupported: stay conservative
        found = None
    finally:
        _STACK.pop()
    if not frame[3]:
        _SUMMARIES[key] = found
    return found


def _refusal(check):
    """The TransformError ``check()`` raises, or None."""
    try:
        check()
    except TransformError as error:
        return error
    return None


def refusal_without_kinds(func, check):
    """The TransformError ``func``'s own updates raise when nothing is known of its arguments
    (``check(info, tree)`` checks), or None; None too where its source cannot be read."""
    code = func.__code__
    if code not in _GENERIC:
        if len(_GENERIC) > _LIMIT:
            _GENERIC.clear()
        _GENERIC[code] = None   # while it is checked (a recursive call): no refusal yet
        try:
            info, tree = _normalized(func)
        except Exception:   # noqa: BLE001 - unreadable: its own build says why
            return None
        _GENERIC[code] = _refusal(lambda: check(info, tree))
    return _GENERIC[code]


def vet(func):
    """A caller checked ``func``'s updates for its call (the arguments' kinds known there):
    the function's own build, knowing nothing of its arguments, skips the check."""
    _VETTED.add(func.__code__)


def vetted(func):
    code = getattr(func, "__code__", None)
    return code is not None and code in _VETTED


def _normalized(func):
    code = func.__code__
    if code not in _TREES:
        if len(_TREES) > _LIMIT:
            _TREES.clear()
        from ..naming import GLOBAL_MODULES, Namer
        from ..parse import parse_function
        from .fence import fence
        from .normalize import normalize
        from .resolve import resolve
        _TREES[code] = None
        info = parse_function(func)
        fence(info)
        resolve(info)
        _TREES[code] = info, normalize(info, Namer.for_tree(info.tree, reserved=GLOBAL_MODULES))
    if _TREES[code] is None:
        raise ValueError("unreadable")
    return _TREES[code]


def _summarize(analysis, tree):
    ret = tree.body[-1]
    state = analysis.before.get(id(ret))
    if not isinstance(ret, gast.Return) or state is None:
        return None
    tokens = {param_token(p): p for p in analysis.params}

    def params_of(names):
        """The parameters whose values on entry ``names`` may be (or share, hold)."""
        return {tokens[n] for n in names if n in tokens}

    value = ret.value
    elts = value.elts if isinstance(value, gast.Tuple) else [] if value is None else [value]
    kinds, shares = [], set()
    for elt in elts:
        kinds.append(isinstance(elt, gast.Constant)
                     or isinstance(elt, gast.Name) and elt.id in state.numbers)
        for name in ir.operand_names(elt):
            if name not in state.numbers:
                shared, holders, items = state.related(name)
                shares |= params_of(shared | holders | items)
    if isinstance(value, gast.Tuple):
        number, items = False, tuple(kinds)
    else:
        number = value is None or kinds[0]
        items = state.tuples.get(value.id) if isinstance(value, gast.Name) else None
    mutates = {}
    for stmt, name, kind, is_list in analysis.pending:
        before = analysis.before.get(id(stmt))
        if before is None:
            continue
        shared, holders, items_of = before.related(name)
        for param in sorted(params_of(shared | holders | (set() if is_list else items_of))):
            mutates.setdefault(param, getattr(getattr(stmt, "origin", None), "lineno", "?"))
    unsafe = analysis.unsafe_uses()
    fixed = [p for p in analysis.params if p not in analysis.rebound]
    safe = frozenset(p for p in fixed if p not in unsafe)
    kept = frozenset(p for p in fixed if p in state.int_items)
    sequence = isinstance(value, (gast.Tuple, gast.List)) \
        or isinstance(value, gast.Name) and value.id in state.sequences
    return _Summary(frozenset(shares), number, items, mutates, safe, kept, sequence)
