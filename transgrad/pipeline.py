"""The compiler: every stage a derivative goes through, listed as data.

A build is a ``Job`` (the function, what was asked, what the stages made so far) passed in
turn to each stage of

    FRONT_END                          read the function and make it one primitive per statement
    MODE_PASSES["reverse"|"forward"]   write the derivative, then optimize it
    LOWERING[backend]                  make it runnable on the backend
    codegen                            print it and compile it: (callable, source)

and, when a derivative is first called with arguments of new exact shapes, ``CALL_TIME``.
Each stage is a function ``stage(job)`` here that calls one pass (``transgrad/passes/``).
A pass gets what it needs from the compiler through a ``Context`` (the backend, the namer,
how to build a called function's derivative) and never imports the pipeline or api.

To add a pass: write it in ``passes/``, add its stage function here and one line in a list.
"""

import functools
import inspect
import itertools
import linecache
import math
import textwrap
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import backends
from .build_cache import cache_for, defaults_of, generation, lock, remember, watch
from .codegen import compile_function, to_source
from .ir import deep_recursion
from .naming import Namer
from .parse import Derivative, parse_function
from .passes import aliasing as _aliasing
from .passes import checkpoint as _checkpoint
from .passes import concatenate as _concatenate
from .passes import cond as _cond
from .passes import exact as _exact
from .passes import fence as _fence
from .passes import forward as _forward
from .passes import functionalize as _functionalize
from .passes import halves as _halves
from .passes import lowering as _lowering
from .passes import normalize as _normalize
from .passes import optimize as _optimize
from .passes import primal_calls as _primal_calls
from .passes import resolve as _resolve
from .passes import reverse as _reverse
from .passes import scan as _scan
from .passes import shapes as _shapes
from .passes import static as _static
from .passes import tangent_demand as _tangent_demand
from .passes import while_loops as _while_loops

RESERVED = frozenset({"np", "math", "tgr", "jnp", "jax"})   # module names in generated code
EXACT_MODES = ("grad", "value_and_grad", "vjp", "jvp")   # modes the call-time stage specializes


@dataclass
class Context:
    """What a pass may ask of the compiler besides its function's tree."""

    backend: str            # "numpy" or "jax": the array namespace the generated code runs on
    namer: Namer            # fresh names, clashing with none of the function's
    callee_vjp: Callable    # (func, wrt) -> SplitVJP: the fwd/bwd pair of a called function
    callee_jvp: Callable    # (func, wrt) -> ForwardFunction: its forward derivative


class Job:
    """One function on its way through the pipeline: what was asked, what the stages made.

    ``mode``: "grad", "value_and_grad", "vjp" or "jvp" for a derivative a user asked for;
    "split" (reverse) or "jvp" with ``callee`` for a function that generated code calls."""

    def __init__(self, func, wrt, mode, single=False, scalars=(), classes=(), param_ranks=(),
                 backend="numpy", loops=None, callee=False, checkpoint=None, zeros=(),
                 unused=()):
        self.func, self.wrt, self.mode, self.single = func, wrt, mode, single
        self.zeros = zeros   # jvp: (position, mask): the tuple argument's entries with zero tangents
        self.unused = unused   # jvp: the returned tangents the caller never reads
        self.checkpoint = checkpoint    # tg.grad(f, checkpoint=k): k snapshots per range loop
        self.scalars = scalars          # positions of Python-number arguments
        self.classes = classes          # (position, user class) of object arguments
        self.param_ranks = param_ranks  # (position, ndim) of array and number arguments
        self.backend = backend
        self.loops = loops              # JAX: "scan" lowers loops and branches
        self.callee = callee            # called from generated code: keyword-only wrt too
        self.info = self.tree = self.context = self.positions = None
        self.known = None               # variable -> rank, where the argument ranks tell
        self.user_classes = None        # the primal's shape classes (reverse), for optimize
        self.functions = []             # the generated gast FunctionDefs (two for "split")

    @property
    def kind(self):
        return "forward" if self.mode == "jvp" else "reverse"


# --- the front end ----------------------------------------------------------------------------

def parse(job):
    """Read the source (a derivative: the code it generated for these kinds); check wrt."""
    func = job.func
    if isinstance(func, Derivative) and func.backend == "numpy":
        func = func.generated_code(job.scalars, job.classes, job.param_ranks)
    info = job.info = parse_function(func)
    params = [a.id for a in info.tree.args.args]
    if job.callee:   # generated code passes keyword-only parameters by keyword
        params += [a.id for a in info.tree.args.kwonlyargs]
    for i in job.wrt:
        if not -len(params) <= i < len(params):
            raise info.error(
                f"wrt={i} is out of range: {info.tree.name} has {len(params)} positional "
                f"parameter(s) ({', '.join(params)})", info.tree,
                hint=f"use an index from 0 to {len(params) - 1}")
    job.positions = tuple(i % len(params) for i in job.wrt)


def fence(job):
    _fence.fence(job.info)


def resolve(job):
    _resolve.resolve(job.info)


def checkpoint_loops(job):
    """Loops marked ``tg.checkpoint`` to one call of their outlined step, whose VJP this
    pipeline builds (reverse mode); forward mode iterates the range."""
    _checkpoint.outline_loops(job.info, job.positions, job.kind, job.backend,
                              lambda func, wrt, backend=job.backend: split(func, wrt, backend),
                              job.checkpoint, lambda plain: _check_plain_aliasing(job, plain),
                              lambda func, wrt, backend=job.backend:
                                  forward_function(func, wrt, backend))


def _check_plain_aliasing(job, plain):
    """The alias analysis of the function with its checkpointed loops as plain loops."""
    tree = _normalize.normalize(plain, Namer.for_tree(plain.tree, reserved=RESERVED),
                                _by_name(job, job.classes))
    _aliasing.check_in_place_updates(plain, tree, _by_name(job, job.param_ranks),
                                     set(_by_name(job, [(i, True) for i in job.scalars])))


def check_backend(job):
    """Refuse, with their line, calls the backend cannot run."""
    if job.backend != "numpy":
        backends.load(job.backend).check_tree(job.info)


def normalize(job):
    """One primitive per statement; the first pass that makes names, so the context starts
    here."""
    # partials, not closures over the job: a cycle would keep the user's function alive
    # until the collector runs, and its derivatives' cache entries with it
    job.context = Context(job.backend, Namer.for_tree(job.info.tree, reserved=RESERVED),
                          functools.partial(split, backend=job.backend, loops=job.loops),
                          functools.partial(forward_function, backend=job.backend,
                                            loops=job.loops))
    job.tree = _normalize.normalize(job.info, job.context.namer,
                                    _by_name(job, job.classes), job.context)


def aliasing(job):
    """Refuse in-place updates seen through another name (Python-number arguments share
    nothing)."""
    _aliasing.check_in_place_updates(job.info, job.tree, _by_name(job, job.param_ranks),
                                     set(_by_name(job, [(i, True) for i in job.scalars])),
                                     callee=job.callee)


def concatenate(job):
    """``a + b`` of names that may hold lists or tuples: Python's ``+`` (concatenation)."""
    _concatenate.concatenate_sequences(job.info, job.tree, _by_name(job, job.param_ranks),
                                       set(_by_name(job, [(i, True) for i in job.scalars])))


def _by_name(job, pairs):
    params = [a.id for a in job.info.tree.args.args]
    return {params[i]: value for i, value in pairs if i < len(params)}


# --- the mode passes --------------------------------------------------------------------------

def ranks(job):
    """The ranks of the values, from the arguments' (a callee's are not known)."""
    if not job.callee:
        job.known = _shapes.ranks(job.tree, _by_name(job, job.param_ranks))


def reverse(job):
    if job.mode == "split":
        (fwd, bwd), _ = _reverse.reverse(job.info, job.tree, job.positions, False, "split",
                                         job.context)
        job.functions = [fwd, bwd]
        return
    params = [a.id for a in job.info.tree.args.args]
    scalar_params = {params[i] for i in job.scalars if i < len(params)}
    fn, builder = _reverse.reverse(job.info, job.tree, job.positions, job.single, job.mode,
                                   job.context, scalar_params)
    job.functions, job.user_classes = [fn], builder.classes


def forward(job):
    job.functions = [_forward.forward(job.info, job.tree, job.positions, job.single,
                                      job.context, job.zeros, job.unused)]


def tangent_demand(job):
    """Calls of called functions' JVPs go to JVPs that compute only the tangents read."""
    if job.backend == "numpy":
        for fn in job.functions:
            _tangent_demand.prune(fn.body, job.context.callee_jvp)


def optimize(job):
    for fn in job.functions:
        _optimize.optimize(fn, job.known, job.user_classes)


# --- lowering for JAX ------------------------------------------------------------------------

def _lowers(job, loops=False):
    """Branches and while loops lower on JAX for a derivative built with loops="scan" (the
    default) or "unroll", and for the functions it calls (built with its ``loops``); ``for``
    loops (``loops=True``) only with "scan"."""
    return job.loops == "scan" if loops else job.loops in ("scan", "unroll")


def join_halves(job):
    """A called function's split VJP as one function, for the lowerings to pair its loops
    and branches (``halves.split`` cuts it again)."""
    if job.mode == "split" and _lowers(job):
        job.functions = [_halves.join(*job.functions)]
        _optimize.drop_dead_saves(job.functions[0], items=True)   # a push here, its unread
        # restore there; arrays are values on JAX, so an element restore of an array nothing
        # reads after it is dead too


def translate_calls(job):
    """User functions called where no derivative flows run their translation for the
    backend, not their numpy source as written."""
    for fn in job.functions:
        _primal_calls.translate_calls(fn, functools.partial(primal_call, backend=job.backend))


def lower_loops(job):
    """Loops to ``jax.lax.scan`` where they fit."""
    if _lowers(job, loops=True):
        for fn in job.functions:
            if job.mode == "jvp":
                _scan.lower_forward_loops(fn)
            else:
                _scan.lower_loops(fn, stack=_lowering.gradient_stack(fn))


def lower_while(job):
    """``while`` loops with no stack (forward mode) to ``tgr.while_loop``."""
    if _lowers(job):
        for fn in job.functions:
            _while_loops.lower_while_loops(fn, stack=_lowering.gradient_stack(fn))


def lower_branches(job):
    """Branches to ``tgr.cond``, except those that call a function whose derivative is being
    built (a recursion: ``lax.cond`` traces both branches)."""
    if _lowers(job):
        for fn in job.functions:
            _cond.lower_branches(fn, stack=_lowering.gradient_stack(fn), keep=_recursive_call)


def _recursive_call(node):
    holder = node.__dict__.get("resolved")
    return isinstance(holder, (SplitVJP, ForwardFunction)) and (
        holder.fwd is None if isinstance(holder, SplitVJP) else holder.fn is None)


def drop_unused_stack(job):
    if _lowers(job):
        for fn in job.functions:
            _scan.drop_unused_stack(fn, stack=_lowering.gradient_stack(fn))


def split_halves(job):
    if job.mode == "split" and _lowers(job):
        job.functions = _halves.split(job.functions[0])


def static(job):
    """Values that depend only on shapes and constants computed with numpy (static under
    ``jax.jit``)."""
    static_params = set(_by_name(job, [(i, True) for i in job.scalars]))
    traced_params = set(_by_name(job, job.param_ranks)) - static_params
    for fn in job.functions:
        _static.static_values(fn, static_params, traced_params)


def functionalize(job):
    """``x[i] = v`` becomes ``x = x.at[i].set(v)``."""
    for fn in job.functions:
        _functionalize.functionalize(fn, job.known)


# --- at call time -----------------------------------------------------------------------------

def exact_shapes(generated, source, args):
    """The code for arguments of exactly these shapes: no broadcasting checks, gradients
    returned as they are (``passes/exact.py``, on the tree the build kept)."""
    return _exact.specialize(generated, source, args)


FRONT_END = [parse, fence, resolve, checkpoint_loops, check_backend, normalize, aliasing,
             concatenate]
MODE_PASSES = {
    "reverse": [ranks, reverse, optimize],
    "forward": [ranks, forward, optimize, tangent_demand],
}
LOWERING = {
    "numpy": [],
    "jax": [translate_calls, join_halves, lower_loops, lower_while, lower_branches,
            drop_unused_stack, split_halves, static, functionalize],
}
CALL_TIME = {   # (generated, source, args) -> (callable, source), or None: nothing decided
    "numpy": [exact_shapes],
    "jax": [],
}


def run(job):
    """Every stage in turn; (callable, source) of each generated function."""
    for stage in FRONT_END:
        stage(job)
    for stage in MODE_PASSES[job.kind]:
        stage(job)
    for stage in LOWERING[job.backend]:
        stage(job)
    return [codegen(job, fn) for fn in job.functions]


def codegen(job, fn):
    """(callable, source) of ``fn``; keeps the tree for the call-time stages."""
    if backends.load(job.backend).functional:   # errors at run time name the user's lines
        result = compile_function(fn, {}, fn.name, job.backend, user_file=job.info.filename)
    else:
        result = compile_function(fn, {}, fn.name, job.backend)
    if CALL_TIME[job.backend] and (job.mode in EXACT_MODES or job.mode == "split"):
        result[0].exact_tree = fn   # a called function's halves: specialized per call site
    if getattr(fn, "zero_tangents", None) is not None:   # a JVP: which tangents it returns are zeros
        result[0].zero_tangents = fn.zero_tangents
    if job.mode == "jvp":   # which entries of its tangent tuple it reads
        result[0].tangent_reads = _tangent_demand.tangent_reads(fn)
    return result


def at_call(backend, mode, generated, source, args):
    """(callable, source) of the code for arguments of these exact shapes, or None where
    the call-time stages decide nothing."""
    made = None
    if mode in EXACT_MODES:
        for stage in CALL_TIME[backend]:
            made = stage(generated, source, args) or made
    return made


def show(func, through="normalize", wrt=(0,), mode="grad", backend="numpy", namespace=None):
    """The function after the stages up to the one named ``through`` (``"resolve"``,
    ``"normalize"``, ``"reverse"``, ``"optimize"``, ``"functionalize"``...), printed as codegen
    prints it: for debugging a pass, and for the passes' docstring examples. ``func``: a
    function, or source text defining one (``np`` and ``math`` in scope). ``mode``: "grad",
    "value_and_grad", "vjp" (reverse) or "jvp" (forward); ``backend="jax"`` for its lowering.

    >>> print(show("def f(x):\n    return np.sum(x.T * 2.0)\n"))
    def f(x):
        t1 = np.transpose(x)
        t2 = t1 * 2.0
        t3 = np.sum(t2)
        return t3
    """
    if isinstance(func, str):
        func = _function_from(func, namespace)
    job = Job(func, tuple(wrt), mode, len(wrt) == 1, backend=backend, loops="scan")
    stages = FRONT_END + MODE_PASSES[job.kind] + LOWERING[backend]
    names = [stage.__name__ for stage in stages]
    if through not in names:
        raise ValueError(f"no stage {through!r} for mode {mode!r} on {backend}: "
                         f"{', '.join(names)}")
    for stage in stages[:names.index(through) + 1]:
        stage(job)
    trees = job.functions or [job.tree or job.info.tree]
    printer = backends.load(backend)
    return "\n".join(to_source(tree, {}, printer).rstrip("\n") for tree in trees)


_shown = itertools.count(1)


def _function_from(source, namespace=None):
    """The function ``source`` defines (its last ``def``), its source readable as a notebook
    cell's is (registered in ``linecache``)."""
    filename = f"<show-{next(_shown)}>"
    text = textwrap.dedent(source).strip("\n") + "\n"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    scope = {"np": np, "numpy": np, "math": math, **(namespace or {})}
    before = set(scope)
    exec(compile(text, filename, "exec"), scope)   # noqa: S102 (the caller's own source)
    return [value for key, value in scope.items() if key not in before and callable(value)][-1]


# --- the cached builds ------------------------------------------------------------------------

_cache = weakref.WeakKeyDictionary()   # function -> {the rest of the key: (callable, source)}
# code -> the last few builds of functions made from it: a function made again (a lambda made
# at each call) finds them; few, as they outlive the function and hold what it captured
_by_code = weakref.WeakKeyDictionary()
_PER_CODE = 4


def build(func, wrt_indices, single, mode, scalars=(), classes=(), param_ranks=(),
          backend="numpy", loops="scan", checkpoint=None):
    """Build (and cache) the generated derivative; returns (callable, source).

    ``scalars``: indices of positional parameters that are Python numbers in this call; the
    code built for them skips run-time broadcasting checks between scalars. ``classes``:
    ``(index, class)`` pairs for parameters that are instances of user classes, whose methods
    the code may call. ``param_ranks``: ``(index, ndim)`` pairs for array and number
    arguments, from which the ranks of intermediates follow (rules choose their formula).
    ``backend``: "numpy" or "jax", the array namespace the code runs on; ``loops``: for JAX,
    "scan" lowers loops to ``jax.lax.scan`` where they fit, "unroll" keeps Python loops;
    ``checkpoint``: snapshots (an int or "auto") for every outermost range loop, or None.
    """
    watched, defaults = watch(func), defaults_of(func)
    code = getattr(func, "__code__", None)
    key = (code, wrt_indices, single, mode, scalars, classes, param_ranks, backend, loops,
           checkpoint, tuple(map(id, watched.values)), tuple(map(id, defaults)))
    with lock:
        # a derivative's builds are kept with the code it generated for these kinds, which
        # another derivative made again of the same function shares (tg.jvp(tg.grad(f))
        # written inside a function that is called again)
        owner = func.generated_code(scalars, classes, param_ranks).function \
            if isinstance(func, Derivative) else func
        builds = cache_for(_cache, owner)
        hit = builds.get(key)
        if hit is None and inspect.isfunction(func):
            # a function made again from the same code (a lambda or closure made at each
            # call of the code that differentiates it) that reads the same objects
            hit = cache_for(_by_code, code).get(key)
        if hit is not None and hit[0].__dict__.get("watched") == watched:
            remember(builds, key, hit)
            return hit
        with deep_recursion(func):
            result, = run(Job(func, wrt_indices, mode, single, scalars, classes, param_ranks,
                              backend, loops, checkpoint=checkpoint))
        result[0].watched = watched     # what it was built from (and keeps alive: ids in key)
        result[0].defaults = defaults
        remember(builds, key, result)
        if inspect.isfunction(func):
            remember(cache_for(_by_code, code), key, result, limit=_PER_CODE)
        return result


def clear_cache():
    """Forget every generated derivative (after a rule changes, they are rebuilt)."""
    with lock:
        _cache.clear()
        _by_code.clear()
        _split_cache.clear()
        _forward_cache.clear()
        generation[0] += 1


# --- the derivatives of functions that generated code calls ------------------------------------

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
    ``f_jvp(*args, (...), **kwargs)`` returns ``(value, tangent of the value)``, the tangent
    tuple (the last positional argument) holding one tangent per differentiated argument. Registered before it is built, so
    recursion works."""

    def __init__(self, func, wrt):
        self._func, self.wrt = weakref.ref(func), wrt
        self.__name__ = f"{func.__name__}_jvp"
        self.fn = None
        self.source = ""

    func = SplitVJP.func

    def __call__(self, *args, **kwargs):
        *args, kwargs[self.tangent_parameter()] = args
        return self.fn(*args, **kwargs)

    def tangent_parameter(self):
        """The name of the generated function's parameter the tangent tuple fills."""
        code = self.fn.__code__
        return code.co_varnames[code.co_argcount + code.co_kwonlyargcount - 1]

    def generated_callee(self):
        """(the generated function, the name of its tangent parameter): generated code that
        calls this is differentiated again as a call of that function (normalize_functions)."""
        return self.fn, self.tangent_parameter()


class PrimalCall:
    """A user function called where no derivative flows, run as its translation for a
    backend: its forward derivative with respect to nothing, of which the value is kept."""

    def __init__(self, forward):
        self.forward = forward
        self.__name__ = forward.__name__.removesuffix("_jvp")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, (), **kwargs)[0]


def primal_call(func, backend):
    return PrimalCall(forward_function(func, (), backend))


_forward_cache = weakref.WeakKeyDictionary()


def forward_function(func, wrt, backend="numpy", loops=None, zeros=(), unused=()):
    """The cached ForwardFunction of ``func`` for the argument positions ``wrt``; ``zeros``:
    ``(position, mask)`` pairs, a tuple argument whose entries at the mask's True places have
    zero tangents whatever the call (forward.py: the tape of a called function's forward half
    holds arguments that the outer derivative does not vary); ``unused``: the returned
    tangents its caller never reads, returned as None (passes/tangent_demand.py)."""
    def fill(holder):
        (holder.fn, holder.source), = run(Job(func, wrt, "jvp", backend=backend, callee=True,
                                              loops=loops, zeros=zeros, unused=unused))
        holder.fn.returns_no_tape = True   # (value, tangent): nothing a reverse sweep must add
    return _callee(_forward_cache, func,
                   (getattr(func, "__code__", None), wrt, backend, loops, zeros, unused),
                   lambda: ForwardFunction(func, wrt), fill)


_split_cache = weakref.WeakKeyDictionary()


def split(func, wrt, backend="numpy", loops=None):
    """The cached SplitVJP of ``func`` with respect to positional arguments ``wrt``."""
    def fill(pair):
        (pair.fwd, fwd_source), (pair.bwd, bwd_source) = run(
            Job(func, wrt, "split", backend=backend, callee=True, loops=loops))
        pair.source = fwd_source + "\n" + bwd_source
    return _callee(_split_cache, func, (getattr(func, "__code__", None), wrt, backend, loops),
                   lambda: SplitVJP(func, wrt), fill)


def _callee(cache, func, key, make, fill):
    """The derivative of a function that generated code calls: registered in ``cache`` before
    ``fill`` builds it, so a function that calls itself finds it; forgotten if building
    fails. Held as long as ``func`` lives (the holder keeps only a weak reference to it), and
    built again when its globals or closure cells hold other objects."""
    watched = watch(func)
    key = key + (tuple(map(id, watched.values)),)
    with lock:
        holders = cache_for(cache, func)
        holder = holders.get(key)
        if holder is None or holder.watched != watched:
            holder = make()
            holder.watched = watched
            remember(holders, key, holder)
            try:
                with deep_recursion(func):
                    fill(holder)
            except BaseException:
                holders.pop(key, None)
                raise
        return holder
