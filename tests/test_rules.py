"""Every derivative rule, checked on its own samples, three ways.

For each rule in ``transgrad.rules.all_rules()`` and each of its samples:

1. the rule function called directly (as the dynamic Tensor calls it);
2. the rule inlined by the compiler: a one-line module ``def f(x0, ...): return np.sin(x0)``
   is written, imported and differentiated with ``transgrad.vjp`` (every primitive the rule
   is registered for, spelled with its canonical name);

both against central finite differences in float64, and, where JAX has the same function,
against ``jax.vjp``. Arguments of symmetric positive definite samples are compared through
their symmetric part (functions of symmetric matrices see only that part).

The tests at the end reproduce compiler behaviour that rules depend on.
"""

import hashlib
import importlib.util
import math
import operator
import pathlib
import signal
import warnings
from contextlib import contextmanager

import numpy as np
import pytest

import transgrad
from tests.checks import HAVE_JAX, assert_close, jax, jnp, make_value, numeric_vjp, random_cotangent
from transgrad import runtime
from transgrad.backends import load as load_backend
from transgrad.rules import VJP_RULES, all_rules, is_nondifferentiable
from transgrad.rules.registry import (ATTRIBUTES, HELPERS, JAX_TWINS, LINEAR_IN, METHODS,
                                      MULTILINEAR, VARARG_METHODS)
from transgrad.rules.specs import ArraySpec

COMPILE_SECONDS = 20        # a build that runs longer is a compiler bug (a loop that never ends)


def _cases():
    cases = []
    for rule in all_rules():
        if rule.user:   # registered by a test with tg.defvjp: checked where it is registered
            continue
        for index in range(max(1, len(rule.samples))):
            cases.append(pytest.param(rule, index, id=f"{rule.name}-{index}"))
    return cases


# --- sample inputs ---------------------------------------------------------------------------



def _is_float(x):
    return isinstance(x, float) or (isinstance(x, np.ndarray) and x.dtype.kind in "fc")


def _is_float_sequence(x):
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(_is_float(v) for v in x)


def _is_spd(spec):
    return isinstance(spec, ArraySpec) and spec.kind == "spd"


class Case:
    """One sample, as a function of its differentiable leaves (arrays and floats).

    A sequence argument in ``wrt`` (the ``arrays`` of ``np.concatenate``) contributes one leaf
    per element.
    """

    def __init__(self, rule, sample, seed=0):
        rng = np.random.default_rng(seed)
        self.rule, self.sample = rule, sample
        self.args = tuple(make_value(a, rng) for a in sample.args)
        self.kwargs = {k: make_value(v, rng) for k, v in sample.kwargs.items()}
        if sample.wrt is None:
            self.wrt = tuple(i for i, a in enumerate(self.args)
                             if _is_float(a) or _is_float_sequence(a))
        else:
            self.wrt = tuple(sample.wrt)
        self.leaves, self.spd, self.slots = [], [], []   # slots: (arg, element or None)
        for i in self.wrt:
            arg = self.args[i]
            if isinstance(arg, (list, tuple)):
                for j, elt in enumerate(arg):
                    self.leaves.append(elt)
                    self.spd.append(_is_spd(sample.args[i][j]))
                    self.slots.append((i, j))
            else:
                self.leaves.append(arg)
                self.spd.append(_is_spd(sample.args[i]))
                self.slots.append((i, None))

    def rebuild(self, leaves):
        """(args, kwargs) with the differentiable leaves replaced by ``leaves``."""
        args = [list(a) if isinstance(a, (list, tuple)) else a for a in self.args]
        for leaf, (i, j) in zip(leaves, self.slots):
            if j is None:
                args[i] = leaf
            else:
                args[i][j] = leaf
        args = [type(orig)(a) if isinstance(orig, (list, tuple)) else a
                for a, orig in zip(args, self.args)]
        return args, dict(self.kwargs)

    def call(self, func, leaves):
        args, kwargs = self.rebuild([np.copy(x) if isinstance(x, np.ndarray) else x
                                     for x in leaves])
        return func(*args, **kwargs)


def _compare(actual, expected, what, spd=False):
    if spd:
        actual = (np.asarray(actual) + np.swapaxes(actual, -1, -2)) / 2
        expected = (np.asarray(expected) + np.swapaxes(expected, -1, -2)) / 2
    assert_close(actual, expected, what)


# --- the three ways to get a rule's cotangents -------------------------------------------

def _direct(case, cotangent):
    """The rule function called as the Tensor calls it; one cotangent per leaf."""
    rule = case.rule
    primitive = rule.primitives[0]
    ans = case.call(primitive, case.leaves)
    args, kwargs = case.rebuild(case.leaves)
    out = rule.vjp(cotangent, ans, *args, **kwargs)
    # a tuple has one cotangent per parameter, a bare value is the first one's; a rule with
    # *args returns a sequence with one cotangent per positional argument
    vararg = any(p.kind == p.VAR_POSITIONAL for p in rule.params.values())
    if not vararg and not isinstance(out, tuple):
        out = (out,)
    results = []
    for i, j in case.slots:
        assert i < len(out) and out[i] is not None, \
            f"rule {rule.name} gives no cotangent for argument {i}"
        c = out[i] if j is None else out[i][j]
        assert c is not None, f"rule {rule.name} gives no cotangent for argument {i}[{j}]"
        leaf = case.leaves[len(results)]
        if rule.broadcasting:
            c = runtime.unbroadcast(c, np.shape(leaf))
        results.append(c)
    return results


_LITERALS = (type(None), bool, int, float, str)


def _literal(value):
    """``repr(value)`` when it reads back as the same constant, else None."""
    if isinstance(value, _LITERALS) and not isinstance(value, float):
        return repr(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, tuple) and all(_literal(v) is not None for v in value):
        return "(" + "".join(_literal(v) + ", " for v in value) + ")"
    if isinstance(value, list) and all(_literal(v) is not None for v in value):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return None


def _spelling(primitive):
    """How the generated module names ``primitive`` (None: bind it as a global ``prim``)."""
    canonical = load_backend("numpy").canonical(primitive)
    if canonical is not None:
        return canonical
    name = getattr(primitive, "__name__", None)
    if name and getattr(operator, name, None) is primitive:
        return f"operator.{name}"
    return None


def _module_source(case, primitive):
    """``def f(<leaves and constants>): return <primitive>(<args>)`` and the parameter values."""
    params, values, wrt = [], [], []

    def leaf(value):
        wrt.append(len(params))
        params.append(f"x{len(params)}")
        values.append(value)
        return params[-1]

    def const(value):
        text = _literal(value)
        if text is not None:
            return text
        params.append(f"c{len(params)}")
        values.append(value)
        return params[-1]

    slots = dict(zip(case.slots, case.leaves))
    args = []
    for i, arg in enumerate(case.args):
        if (i, None) in slots:
            args.append(leaf(arg))
        elif (i, 0) in slots:
            elts = [leaf(elt) for elt in arg]
            args.append(("[{}]" if isinstance(arg, list) else "({},)").format(", ".join(elts)))
        else:
            args.append(const(arg))
    kwargs = [f"{k}={const(v)}" for k, v in case.kwargs.items()]
    name = _spelling(primitive) or "prim"
    if primitive is operator.getitem:
        body = f"{args[0]}[{args[1]}]"
    else:
        body = f"{name}({', '.join(args + kwargs)})"
    source = ("import math\nimport operator\n\nimport numpy as np\n\n"
              "from transgrad import runtime as tgr\n\n\n"
              f"def f({', '.join(params)}):\n    return {body}\n")
    return source, values, tuple(wrt)


@contextmanager
def _time_limit(seconds, what):
    def expire(signum, frame):
        raise TimeoutError(f"{what} took more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _compiled(case, primitive, cotangent, tmp_path, k):
    """The rule as the compiler inlines it, through ``transgrad.vjp`` of a generated module."""
    source, values, wrt = _module_source(case, primitive)
    path = tmp_path / f"rule_module_{k}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"rule_module_{id(case)}_{k}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.prim = primitive
    vjp = transgrad.vjp(module.f, wrt=wrt)
    with _time_limit(COMPILE_SECONDS, f"building the derivative of\n{source}"), \
            warnings.catch_warnings():
        warnings.simplefilter("error", SyntaxWarning)   # generated code must compile cleanly
        source += "\n" + vjp.source
    values = [np.copy(v) if isinstance(v, np.ndarray) else v for v in values]
    grads = vjp(*values, cotangent)
    return list(grads), source


# --- JAX ---------------------------------------------------------------------------------

def _declared_jax(primitive):
    """The ``jax.``-module function a rule declared as ``primitive``'s twin (scipy's), or None."""
    try:
        twin = JAX_TWINS.get(primitive)
    except TypeError:
        return None
    if not twin or not twin.startswith("jax."):
        return None
    target = jax
    for part in twin.split(".")[1:]:
        target = getattr(target, part)
    return target


def _jax_function(primitive):
    declared = _declared_jax(primitive)
    if declared is not None:
        return declared
    spelled = _spelling(primitive)
    if spelled is None:
        return None
    if spelled.startswith("operator."):
        return primitive
    if spelled.startswith("np.linalg."):
        return getattr(jnp.linalg, spelled[len("np.linalg."):], None)
    if spelled.startswith("np.fft."):
        return getattr(jnp.fft, spelled[len("np.fft."):], None)
    if spelled.startswith("np.") and "." not in spelled[3:]:
        return getattr(jnp, spelled[3:], None)
    return None


# XLA's compilation is most of a case's time; without LLVM's costlier optimizations it takes
# about a quarter less (the values are the same: no fast math either way)
_XLA_OPTIONS = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def _jitted(func, *args):
    """``jax.jit(func)(*args)``, compiled with _XLA_OPTIONS."""
    return jax.jit(func).lower(*args).compile(_XLA_OPTIONS)(*args)


def _jax_vjp(case, func, cotangent):
    def f(*leaves):
        args, kwargs = case.rebuild(list(leaves))
        if func is operator.getitem and isinstance(args[1], list):
            args[1] = np.asarray(args[1])    # JAX reads a list index as an integer array only
        return func(*args, **kwargs)
    def pulled_back(leaves, cts):
        out, pullback = jax.vjp(f, *leaves)
        flat, tree = jax.tree_util.tree_flatten(out)
        ct = jax.tree_util.tree_unflatten(tree, [c.astype(o.dtype) for c, o in zip(cts, flat)])
        return pullback(ct)
    cts = cotangent if isinstance(cotangent, (tuple, list)) else [cotangent]
    # one compiled program per case: much faster than running the ops one by one (each op
    # compiles on its first use: 424 s against 300 s over the table, measured)
    grads = _jitted(pulled_back, [jnp.asarray(x) for x in case.leaves],
                    [jnp.asarray(c) for c in cts])
    return [np.asarray(c) for c in grads]


# JAX's cotangents are a fixed function of the sample's values: they are recorded in
# REFERENCES, keyed by a hash of everything the call reads, and read back instead of compiling
# one JAX program per case (most of this file's time). A case whose key is not recorded (a new
# or changed sample) asks JAX; every LIVE_EVERY-th recorded case is asked again and compared
# with its record. `python -m tests.test_rules` records them all again.
REFERENCES = pathlib.Path(__file__).parent / "fixtures" / "jax_rule_references.npz"
LIVE_EVERY = 25
_recorded = None


def _reference_key(case, func, cotangent):
    digest = hashlib.sha1()

    def feed(value):
        if isinstance(value, np.ndarray):
            digest.update(f"{value.dtype}{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, (list, tuple)):
            digest.update(f"{type(value).__name__}{len(value)}".encode())
            for v in value:
                feed(v)
        else:
            digest.update(repr(value).encode())
    feed(case.rule.name)
    feed(f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', func)!r}")
    feed(case.args)
    feed(sorted(case.kwargs.items()))
    feed(list(case.wrt))
    feed(cotangent)
    return digest.hexdigest()


def _recorded_references():
    global _recorded
    if _recorded is None:
        _recorded = {}
        if REFERENCES.exists():
            with np.load(REFERENCES) as data:
                for name in data.files:
                    key, k = name.rsplit("_", 1)
                    _recorded.setdefault(key, {})[int(k)] = data[name]
        _recorded = {key: [leaves[k] for k in range(len(leaves))]
                     for key, leaves in _recorded.items()}
    return _recorded


def _jax_reference(case, func, cotangent, number):
    """JAX's cotangents of ``case``: recorded, or asked of ``jax.vjp`` (see REFERENCES)."""
    recorded = _recorded_references().get(_reference_key(case, func, cotangent))
    if recorded is None:
        return _jax_vjp(case, func, cotangent)
    if number % LIVE_EVERY == 0:
        live = _jax_vjp(case, func, cotangent)
        for k, (got, want) in enumerate(zip(recorded, live)):
            assert_close(got, want, f"the recorded JAX cotangent of `{case.rule.name}`, leaf "
                         f"{k}, is not jax.vjp's: run python -m tests.test_rules")
    return recorded


def _jax_checked(rule, index):
    """The JAX function ``test_rule`` compares (rule, sample ``index``) with, or None."""
    if not HAVE_JAX or rule.name in JAX_REFUSES \
            or (rule.name in JAX_KINK_CONVENTIONS and _pins_a_kink(rule, index)):
        return None
    return _jax_function(rule.primitives[0])


def record_references():
    """Ask ``jax.vjp`` for every case ``test_rule`` compares with JAX and write REFERENCES."""
    arrays = {}
    for param in _CASES:
        rule, index = param.values
        func = _jax_checked(rule, index)
        if func is None:
            continue
        case = Case(rule, rule.samples[index])
        cotangent = random_cotangent(case.call(rule.primitives[0], case.leaves))
        key = _reference_key(case, func, cotangent)
        for k, grad in enumerate(_jax_vjp(case, func, cotangent)):
            arrays[f"{key}_{k}"] = grad
    np.savez_compressed(REFERENCES, **arrays)
    return len(arrays)


# rules whose value at a kink follows central differences where JAX picks a side: |x| at 0
# (JAX: 1; numpy's sign and PyTorch: 0) and fmax/fmin at ties (JAX: all to one operand)
JAX_KINK_CONVENTIONS = {"absolute", "fmax", "fmin"}


# rules JAX has no derivative for: eigenvectors of a non-symmetric matrix (JAX asks for
# enable_eigvec_derivs; its eig is complex-valued, so the JAX backend has no real twin)
JAX_REFUSES = {"eig", "sqrtm", "solve_sylvester"}   # scipy.linalg: JAX has no Schur rule


def _pins_a_kink(rule, index):
    """Samples given as literal arrays (not random specs) put inputs exactly at a kink."""
    return any(isinstance(a, np.ndarray) for a in rule.samples[index].args)


_CASES = _cases()
# the numpy backend's cotangents of each case (test_rule's build of rule.primitives[0]),
# which test_rule_on_the_jax_backend compares the JAX backend with instead of building again
_NUMPY_COTANGENTS = {}
_CASE_NUMBERS = {(id(param.values[0]), param.values[1]): n for n, param in enumerate(_CASES)}


# --- the test ----------------------------------------------------------------------------

@pytest.mark.parametrize("rule,index", _CASES)
def test_rule(rule, index, tmp_path):
    assert rule.samples, f"rule `{rule.name}` has no samples: add samples=[Sample(...)]"
    case = Case(rule, rule.samples[index])
    assert case.leaves, f"sample {index} of `{rule.name}` has nothing to differentiate"
    reference = rule.primitives[0]
    ans = case.call(reference, case.leaves)
    cotangent = random_cotangent(ans)

    def value(*leaves):
        return case.call(reference, leaves)
    expected = [numeric_vjp(value, list(case.leaves), k, cotangent)
                for k in range(len(case.leaves))]

    direct = _direct(case, cotangent)
    for k, (got, want) in enumerate(zip(direct, expected)):
        _compare(got, want, f"rule `{rule.name}` called directly, leaf {k}", case.spd[k])

    for k, primitive in enumerate(rule.primitives):
        if primitive is not reference:
            assert_close(case.call(primitive, case.leaves), ans,
                         f"{primitive!r} and {reference!r} differ on the sample")
        grads, source = _compiled(case, primitive, cotangent, tmp_path, k)
        if primitive is reference:
            _NUMPY_COTANGENTS[id(rule), index] = grads
        for n, (got, want) in enumerate(zip(grads, expected)):
            _compare(got, want, f"compiled `{_spelling(primitive) or primitive!r}`, leaf {n}"
                     f"\n{source}", case.spd[n])

    func = _jax_checked(rule, index)
    if func is not None:
        number = _CASE_NUMBERS[id(rule), index]
        for k, (got, want) in enumerate(zip(direct, _jax_reference(case, func, cotangent,
                                                                   number))):
            _compare(got, want, f"rule `{rule.name}` against jax.vjp, leaf {k}", case.spd[k])


# rules whose tied extrema share the cotangent on numpy but, traced by jax.jit, give it to the
# first of them (runtime.extremum_mask: XLA may round a recomputed operand differently)
FIRST_OF_TIES_UNDER_JIT = {"amax", "amin", "nanmax", "nanmin", "norm", "builtin_max",
                           "builtin_min"}


def _compare_first_of_ties(grads, expected, what):
    """The jitted cotangents of a tied sample (all leaves): nonzero only where the shared
    ones are (at the ties they split it among), and as large in all."""
    got = np.concatenate([np.ravel(np.asarray(g)) for g in grads])
    want = np.concatenate([np.ravel(np.asarray(w)) for w in expected])
    assert not np.any((got != 0) & (want == 0)), f"{what}: {got} outside the ties of {want}"
    assert_close(np.sum(np.abs(got)), np.sum(np.abs(want)), f"{what}: the total differs")


@pytest.mark.skipif(not HAVE_JAX, reason="JAX is not installed")
@pytest.mark.parametrize("rule,index", _CASES)
def test_rule_on_the_jax_backend(rule, index, tmp_path):
    """Each rule inlined into code generated on jax.numpy, jitted, against the numpy
    backend's cotangents (which test_rule checks against finite differences)."""
    case = Case(rule, rule.samples[index])
    primitive = rule.primitives[0]
    if primitive is not operator.getitem and _spelling(primitive) is None \
            and _declared_jax(primitive) is None:
        pytest.skip("a primitive generated code binds as a global runs only on numpy")
    if rule.name in JAX_REFUSES:
        pytest.skip("JAX has no real-valued derivative of this function")
    if primitive is float:
        pytest.skip("float() needs a concrete value: not traceable under jax.jit (as in JAX)")
    if primitive is runtime.item:
        # the vjp computes the output, to check the cotangent against it (as jax.vjp runs f)
        pytest.skip("x.item() needs a concrete value: not traceable under jax.jit (as in JAX)")
    if primitive is operator.getitem and isinstance(case.args[1], list):
        pytest.skip("JAX does not read a list as an index array (x[[0, 2]]): pass an array")
    cotangent = random_cotangent(case.call(primitive, case.leaves))
    expected = _NUMPY_COTANGENTS.get((id(rule), index))   # test_rule's, when it ran first
    if expected is None:
        expected, _ = _compiled(case, primitive, cotangent, tmp_path, 0)
    module_source, values, wrt = _module_source(case, primitive)
    path = tmp_path / "rule_module_jax.py"
    path.write_text(module_source)
    spec = importlib.util.spec_from_file_location(f"rule_module_jax_{id(case)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.prim = primitive
    try:
        vjp = transgrad.vjp(module.f, wrt=wrt, backend="jax")
        vjp.source   # noqa: B018 - builds it: a primitive with no jax.numpy twin says so here
    except transgrad.TransformError as error:
        assert "no jax.numpy equivalent" in str(error), str(error)
        pytest.skip(str(error).splitlines()[0])

    def pulled_back(*leaves):   # constants (axes, indices, strings) stay Python values
        call = list(values)
        for position, leaf in zip(wrt, leaves):
            call[position] = leaf
        return vjp(*call, cotangent)
    grads = _jitted(pulled_back, *[values[k] for k in wrt])
    if rule.name in FIRST_OF_TIES_UNDER_JIT and any(
            isinstance(a, (np.ndarray, float)) for a in rule.samples[index].args):
        _compare_first_of_ties(grads, expected, f"`{rule.name}` on the JAX backend")
        return
    for n, (got, want) in enumerate(zip(grads, expected)):
        _compare(jax.tree_util.tree_map(np.asarray, got), want,
                 f"`{rule.name}` on the JAX backend, leaf {n}\n{module_source}\n{vjp.source}",
                 case.spd[n])


def test_table_size():
    """The table covers at least the 90 callables that issue 2 asks for."""
    assert len(VJP_RULES) >= 90


@pytest.mark.parametrize("func", [np.random.randn, np.random.normal, np.random.default_rng,
                                  np.random.default_rng(0).normal, np.argmax, np.floor,
                                  np.zeros_like, len])
def test_nondifferentiable(func):
    assert is_nondifferentiable(func)


# --- the declarations: one place per primitive ----------------------------------------------

def _global_loads(code):
    """The global names ``code`` (and the functions nested in it) reads."""
    import dis
    names = {i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"}
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _global_loads(const)
    return names


@pytest.mark.parametrize("name", sorted(HELPERS))
def test_helper_sees_the_tgr_namespace(name):
    """A helper declared in ``rules/`` is re-bound onto one namespace by the JAX runtime, the
    Tensor and ``export``: every global it reads must mean there what it means in its module
    (no module-private function, no rule named like a builtin it calls)."""
    import builtins
    func = HELPERS[name]
    assert getattr(runtime, name) is func and func.__module__ == runtime.__name__
    functions = [func] if not isinstance(func, type) else [
        f for f in vars(func).values() if hasattr(f, "__code__")]
    for f in functions:
        for global_name in _global_loads(f.__code__):
            here = f.__globals__.get(global_name, getattr(builtins, global_name, None))
            there = vars(runtime).get(global_name, getattr(builtins, global_name, None))
            assert here is there, f"tgr.{name} reads `{global_name}`, which is not tgr's"


def test_methods_and_forward_tables_are_declared():
    """What the normalizer and forward mode read comes from the declarations."""
    assert METHODS["sum"] is np.sum and METHODS["flatten"] is np.ravel
    assert METHODS["astype"] is runtime.astype and "reshape" in VARARG_METHODS
    assert ATTRIBUTES["T"] is np.transpose and ATTRIBUTES["shape"] is np.shape
    assert np.tile in MULTILINEAR and LINEAR_IN[runtime.tile_vjp] == (0,)


# --- compiler behaviour that rules rely on (reproducers; see each docstring) -----------------

def _load(tmp_path, name, source):
    path = tmp_path / f"{name}.py"
    path.write_text("import numpy as np\n\n\n" + source)
    spec = importlib.util.spec_from_file_location(f"{name}_{id(tmp_path)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_vjp(func, args, wrt):
    out = func(*args)
    cotangent = random_cotangent(out)
    grads = transgrad.vjp(func, wrt=wrt)(*args, cotangent)
    for k, i in enumerate(wrt):
        assert_close(grads[k], numeric_vjp(func, list(args), i, cotangent),
                     f"{func.__name__}, argument {i}")


def test_nested_list_operand(tmp_path):
    """A list of lists passed to a rule (``np.array([[a, b], [b, a]])``) must get the nested
    cotangents that ``np.array``'s rule returns, not a silent zero."""
    module = _load(tmp_path, "nested", "def f(a, b):\n    return np.array([[a, b], [b, a]])\n")
    rng = np.random.default_rng(0)
    _check_vjp(module.f, (rng.normal(size=3), rng.normal(size=3)), (0, 1))


def test_index_into_named_tuple_result(tmp_path):
    """``np.linalg.slogdet(a)[1]`` indexes a named tuple by position."""
    module = _load(tmp_path, "slogdet_index",
                   "def f(a):\n    return np.linalg.slogdet(a)[1]\n")
    a = np.random.default_rng(0).normal(size=(3, 3)) + 3 * np.eye(3)
    _check_vjp(module.f, (a,), (0,))


def test_positional_out_of_none_is_no_output_array(tmp_path):
    """``np.ptp(x, 0, None, True)``: ``out`` given by position as None writes nowhere (it was
    refused as an output array); a real array there still is."""
    module = _load(tmp_path, "ptp_none",
                   "def f(x):\n    return np.ptp(x, 0, None, True) * np.arange(1.0, 4.0)\n\n\n"
                   "def g(x, y):\n    np.add(x, x, y)\n    return np.sum(y)\n")
    x = np.random.default_rng(0).normal(size=(4, 3))
    _check_vjp(module.f, (x,), (0,))
    with pytest.raises(transgrad.TransformError, match="output array by position"):
        transgrad.grad(module.g)(x, np.zeros_like(x))


def test_a_user_class_field_named_like_an_array_attribute(tmp_path):
    """``p.real``/``p.imag``/``p.T`` of a user class (a parameter of a known class) read its
    own fields: they were rewritten into ``np.real(p)``, a silently wrong gradient."""
    module = _load(tmp_path, "fields", "from dataclasses import dataclass\n\n\n"
                   "@dataclass\nclass Pair:\n    real: float\n    imag: float\n"
                   "    T: float\n\n\n"
                   "def f(p, x):\n    return np.sum(p.real * x + p.imag * x * x) + p.T * np.sum(x)\n")
    x = np.array([0.5, 1.5])
    grads = transgrad.grad(module.f, wrt=(0, 1))(module.Pair(2.0, 3.0, 4.0), x)
    assert isinstance(grads[0], module.Pair)
    assert_close(np.array([grads[0].real, grads[0].imag, grads[0].T]),
                 np.array([np.sum(x), np.sum(x * x), 2.0]), "the Pair's cotangent")
    assert_close(grads[1], 2.0 + 6.0 * x + 4.0, "x's gradient")


SECOND_ORDER = """
def quantile(x):
    return np.sum(np.quantile(x, 0.3, axis=0) ** 2)


def percentile(x):
    return np.sum(np.percentile(x, np.array([20.0, 70.0])) ** 2)


def median(x):
    return np.sum(np.median(x, axis=1) ** 3)


def interp(x):
    return np.sum(np.interp(np.array([0.2, 0.5, 1.7]), np.array([0.0, 1.0, 2.0]), x[0, :3]) ** 2)


def trapezoid(x):
    return np.trapezoid(x ** 2, axis=0).sum() + np.trapezoid(x[0], x[1] ** 2)


def lstsq(x):
    return np.sum(np.linalg.lstsq(x, np.array([1.0, 2.0, 0.5, -1.0]))[0] ** 2)


def multi_dot(x):
    return np.sum(np.linalg.multi_dot([x, x.T, x]) ** 2)


def gradient(x):
    return np.sum(np.gradient(x, axis=0) ** 2) + np.sum(np.gradient(x[0] ** 2, 0.5))
"""


@pytest.mark.skipif(not HAVE_JAX, reason="JAX is the reference")
@pytest.mark.parametrize("name", ["quantile", "percentile", "median", "interp", "trapezoid",
                                  "lstsq", "multi_dot", "gradient"])
def test_second_derivative_through_a_helper(tmp_path, name):
    """hvp through rules whose VJP calls a helper: the helpers are differentiated from their
    source or have forward rules (were refused; multi_dot's was silently wrong: its helper was
    declared constant in the arrays)."""
    from tests.checks import jax_version
    f = getattr(_load(tmp_path, "second_order", SECOND_ORDER), name)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3)) + 0.37 * np.arange(12.0).reshape(4, 3)   # no ties
    v = rng.normal(size=(4, 3))
    want = jax.jvp(jax.grad(jax_version(f)), (jnp.asarray(x),), (jnp.asarray(v),))[1]
    assert_close(transgrad.hvp(f)(x, v), np.asarray(want), f"hvp of {name}")


if __name__ == "__main__":
    print(f"{record_references()} JAX cotangents recorded in {REFERENCES}")
