"""Public entry points: grad, value_and_grad, vjp, source.

Each returns a ``GradientFunction``: a callable that builds the derivative's source on first
use (or when ``.source`` is read), caches it, and checks its arguments on every call.
"""

import dis
import functools
import inspect
import linecache
import threading
import types
import warnings
import weakref

import numpy as np

from . import backends, higher
from .codegen import compile_function
from .ir import deep_recursion
from .errors import TransformError
from .naming import Namer
from .parse import GeneratedCode, parse_function, unwrap
from .passes.aliasing import check_in_place_updates
from .passes.cond import lower_branches
from .passes.exact import specialize
from .passes.fence import fence
from .passes.forward import forward
from .passes.functionalize import functionalize
from .passes.normalize import normalize
from .passes.optimize import optimize
from .passes.resolve import resolve
from .passes.reverse import reverse
from .passes.scan import drop_unused_stack, lower_forward_loops, lower_loops
from .passes.shapes import ranks

_cache = weakref.WeakKeyDictionary()   # function -> {the rest of the key: (callable, source)}
_PER_FUNCTION = 256     # builds kept per function (argument kinds, wrt, modes), oldest dropped
_REBUILDS_WARNED = 5    # a derivative rebuilt this often for rebound globals warns once
_generation = [0]       # bumped by clear_cache: derivatives built before are rebuilt
_RESERVED = frozenset({"np", "math", "tgr", "jnp", "jax"})   # module names in generated code
_cache_lock = threading.RLock()
_NDARRAY = np.ndarray
_EXACT_MODES = ("grad", "value_and_grad", "vjp")
_EXACT_VARIANTS = 4     # exact-shape variants a derivative may ask to be made
_SHAPE_KEYS = 64        # argument shapes remembered per derivative (and per built code)
_ABSENT = object()

_WHAT = {
    "grad": "the gradient of {name} with respect to {wrt}",
    "value_and_grad": "(value, gradient) of {name}, the gradient with respect to {wrt}",
    "vjp": "the vector-Jacobian product of {name} with respect to {wrt}; call it as "
           "(*args, cotangent) where cotangent has the shape (or tuple structure) of the output",
    "jvp": "(value, Jacobian-vector product) of {name} in the direction of a tangent of {wrt}; "
           "call it as (*args, tangent), a tuple of tangents when wrt is a tuple",
}


def _check_wrt(wrt):
    if isinstance(wrt, bool) or not isinstance(wrt, (int, tuple, list)):
        raise TransformError(f"wrt must be an int or a tuple of ints, not {wrt!r}")
    indices = (wrt,) if isinstance(wrt, int) else tuple(wrt)
    if not indices or not all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
        raise TransformError(f"wrt must be an int or a non-empty tuple of ints, not {wrt!r}")
    return indices, isinstance(wrt, int)


def _front_end(func, wrt_indices, keyword_only=False, classes=(), backend="numpy",
               param_ranks=()):
    """parse -> fence -> resolve -> normalize; returns (info, tree, namer, wrt indices).

    ``keyword_only``: indices may also name keyword-only parameters (after the positional
    ones), as calls from generated code pass them. ``backend``: calls the backend cannot run
    are refused here, with their line. ``param_ranks``: ``(index, ndim)`` of the arguments,
    from which the aliasing check tells numbers (an element of a vector) from views."""
    info = parse_function(func)
    params = [a.id for a in info.tree.args.args]
    if keyword_only:
        params += [a.id for a in info.tree.args.kwonlyargs]
    for i in wrt_indices:
        if not -len(params) <= i < len(params):
            raise info.error(
                f"wrt={i} is out of range: {info.tree.name} has {len(params)} positional "
                f"parameter(s) ({', '.join(params)})", info.tree,
                hint=f"use an index from 0 to {len(params) - 1}")
    wrt_norm = tuple(i % len(params) for i in wrt_indices)
    fence(info)
    resolve(info)
    if backend != "numpy":
        backends.load(backend).check_tree(info)
    namer = Namer.for_tree(info.tree, reserved=_RESERVED)
    arg_names = [a.id for a in info.tree.args.args]
    tree = normalize(info, namer, {arg_names[i]: cls for i, cls in classes if i < len(arg_names)})
    check_in_place_updates(info, tree, {arg_names[i]: r for i, r in param_ranks
                                        if i < len(arg_names)})
    return info, tree, namer, wrt_norm


def build(func, wrt_indices, single, mode, scalars=(), classes=(), param_ranks=(),
          backend="numpy", loops="scan"):
    """Build (and cache) the generated derivative; returns (callable, source).

    ``scalars``: indices of positional parameters that are Python numbers in this call; the
    code built for them skips run-time broadcasting checks between scalars. ``classes``:
    ``(index, class)`` pairs for parameters that are instances of user classes, whose methods
    the code may call. ``param_ranks``: ``(index, ndim)`` pairs for array and number
    arguments, from which the ranks of intermediates follow (rules choose their formula).
    ``backend``: "numpy" or "jax", the array namespace the code runs on; ``loops``: for JAX,
    "scan" lowers loops to ``jax.lax.scan`` where they fit, "unroll" keeps Python loops.
    """
    watched = _watch(func)
    key = (getattr(func, "__code__", None), wrt_indices, single, mode, scalars, classes,
           param_ranks, backend, loops, tuple(map(id, watched.values)))
    with _cache_lock:
        builds = _cache_for(_cache, func)
        hit = builds.get(key)
        if hit is not None and hit[0].__dict__.get("watched") == watched:
            return hit
        with deep_recursion(func):
            result = _build(func, wrt_indices, single, mode, scalars, classes, param_ranks,
                            backend, loops)
        result[0].watched = watched     # what it was built from (and keeps alive: ids in key)
        _remember(builds, key, result)
        return result


def _build(func, wrt_indices, single, mode, scalars, classes, param_ranks, backend, loops):
    """``build`` without its cache."""
    code = func
    if isinstance(func, GradientFunction) and func.backend == "numpy":
        # a derivative of a derivative: the code the inner one runs for these arguments
        code = GeneratedCode(build(func._target, func._wrt, func.single, func.mode,
                                   scalars, classes, param_ranks)[0],
                             func.mode in ("vjp", "jvp"))
    info, tree, namer, wrt = _front_end(code, wrt_indices, classes=classes,
                                        backend=backend, param_ranks=param_ranks)
    params = [a.id for a in info.tree.args.args]
    scalar_params = {params[i] for i in scalars if i < len(params)}
    known = ranks(tree, {params[i]: r for i, r in param_ranks if i < len(params)})
    if mode == "jvp":
        fn = forward(info, tree, wrt, single, namer)
        optimize(fn, known)
    else:
        fn, builder = reverse(info, tree, wrt, single, mode, namer, scalar_params)
        optimize(fn, known, builder.classes)
    lowering = loops == "scan" and ("forward" if mode == "jvp" else True)
    result = _compile(fn, backend, info, known, loops=lowering)
    if backend == "numpy" and mode in _EXACT_MODES:
        result[0].exact_tree = fn   # passes/exact.py rewrites it for exact shapes
    return result


def _cache_for(cache, func):
    """The dict of builds of ``func`` in ``cache``, held as long as ``func`` lives."""
    try:
        builds = cache.get(func)
        if builds is None:
            builds = cache[func] = {}
    except TypeError:   # not weakly referable: not cached across derivative objects
        builds = {}
    return builds


def _remember(builds, key, value):
    if len(builds) >= _PER_FUNCTION:
        del builds[next(iter(builds))]
    builds[key] = value


class _Watched:
    """What a build read from outside the function's code: the global names its code
    mentions and its closure cells, with the objects they held. A derivative whose function
    now sees other objects (``nonlocal`` rebound, a global reassigned, a module reloaded) is
    built again rather than run stale."""

    __slots__ = ("globals", "names", "cells", "refs", "helpers", "__weakref__")

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
                helpers.append(_Watched(value, seen))
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
        return isinstance(other, _Watched) and self.globals is other.globals \
            and self.names == other.names and len(self.refs) == len(other.refs) \
            and all(a() is b() and (type(a) is _Strong or a() is not None)
                    for a, b in zip(self.refs, other.refs)) \
            and self.helpers == other.helpers


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

    __hash__ = None


def _user_function(func):
    module = getattr(func, "__module__", None) or ""
    return module.split(".")[0] not in ("numpy", "jax", "jaxlib", "transgrad", "scipy")


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:   # not yet filled
        return _ABSENT


def _code_names(code):
    """The global names ``code`` (and code nested in it) reads: not attribute names."""
    names = {ins.argval for ins in dis.get_instructions(code)
             if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _watch(func):
    """The _Watched of the function ``func``'s derivative is built from (for a derivative of
    a derivative, of the innermost user function)."""
    while isinstance(func, GradientFunction):
        func = func._code_func
    if isinstance(func, GeneratedCode) or not inspect.isfunction(func):
        return _Watched(None)
    return _Watched(func)


def _compile(fn, backend, info, known=None, loops=False):
    """(callable, source) of a generated FunctionDef, made functional for JAX (whose errors
    at run time are traced back to ``info``'s lines); ``loops``: lower loop pairs to scans
    (``"forward"``: forward-mode loops, one scan each) and branches to ``tgr.cond``."""
    if backends.load(backend).functional:
        if loops == "forward":
            lower_forward_loops(fn)
        elif loops:
            lower_loops(fn)
        if loops:
            lower_branches(fn)
            drop_unused_stack(fn)
        functionalize(fn, known)
        return compile_function(fn, {}, fn.name, backend, user_file=info.filename)
    return compile_function(fn, {}, fn.name, backend)


def clear_cache():
    """Forget every generated derivative (after a rule changes, they are rebuilt)."""
    with _cache_lock:
        _cache.clear()
        _split_cache.clear()
        _forward_cache.clear()
        _generation[0] += 1


class SplitVJP:
    """The two halves of a user function's derivative, called from other generated code.

    ``fwd(*args)`` runs the function and returns ``(value, tape)``; ``bwd(tape, g)`` returns
    the cotangents of the differentiated arguments. Building is recursive and cached, and a
    function that calls itself finds its own (not yet finished) pair here, so recursion works.
    """

    def __init__(self, func, wrt):
        self._func, self.wrt = weakref.ref(func), wrt
        self.__name__ = f"{func.__name__}_vjp"
        self.fwd = self.bwd = None
        self.source = ""

    @property
    def func(self):
        """The user function (a weak reference: the cache entry must not keep it alive)."""
        return self._func()

    def __repr__(self):
        return f"<transgrad split vjp of {getattr(self.func, '__qualname__', '?')} wrt " \
            f"{self.wrt}>"


class ForwardFunction:
    """The JVP of a user function called from generated forward-mode code:
    ``f_jvp(*args, tangent=(...))`` returns ``(value, tangent of the value)``, the tangent tuple
    holding one tangent per differentiated argument. Registered before it is built, so
    recursion works."""

    def __init__(self, func, wrt):
        self._func, self.wrt = weakref.ref(func), wrt
        self.__name__ = f"{func.__name__}_jvp"
        self.fn = None
        self.source = ""

    func = SplitVJP.func

    def __call__(self, *args, tangent, **kwargs):
        code = self.fn.__code__
        kwargs[code.co_varnames[code.co_argcount + code.co_kwonlyargcount - 1]] = tangent
        return self.fn(*args, **kwargs)


_forward_cache = weakref.WeakKeyDictionary()


def forward_function(func, wrt, backend="numpy"):
    """The cached ForwardFunction of ``func`` for the argument positions ``wrt``."""
    def fill(holder):
        info, tree, namer, positions = _front_end(func, wrt, keyword_only=True, backend=backend)
        fn = forward(info, tree, positions, False, namer)
        optimize(fn)
        holder.fn, holder.source = _compile(fn, backend, info)
    return _callee(_forward_cache, func, (func.__code__, wrt, backend),
                   lambda: ForwardFunction(func, wrt), fill)


_split_cache = weakref.WeakKeyDictionary()


def split(func, wrt, backend="numpy"):
    """The cached SplitVJP of ``func`` with respect to positional arguments ``wrt``."""
    def fill(pair):
        info, tree, namer, positions = _front_end(func, wrt, keyword_only=True, backend=backend)
        (fwd, bwd), _ = reverse(info, tree, positions, False, "split", namer)
        optimize(fwd)
        optimize(bwd)
        pair.fwd, fwd_source = _compile(fwd, backend, info)
        pair.bwd, bwd_source = _compile(bwd, backend, info)
        pair.source = fwd_source + "\n" + bwd_source
    return _callee(_split_cache, func, (func.__code__, wrt, backend),
                   lambda: SplitVJP(func, wrt), fill)


def _callee(cache, func, key, make, fill):
    """The derivative of a function that generated code calls: registered in ``cache`` before
    ``fill`` builds it, so a function that calls itself finds it; forgotten if building
    fails. Held as long as ``func`` lives (the holder keeps only a weak reference to it), and
    built again when its globals or closure cells hold other objects."""
    watched = _watch(func)
    key = key + (tuple(map(id, watched.values)),)
    with _cache_lock:
        holders = _cache_for(cache, func)
        holder = holders.get(key)
        if holder is None or holder.watched != watched:
            holder = make()
            holder.watched = watched
            _remember(holders, key, holder)
            try:
                with deep_recursion(func):
                    fill(holder)
            except BaseException:
                holders.pop(key, None)
                raise
        return holder


class GradientFunction:
    """A derivative of ``func`` that transgrad generated as Python source.

    ``.source`` is exactly the code that runs. Calling it checks that the differentiated
    arguments are floating point, then runs the generated function.

    ``func`` may be a function, a ``functools.partial`` of one, a bound method or an object
    with a ``__call__`` method: the derivative is built for the underlying function, with the
    bound arguments (the object itself for methods) passed first, and ``wrt`` counts the
    arguments of ``func`` as the caller passes them.
    """

    backend = "numpy"
    loops = "scan"

    def __init__(self, func, wrt, mode, verbose=False):
        self.wrt_indices, self.single = _check_wrt(wrt)
        self.func = func
        self.mode = mode
        self.verbose = verbose
        self._target, self._prefix, self._keywords = _underlying(func)
        self._bound = bool(self._prefix or self._keywords)
        shift = len(self._prefix)
        self._wrt = tuple(i + shift if i >= 0 else i for i in self.wrt_indices)
        self._code_func = self._target
        if inspect.isfunction(self._target):
            try:
                self._code_func = unwrap(self._target)
            except TransformError:
                pass   # refused when it is built, with the same message
        self._signature = _signature(self._code_func)
        self._needed = _needed_arguments(self._signature, self._prefix, self._keywords,
                                         self._wrt) + (mode in ("vjp", "jvp"))
        self._generated = None      # (callable, source) most recently used
        self._variants = {}         # which arguments are Python numbers -> (callable, source)
        self._by_types = {}         # argument types -> (callable, variant, check)
        self._by_shapes = {}        # argument shapes and dtypes -> the same: the per-call lookup
        self._exact_made = 0        # variants made for exact shapes (see _for_shapes)
        self._watched = None        # the globals and cells the code was built from
        self._rebuilds = 0          # builds dropped because those were rebound
        self._generation = _generation[0]
        self._cotangent = mode in ("vjp", "jvp")   # the last argument is a (co)tangent
        try:
            functools.update_wrapper(self, func, updated=())   # not a derivative's state
        except AttributeError:
            pass
        name = getattr(func, "__name__", None) or (
            getattr(self._target, "__name__", "f") if not self._prefix
            or self._prefix[0] is not func else type(func).__name__)   # an object: its class
        self._name = name
        self.__name__ = "d" + name
        self.__qualname__ = "d" + getattr(func, "__qualname__", name)
        wrt_text = ", ".join(self._param_names())
        self.__doc__ = (_WHAT[mode].format(name=name, wrt=wrt_text)
                        + ".\n\nGenerated by transgrad; print .source to read the code.")

    def __get__(self, obj, cls=None):
        """``@tg.grad`` on a method: called on an instance, the instance is argument 0."""
        if obj is None:
            return self
        return functools.partial(self._call_as_method, obj)

    def _call_as_method(self, obj, *args, **kwargs):
        if any(i == 0 or i == self._cotangent - 1 - len(args) for i in self._wrt):
            raise TransformError(
                f"{self.__name__} was made by decorating the method {self._name} in its "
                f"class, so wrt={self.wrt_indices[0] if self.single else self.wrt_indices} "
                f"counts `{self._argument_name(0)}` as argument 0: called on an instance, it "
                f"would differentiate with respect to the instance",
                hint="count the instance: @tg.grad(wrt=1) differentiates the first argument "
                     "after it; or take tg.grad(obj.method) of the bound method")
        return self(obj, *args, **kwargs)

    def _param_names(self):
        return [self._argument_name(i) for i in self._wrt]

    def _argument_name(self, index):
        """The parameter name of the underlying function's positional argument ``index``."""
        params = [p.name for p in self._signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)] \
            if self._signature is not None else []
        return params[index] if -len(params) <= index < len(params) else f"argument {index}"

    def _stale(self):
        """Drop the builds whose globals or cells were rebound (warning when it keeps
        happening: each rebuild costs a build), or that a new rule made old."""
        if self._watched is not None and self._generation == _generation[0]:
            self._rebuilds += 1
            if self._rebuilds == _REBUILDS_WARNED:
                names = ", ".join(dict.fromkeys(self._watched.changed())) or "a global"
                warnings.warn(
                    f"transgrad: {self.__name__} was built again {self._rebuilds} times "
                    f"because {self._name} reads {names}, rebound between calls; pass it as "
                    f"an argument instead (a rebuild costs as much as the first build)",
                    stacklevel=3)
        self._forget()

    def _forget(self):
        """Drop every build: the function's globals or cells changed, or a rule did."""
        self._variants.clear()
        self._by_types.clear()
        self._by_shapes.clear()
        self._exact_made = 0
        self._generated = None
        self._watched = None
        self._generation = _generation[0]

    def _build(self, pattern=None, classes=(), param_ranks=()):
        """The generated callable for arguments whose Python-number positions are ``pattern``
        (a tuple of bools; None: the general code, for any argument types) and whose user-class
        instances are ``classes`` ((index, class) pairs)."""
        if self._generation != _generation[0] or (
                self._watched is not None and not self._watched.current()):
            self._stale()
        variant = self._variants.get((pattern, classes, param_ranks))
        if variant is None:
            scalars = () if pattern is None else tuple(i for i, s in enumerate(pattern) if s)
            variant = build(self._target, self._wrt, self.single, self.mode, scalars,
                            classes, param_ranks, self.backend, self.loops)
            self._variants[(pattern, classes, param_ranks)] = variant
            self._watched = variant[0].__dict__.get("watched")
            if self.verbose:
                print(variant[1])
        self._generated = variant
        return variant[0]

    @property
    def source(self):
        """The generated Python source of this derivative: the code the last call ran (code
        built for Python-number arguments skips broadcasting checks), or the general code."""
        if self._generated is None:
            self._build()
        return self._generated[1]

    def _check_args(self, args):
        for i in self._wrt:
            if -len(args) <= i < len(args):
                value = args[i]
                if type(value) is np.ndarray:
                    if value.dtype.kind in "fc":
                        continue
                elif type(value) is float:
                    continue
                _check_float(value, i, self)

    def _refuse(self, index, message, hint):
        """A TransformError about argument ``index`` (of the underlying function), at the
        function's ``def`` line."""
        code = getattr(self._code_func, "__code__", None)
        shown = index - len(self._prefix) if index >= 0 else index
        name = self._argument_name(index) if isinstance(index, int) else index
        where = {} if code is None else dict(
            filename=code.co_filename, lineno=code.co_firstlineno,
            source_line=linecache.getline(code.co_filename, code.co_firstlineno))
        label = f"argument {shown} ({name})" if isinstance(index, int) else f"argument {name}"
        return TransformError(message.format(arg=label, name=self._name), hint=hint, **where)

    def _check_kinds(self, types):
        """Refuse ndarray subclasses whose operators mean something else (np.matrix: ``*``
        is a matrix product; masked arrays skip masked elements)."""
        for i, t in enumerate(types):
            kind = t[0] if isinstance(t, tuple) else t
            if isinstance(kind, type) and issubclass(kind, np.ndarray) \
                    and kind not in _SAFE_ARRAYS:
                raise _subclass_error(self, i, kind)

    def _for_types(self, types, args):
        """(generated callable, its variant, whether arguments need checking on every call)
        for arguments of these types; ``(np.ndarray, ndim, dtype kind)`` stands for arrays."""
        self._check_kinds(types)
        self._check_args(args)   # raises on integer or bool arguments in wrt
        kinds = [t[0] if isinstance(t, tuple) else t for t in types]
        pattern = tuple(t is float or t is int for t in kinds)
        classes = tuple((i, t) for i, t in enumerate(kinds) if _user_class(t))
        param_ranks = tuple((i, t[1] if isinstance(t, tuple) else 0)
                            for i, t in enumerate(types)
                            if isinstance(t, tuple) or t is float or t is int)
        generated = self._build(pattern if any(pattern) else None, classes, param_ranks)
        # float arrays and floats are settled by the key; containers are checked each call
        settled = all(-len(types) <= i < len(types) and (types[i] is float or isinstance(
            types[i], tuple) and types[i][2] in "fc") for i in self._wrt)
        known = self._by_types[types] = (generated, self._generated, not settled)
        return known

    def _for_shapes(self, shapes, args):
        """The per-call lookup's entry for arguments of these exact shapes and dtypes: the
        code for their types, or that code with what the shapes decide decided
        (``passes/exact.py``: no broadcasting checks, gradients returned as they are). Exact
        code is made for the first few shapes only, so callers whose shapes keep changing
        build nothing more and run the code for their types."""
        types = tuple([(_NDARRAY, a.ndim, a.dtype.kind) if type(a) is _NDARRAY else type(a)
                       for a in args])
        known = self._by_types.get(types) or self._for_types(types, args)
        if len(self._by_shapes) >= _SHAPE_KEYS:
            return known
        if self.mode in _EXACT_MODES:
            # kept with the code they specialize, so every GradientFunction of it shares them
            made = known[0].__dict__.setdefault("exact_variants", {})
            exact = made.get(shapes, False)
            if exact is False and self._exact_made < _EXACT_VARIANTS \
                    and len(made) < _SHAPE_KEYS:
                self._exact_made += 1
                exact = made[shapes] = specialize(known[0], known[1][1], args)
                if exact is not None and self.verbose:
                    print(exact[1])
            if exact:
                known = (exact[0], exact, known[2])
        self._by_shapes[shapes] = known
        return known

    def _arguments(self, args, kwargs):
        """(positional arguments of the underlying function, the (co)tangent or _ABSENT,
        keyword arguments): the bound arguments first, keywords bound to their parameters
        (so they are checked like positional ones), defaults filled in where wrt needs them.
        """
        cotangent = _ABSENT
        what = "cotangent" if self.mode == "vjp" else "tangent"
        if self._cotangent:
            if not args:
                raise TypeError(f"{self.__name__}() needs the arguments of {self._name} "
                                f"followed by a {what}")
            *args, cotangent = args
        args = self._prefix + tuple(args)
        if self._keywords:
            kwargs = {**self._keywords, **kwargs}
        if self._signature is None:
            return args, cotangent, kwargs
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as error:
            if cotangent is not _ABSENT:
                try:
                    self._signature.bind(*args, cotangent, **kwargs)
                except TypeError:
                    pass
                else:
                    raise TypeError(
                        f"{self.__name__}() is called as {self.__name__}(*args, {what}): the "
                        f"{what} is missing (the last argument given was taken as the {what}, "
                        f"and then {self._name} lacks an argument)") from None
            raise TypeError(f"{self.__name__}(): {error} (the arguments of {self._name}"
                            + (f", then the {what})" if self._cotangent else ")")) from None
        bound.apply_defaults()
        args, kwargs = bound.args, bound.kwargs
        for key, value in kwargs.items():
            kind = type(value)
            if issubclass(kind, np.ndarray) and kind not in _SAFE_ARRAYS:
                raise _subclass_error(self, key, kind)
        return args, cotangent, kwargs

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) < self._needed or self._bound:
            args, cotangent, kwargs = self._arguments(args, kwargs)
        elif self._cotangent:
            *args, cotangent = args
        if self._cotangent and self.mode == "jvp":
            higher.check_tangent(self, args[len(self._prefix):], cotangent)
        if self._generation != _generation[0] or (
                self._watched is not None and not self._watched.current()):
            self._stale()
        shapes = tuple([(a.shape, a.dtype) if type(a) is _NDARRAY else type(a) for a in args])
        known = self._by_shapes.get(shapes) or self._for_shapes(shapes, args)
        generated, self._generated, check = known
        if check:
            self._check_args(args)
        if self._cotangent:
            code = generated.__code__   # the (co)tangent is the last keyword-only parameter
            kwargs[code.co_varnames[code.co_argcount + code.co_kwonlyargcount - 1]] = cotangent
        return generated(*args, **kwargs)

    def _repr_html_(self):   # notebooks: the function and its derivative side by side
        return __import__("transgrad.view").view.html(self)

    def __repr__(self):
        backend = "" if self.backend == "numpy" else f" on {self.backend}"
        name = getattr(self.func, "__qualname__", self._name)
        return f"<transgrad {self.mode} of {name}{backend}>"


class JaxGradientFunction(GradientFunction):
    """A derivative generated on ``jax.numpy``: it takes JAX arrays (and tracers, so it runs
    under ``jax.jit`` and ``jax.vmap``) and says which line of the user's function needs a
    concrete value when one is traced.

    ``loops="scan"`` lowers loops to ``jax.lax.scan`` and branches to ``tgr.cond`` where they
    fit, for code that JAX traces (under ``jit``, ``vmap``, ``grad``); a call on concrete
    arrays runs the plain Python loops and branches instead (JAX would compile a scan's body
    again on every eager call). Where the lowered code cannot be traced for some argument
    types (a loop carrying a growing list), those calls fall back to the plain code.
    """

    backend = "jax"

    def __init__(self, func, wrt, mode, verbose=False, loops="scan"):
        if loops not in ("scan", "unroll"):
            raise TransformError(f"loops must be 'scan' or 'unroll', not {loops!r}")
        super().__init__(func, wrt, mode, verbose)
        self.loops = loops
        self._unrolled = None       # the loops="unroll" twin the fallback calls
        self._fallback = set()      # argument types for which the twin runs

    def _unrolled_twin(self):
        if self._unrolled is None:
            # built for the underlying function: it is called with the bound arguments
            wrt = self._wrt[0] if self.single else self._wrt
            self._unrolled = JaxGradientFunction(self._target, wrt, self.mode, self.verbose,
                                                 loops="unroll")
        return self._unrolled

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) < self._needed or self._bound:
            args, cotangent, kwargs = self._arguments(args, kwargs)
        elif self._cotangent:
            *args, cotangent = args
        else:
            cotangent = _ABSENT
        if self.mode == "jvp":
            higher.check_tangent(self, args[len(self._prefix):], cotangent)
        types = tuple([(_NDARRAY, a.ndim, a.dtype.kind)
                       if hasattr(a, "dtype") and hasattr(a, "ndim")
                       and not (isinstance(a, np.ndarray) and type(a) not in _SAFE_ARRAYS)
                       else type(a) for a in args])
        if types in self._fallback or (self.loops == "scan"
                                       and not backends.load("jax").traced(args)):
            return self._call_unrolled(args, cotangent, kwargs)
        try:
            return self._call(types, args, cotangent, kwargs)
        except TransformError:
            raise
        except Exception as error:
            if self.loops == "scan" and self._generated is not None and (
                    "jax.lax.scan(" in self._generated[1] or "tgr.cond(" in self._generated[1]):
                self._fallback.add(types)
                return self._call_unrolled(args, cotangent, kwargs)
            if isinstance(error, backends.load("jax").traced_errors):
                raise backends.load("jax").traced_value_error(error, self._code_func) from error
            raise

    def _call_unrolled(self, args, cotangent, kwargs):
        twin = self._unrolled_twin()
        extra = () if cotangent is _ABSENT else (cotangent,)
        try:
            return twin(*args, *extra, **kwargs)
        finally:
            self._generated = twin._generated   # .source is the code that ran

    def _call(self, types, args, cotangent, kwargs):
        if self._generation != _generation[0] or (
                self._watched is not None and not self._watched.current()):
            self._stale()
        known = self._by_types.get(types) or self._for_types(types, args)
        generated, self._generated, check = known
        if check:
            self._check_args(args)
        if cotangent is not _ABSENT:
            code = generated.__code__
            kwargs[code.co_varnames[code.co_argcount + code.co_kwonlyargcount - 1]] = cotangent
        return generated(*backends.load("jax").as_jax(args), **kwargs)


_SAFE_ARRAYS = (np.ndarray, np.memmap)   # ndarray subclasses whose operators are ndarray's


def _subclass_error(derivative, index, kind):
    return derivative._refuse(
        index, f"{{name}} is called with {{arg}} of type {kind.__module__}.{kind.__qualname__}"
               f", an ndarray subclass whose operators may mean something else than numpy's "
               f"(for np.matrix, `*` is a matrix product; a masked array skips masked "
               f"elements): its derivative would be wrong",
        hint="pass a plain array: np.asarray(x) (for a masked array, x.filled(value) or "
             "x.compressed() as you mean it)")


def _underlying(func):
    """(function to differentiate, arguments bound before the caller's, bound keywords) of
    a callable: a functools.partial binds arguments, a bound method its object, and an object
    with ``__call__`` is that method bound to the object."""
    prefix, keywords = (), {}
    for _ in range(8):
        if isinstance(func, functools.partial):
            prefix = tuple(func.args) + prefix
            keywords = {**func.keywords, **keywords}
            func = func.func
        elif isinstance(func, types.MethodType):
            prefix = (func.__self__,) + prefix
            func = func.__func__
        elif isinstance(func, (types.FunctionType, GradientFunction)) \
                or not callable(func) or isinstance(func, type) \
                or not isinstance(getattr(type(func), "__call__", None), types.FunctionType) \
                or hasattr(func, "__wrapped__"):
            break
        else:   # an object with a Python __call__: the method, the object first
            prefix = (func,) + prefix
            func = type(func).__call__
    return func, prefix, keywords


def _signature(func):
    if not inspect.isfunction(func):
        return None
    try:
        signature = inspect.signature(func, follow_wrapped=False)
        if hasattr(func, "__wrapped__") and any(
                p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                for p in signature.parameters.values()):
            # a decorator's wrapper(*args, **kwargs): differentiated with the parameters of
            # the function it wraps (parse._specialize_wrapper)
            return inspect.signature(func.__wrapped__, follow_wrapped=False)
        return signature
    except (TypeError, ValueError):
        return None


def _needed_arguments(signature, prefix, keywords, wrt):
    """How many positional arguments a call passes when it passes every parameter without a
    default, and those in wrt, by position: fewer (or keywords) take the slow path that binds
    them."""
    if signature is None:
        return 0
    positional = [p for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [i for i, p in enumerate(positional)
                if p.default is p.empty and p.name not in keywords]
    last = max(required + [i % len(positional) for i in wrt if positional] + [-1])
    return max(last + 1 - len(prefix), 0)


def _user_class(cls):
    """Classes whose methods generated code may call: defined in Python by the user."""
    module = getattr(cls, "__module__", "") or ""
    return module.split(".")[0] not in ("builtins", "numpy", "jax", "jaxlib", "transgrad") \
        and hasattr(cls, "__dict__") and not issubclass(cls, (dict, list, tuple))


def _check_float(value, index, derivative):
    if isinstance(value, dict):
        for item in value.values():
            _check_float(item, index, derivative)
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_float(item, index, derivative)
        return
    kind = None
    if isinstance(value, np.ndarray) and type(value) not in _SAFE_ARRAYS:
        raise _subclass_error(derivative, index, type(value))
    if isinstance(value, (bool, np.bool_)):
        kind = "bool"
    elif isinstance(value, (int, np.integer)):
        kind = "int"
    elif hasattr(value, "dtype") and hasattr(value, "ndim") \
            and getattr(value.dtype, "kind", "f") not in "fc":
        kind = f"an array of {value.dtype}"
    if kind is not None:
        raise derivative._refuse(
            index, f"cannot differentiate {{name}} with respect to {{arg}}, which is {kind}",
            hint="pass a float (2.0 rather than 2) or a float array (x.astype(float)), or "
                 "leave the argument out of wrt")


def _entry(mode, func, wrt, verbose, backend, loops=None):
    if backends.check_backend(backend) == "jax":
        def make(f):
            return JaxGradientFunction(f, wrt, mode, verbose, loops or "scan")
    elif loops is not None:
        raise TransformError("loops= chooses how the JAX backend compiles loops",
                             hint="pass backend='jax' too, or leave loops out")
    else:
        def make(f):
            return GradientFunction(f, wrt, mode, verbose)
    if func is None:
        return make
    if not callable(func):
        raise TransformError(f"expected a function to differentiate, got {func!r}")
    return make(func)


def grad(func=None, wrt=0, *, verbose=False, backend="numpy", loops=None):
    """The gradient of a scalar-valued numpy function, as generated Python source.

    Usable as a call, ``tg.grad(f)``, a bare decorator ``@tg.grad``, or ``@tg.grad(wrt=(0, 1))``.

    Example::

        def loss(w, x):
            return np.sum(np.tanh(x @ w) ** 2)

        dloss = tg.grad(loss)          # d loss / d w
        print(dloss.source)
        gw = dloss(w, x)               # same shape and dtype as w

    Args:
        func: the function; its source must be readable (defined in a file).
        wrt: the index of the positional argument to differentiate, or a tuple of indices
            (then a tuple of gradients is returned).
        verbose: print the generated source when it is built.
        backend: "numpy" (the default) or "jax": the generated code runs on ``jax.numpy``
            and composes with ``jax.jit``, ``jax.vmap`` and sharded inputs.
        loops: for ``backend="jax"``, "scan" (the default) compiles ``for`` loops as
            ``jax.lax.scan`` (fast to compile); "unroll" keeps Python loops, which JAX unrolls
            (slow to compile for long loops, sometimes faster to run for short ones).

    Raises:
        TransformError: the function uses something transgrad cannot differentiate (the
            message names the file, line and column), or its output is not a scalar.
    """
    return _entry("grad", func, wrt, verbose, backend, loops)


def value_and_grad(func=None, wrt=0, *, verbose=False, backend="numpy", loops=None):
    """Like ``grad``, but the callable returns ``(value, gradient)`` from one sweep.

    Example::

        value, g = tg.value_and_grad(loss)(w, x)
    """
    return _entry("value_and_grad", func, wrt, verbose, backend, loops)


def vjp(func=None, wrt=0, *, verbose=False, backend="numpy", loops=None):
    """The vector-Jacobian product of a function with any output shape.

    ``tg.vjp(f, wrt)(*args, cotangent)`` returns the cotangent pulled back to the ``wrt``
    arguments: ``sum(cotangent * f(*args))`` differentiated. A function returning a tuple takes
    a tuple cotangent.

    Example::

        bx = tg.vjp(np.tanh_layer)(x, w, np.ones((3, 4)))
    """
    return _entry("vjp", func, wrt, verbose, backend, loops)


def jvp(func=None, wrt=0, *, verbose=False, backend="numpy", loops=None):
    """Forward mode: ``tg.jvp(f, wrt)(*args, tangent)`` returns ``(f(*args), J @ tangent)``.

    The derivative is generated as source, a tangent statement after each statement of ``f``
    (``.source`` shows it); with ``wrt`` a tuple, ``tangent`` is a tuple. Forward rules come from
    the reverse table where they can be derived (elementwise and multilinear primitives);
    others raise TransformError for now.

    Example::

        value, slope = tg.jvp(f)(x, np.ones_like(x))
    """
    return _entry("jvp", func, wrt, verbose, backend, loops)


def source(obj):
    """The generated source of a transgrad derivative (same as ``obj.source``)."""
    if isinstance(obj, GradientFunction):
        return obj.source
    raise TypeError(f"{obj!r} is not a transgrad-generated function")
