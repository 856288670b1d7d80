"""The derivative objects that ``tg.grad`` and its siblings return.

A ``GradientFunction`` builds its code through the pipeline on first use (or when ``.source``
is read), one variant per kind of arguments (Python numbers, ranks, user classes) and, at
call time, per exact shapes; it checks its arguments on every call.
"""

import functools
import inspect
import linecache
import warnings
from types import BuiltinFunctionType, FunctionType
from typing import NamedTuple

import numpy as np

from . import backends
from .arguments import (
    SAFE_ARRAYS,
    check_float,
    check_tangent,
    check_wrt,
    needed_arguments,
    signature,
    subclass_error,
    underlying,
    user_class,
)
from .build_cache import generation
from .errors import TransformError
from .parse import Derivative, GeneratedCode, unwrap
from .pipeline import EXACT_MODES, ForwardFunction, PrimalCall, SplitVJP, at_call, build

_REBUILDS_WARNED = 5    # a derivative rebuilt this often for rebound globals warns once
_NDARRAY = np.ndarray
# a function given as an argument is part of the key: the code calls it by value (it is
# inlined or called as a constant: normalize_functions)
_FUNCTIONS = frozenset({FunctionType, BuiltinFunctionType, np.ufunc})
EXACT_VARIANTS = 4      # exact-shape variants a derivative may ask to be made
SHAPE_KEYS = 64         # argument shapes remembered per derivative (and per built code)
_ABSENT = object()

_WHAT = {
    "grad": "the gradient of {name} with respect to {wrt}",
    "value_and_grad": "(value, gradient) of {name}, the gradient with respect to {wrt}",
    "vjp": "the vector-Jacobian product of {name} with respect to {wrt}; call it as "
           "(*args, cotangent) where cotangent has the shape (or tuple structure) of the output",
    "jvp": "(value, Jacobian-vector product) of {name} in the direction of a tangent of {wrt}; "
           "call it as (*args, tangent), a tuple of tangents when wrt is a tuple",
}


class Variant(NamedTuple):
    """One piece of code a derivative generated."""

    kinds: tuple        # (Python-number pattern or None, user classes, ranks) it was built for
    shapes: tuple       # the exact argument shapes it was specialized for, or None
    unrolled: bool      # made by the loops="unroll" twin of a JAX derivative
    code: tuple         # (callable, source)
    base: tuple         # the code for its kinds (itself, unless made for exact shapes)

    @property
    def label(self):
        what = "general" if self.kinds == (None, (), ()) else "argument kinds"
        if self.shapes is not None:
            what = "exact shapes"
        return ("unrolled " if self.unrolled else "") + what

    @property
    def source(self):
        return self.code[1]


def callee_sources(generated):
    """The sources of the derivatives of user functions that the generated function calls
    (and that those call in turn), each once, in the order they are first called; "" if
    none."""
    parts, seen, pending = [], set(), [generated]
    while pending:
        code = pending.pop(0)
        for name, holder in _called_holders(code):
            if id(holder) in seen:
                continue
            seen.add(id(holder))
            parts.append(f"\n\n{_heading(name, holder)}\n{holder.source.rstrip()}\n")
            pending += [f for f in (getattr(holder, "fwd", None), getattr(holder, "bwd", None),
                                    getattr(holder, "fn", None)) if f is not None]
    return "".join(parts)


def _called_holders(function):
    """The SplitVJP and ForwardFunction objects a generated function reads as globals."""
    names, codes = [], [getattr(function, "__code__", None)]
    while codes:
        code = codes.pop(0)
        if code is None:
            continue
        names += code.co_names
        codes += [c for c in code.co_consts if inspect.iscode(c)]   # nested functions
    found = []
    for name in dict.fromkeys(names):
        value = function.__globals__.get(name)
        if isinstance(value, PrimalCall):
            value = value.forward
        if isinstance(value, (SplitVJP, ForwardFunction)) and value.source:
            found.append((name, value))
    return found


def _heading(name, holder):
    """``# sq_vjp.fwd, sq_vjp.bwd: the VJP halves of sq (file.py, line 3)``, as the code
    names the holder (``sq_vjp_shapes.bwd``: a half made for the shapes of its call)."""
    func = holder.func
    code = getattr(func, "__code__", None)
    where = "" if code is None else f" ({code.co_filename}, line {code.co_firstlineno})"
    function = getattr(func, "__qualname__", holder.__name__)
    if not isinstance(holder, SplitVJP):
        return f"# {name}: the JVP of {function}{where}"
    half = holder.__dict__.get("exact_half")
    if half is not None:
        what = "forward" if half == "fwd" else "backward"
        return f"# {name}.{half}: the VJP's {what} half of {function}{where}, for these shapes"
    return f"# {name}.fwd, {name}.bwd: the VJP halves of {function}{where}"


class GradientFunction(Derivative):
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
    checkpoint = None   # tg.grad(f, checkpoint=k): snapshots for every outermost range loop

    def __init__(self, func, wrt, mode, verbose=False):
        self.wrt_indices, self.single = check_wrt(wrt)
        self.func = func
        self.mode = mode
        self.verbose = verbose
        self._target, self._prefix, self._keywords = underlying(func)
        self._bound = bool(self._prefix or self._keywords)
        shift = len(self._prefix)
        self._wrt = tuple(i + shift if i >= 0 else i for i in self.wrt_indices)
        self._code_func = self._target
        if inspect.isfunction(self._target):
            try:
                self._code_func = unwrap(self._target)
            except TransformError:
                pass   # refused when it is built, with the same message
        self._signature = signature(self._code_func)
        self._needed = needed_arguments(self._signature, self._prefix, self._keywords,
                                         self._wrt) + (mode in ("vjp", "jvp"))
        self._generated = None      # (callable, source) most recently used
        self._variants = {}         # which arguments are Python numbers -> (callable, source)
        self._by_types = {}         # argument types -> (callable, variant, check)
        self._by_shapes = {}        # argument shapes and dtypes -> the same: the per-call lookup
        self._exact_made = 0        # variants made for exact shapes (see _for_shapes)
        self._watched = None        # the globals and cells the code was built from
        self._rebuilds = 0          # builds dropped because those were rebound
        self._generation = generation[0]
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
        if self._watched is not None and self._generation == generation[0]:
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
        self._generation = generation[0]

    def _build(self, pattern=None, classes=(), param_ranks=()):
        """The generated callable for arguments whose Python-number positions are ``pattern``
        (a tuple of bools; None: the general code, for any argument types) and whose user-class
        instances are ``classes`` ((index, class) pairs)."""
        if self._generation != generation[0] or (
                self._watched is not None and not self._watched.current()):
            self._stale()
        variant = self._variants.get((pattern, classes, param_ranks))
        if variant is None:
            scalars = () if pattern is None else tuple(i for i, s in enumerate(pattern) if s)
            variant = build(self._target, self._wrt, self.single, self.mode, scalars,
                            classes, param_ranks, self.backend, self.loops, self.checkpoint)
            self._variants[(pattern, classes, param_ranks)] = variant
            self._watched = variant[0].__dict__.get("watched")
            if self.verbose:
                print(variant[1])
        self._generated = variant
        return variant[0]

    @property
    def user_function(self):
        """What this derivative differentiates (parse.Derivative): the user's function, or a
        derivative of it."""
        return self._code_func

    def generated_code(self, scalars=None, classes=(), param_ranks=()):
        """The GeneratedCode this derivative runs for arguments of these kinds (None: the
        general code), to be differentiated again (parse.Derivative)."""
        if self.backend != "numpy":   # its numpy code: the outer build lowers it for its backend
            function = build(self._target, self._wrt, self.single, self.mode, scalars or (),
                             classes, param_ranks, checkpoint=self.checkpoint)[0]
        elif scalars is None:
            function = self._build()
        else:
            function = build(self._target, self._wrt, self.single, self.mode, scalars,
                             classes, param_ranks, checkpoint=self.checkpoint)[0]
        return GeneratedCode(function, self.mode in ("vjp", "jvp"))

    def variants(self):
        """The code generated so far, as ``Variant``s: one per kind of arguments met (and,
        for JAX, the unrolled twin's), then one per exact shapes made from it."""
        out = []
        for owner in (self, getattr(self, "_unrolled", None)):
            if owner is None:
                continue
            for kinds, code in list(owner._variants.items()):
                out.append(Variant(kinds, None, owner is not self, code, code))
                for shapes, exact in list(code[0].__dict__.get("exact_variants", {}).items()):
                    if exact:
                        out.append(Variant(kinds, shapes, owner is not self, exact, code))
        return out

    def last_variant(self):
        """The Variant the last call ran (or ``.source`` showed), or None before any."""
        last = self._generated
        for variant in self.variants():
            if variant.code is last:
                return variant
        return None

    @property
    def source(self):
        """The generated Python source of this derivative: the code the last call ran (code
        built for Python-number arguments skips broadcasting checks), or the general code,
        then the generated code of the user functions it calls (``sq_vjp.fwd`` and
        ``sq_vjp.bwd``), each headed by a comment naming the function and its line."""
        return self.own_source + callee_sources(self._generated[0])

    @property
    def own_source(self):
        """The generated function's own source, without the called functions' code."""
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
                check_float(value, i, self)

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
                    and kind not in SAFE_ARRAYS:
                raise subclass_error(self, i, kind)

    def _for_types(self, types, args):
        """(generated callable, its variant, whether arguments need checking on every call)
        for arguments of these types; ``(np.ndarray, ndim, dtype kind)`` stands for arrays."""
        self._check_kinds(types)
        self._check_args(args)   # raises on integer or bool arguments in wrt
        kinds = [t[0] if isinstance(t, tuple) else t for t in types]
        pattern = tuple(t is float or t is int for t in kinds)
        classes = tuple((i, t) for i, t in enumerate(kinds)
                        if type(t) in _FUNCTIONS or user_class(t))   # functions: by value
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
        types = tuple([(_NDARRAY, a.ndim, a.dtype.kind) if type(a) is _NDARRAY
                       else a if type(a) in _FUNCTIONS else type(a)
                       for a in args])
        known = self._by_types.get(types) or self._for_types(types, args)
        if len(self._by_shapes) >= SHAPE_KEYS:
            return known
        if self.mode in EXACT_MODES:   # the pipeline's CALL_TIME stages
            # kept with the code they specialize, so every GradientFunction of it shares them
            made = known[0].__dict__.setdefault("exact_variants", {})
            exact = made.get(shapes, False)
            if exact is False and self._exact_made < EXACT_VARIANTS \
                    and len(made) < SHAPE_KEYS:
                self._exact_made += 1
                exact = made[shapes] = at_call(self.backend, self.mode, known[0],
                                               known[1][1], args)
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
            if issubclass(kind, np.ndarray) and kind not in SAFE_ARRAYS:
                raise subclass_error(self, key, kind)
        return args, cotangent, kwargs

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) < self._needed or self._bound:
            args, cotangent, kwargs = self._arguments(args, kwargs)
        elif self._cotangent:
            *args, cotangent = args
        if self._cotangent and self.mode == "jvp":
            check_tangent(self, args[len(self._prefix):], cotangent)
        if self._generation != generation[0] or (
                self._watched is not None and not self._watched.current()):
            self._stale()
        shapes = tuple([(a.shape, a.dtype) if type(a) is _NDARRAY
                        else a if type(a) in _FUNCTIONS else type(a) for a in args])
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
            self._unrolled.checkpoint = self.checkpoint
        return self._unrolled

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) < self._needed or self._bound:
            args, cotangent, kwargs = self._arguments(args, kwargs)
        elif self._cotangent:
            *args, cotangent = args
        else:
            cotangent = _ABSENT
        if self.mode == "jvp":
            check_tangent(self, args[len(self._prefix):], cotangent)
        types = tuple([(_NDARRAY, a.ndim, a.dtype.kind)
                       if hasattr(a, "dtype") and hasattr(a, "ndim")
                       and not (isinstance(a, np.ndarray) and type(a) not in SAFE_ARRAYS)
                       else a if type(a) in _FUNCTIONS else type(a) for a in args])
        if types in self._fallback or (self.loops == "scan"
                                       and not backends.load("jax").traced(args)):
            return self._call_unrolled(args, cotangent, kwargs)
        try:
            return self._call(types, args, cotangent, kwargs)
        except TransformError:
            raise
        except Exception as error:
            # a lowered loop or branch, here or in a called function's derivative (built
            # with the same loops), that JAX cannot trace: the unrolled build, whose
            # errors name the user's line
            if self.loops == "scan" and self._generated is not None:
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
        if self._generation != generation[0] or (
                self._watched is not None and not self._watched.current()):
            self._stale()
        known = self._by_types.get(types) or self._for_types(types, args)
        generated, self._generated, check = known
        if check:
            self._check_args(args)
        if cotangent is not _ABSENT:   # a copy: the fallback gets the caller's keywords
            code = generated.__code__
            kwargs = {**kwargs,
                      code.co_varnames[code.co_argcount + code.co_kwonlyargcount - 1]: cotangent}
        return generated(*backends.load("jax").as_jax(args), **kwargs)
