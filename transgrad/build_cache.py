"""What the pipeline remembers between builds, and when a build is stale.

A build is cached per function (weakly: the cache never keeps a user's function alive) under
the arguments' kinds, ``wrt``, mode and backend, together with a ``Watched``: the globals and
closure cells it read. A function that now sees other objects there is built again.
"""

import dis
import inspect
import threading
import types
import weakref

from .parse import Derivative, GeneratedCode

PER_FUNCTION = 256     # builds kept per function (argument kinds, wrt, modes), oldest dropped
lock = threading.RLock()
generation = [0]       # bumped by pipeline.clear_cache: derivatives built before are rebuilt
_ABSENT = object()


def cache_for(cache, func):
    """The dict of builds of ``func`` in ``cache``, held as long as ``func`` lives."""
    try:
        builds = cache.get(func)
        if builds is None:
            builds = cache[func] = {}
    except TypeError:   # not weakly referable: not cached across derivative objects
        builds = {}
    return builds


def remember(builds, key, value, limit=PER_FUNCTION):
    if len(builds) >= limit:
        del builds[next(iter(builds))]
    builds[key] = value


def defaults_of(func):
    """A function's default values: part of what a build of it read (a lambda's defaults
    are the values it was made with), beside its code, globals and cells."""
    return tuple(getattr(func, "__defaults__", None) or ()) + tuple(
        (getattr(func, "__kwdefaults__", None) or {}).values())   # names: in the code


class Watched:
    """What a build read from outside the function's code: the global names its code
    mentions and its closure cells, with the objects they held. A derivative whose function
    now sees other objects (``nonlocal`` rebound, a global reassigned, a module reloaded) is
    built again rather than run stale."""

    __slots__ = ("__weakref__", "cells", "globals", "helpers", "names", "refs")

    def __init__(self, func, seen=None):
        code = getattr(func, "__code__", None)
        self.globals = getattr(func, "__globals__", None) or {}
        self.names = tuple(sorted(_code_names(code))) if code is not None else ()
        self.cells = tuple(getattr(func, "__closure__", None) or ())
        values = [self.globals.get(n, _ABSENT) for n in self.names] \
            + [_cell_value(c) for c in self.cells]
        # weak where possible, so a cache entry does not keep a closure's function alive;
        # a dead reference matches no live object, so reused ids are harmless
        self.refs = tuple(map(_ref, values))
        # the user functions it calls are differentiated from their source too: what they
        # read counts (their derivatives are inlined in this one's generated code)
        seen = {id(func)} if seen is None else seen
        helpers = []
        for value in values:
            if inspect.isfunction(value) and id(value) not in seen and len(seen) < 64 \
                    and _user_function(value):
                seen.add(id(value))
                helpers.append(Watched(value, seen))
        self.helpers = tuple(helpers)

    @property
    def values(self):
        return tuple(r() for r in self.refs)

    def changed(self):
        """The global names and cells (of the function or a helper) now holding another
        object."""
        g, refs = self.globals, self.refs
        out = [n for i, n in enumerate(self.names) if g.get(n, _ABSENT) is not refs[i]()]
        start = len(self.names)
        out += [f"the closure cell {j}" for j, cell in enumerate(self.cells)
                if _cell_value(cell) is not refs[start + j]()]
        for helper in self.helpers:
            out += helper.changed()
        return out

    def current(self):
        """Whether every name and cell still holds the object it held."""
        g, refs = self.globals, self.refs
        for i, n in enumerate(self.names):
            if g.get(n, _ABSENT) is not refs[i]():
                return False
        start = len(self.names)
        for j, cell in enumerate(self.cells):
            if _cell_value(cell) is not refs[start + j]():
                return False
        for helper in self.helpers:
            if not helper.current():
                return False
        return True

    def __eq__(self, other):
        return isinstance(other, Watched) and self.globals is other.globals \
            and self.names == other.names and len(self.refs) == len(other.refs) \
            and all(a() is b() and (type(a) is _Strong or a() is not None)
                    for a, b in zip(self.refs, other.refs)) \
            and self.helpers == other.helpers

    __hash__ = None


class _Strong:
    """A strong reference with weakref.ref's call: for objects weakref cannot refer to."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __call__(self):
        return self.value


def _ref(value):
    if value is None or value is _ABSENT or isinstance(value, (int, float, complex, str, bytes,
                                                              tuple, bool)):
        return _Strong(value)
    try:
        return weakref.ref(value)
    except TypeError:
        return _Strong(value)


def _user_function(func):
    module = getattr(func, "__module__", None) or ""
    return module.split(".")[0] not in ("numpy", "jax", "jaxlib", "transgrad", "scipy")


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:   # not yet filled
        return _ABSENT


_names_of_code = weakref.WeakKeyDictionary()   # code -> its global names (code never changes)


def _code_names(code):
    """The global names ``code`` (and code nested in it) reads: not attribute names. Found
    once per code object: a derivative made inside a loop (``tg.grad(p)(x)`` at every step
    of GradBench particle's Euler loop) watches its function each time it is made, and
    disassembling took a third of that benchmark's time."""
    names = _names_of_code.get(code)
    if names is None:
        names = frozenset(ins.argval for ins in dis.get_instructions(code)
                          if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME",
                                            "LOAD_FROM_DICT_OR_GLOBALS"))
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                names |= _code_names(const)
        _names_of_code[code] = names
    return names


def watch(func):
    """The Watched of the function ``func``'s derivative is built from (for a derivative of
    a derivative, of the innermost user function)."""
    while isinstance(func, Derivative):
        func = func.user_function
    if isinstance(func, GeneratedCode) or not inspect.isfunction(func):
        return Watched(None)
    return Watched(func)
