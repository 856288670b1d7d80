"""Every corpus function, in every mode that applies, against finite differences and JAX.

One parametrized test, ``test_corpus[<group>.<function>-<mode>]``. The modes:

* ``grad``: ``tg.grad`` (scalar outputs) against central differences in float64, and the
  gradient has its argument's type, shape and dtype;
* ``value_and_grad``: the value is ``f(*args)``, the gradient checked as in ``grad``;
* ``vjp``: ``tg.vjp`` with a random cotangent (every function; the mode for vector outputs);
* ``jax``: the same against ``jax.grad`` / ``jax.vjp`` of the function rebound onto jax.numpy;
* ``float32``: float32 inputs give float32 gradients close to the float64 ones;
* ``cache``: building twice compiles once, and the source compiles without warnings.
"""

import warnings

import numpy as np
import pytest

import transgrad as tg
import transgrad.pipeline
from tests import checks
from tests.checks import assert_close, numeric_vjp, random_cotangent
from tests.corpus import CORPUS

FLOAT32_TOL = {"rtol": 2e-3, "atol": 2e-3}


def modes(entry):
    scalar = [] if entry.vector_output else ["grad", "value_and_grad"]
    jax = ["jax"] if entry.jax and checks.HAVE_JAX else []
    float32 = ["float32"] if entry.float32 else []
    return scalar + ["vjp"] + jax + float32 + ["cache"]


CASES = [pytest.param(entry, mode, id=f"{entry.name}-{mode}")
         for entry in CORPUS for mode in modes(entry)]


def as_tuple(grads, entry):
    return (grads,) if isinstance(entry.wrt, int) else tuple(grads)


def assert_like_argument(grad, arg, what):
    """A gradient has the type, shape and dtype of its argument."""
    if isinstance(arg, float):
        assert type(grad) is float, f"{what}: a Python float argument got a {type(grad)}"
        return
    assert isinstance(grad, np.ndarray), f"{what}: an array argument got a {type(grad)}"
    assert grad.shape == arg.shape, f"{what}: shape {grad.shape} != argument's {arg.shape}"
    assert grad.dtype == arg.dtype, f"{what}: dtype {grad.dtype} != argument's {arg.dtype}"


def check_gradients(entry, args, grads, cotangent, reference=None):
    grads = as_tuple(grads, entry)
    assert len(grads) == len(entry.wrt_indices), f"{entry.name}: wrong number of gradients"
    for i, grad in zip(entry.wrt_indices, grads):
        what = f"{entry.name} d/d argument {i}"
        assert_like_argument(grad, args[i], what)
        expected = numeric_vjp(entry.func, args, i, cotangent) if reference is None \
            else reference[i]
        assert_close(grad, expected, what)


def check_output_kind(entry, out):
    scalar = not isinstance(out, (tuple, list)) and np.ndim(out) == 0
    assert scalar != entry.vector_output, \
        f"{entry.name}: vector_output={entry.vector_output} but the output is {out!r}"


def jax_vjp(func, args, wrt, cotangent):
    """jax.vjp of ``func`` (re-bound onto jax.numpy) with respect to ``args[i]``, i in ``wrt``."""
    jax, jnp = checks.jax, checks.jnp
    jf = checks.jax_version(func)
    jargs = [jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]

    def partial(*wrt_args):
        call = list(jargs)
        for i, a in zip(wrt, wrt_args):
            call[i] = a
        return jf(*call)
    out, pullback = jax.vjp(partial, *[jargs[i] for i in wrt])
    if isinstance(out, (tuple, list)):
        ct = type(out)(jnp.asarray(c, dtype=o.dtype) for o, c in zip(out, cotangent))
    else:
        ct = jnp.asarray(cotangent, dtype=out.dtype)
    return tuple(np.asarray(g) for g in pullback(ct))


def run_grad(entry):
    args = entry.sample()
    check_output_kind(entry, entry.func(*args))
    check_gradients(entry, args, tg.grad(entry.func, wrt=entry.wrt)(*args), 1.0)


def run_value_and_grad(entry):
    args = entry.sample()
    value, grads = tg.value_and_grad(entry.func, wrt=entry.wrt)(*args)
    assert_close(value, entry.func(*args), f"{entry.name} value")
    check_gradients(entry, args, grads, 1.0)


def run_vjp(entry):
    args = entry.sample()
    out = entry.func(*args)
    check_output_kind(entry, out)
    cotangent = random_cotangent(out)
    grads = tg.vjp(entry.func, wrt=entry.wrt)(*args, cotangent)
    check_gradients(entry, args, grads, cotangent)


def run_jax(entry):
    args = entry.sample()
    out = entry.func(*args)
    cotangent = 1.0 if not entry.vector_output else random_cotangent(out)
    if entry.vector_output:
        mine = tg.vjp(entry.func, wrt=entry.wrt)(*args, cotangent)
        theirs = jax_vjp(entry.func, args, entry.wrt_indices, cotangent)
    else:
        mine = tg.grad(entry.func, wrt=entry.wrt)(*args)
        theirs = as_tuple(checks.jax_grad(entry.func, args, entry.wrt), entry)
    check_gradients(entry, args, mine, cotangent, reference=dict(zip(entry.wrt_indices, theirs)))


def run_float32(entry):
    args = entry.sample()
    args32 = tuple(a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f"
                   else a for a in args)
    out = entry.func(*args)
    cotangent = 1.0 if not entry.vector_output else random_cotangent(out)
    if entry.vector_output:
        grads = tg.vjp(entry.func, wrt=entry.wrt)(*args32, cotangent)
    else:
        grads = tg.grad(entry.func, wrt=entry.wrt)(*args32)
    grads = as_tuple(grads, entry)
    for i, grad in zip(entry.wrt_indices, grads):
        what = f"{entry.name} float32 d/d argument {i}"
        assert_like_argument(grad, args32[i], what)
        assert_close(grad, numeric_vjp(entry.func, args, i, cotangent), what, **FLOAT32_TOL)


def run_cache(entry, monkeypatch):
    compiled = []
    original = transgrad.pipeline.compile_function

    def counting(*a, **k):
        compiled.append(a[-1])
        return original(*a, **k)
    monkeypatch.setattr(transgrad.pipeline, "compile_function", counting)
    func = checks.with_namespace(entry.func)     # a new function object: not yet cached
    mode = tg.vjp if entry.vector_output else tg.grad
    first = mode(func, wrt=entry.wrt)
    source = first.source
    assert compiled, f"{entry.name}: building the derivative compiled nothing"
    args = entry.sample()
    extra = (random_cotangent(entry.func(*args)),) if entry.vector_output else ()
    first(*args, *extra)   # Python-number arguments get code of their own: built here, once
    count = len(compiled)
    second = mode(func, wrt=entry.wrt)
    assert second.source == source
    assert_close(as_tuple(second(*args, *extra), entry), as_tuple(first(*args, *extra), entry),
                 f"{entry.name} rebuilt")
    assert len(compiled) == count, f"{entry.name}: built again instead of read from the cache"
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # e.g. a SyntaxWarning for `(0, 2) is None`
        compile(source, "<generated>", "exec")


@pytest.mark.parametrize("entry, mode", CASES)
def test_corpus(entry, mode, monkeypatch):
    if mode == "cache":
        run_cache(entry, monkeypatch)
    else:
        globals()[f"run_{mode}"](entry)


def test_corpus_is_complete():
    names = [entry.name for entry in CORPUS]
    assert len(names) >= 80
    assert len(set(names)) == len(names), "two corpus functions share a name"
    groups = {entry.group for entry in CORPUS}
    assert {"arithmetic", "elementwise", "reductions", "linalg", "shapes", "indexing",
            "scalars", "constants", "models"} <= groups
