"""The checker: run one generated program through every transgrad mode and compare.

A program is imported from a real file (so ``inspect.getsource`` works), run once with numpy,
and then checked in each mode of ``MODES``:

- ``grad``, ``value_and_grad`` (the value must equal ``f(*args)`` to 1e-12 relative),
  ``vjp`` (a scalar cotangent), ``jvp`` (value and directional derivative), ``hvp``;
- ``jacrev``: ``tg.jacrev`` of ``f_rows`` (``f`` times three weights: a Jacobian of three
  rows, pulled back together by ``passes/batch_rows.py`` where it can), called first at
  other values (whose branches may differ), then checked row by row against the gradient;
- ``jax`` (``backend="jax"``, eager) and ``jax_jit`` (the same under ``jax.jit``).

The reference gradient is central finite differences at two step sizes (a program whose two
differences disagree is skipped as unstable); where the program also runs on ``jax.numpy``
(the same source exec'd with ``np`` bound to ``jax.numpy`` and ``math`` to a jnp shim; not for
programs with subscript stores), ``jax.grad`` of that twin is the tighter reference, and the
reference Hessian-vector product is ``jax.jvp(jax.grad)``; without a twin it is a central
difference of the finite-difference gradient.

Outcomes per mode: ``ok``, ``wrong_value``, ``wrong_derivative``, ``crash`` (any exception but
``TransformError``; the detail says where it was raised: generated code, transgrad, or the
program), ``refusal`` (``TransformError``, acceptable, counted by message) and ``skipped``.
"""

import ast
import importlib.util
import itertools
import math
import os
import re
import signal
import sys
import tempfile
import traceback
import types
import warnings
from dataclasses import dataclass, field

import numpy as np

import transgrad as tg
from transgrad.passes import batch_rows

NUMPY_MODES = ("grad", "value_and_grad", "vjp", "jvp", "hvp", "jacrev")
ROW_WEIGHTS = (1.0, -2.0, 0.5)   # jacrev's f_rows: f times these
JAX_MODES = ("jax", "jax_jit")
MODES = NUMPY_MODES + JAX_MODES

FAILURES = ("wrong_value", "wrong_derivative", "crash")
CLASSES = ("ok",) + FAILURES + ("refusal", "skipped")

VALUE_RTOL = 1e-12
FD_RTOL = 2e-5          # transgrad against finite differences
TWIN_RTOL = 1e-8        # transgrad against jax.grad
MODE_TIMEOUT = 120      # seconds for one mode (build and call)
PROGRAM_TIMEOUT = 2     # seconds for one plain run of the program

_TMP = None
_COUNTER = itertools.count()

# called with a mode's name just before the mode runs (the fuzz runner's worker processes
# report it, so that a process killed inside XLA is recorded with its mode)
MODE_HOOK = None


@dataclass
class ModeResult:
    cls: str
    detail: str = ""
    message: str = ""       # a refusal's whole message (TransformError.message)


@dataclass
class Result:
    seed: object
    modes: dict = field(default_factory=dict)       # mode -> ModeResult
    skip: str = ""                                  # why the whole program was skipped
    features: frozenset = frozenset()
    twin: str = ""                                  # "", "yes", or why there is no twin

    @property
    def outcome(self):
        """The program's worst outcome over its modes."""
        if self.skip:
            return "skipped"
        order = ["crash", "wrong_derivative", "wrong_value", "refusal", "ok", "skipped"]
        found = {r.cls for r in self.modes.values()}
        for c in order:
            if c in found:
                return c
        return "skipped"

    def failures(self):
        return {m: r for m, r in self.modes.items() if r.cls in FAILURES}


def jax_available():
    try:
        import jax
    except ImportError:  # pragma: no cover - jax is a test dependency
        return False
    jax.config.update("jax_enable_x64", True)
    return True


# -- loading -----------------------------------------------------------------------------------
def load(source, tag="p"):
    """Import ``source`` from a fresh file; returns the module."""
    global _TMP
    if _TMP is None:
        _TMP = tempfile.mkdtemp(prefix="tgfuzz_")
    name = f"tgfuzz_{os.getpid()}_{next(_COUNTER)}_{re.sub(r'[^A-Za-z0-9_]', '_', str(tag))}"
    path = os.path.join(_TMP, name + ".py")
    with open(path, "w") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def unload(mod):
    sys.modules.pop(mod.__name__, None)
    try:
        os.unlink(mod.__file__)
    except OSError:
        pass


def make_args(spec, seed):
    """The arguments: a float64 standard normal array per shape list, ints as given."""
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(tuple(a)) if isinstance(a, list) else a for a in spec)


def _copies(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def wrt_of(spec):
    idx = tuple(i for i, a in enumerate(spec) if isinstance(a, list))
    return idx[0] if len(idx) == 1 else idx


def has_stores(source):
    """Whether the program stores into a subscript (no jax.numpy twin then)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
            return True
    return False


# -- references --------------------------------------------------------------------------------
def _scalar(v):
    return float(np.asarray(v, dtype=np.float64))


def fd_grad(f, args, idx, eps):
    out = []
    for i in idx:
        x = np.array(args[i], dtype=np.float64)
        g = np.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)
        for k in range(flat.size):
            orig = flat[k]
            vals = []
            for sgn in (1, -1):
                flat[k] = orig + sgn * eps
                a = list(args)
                a[i] = x.copy()
                vals.append(_scalar(f(*a)))
            flat[k] = orig
            gflat[k] = (vals[0] - vals[1]) / (2 * eps)
        out.append(g)
    return out


def fd_hvp(f, args, idx, vecs, eps, eps_g=1e-5):
    def shifted(s):
        a = list(args)
        for i, v in zip(idx, vecs):
            a[i] = args[i] + s * v
        return fd_grad(f, a, idx, eps_g)
    up, down = shifted(eps), shifted(-eps)
    return [(u - d) / (2 * eps) for u, d in zip(up, down)]


def close(got, ref, rtol, atol):
    try:
        got = [np.asarray(g, dtype=np.float64) for g in got]
    except (TypeError, ValueError):
        return False
    if len(got) != len(ref):
        return False
    for g, r in zip(got, ref):
        if g.shape != r.shape or not np.all(np.isfinite(g)):
            return False
        if not np.allclose(g, r, rtol=rtol, atol=atol):
            return False
    return True


def _jmath():
    import jax.numpy as jnp
    return types.SimpleNamespace(sin=jnp.sin, cos=jnp.cos, tanh=jnp.tanh, exp=jnp.exp,
                                 sqrt=jnp.sqrt, log=jnp.log, atan=jnp.arctan, pi=math.pi)


_IMPORT_RE = re.compile(r"^(import math|import numpy as np)\s*$", re.M)


class _ListIndex(ast.NodeTransformer):
    """v[[2, 0, 1]] -> v[np.array([2, 0, 1])]: jax.numpy takes no list as an index."""

    def visit_Subscript(self, node):
        self.generic_visit(node)
        wrap = lambda e: ast.Call(ast.Attribute(ast.Name("np", ast.Load()), "array",  # noqa
                                                ast.Load()), [e], []) \
            if isinstance(e, ast.List) else e
        if isinstance(node.slice, ast.Tuple):
            node.slice.elts = [wrap(e) for e in node.slice.elts]
        else:
            node.slice = wrap(node.slice)
        return node


def twin_reference(source, args, idx, vecs):
    """(gradient, hvp) of the program run on jax.numpy, as lists of numpy arrays."""
    jax_available()   # in float64 whatever ran before (a replay in a fresh process too)
    import jax
    import jax.numpy as jnp
    # float(traced) is not traceable: the twin keeps the value a JAX scalar
    g = {"np": jnp, "math": _jmath(), "__name__": "tgfuzz_twin", "float": lambda v: v + 0.0}
    tree = _ListIndex().visit(ast.parse(_IMPORT_RE.sub("", source)))
    exec(compile(ast.fix_missing_locations(tree), "<twin>", "exec"), g)
    f = g["f"]

    def fw(*ws):
        a = list(args)
        for i, w in zip(idx, ws):
            a[i] = w
        return f(*a)
    primals = tuple(jnp.asarray(args[i]) for i in idx)
    gradf = jax.grad(fw, argnums=tuple(range(len(idx))))
    grads = gradf(*primals)
    _, hv = jax.jvp(gradf, primals, tuple(jnp.asarray(v) for v in vecs))
    return [np.asarray(x) for x in grads], [np.asarray(x) for x in hv]


# -- one mode ----------------------------------------------------------------------------------
class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout("time limit exceeded")


class _deadline:
    """SIGALRM after ``seconds`` (a generated or shrunk program may loop forever)."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        self.old = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(self.seconds)

    def __exit__(self, *exc):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old)
        return False


def _as_list(g, single):
    return [g] if single else list(g)


def where_raised(exc):
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return "?"
    last = tb[-1].filename
    if last.startswith("<transgrad"):
        return "generated"
    if "tgfuzz_" in last:
        return "program"
    if os.sep + "transgrad" + os.sep in last:
        return "transgrad:" + os.path.basename(last)
    if os.sep + "jax" + os.sep in last or "jaxlib" in last:
        return "jax"
    return os.path.basename(last)


def refusal_key(exc):
    msg = getattr(exc, "message", None) or str(exc)
    msg = msg.splitlines()[0] if msg else ""
    msg = re.sub(r"'[^']*'", "'_'", msg)
    msg = re.sub(r"`[^`]*`", "`_`", msg)
    msg = re.sub(r"\d+", "N", msg)
    return msg[:120]


def run_mode(mode, f, args, wrt, ctx):
    """Run one mode; returns what it computed as {'value':..., 'grad': [...], ...}."""
    single = not isinstance(wrt, tuple)
    idx = (wrt,) if single else wrt
    if mode in ("grad", "value_and_grad", "vjp"):
        if mode == "grad":
            return {"grad": _as_list(tg.grad(f, wrt=wrt)(*args), single)}
        if mode == "value_and_grad":
            d = tg.value_and_grad(f, wrt=wrt)
            _other_ints_first(d, args)
            v, g = d(*args)
            return {"value": v, "grad": _as_list(g, single)}
        g = tg.vjp(f, wrt=wrt)(*args, ctx["ct"])
        return {"grad": [np.asarray(x) / ctx["ct"] for x in _as_list(g, single)]}
    if mode == "jacrev":
        batch_rows.STRICT = True   # an error of the rows pass is a crash here, not a fallback
        d = tg.jacrev(ctx["rows"], wrt=wrt)
        _first_at(d, tuple(a * 1.25 if isinstance(a, np.ndarray) else
                           3 - a if type(a) is int and a in (1, 2) else a for a in args))
        blocks = _as_list(d(*args), single)
        rows = [[np.asarray(b[k]) / w for b in blocks] for k, w in enumerate(ROW_WEIGHTS)]
        # the row farthest from the first: every row must be the gradient
        worst = max(rows, key=lambda r: max(float(np.max(np.abs(a - b), initial=0.0))
                                            for a, b in zip(r, rows[0])))
        return {"grad": worst}
    if mode == "jvp":
        t = ctx["tangents"]
        v, dot = tg.jvp(f, wrt=wrt)(*args, t[0] if single else tuple(t))
        return {"value": v, "dot": dot}
    if mode == "hvp":
        vec = ctx["tangents"]
        h = tg.hvp(f, wrt=wrt)(*args, vec[0] if single else tuple(vec))
        return {"hvp": _as_list(h, single)}
    import jax
    import jax.numpy as jnp
    jargs = tuple(jnp.asarray(a) if i in idx else a for i, a in enumerate(args))
    d = tg.grad(f, wrt=wrt, backend="jax")
    if mode == "jax_jit":
        static = tuple(i for i in range(len(args)) if i not in idx)
        d = jax.jit(d, static_argnums=static)
    g = d(*jargs)
    return {"grad": [np.asarray(x) for x in _as_list(g, single)]}


def _rows_wrapper(source):
    """``def f_rows(<f's parameters>): return f(...) * np.array(ROW_WEIGHTS)``, appended to a
    program for the ``jacrev`` mode ('' where ``f`` is not found)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "f":
            params = ", ".join(a.arg for a in node.args.args)
            return (f"\n\ndef f_rows({params}):\n"
                    f"    return f({params}) * np.array({list(ROW_WEIGHTS)!r})\n")
    return ""


def _other_ints_first(d, args):
    """Call ``d`` once with other values of the int arguments (1 <-> 2), so the call that is
    checked meets code made for those values (exact code made for an int's value hands other
    values on: its guard is checked too; jacrev also passes other arrays). An error of the
    primal's own there is ignored."""
    other = tuple(3 - a if type(a) is int and a in (1, 2) else a for a in args)
    if not all(o is a for o, a in zip(other, args)):
        _first_at(d, other)


def _first_at(d, other):
    """Call ``d`` at the arguments ``other`` before the call that is checked; an error of
    the primal's own there is ignored (it may fail for other values), a refusal is not."""
    try:
        d(*_copies(other))
    except tg.TransformError:
        raise
    except Exception:  # noqa: BLE001, S110 - not checked here
        pass


def check_source(source, spec, seed, modes=MODES, features=frozenset(), twin=True):
    """Check one program (module source + argument spec) in ``modes``; returns a Result."""
    res = Result(seed=seed, features=features)
    wrt = wrt_of(spec)
    single = not isinstance(wrt, tuple)
    idx = (wrt,) if single else wrt
    try:
        mod = load(source + _rows_wrapper(source), seed)
    except Exception as e:  # noqa: BLE001 - a generator bug
        res.skip = f"invalid program: {type(e).__name__}: {e}"
        return res
    try:
        user_f = mod.f

        def f(*a):
            # every call gets its own copies: a program may update its arguments in place
            return user_f(*_copies(a))
        args = make_args(spec, seed)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                with _deadline(PROGRAM_TIMEOUT):
                    value = f(*args)
            except Exception as e:  # noqa: BLE001
                res.skip = f"invalid program: {type(e).__name__}: {e}"
                return res
            try:
                scalar = np.ndim(value) == 0 and np.isfinite(_scalar(value))
            except (TypeError, ValueError):   # a tuple of arrays of other shapes...
                scalar = False
            if not scalar:
                res.skip = "non-finite or non-scalar value"
                return res
            value = _scalar(value)
            if abs(value) > 1e8:
                res.skip = "value too large"
                return res
            fd1 = fd_grad(f, args, idx, 1e-5)
            fd2 = fd_grad(f, args, idx, 2e-6)
            scale = max([1.0] + [float(np.max(np.abs(g), initial=0.0)) for g in fd1])
            atol = 1e-6 * scale + 1e-9 * abs(value)
            if not all(np.all(np.isfinite(g)) for g in fd1 + fd2):
                res.skip = "non-finite differences"
                return res
            fd_ok = close(fd2, fd1, FD_RTOL, atol)
            rng = np.random.default_rng(seed + 1 if isinstance(seed, int) else 1)
            tangents = [rng.standard_normal(np.shape(args[i])) for i in idx]
            ref_grad = ref_hvp = None
            res.twin = "no: stores" if has_stores(source) else ""
            if twin and not res.twin:
                try:
                    ref_grad, ref_hvp = twin_reference(source, args, idx, tangents)
                    res.twin = "yes"
                    if not all(np.all(np.isfinite(g)) for g in ref_grad):
                        # a value overflows inside (x -= x ** 3 to inf, then exp(-x ** 2) = 0):
                        # jax.grad's gradient is nan as well, the differences see a flat 0
                        res.skip = "non-finite jax.grad of the twin (an overflow inside)"
                        return res
                    if not all(np.all(np.isfinite(g)) for g in ref_hvp):
                        ref_grad = ref_hvp = None
                        res.twin = "no: non-finite"
                except Exception as e:  # noqa: BLE001
                    res.twin = f"no: {type(e).__name__}"
            if ref_grad is not None and not close(ref_grad, fd1, 1e-4, 10 * atol) and fd_ok:
                # the jax twin computes something else than numpy (semantics differ): use
                # the differences only
                res.twin = "no: disagrees with differences"
                ref_grad = ref_hvp = None
            if ref_grad is None and not fd_ok:
                res.skip = "unstable differences"
                return res
            if ref_grad is not None and not fd_ok and not _stable_twin(
                    source, args, idx, tangents, ref_grad, atol):
                # the differences disagree and the twin's own gradient moves under a 1e-12
                # change of the inputs: rounding noise of huge cancelling terms, no reference
                res.skip = "ill-conditioned gradient"
                return res
            hvp_ref, hvp_atol = ref_hvp, None
            if "hvp" in modes and hvp_ref is None:
                h1 = fd_hvp(f, args, idx, tangents, 1e-3)
                h2 = fd_hvp(f, args, idx, tangents, 2e-4)
                hscale = max([1.0] + [float(np.max(np.abs(h), initial=0.0)) for h in h1])
                hvp_atol = 1e-4 * hscale + 1e-7 * abs(value)
                if all(np.all(np.isfinite(h)) for h in h1 + h2) and \
                        close(h2, h1, 1e-3, hvp_atol):
                    hvp_ref = h2
            ctx = {"ct": 0.75, "tangents": tangents, "rows": getattr(mod, "f_rows", None)}
            for mode in modes:
                if MODE_HOOK is not None:
                    MODE_HOOK(mode)
                res.modes[mode] = _one_mode(mode, user_f, _copies(args), wrt, ctx, value,
                                            (fd1, fd2), fd_ok,
                                            ref_grad, atol, hvp_ref, hvp_atol, scale,
                                            tangents)
            _mark_false_alias_refusals(res, source, user_f.__globals__, args)
    finally:
        unload(mod)
    return res


def _stable_twin(source, args, idx, tangents, ref_grad, atol):
    """Whether the jax twin's gradient stays within the comparison's tolerance when the
    differentiated arguments change by a relative 1e-12 (a well-conditioned gradient moves by
    about that much; one made of cancelling terms far larger than itself is noise)."""
    moved = list(_copies(args))
    for i in idx:
        moved[i] = np.asarray(moved[i], dtype=float) * (1 + 1e-12)
    try:
        grad2, _ = twin_reference(source, moved, idx, tangents)
    except Exception:  # noqa: BLE001
        return False
    return close(grad2, ref_grad, 1e-6, atol)


_ALIAS_RE = re.compile(r"`(\w+)` is updated in place by an augmented assignment \(line (\d+)\)"
                       r", and `(\w+)` (?:shares its memory|holds it)")


def alias_at_run_time(source, glb, args, target, line, other):
    """Whether, when line ``line`` runs (an augmented assignment to ``target``), ``target``
    shares memory with ``other`` (an array, or a list/tuple holding one). None when the line
    never ran or ``other`` was not a local there."""
    tree = ast.parse(source)
    seen = []

    def probe(loc):
        a, b = loc.get(target), loc.get(other, probe)
        if b is probe:
            return
        items = b if isinstance(b, (list, tuple)) else [b]
        seen.append(any(isinstance(a, np.ndarray) and isinstance(i, np.ndarray)
                        and np.shares_memory(a, i) for i in items))

    class Insert(ast.NodeTransformer):
        def generic_visit(self, node):
            super().generic_visit(node)
            for fld in ("body", "orelse"):
                stmts = getattr(node, fld, None)
                if not isinstance(stmts, list) or isinstance(node, ast.IfExp):
                    continue
                out = []
                for s in stmts:
                    if isinstance(s, ast.AugAssign) and s.lineno == line:
                        call = ast.parse("__tgfuzz_probe(locals())").body[0]
                        out.append(ast.copy_location(call, s))
                    out.append(s)
                setattr(node, fld, out)
            return node
    tree = ast.fix_missing_locations(Insert().visit(tree))
    g = dict(glb)
    g["__tgfuzz_probe"] = probe
    try:
        with _deadline(PROGRAM_TIMEOUT), np.errstate(all="ignore"):
            exec(compile(tree, glb.get("__file__", "<probe>"), "exec"), g)
            g["f"](*_copies(args))
    except Exception:  # noqa: BLE001
        return None
    return any(seen) if seen else None


def _mark_false_alias_refusals(res, source, glb, args):
    """A refusal because two names share memory, where they never did when the line ran:
    prefixed "no sharing at run time:" (a likely false refusal, counted apart)."""
    verdicts = {}
    for mr in res.modes.values():
        m = _ALIAS_RE.search(mr.message or "") if mr.cls == "refusal" else None
        if not m:
            continue
        key = m.groups()
        if key not in verdicts:
            verdicts[key] = alias_at_run_time(source, glb, args, key[0], int(key[1]), key[2])
        if verdicts[key] is False:
            mr.detail = "no sharing at run time: " + mr.detail


def _one_mode(mode, f, args, wrt, ctx, value, fds, fd_ok, twin_grad, atol, hvp_ref, hvp_atol,
              scale, tangents):
    """One mode's outcome. ``fds``: central differences with steps 1e-5 and 2e-6; a result
    close to either passes (where the function bends sharply the smaller step is the better
    estimate, and the two agree within FD_RTOL whenever ``fd_ok``)."""
    fd = fds[0]
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(MODE_TIMEOUT)
    try:
        out = run_mode(mode, f, args, wrt, ctx)
    except tg.TransformError as e:
        return ModeResult("refusal", refusal_key(e), getattr(e, "message", str(e)))
    except _Timeout:
        # on a shared machine a slow build is not a hang we can prove: skipped, counted
        return ModeResult("skipped", f"timeout ({MODE_TIMEOUT} s)")
    except Exception as e:  # noqa: BLE001 - every other exception is a crash
        first = (str(e).splitlines() or [""])[0][:160]
        return ModeResult("crash", f"{type(e).__name__} in {where_raised(e)}: {first}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    if "value" in out:
        try:
            v = _scalar(out["value"])
        except (TypeError, ValueError):
            return ModeResult("wrong_value", f"value of type {type(out['value']).__name__}")
        if not abs(v - value) <= VALUE_RTOL * abs(value) + 1e-300:
            return ModeResult("wrong_value", f"got {v!r}, f(*args) = {value!r}")
    if "hvp" in out:
        if hvp_ref is None:
            return ModeResult("skipped", "unstable hessian differences")
        tol = hvp_atol if hvp_atol is not None else 1e-7 * scale
        rtol = 1e-4 if hvp_atol is not None else 1e-6
        if close(out["hvp"], hvp_ref, rtol, tol):
            return ModeResult("ok")
        return ModeResult("wrong_derivative", _diff(out["hvp"], hvp_ref))
    if "dot" in out:
        got = [np.asarray(out["dot"])]
        refs = [twin_grad] if twin_grad is not None else []
        refs += list(fds) if fd_ok else []
        for ref in refs:
            dot = sum(float(np.sum(g * t)) for g, t in zip(ref, tangents))
            tscale = sum(float(np.sum(np.abs(g * t))) for g, t in zip(ref, tangents)) + 1.0
            if close(got, [np.asarray(dot)], FD_RTOL, 1e-6 * tscale):
                return ModeResult("ok")
        if not refs:
            return ModeResult("skipped", "unstable differences")
        if _swinging_tangent(f, args, wrt, ctx, FD_RTOL, 1e-6 * tscale):
            return ModeResult("skipped", "ill-conditioned tangent")
        return ModeResult("wrong_derivative", f"jvp {got[0]!r}, expected {dot!r}")
    got = out["grad"]
    if twin_grad is not None and close(got, twin_grad, TWIN_RTOL, 1e-10 * scale):
        return ModeResult("ok")
    if fd_ok and any(close(got, estimate, FD_RTOL, atol) for estimate in fds):
        return ModeResult("ok")
    if twin_grad is None and not fd_ok:
        return ModeResult("skipped", "unstable differences")
    return ModeResult("wrong_derivative", _diff(got, twin_grad if twin_grad is not None else fd))


def _swinging_tangent(f, args, wrt, ctx, rtol, atol):
    """Whether the jvp moves beyond the tolerance when the differentiated inputs move by
    1e-12 of themselves: rounding noise of a value that cancels to about zero (``sum(a * a
    - mean(a * a))`` of huge ``a``) multiplied by a huge tangent, where reverse mode gives the
    exact zero; no reference can judge such a tangent."""
    idx = (wrt,) if not isinstance(wrt, tuple) else wrt
    results = []
    for s in (1e-12, -1e-12):
        moved = tuple(np.asarray(a) * (1 + s) if i in idx else a for i, a in enumerate(args))
        try:
            results.append(np.asarray(run_mode("jvp", f, _copies(moved), wrt, ctx)["dot"]))
        except Exception:  # noqa: BLE001 - a failure here is judged by the caller's result
            return False
    return not close([results[0]], [results[1]], rtol, atol)


def _diff(got, ref):
    try:
        got = [np.asarray(g, dtype=np.float64) for g in got]
        errs = [float(np.max(np.abs(g - r), initial=0.0)) for g, r in zip(got, ref)]
        k = int(np.argmax(errs))
        return f"max abs error {errs[k]:.3g} (argument {k}); got " \
               f"{np.round(got[k].ravel()[:4], 6).tolist()}, expected " \
               f"{np.round(ref[k].ravel()[:4], 6).tolist()}"
    except Exception:  # noqa: BLE001 - shapes differ
        return f"got shapes {[np.shape(g) for g in got]}, expected {[r.shape for r in ref]}"


def check(program, modes=MODES, twin=True):
    """Check a generated Program."""
    return check_source(program.source, program.args, program.seed, modes,
                        program.features, twin)
