"""Jacobians and second derivatives over the shared corpus, and the forward rules on their own.

* ``test_jacobian[<entry>]``: ``tg.jacfwd`` and ``tg.jacrev`` of every corpus function (with
  respect to float arguments) against a central-difference Jacobian, ``tg.jacobian`` against
  ``tg.jacrev``, and ``jax.jacfwd``;
* ``test_hvp[<entry>]``: ``tg.hvp`` (forward mode over the generated gradient) of every
  scalar-valued corpus function against central differences of transgrad's own gradient along
  the same vector, and against ``jax.jvp(jax.grad(f))``;
* ``test_hessian[<entry>]``: ``tg.hessian`` against differences of ``tg.grad`` and
  ``jax.hessian``, on a sample of small inputs;

JAX runs these eagerly at about 0.3 s a function, so it checks a fixed sample of the corpus
(every ``JAX_STRIDE``-th function that runs on jax.numpy); the differences check every one.
* ``test_reverse_over_reverse[<entry>]``: ``tg.jacrev(tg.grad(f))`` against the
  forward-over-reverse Hessian where reverse mode over the gradient applies;
  ``test_reverse_over_reverse_through_the_stack[<entry>]``: the same, and against differences
  of ``tg.grad``, for gradients with loops and branches (their stack);
  ``test_grad_of_grad``: ``tg.grad(tg.grad(f))`` on functions of floats;
* ``test_jvp_rule[<rule>-<k>]``: every explicit forward rule on its samples.

Functions whose derivatives need a rule forward mode lacks (a user's ``tg.defvjp`` rule) are
skipped with the reason, so the coverage shows in the test report.
"""

import numpy as np
import pytest

import transgrad as tg
from tests import checks
from tests.corpus import CORPUS
from transgrad.rules.forward import JVP_RULES

EPS = 1e-6
JAX_STRIDE = 16
_JAX_SAMPLE = {id(e) for e in [e for e in CORPUS if e.jax][::JAX_STRIDE]}


def _with_jax(entry):
    return checks.HAVE_JAX and id(entry) in _JAX_SAMPLE


def _reverse_equals_forward(entry, grad, args):
    """``tg.jacrev`` of the generated gradient against the forward-over-reverse Hessian;
    returns both (skips where either is unsupported)."""
    try:
        reverse = tg.jacrev(grad, wrt=entry.wrt)(*args)
    except tg.TransformError as error:
        _skip_unsupported_reverse(error)
    try:
        forward = tg.hessian(entry.func, wrt=entry.wrt)(*args)
    except tg.TransformError as error:
        _skip_without_rule(error)
    checks.assert_close(reverse, forward, f"{entry.name} reverse over reverse", rtol=1e-8,
                        atol=1e-10)
    return reverse, forward


def _float_args(entry, args):
    return all(checks.is_float_value(args[i]) for i in entry.wrt_indices)


def _skip_without_rule(error):
    text = str(error)
    if "no forward-mode rule" in text:
        pytest.skip(text.splitlines()[0])
    raise error


def _jax_args(args):
    return [checks.jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args]


def _as_numpy(tree):
    if isinstance(tree, (tuple, list)):
        return tuple(_as_numpy(t) for t in tree)
    return np.asarray(tree)


# --- Jacobians -----------------------------------------------------------------------------

def _numeric_jacobian(func, args, i):
    """d func(*args) / d args[i] by central differences: out.shape + x.shape (per output)."""
    x = args[i]
    flat = np.array(x, dtype=float).reshape(-1)
    columns = []
    for k in range(flat.size):
        step = np.zeros_like(flat)
        step[k] = EPS
        up = func(*checks.shifted(args, [i], [step.reshape(np.shape(x))], 1.0))
        down = func(*checks.shifted(args, [i], [step.reshape(np.shape(x))], -1.0))
        if isinstance(up, tuple):
            columns.append([(np.asarray(u, float) - np.asarray(d, float)) / (2 * EPS)
                            for u, d in zip(up, down)])
        else:
            columns.append([(np.asarray(up, float) - np.asarray(down, float)) / (2 * EPS)])
    blocks = []
    for o in range(len(columns[0])):
        stacked = np.stack([c[o] for c in columns], axis=-1)
        blocks.append(stacked.reshape(np.shape(columns[0][o]) + np.shape(x)))
    return blocks


def _blocks(result, entry, tuple_out):
    """The nested Jacobian result as blocks[o][position]."""
    rows = result if tuple_out else (result,)
    return [(row,) if isinstance(entry.wrt, int) else tuple(row) for row in rows]


@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_jacobian(entry):
    args = entry.sample()
    if not _float_args(entry, args):
        pytest.skip("structured argument: Jacobians take float arrays and floats")
    if sum(np.size(args[i]) for i in entry.wrt_indices) > 40:
        pytest.skip("a large input: the Jacobian is checked on the smaller entries")
    value = entry.func(*args)
    tuple_out = isinstance(value, tuple)
    try:
        forward = tg.jacfwd(entry.func, wrt=entry.wrt)(*args)
    except tg.TransformError as error:
        _skip_without_rule(error)
    reverse = tg.jacrev(entry.func, wrt=entry.wrt)(*args)
    auto = tg.jacobian(entry.func, wrt=entry.wrt)(*args)
    checks.assert_close(auto, reverse, f"{entry.name} jacobian vs jacrev", rtol=1e-10,
                        atol=1e-12)
    expected = [_numeric_jacobian(entry.func, args, i) for i in entry.wrt_indices]
    for name, result in (("jacfwd", forward), ("jacrev", reverse)):
        blocks = _blocks(result, entry, tuple_out)
        for o, row in enumerate(blocks):
            for position, block in enumerate(row):
                checks.assert_close(block, expected[position][o],
                                    f"{entry.name} {name} output {o} argument {position}",
                                    rtol=1e-4, atol=1e-5)
    if _with_jax(entry):
        jf = checks.jax_version(entry.func)
        argnums = entry.wrt if isinstance(entry.wrt, int) else tuple(entry.wrt)
        reference = checks.jax.jacfwd(jf, argnums=argnums)(*_jax_args(args))
        checks.assert_close(forward, _as_numpy(reference), f"{entry.name} vs jax.jacfwd",
                            rtol=1e-6, atol=1e-8)


# --- second derivatives ----------------------------------------------------------------------

SCALAR = [e for e in CORPUS if not e.vector_output]


@pytest.mark.parametrize("entry", SCALAR, ids=[e.name for e in SCALAR])
def test_hvp(entry):
    args = entry.sample()
    if not _float_args(entry, args):
        pytest.skip("structured argument: tg.hvp takes float arrays and floats")
    rng = np.random.default_rng(7)
    vs = [checks.random_direction(args[i], rng) for i in entry.wrt_indices]
    v = vs[0] if isinstance(entry.wrt, int) else tuple(vs)
    try:
        hv = tg.hvp(entry.func, wrt=entry.wrt)(*args, v)
    except tg.TransformError as error:
        _skip_without_rule(error)
    grad = tg.grad(entry.func, wrt=entry.wrt)
    up, down = grad(*checks.shifted(args, entry.wrt_indices, vs, EPS)), \
        grad(*checks.shifted(args, entry.wrt_indices, vs, -EPS))
    if isinstance(entry.wrt, int):
        expected = (np.asarray(up) - np.asarray(down)) / (2 * EPS)
        checks.assert_close(hv, expected if np.ndim(expected) else float(expected),
                            f"{entry.name} hvp vs differences of tg.grad", rtol=1e-4, atol=1e-5)
    else:
        expected = tuple((np.asarray(u) * 1.0 - np.asarray(d) * 1.0) / (2 * EPS)   # bools: 0
                         for u, d in zip(up, down))
        checks.assert_close(hv, expected, f"{entry.name} hvp vs differences of tg.grad",
                            rtol=1e-4, atol=1e-5)
    for h, x in zip(hv if isinstance(hv, tuple) else (hv,), [args[i] for i in entry.wrt_indices]):
        assert type(h) is type(x) and np.shape(h) == np.shape(x), \
            f"{entry.name}: the product has the argument's type and shape"
    if _with_jax(entry):
        jf = checks.jax_version(entry.func)
        jargs = _jax_args(args)

        def gradient(*moving):
            call = list(jargs)
            for i, m in zip(entry.wrt_indices, moving):
                call[i] = m
            argnums = 0 if isinstance(entry.wrt, int) else tuple(range(len(moving)))
            return checks.jax.grad(lambda *a: jf(*_placed(call, entry.wrt_indices, a)),
                                   argnums=argnums)(*moving)
        primals = tuple(jargs[i] for i in entry.wrt_indices)
        _, reference = checks.jax.jvp(gradient, primals, tuple(_jax_args(vs)))
        checks.assert_close(hv, _as_numpy(reference), f"{entry.name} vs jax.jvp(jax.grad)",
                            rtol=1e-6, atol=1e-8)


def _placed(call, indices, values):
    out = list(call)
    for i, v in zip(indices, values):
        out[i] = v
    return out


# the Hessian is tg.jacfwd over the same forward-over-reverse code test_hvp checks on every
# entry: a quarter of these groups keeps the build time down
SMALL = [e for e in SCALAR if e.group in ("arithmetic", "elementwise", "linalg", "reductions",
                                           "models", "control")][::4]


@pytest.mark.parametrize("entry", SMALL, ids=[e.name for e in SMALL])
def test_hessian(entry):
    args = entry.sample()
    if not _float_args(entry, args) or sum(np.size(args[i]) for i in entry.wrt_indices) > 24:
        pytest.skip("the Hessian is checked on small float arguments")
    try:
        hessian = tg.hessian(entry.func, wrt=entry.wrt)(*args)
    except tg.TransformError as error:
        _skip_without_rule(error)
    grad = tg.grad(entry.func, wrt=entry.wrt)
    expected = [_numeric_jacobian(grad, args, i) for i in entry.wrt_indices]
    blocks = [(hessian,)] if isinstance(entry.wrt, int) else hessian
    for o, row in enumerate(blocks):
        for position, block in enumerate(row):
            checks.assert_close(block, expected[position][o],
                                f"{entry.name} hessian block {o}, {position}", rtol=1e-4,
                                atol=1e-5)
    if _with_jax(entry):
        argnums = entry.wrt if isinstance(entry.wrt, int) else tuple(entry.wrt)
        reference = checks.jax.hessian(checks.jax_version(entry.func), argnums=argnums)(
            *_jax_args(args))
        checks.assert_close(hessian, _as_numpy(reference), f"{entry.name} vs jax.hessian",
                            rtol=1e-6, atol=1e-8)


def _skip_unsupported_reverse(error):
    """Skip where reverse mode over generated code says it cannot: loops and branches, a
    helper without a rule (the error names it, at a line of the generated code)."""
    text = str(error)
    if "not supported yet" in text or "no derivative rule for `tgr." in text \
            or "no forward-mode rule" in text \
            or (error.filename or "").startswith("<transgrad-") and "tgr." in error.source_line:
        pytest.skip(text.splitlines()[0])
    raise error


@pytest.mark.parametrize("entry", SMALL, ids=[e.name for e in SMALL])
def test_reverse_over_reverse(entry):
    """``tg.jacrev(tg.grad(f))``: reverse mode over the generated gradient, where it applies
    (straight-line derivatives), equals the forward-over-reverse Hessian."""
    args = entry.sample()
    if not _float_args(entry, args) or sum(np.size(args[i]) for i in entry.wrt_indices) > 24:
        pytest.skip("checked on small float arguments")
    grad = tg.grad(entry.func, wrt=entry.wrt)
    _reverse_equals_forward(entry, grad, args)


# the straight-line gradients test_reverse_over_reverse leaves out: one vjp of each (the
# helpers of generated code their gradients call, with reverse rules of their own)
_SMALL_IDS = {id(e) for e in SMALL}
STRAIGHT = [e for e in SCALAR if e.group not in ("control", "data", "calls", "programs")
            and id(e) not in _SMALL_IDS]


@pytest.mark.parametrize("entry", STRAIGHT, ids=[e.name for e in STRAIGHT])
def test_vjp_of_the_gradient(entry):
    """``tg.vjp(tg.grad(f))`` along a random vector equals ``tg.hvp(f)`` (the Hessian is
    symmetric), where reverse mode over the gradient applies."""
    args = entry.sample()
    if not _float_args(entry, args):
        pytest.skip("structured argument")
    _check_vjp_of_the_gradient(entry, args)


def _check_vjp_of_the_gradient(entry, args):
    rng = np.random.default_rng(3)
    vs = [checks.random_direction(args[i], rng) for i in entry.wrt_indices]
    v = vs[0] if isinstance(entry.wrt, int) else tuple(vs)
    try:
        reverse = tg.vjp(tg.grad(entry.func, wrt=entry.wrt), wrt=entry.wrt)(*args, v)
    except tg.TransformError as error:
        if "no derivative rule for `np." in str(error):   # a rule's own primitive (eigh)
            pytest.skip(str(error).splitlines()[0])
        _skip_unsupported_reverse(error)
    try:
        forward = tg.hvp(entry.func, wrt=entry.wrt)(*args, v)
    except tg.TransformError as error:
        _skip_without_rule(error)
    checks.assert_close(reverse, forward, f"{entry.name} vjp of the gradient", rtol=1e-8,
                        atol=1e-10)


SCALAR_FLOATS = [e for e in SCALAR if e.group == "scalars" and isinstance(e.wrt, int)]


@pytest.mark.parametrize("entry", SCALAR_FLOATS, ids=[e.name for e in SCALAR_FLOATS])
def test_grad_of_grad(entry):
    """``tg.grad(tg.grad(f))`` of functions of Python floats, against differences of the
    gradient; ``tg.grad(tg.jvp(f))`` and ``tg.jvp(tg.grad(f))`` agree with it."""
    args = entry.sample()
    if not isinstance(args[entry.wrt], float):
        pytest.skip("the differentiated argument is not a Python float")
    grad = tg.grad(entry.func, wrt=entry.wrt)
    try:
        second = tg.grad(grad, wrt=entry.wrt)(*args)
    except tg.TransformError as error:
        _skip_unsupported_reverse(error)
    up = grad(*checks.shifted(args, [entry.wrt], [1.0], EPS))
    down = grad(*checks.shifted(args, [entry.wrt], [1.0], -EPS))
    assert type(second) is float
    assert second == pytest.approx((up - down) / (2 * EPS), rel=1e-5, abs=1e-6)
    assert tg.jvp(grad, wrt=entry.wrt)(*args, 1.0)[1] == pytest.approx(second, rel=1e-9)


def test_reverse_over_forward_is_a_hessian_vector_product():
    x, w = np.array([0.1, 0.2, 0.3]), np.full((3, 2), 0.3)
    v = np.array([1.0, 0.0, 0.5])
    # d/dx of the tangent output <grad f(x), v> is H v
    hv = tg.vjp(tg.jvp(_tanh_layer), wrt=0)(x, w, v, (0.0, 1.0))
    np.testing.assert_allclose(hv, tg.hvp(_tanh_layer)(x, w, v), rtol=1e-12)


def _tanh_layer(x, w):
    return np.sum(np.tanh(x @ w) ** 2)


def test_grad_of_grad_through_a_loop():
    """Reverse over reverse through the gradient's stack: the adjoint sweep of the outer
    derivative has a stack of adjoints (a pop of the gradient pushes the popped value's
    adjoint; a push pops it back)."""
    from tests.fixtures import userfuncs as uf
    grad = tg.grad(uf.recurrence)
    second = tg.grad(grad)
    value = second(0.5, 0.3)
    up, down = grad(0.5 + EPS, 0.3), grad(0.5 - EPS, 0.3)
    assert value == pytest.approx((up - down) / (2 * EPS), rel=1e-6)
    assert value == pytest.approx(tg.jvp(grad)(0.5, 0.3, 1.0)[1], rel=1e-12)
    assert "bstack.append(" in second.source and "bstack.pop()" in second.source


# gradients with loops and branches (the stack), on small float arguments
STACKED = [e for e in SCALAR if e.group in ("control", "data", "calls", "programs")]


@pytest.mark.parametrize("entry", STACKED, ids=[e.name for e in STACKED])
def test_reverse_over_reverse_through_the_stack(entry):
    """``tg.jacrev(tg.grad(f))`` and the vjp of the gradient along ``2 * grad`` (the gradient
    of ``np.sum(grad(x) ** 2)``) where the gradient saves values on its stack, against the
    forward-over-reverse Hessian and differences of ``tg.grad``."""
    args = entry.sample()
    if not _float_args(entry, args) or sum(np.size(args[i]) for i in entry.wrt_indices) > 12:
        pytest.skip("checked on small float arguments")
    grad = tg.grad(entry.func, wrt=entry.wrt)
    grad(*args)
    if "stack" not in grad.source:   # straight-line: the vjp of the gradient only
        _check_vjp_of_the_gradient(entry, args)
        return
    reverse, forward = _reverse_equals_forward(entry, grad, args)
    if isinstance(entry.wrt, int):
        expected = _numeric_jacobian(grad, args, entry.wrt)[0]
        checks.assert_close(reverse, expected, f"{entry.name} vs differences of tg.grad",
                            rtol=1e-4, atol=1e-5)
        g = grad(*args)
        pulled = tg.vjp(grad, wrt=entry.wrt)(*args, 2 * g)
        checks.assert_close(pulled, 2 * np.tensordot(g, forward, np.ndim(g)),
                            f"{entry.name} gradient of sum(grad ** 2)", rtol=1e-8, atol=1e-10)


def test_reverse_over_a_derivative_calling_a_function_in_a_loop():
    """Reverse over reverse through a user function called in a loop (its tapes get a list
    cotangent; this was refused before): the Hessian equals forward over reverse's."""
    from tests.corpus.calls import call_in_loop
    x = np.array([0.1, 0.2, 0.3])
    reverse = tg.jacrev(tg.grad(call_in_loop))(x)
    forward = tg.hessian(call_in_loop)(x)
    checks.assert_close(reverse, forward, "call_in_loop: jacrev(grad) vs hessian",
                        rtol=1e-9, atol=1e-12)
    assert np.any(reverse != 0)


def test_vjp_of_a_nested_tuple_result():
    x = np.array([1.0, 2.0])
    cotangent = (np.ones(2), (np.ones(2), np.ones(2)))
    np.testing.assert_allclose(tg.vjp(_nested)(x, cotangent), 5.0 + 2 * x)


def _nested(x):
    return x * 2.0, (x * 3.0, x * x)


def test_add_at_reverse_rule_sends_values_their_part():
    from transgrad import runtime
    from transgrad.rules.generated import add_at
    target, values = np.zeros(5), np.array([1.0, 2.0, 3.0])
    index = np.array([0, 2, 2])
    out = runtime.add_at(target.copy(), index, values)
    assert out.tolist() == [1.0, 0.0, 5.0, 0.0, 0.0]
    g = np.arange(5.0)
    b_target, _, b_values = add_at.vjp(g, out, target, index, values)
    assert b_target is g and b_values.tolist() == [0.0, 2.0, 2.0]


# --- the explicit forward rules on their samples -------------------------------------------

def _jvp_cases():
    seen, cases = set(), []
    for by_position in JVP_RULES.values():
        for rule in by_position.values():
            if id(rule) in seen:
                continue
            seen.add(id(rule))
            assert rule.samples, f"forward rule {rule.name} has no samples"
            cases += [pytest.param(rule, k, id=f"{rule.name}-{k}")
                      for k in range(len(rule.samples))]
    return cases


@pytest.mark.parametrize("rule, index", _jvp_cases())
def test_jvp_rule(rule, index, tmp_path):
    from tests.test_rules import Case, _load, _module_source
    case = Case(rule, rule.samples[index])
    primitive = rule.primitives[0]
    source, values, wrt = _module_source(case, primitive)
    module = _load(tmp_path, f"jvp_rule_{rule.name}_{index}", source)
    module.prim = primitive
    if (rule.argnum, None) not in case.slots:   # np.linalg.multi_dot's list of arrays
        pytest.skip("a sequence argument's tangent: checked in tests/test_numpy_rules.py")
    position = wrt[case.slots.index((rule.argnum, None))]
    rng = np.random.default_rng(index)
    tangent = rng.uniform(-1, 1, np.shape(values[position]))
    if case.spd[case.slots.index((rule.argnum, None))]:
        tangent = tangent + np.swapaxes(tangent, -1, -2)   # stay symmetric
    _, slope = tg.jvp(module.f, wrt=position)(*values, tangent)

    def along(step):
        moved = list(values)
        moved[position] = values[position] + step * tangent
        return module.f(*moved)
    up, down = along(EPS), along(-EPS)
    if isinstance(up, tuple):
        expected = tuple((np.asarray(u) * 1.0 - np.asarray(d) * 1.0) / (2 * EPS)   # bools: 0
                         for u, d in zip(up, down))
    else:
        expected = (np.asarray(up) - np.asarray(down)) / (2 * EPS)
    checks.assert_close(_as_numpy(slope), expected, f"{rule.name} sample {index}\n{source}",
                        rtol=1e-4, atol=1e-5)


# --- derivatives of derivatives, and what they look like ----------------------------------

def test_jvp_of_grad_is_forward_over_reverse_source():
    from tests.fixtures import userfuncs as uf
    hvp = tg.jvp(tg.grad(uf.recurrence, wrt=(0, 1)), wrt=(0, 1))
    _, (ha, hx) = hvp(0.5, 0.3, (1.0, 0.0))
    grad = tg.grad(uf.recurrence, wrt=(0, 1))
    up, down = grad(0.5 + EPS, 0.3), grad(0.5 - EPS, 0.3)
    assert ha == pytest.approx((up[0] - down[0]) / (2 * EPS), rel=1e-6)
    assert hx == pytest.approx((up[1] - down[1]) / (2 * EPS), rel=1e-6)
    # the gradient's stack carries a stack of tangents beside it
    assert "dstack.append(" in hvp.source and "dstack.pop()" in hvp.source


def _checked_hvp(func, x, data, v):
    """``tg.jvp(tg.grad(func))`` at ``(x, data)`` along ``v``, checked against central
    differences of the gradient; the derivative, for its source."""
    hvp = tg.jvp(tg.grad(func))
    _, got = hvp(x, data, v)
    eps = 1e-6
    grad = tg.grad(func)
    want = (grad(x + eps * v, data) - grad(x - eps * v, data)) / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
    return hvp


def _data_fit(data, w):
    return np.sum(np.tanh(data @ w) ** 2)


def data_fit_loss(w, data):
    return _data_fit(data, w) + 0.5 * np.sum(w ** 3)


def test_jvp_of_grad_skips_the_zero_tangents_of_constant_tape_entries():
    """``tg.jvp(tg.grad(f))`` where f calls a helper with data: the helper's tape holds
    ``data``, whose tangent the forward half's JVP returns as zeros, so the backward half's
    JVP computes nothing from it (no product with the zero tangent). When the outer
    derivative varies the data too, its tangent is not zero and is used."""
    rng = np.random.default_rng(4)
    w, data, v, dv = rng.normal(size=3), rng.normal(size=(5, 3)), rng.normal(size=3), \
        rng.normal(size=(5, 3))
    hvp = _checked_hvp(data_fit_loss, w, data, v)
    eps = 1e-6
    grad = tg.grad(data_fit_loss)
    backward = [s for s in hvp.source.split("\n\n\n") if "_data_fit_bwd" in s.split("\n")[0]
                or "def d_data_fit_bwd" in s]
    assert backward, hvp.source
    text = "\n".join(backward)
    unpacked = [line for line in text.splitlines() if "= dtape" in line]
    assert unpacked and "ddata" in unpacked[0]   # its tangent is unpacked, then never read
    assert "ddata" not in text.replace(unpacked[0], "")
    # the data varied as well: a mixed second derivative through the same helper
    mixed = tg.jvp(tg.grad(data_fit_loss), wrt=(0, 1))
    _, got = mixed(w, data, (v, dv))
    want = (grad(w + eps * v, data + eps * dv) - grad(w - eps * v, data - eps * dv)) / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def _pair_cost(points, centers):
    dists = np.sum(points ** 2, 1)[None, :] + np.sum(centers ** 2, 1)[:, None] \
        - 2 * (points @ centers.T).T
    return np.min(dists, axis=0).sum()


def pair_cost_of_centers(centers, points):
    return _pair_cost(points, centers) + np.sum(centers ** 4)


def test_jvp_of_grad_computes_only_the_tangents_the_backward_half_reads():
    """The helper's backward half reads the centers' tangent from its tape and not the
    distances' (the minimum's mask is piecewise constant), so the JVP of its forward half
    called there returns None for those and computes none of them (GradBench kmeans' dir)."""
    rng = np.random.default_rng(8)
    centers, points, v = rng.normal(size=(3, 2)), rng.normal(size=(12, 2)), \
        rng.normal(size=(3, 2))
    hvp = _checked_hvp(pair_cost_of_centers, centers, points, v)
    forward = [s for s in hvp.source.split("\n\n\n") if "def d_pair_cost_fwd" in s]
    assert len(forward) == 1, hvp.source
    body = forward[0]
    assert "None" in body.splitlines()[-1]   # the tangents nobody reads come back as None
    assert "ddists" not in body and "np.matmul(points, dt" not in body   # not computed


def test_hvp_keeps_float32():
    x = np.linspace(-1, 1, 4).astype(np.float32)
    hv = tg.hvp(_cubic)(x, np.ones(4, dtype=np.float32))
    assert hv.dtype == np.float32 and hv.shape == (4,)


def _cubic(x):
    return np.sum(np.sin(x) * x ** 3)


def test_jacobian_shapes_follow_jax():
    def f(x, w):
        return np.tanh(x @ w)
    x, w = np.linspace(0.1, 0.5, 3), np.linspace(-1, 1, 12).reshape(3, 4)
    jx, jw = tg.jacobian(f, wrt=(0, 1))(x, w)
    assert jx.shape == (4, 3) and jw.shape == (4, 3, 4)
    assert isinstance(tg.jacfwd(lambda_free_square)(1.5), float)
    assert tg.jacfwd(lambda_free_square)(1.5) == pytest.approx(3.0)


def lambda_free_square(x):
    return x * x


def test_hessian_wrt_tuple_is_nested():
    def f(x, y):
        return np.sum(x ** 2 * y) + np.sum(y ** 3)
    x, y = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    (hxx, hxy), (hyx, hyy) = tg.hessian(f, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(hxx, np.diag(2 * y))
    np.testing.assert_allclose(hxy, np.diag(2 * x))
    np.testing.assert_allclose(hyx, np.diag(2 * x))
    np.testing.assert_allclose(hyy, np.diag(6 * y))


# --- bad input ----------------------------------------------------------------------------

def _quadratic(x, w):
    return np.sum((x @ w) ** 2)


@pytest.mark.parametrize("tangent, match", [
    (np.ones(4), r"argument 0 \(x\) .* must be a real float array of shape \(3,\).*got an array of "
                 + r"float64 with shape \(4,\)"),
    (np.ones(3, dtype=int), r"must be a real float array of shape \(3,\).*int64"),
    ((np.ones(3),), r"must be a real float array of shape \(3,\).*got a tuple"),
    (2, r"must be a real float array of shape \(3,\).*got the int 2"),
])
def test_jvp_rejects_a_bad_tangent(tangent, match):
    x, w = np.ones(3), np.ones((3, 2))
    with pytest.raises(tg.TransformError, match=match):
        tg.jvp(_quadratic)(x, w, tangent)


def test_jvp_wrt_tuple_takes_a_tuple_of_tangents():
    x, w = np.ones(3), np.ones((3, 2))
    with pytest.raises(tg.TransformError, match=r"takes a tuple of 2 tangents \(for x, w\)"):
        tg.jvp(_quadratic, wrt=(0, 1))(x, w, np.ones(3))
    with pytest.raises(tg.TransformError, match=r"argument 1 \(w\).*shape \(3, 2\)"):
        tg.jvp(_quadratic, wrt=(0, 1))(x, w, (np.ones(3), np.ones(3)))
    with pytest.raises(tg.TransformError, match=r"must be a float, like s; got the int 1"):
        tg.jvp(_scalar)(2.0, 1)


def _scalar(s):
    return s * s


def _vector(x):
    return np.sin(x)


def _dictionary(x):
    return {"y": x * 2.0}


def _text(x):
    return "x"


def test_hessian_of_a_vector_function_says_so():
    with pytest.raises(tg.TransformError, match=r"tg.hessian\(_vector\) needs _vector to "
                                                r"return a scalar; it returned shape \(3,\)"):
        tg.hessian(_vector)(np.ones(3))


@pytest.mark.parametrize("func", [_dictionary, _text])
@pytest.mark.parametrize("entry", [tg.jacobian, tg.jacfwd, tg.jacrev])
def test_jacobian_of_a_non_array_output_says_so(entry, func):
    with pytest.raises(tg.TransformError, match="needs .* to return an array or a number"):
        entry(func)(np.ones(3))


def test_jacobian_with_respect_to_an_int_names_it():
    with pytest.raises(tg.TransformError, match=r"argument 0 \(s\) is the int 3"):
        tg.jacobian(_scalar)(3)


def _reprojection(cam, x, w):
    """A small loop-free residual (GradBench ba's shape: 2 outputs, 3 argument blocks)."""
    rotated = np.cross(cam[:3], x) + x * np.cos(cam[3])
    return w * (rotated[:2] / rotated[2] * cam[4])


def _relaxed(cam, x, w):
    for _ in range(3):   # a loop: its backward sweep pops the stack the forward half filled
        x = np.tanh(cam[:3] * x) + 0.1
    return w * x[:2]


def _inverted(m, x):
    return np.linalg.inv(m) @ np.sin(x)


@pytest.mark.parametrize("func", [_reprojection, _relaxed, _inverted])
def test_jacrev_pulls_back_all_rows_in_one_sweep(func):
    """Reverse-mode Jacobians run the forward half once and one backward sweep for all the
    output rows at once (``passes/batch_rows.py``), also where the tape holds a stack that
    the sweep consumes; where the sweep cannot be written for rows (``np.linalg.inv``'s
    rule), one backward half per row, or one VJP per row for a stack. A float64 scalar
    argument gets the exact-shape halves too. Values against central differences."""
    rng = np.random.default_rng(7)
    args = (rng.normal(size=5), rng.normal(size=3) + 2.0, np.float64(0.7))
    if func is _inverted:
        args = (rng.normal(size=(3, 3)) + 3 * np.eye(3), rng.normal(size=3))
    jac = tg.jacrev(func, wrt=tuple(range(len(args))))
    for _ in range(2):   # the second call reuses the halves made for these shapes
        got = jac(*args)
    for index, block in enumerate(got):
        def along(value, index=index):
            moved = list(args)
            moved[index] = value
            return func(*moved)
        base = np.asarray(args[index], dtype=float)
        columns = []
        for k in range(base.size):
            step = np.zeros(base.size)
            step[k] = 1e-6
            moved = (base.ravel() + step).reshape(base.shape), \
                (base.ravel() - step).reshape(base.shape)
            if not base.ndim:
                moved = np.float64(base + 1e-6), np.float64(base - 1e-6)
            columns.append((along(moved[0]) - along(moved[1])) / 2e-6)
        want = np.stack(columns, axis=-1).reshape(np.shape(block))
        np.testing.assert_allclose(block, want, rtol=1e-6, atol=1e-8)
    assert len(jac._halves) == 1
    assert list(jac._rows.values()) == [None] if func is _inverted else all(jac._rows.values())


def _stretch(x, w):
    return np.tanh(x * w) + x[::-1]


def test_a_jacobians_source_is_the_code_it_runs():
    """By reverse mode, ``tg.jacrev`` runs the split VJP's forward half once and its backward
    half per output element; ``.source`` shows those halves, not the VJP it did not call."""
    x, w = np.linspace(-1.0, 1.0, 4), np.linspace(0.5, 2.0, 4)
    jac = tg.jacrev(_stretch)
    got = jac(x, w)
    eps = 1e-6
    want = np.stack([(_stretch(x + eps * e, w) - _stretch(x - eps * e, w)) / (2 * eps)
                     for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    assert "def _stretch_fwd(" in jac.source and "def _stretch_bwd(" in jac.source


def _spread(theta, points):
    out = []
    for p in points:   # a stack the backward sweep consumes
        out.append(np.sin(theta[0] * p) + theta[1] * p ** 2)
    return np.stack(out)


def test_jacobian_takes_reverse_mode_where_all_rows_are_one_sweep():
    """More outputs than inputs favours forward mode, unless reverse mode pulls back every
    row in one sweep: then one forward and one backward sweep (GradBench ht's Jacobian)."""
    rng = np.random.default_rng(9)
    theta, points = rng.normal(size=2), rng.normal(size=(4, 3))
    jac = tg.jacobian(_spread)
    got = jac(theta, points)
    again = jac(theta, points)
    want = tg.jacfwd(_spread)(theta, points)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(again, want, rtol=1e-12, atol=1e-14)
    assert list(jac._forward_for.values()) == [False] and all(jac._rev._rows.values())


def _branchy(x, w):
    if np.sum(x) > 0:
        y = np.sin(x) * w
    else:
        y = x * 2.0 - x[::-1]
    return y


def test_a_rows_sweep_made_on_one_branch_runs_the_other():
    """The rows sweep is made (and checked) on the branch the first call takes; a later call
    down the other branch, where ``w``'s cotangent stays the 0.0 it starts at, gets zero
    rows for it. (An arm whose temporaries the first call never made refuses the sweep: the
    traced run gives no shapes for them.)"""
    rng = np.random.default_rng(10)
    x, w = np.abs(rng.normal(size=3)), rng.normal(size=3)
    jac = tg.jacrev(_branchy, wrt=(0, 1))
    for point in (x, -x, x):
        got = jac(point, w)
        want = tg.jacfwd(_branchy, wrt=(0, 1))(point, w)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert all(jac._rows.values())


@pytest.mark.parametrize("g_shape, x_shape", [((5, 3, 4), (4,)), ((5, 3, 4), (3, 1)),
                                              ((5, 2, 3, 4), (3, 1)), ((5, 3, 4), (1, 4)),
                                              ((5, 3, 4), (3, 4)), ((5, 4), ())])
def test_row_helpers_are_the_helpers_row_by_row(g_shape, x_shape):
    """The runtime helpers of the rows sweep give, row by row, what the helpers of one
    backward sweep give (to rounding: numpy may sum in another order)."""
    from transgrad import runtime as tgr
    rng = np.random.default_rng(11)
    g, x = rng.normal(size=g_shape), rng.normal(size=x_shape)
    rows = [g[i] for i in range(g_shape[0])]
    np.testing.assert_allclose(
        tgr.unbroadcast_rows(g, x), np.stack([tgr.unbroadcast_to(r, x) for r in rows]), rtol=1e-14)
    summed = tgr.unbroadcast_rows(g, x)
    np.testing.assert_array_equal(tgr.match_rows(summed, x, g_shape[0]),
                                  np.stack([tgr.match(s, x) for s in summed]))
    assert tgr.unbroadcast_rows(0.0, x) == 0.0
    np.testing.assert_array_equal(tgr.match_rows(0.0, x, 5), np.zeros((5,) + x_shape))
    if x_shape:
        axis = len(x_shape) - 1
        reduced = rng.normal(size=(5,) + x_shape[:axis])
        np.testing.assert_array_equal(
            tgr.expand_reduced_rows(reduced, x, axis),
            np.stack([tgr.expand_reduced(r, x, axis) for r in reduced]))
    a, b = rng.normal(size=(5, 3)), rng.normal(size=3)
    np.testing.assert_allclose(tgr.cross_rows(a, b), np.cross(a, b), rtol=1e-15)
    np.testing.assert_allclose(tgr.cross_product(a[0], b), np.cross(a[0], b), rtol=1e-15)
