"""The Tensor against real PyTorch: the same program on both, same values and gradients.

Each case is a function ``f(torch_namespace, *tensors)`` run once with ``transgrad.torch`` and
once with ``torch`` on the same random inputs; outputs, gradients (through a random cotangent),
errors and graph structure must agree.
"""

import pathlib
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch (torch==2.13.0, CPU) is not installed: "
                            "the parity tests compare against it")

import transgrad.torch as tt

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings
from hypothesis import strategies as st

RTOL, ATOL = 1e-9, 1e-10


def _to(ns, array, requires_grad):
    if ns is torch:
        t = torch.from_numpy(np.array(array))
    else:
        t = tt.from_numpy(np.array(array))
    if requires_grad and np.asarray(array).dtype.kind == "f":
        t.requires_grad_(True)
    return t


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.data)


def run_both(f, *arrays, wrt=None, seed=0):
    """Run ``f`` on both namespaces; compare outputs and the VJP with a random cotangent."""
    wrt = range(len(arrays)) if wrt is None else wrt
    results = []
    for ns in (tt, torch):
        inputs = [_to(ns, a, i in wrt) for i, a in enumerate(arrays)]
        out = f(ns, *inputs)
        outs = out if isinstance(out, tuple) else (out,)
        rng = np.random.default_rng(seed)
        loss = None
        for o in outs:
            if not o.requires_grad:
                continue
            cot = rng.uniform(-1, 1, tuple(o.shape)).astype(_np(o).dtype)
            term = (o * _to(ns, cot, False)).sum()
            loss = term if loss is None else loss + term
        grads = []
        if loss is not None:
            loss.backward()
            grads = [None if t.grad is None else _np(t.grad) for t in inputs]
        results.append(([_np(o) for o in outs], grads))
    (outs_a, grads_a), (outs_b, grads_b) = results
    assert len(outs_a) == len(outs_b)
    for a, b in zip(outs_a, outs_b):
        assert a.shape == b.shape, (a.shape, b.shape)
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg="values")
    assert len(grads_a) == len(grads_b)
    for i, (a, b) in enumerate(zip(grads_a, grads_b)):
        assert (a is None) == (b is None), f"grad {i}: {a} vs {b}"
        if a is not None:
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"grad {i}")
    return results


def R(*shape, low=-2.0, high=2.0, seed=None):
    rng = np.random.default_rng(seed if seed is not None else hash(shape) % 1000)
    return rng.uniform(low, high, shape)


def P(*shape, seed=None):
    return R(*shape, low=0.5, high=2.0, seed=seed)


# ---- elementwise ------------------------------------------------------------------------------

UNARY = {
    "exp": (lambda ns, x: x.exp(), R), "log": (lambda ns, x: x.log(), P),
    "sin": (lambda ns, x: x.sin(), R), "cos": (lambda ns, x: x.cos(), R),
    "tanh": (lambda ns, x: x.tanh(), R), "sigmoid": (lambda ns, x: x.sigmoid(), R),
    "relu": (lambda ns, x: x.relu(), R), "abs": (lambda ns, x: x.abs(), R),
    "sqrt": (lambda ns, x: x.sqrt(), P), "neg": (lambda ns, x: -x, R),
    "clamp": (lambda ns, x: x.clamp(min=-0.5, max=0.7), R),
    "clamp_min": (lambda ns, x: x.clamp(min=0), R),
    "clamp_max": (lambda ns, x: x.clamp(max=0.3), R),
    "pow2": (lambda ns, x: x.pow(2), R), "pow_half": (lambda ns, x: x ** 0.5, P),
    "rpow": (lambda ns, x: 2.0 ** x, R), "square_sub": (lambda ns, x: (x - 1) ** 3, R),
    "sigmoid_fn": (lambda ns, x: ns.sigmoid(x), R), "exp_fn": (lambda ns, x: ns.exp(x), R),
    "square_fn": (lambda ns, x: ns.square(x), R),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(5,), (3, 4), ()])
def test_unary(name, shape):
    f, make = UNARY[name]
    run_both(f, make(*shape))


BINARY = {
    "add": lambda ns, x, y: x + y, "sub": lambda ns, x, y: x - y,
    "mul": lambda ns, x, y: x * y, "div": lambda ns, x, y: x / y,
    "pow": lambda ns, x, y: x.abs() ** y, "add_m": lambda ns, x, y: x.add(y),
    "sub_m": lambda ns, x, y: x.sub(y), "mul_m": lambda ns, x, y: x.mul(y),
    "div_m": lambda ns, x, y: x.div(y), "maximum": lambda ns, x, y: ns.maximum(x, y),
    "mod": lambda ns, x, y: x % y, "remainder": lambda ns, x, y: ns.remainder(x, y),
    "remainder_m": lambda ns, x, y: x.remainder(y),
}
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((3, 1), (1, 5)),
          ((), (3,)), ((4,), ())]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary_broadcasting(name, shapes):
    a, b = shapes
    y = R(*b, seed=2)
    if name in ("div", "div_m", "pow", "mod", "remainder", "remainder_m"):
        y = np.abs(y) + 0.5
    run_both(BINARY[name], R(*a, seed=1), y)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_one_side_constant(name):
    y = np.abs(R(3, 4, seed=2)) + 0.5
    run_both(BINARY[name], R(3, 4, seed=1), y, wrt=(0,))
    run_both(BINARY[name], R(3, 4, seed=1), y, wrt=(1,))


SCALAR_CASES = {
    "x+2": lambda ns, x: x + 2, "2+x": lambda ns, x: 2 + x, "x-2.5": lambda ns, x: x - 2.5,
    "2.5-x": lambda ns, x: 2.5 - x, "x*3": lambda ns, x: x * 3, "3*x": lambda ns, x: 3 * x,
    "x/3": lambda ns, x: x / 3, "3/x": lambda ns, x: 3 / x, "x**3": lambda ns, x: x ** 3,
    "1.5**x": lambda ns, x: 1.5 ** x, "-x*x": lambda ns, x: -x * x,
    "x%0.7": lambda ns, x: x % 0.7, "x%-0.7": lambda ns, x: x % -0.7,
}


@pytest.mark.parametrize("name", sorted(SCALAR_CASES))
def test_python_scalars_on_either_side(name):
    run_both(SCALAR_CASES[name], P(3, 4))


def test_comparisons_do_not_require_grad():
    for ns in (tt, torch):
        x = _to(ns, R(5), True)
        for c in (x < 0, x <= 0, x > 0.5, x >= x * 2, x == x.detach(), x != 0):
            assert not c.requires_grad and c.grad_fn is None
    a, b = R(5, seed=1), R(5, seed=2)
    for op in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
        mine = getattr(tt.tensor(a), op)(tt.tensor(b))
        ref = getattr(torch.tensor(a), op)(torch.tensor(b))
        np.testing.assert_array_equal(_np(mine), ref.numpy())


# ---- matrix products ------------------------------------------------------------------------


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)),
                                    ((4,), (4,)), ((2, 3, 4), (4, 5)),
                                    ((2, 3, 4), (2, 4, 5))], ids=str)
def test_matmul(shapes):
    a, b = shapes
    run_both(lambda ns, x, y: x @ y, R(*a, seed=1), R(*b, seed=2))
    run_both(lambda ns, x, y: x.matmul(y), R(*a, seed=1), R(*b, seed=2), wrt=(1,))


def test_mm():
    run_both(lambda ns, x, y: x.mm(y), R(3, 4, seed=1), R(4, 5, seed=2))
    run_both(lambda ns, x, y: ns.mm(x, y), R(3, 4, seed=1), R(4, 5, seed=2), wrt=(0,))


# ---- reductions -----------------------------------------------------------------------------

REDUCTIONS = {
    "sum": lambda ns, x: x.sum(), "sum0": lambda ns, x: x.sum(0),
    "sum_dim1_keep": lambda ns, x: x.sum(dim=1, keepdim=True),
    "sum_dims": lambda ns, x: x.sum(dim=(0, 2)), "mean": lambda ns, x: x.mean(),
    "mean_neg": lambda ns, x: x.mean(dim=-1), "mean_keep": lambda ns, x: x.mean(1, True),
    "max": lambda ns, x: x.max(), "min": lambda ns, x: x.min(),
    "max_dim": lambda ns, x: x.max(dim=1)[0], "min_dim": lambda ns, x: x.min(dim=0).values,
    "max_dim_keep": lambda ns, x: x.max(dim=2, keepdim=True).values,
    "prod": lambda ns, x: x.prod(), "prod_dim": lambda ns, x: x.prod(dim=1),
    "prod_keep": lambda ns, x: x.prod(dim=0, keepdim=True),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions(name):
    run_both(REDUCTIONS[name], R(2, 3, 4, seed=3))


def test_max_indices_match():
    x = R(3, 5, seed=4)
    mine = tt.tensor(x).max(dim=1)
    ref = torch.tensor(x).max(dim=1)
    np.testing.assert_array_equal(_np(mine.indices), ref.indices.numpy())
    np.testing.assert_array_equal(_np(mine[1]), ref[1].numpy())


# ---- shapes ---------------------------------------------------------------------------------

SHAPE_OPS = {
    "reshape": lambda ns, x: x.reshape(4, 6), "reshape_tuple": lambda ns, x: x.reshape((6, -1)),
    "view": lambda ns, x: x.view(-1), "view2": lambda ns, x: x.view(2, 12),
    "t": lambda ns, x: x.reshape(4, 6).t(), "T": lambda ns, x: x.reshape(4, 6).T,
    "transpose": lambda ns, x: x.transpose(0, 2), "transpose_neg": lambda ns, x: x.transpose(-1, 1),
    "permute": lambda ns, x: x.permute(2, 0, 1), "unsqueeze": lambda ns, x: x.unsqueeze(1),
    "unsqueeze_neg": lambda ns, x: x.unsqueeze(-1),
    "squeeze": lambda ns, x: x.unsqueeze(0).unsqueeze(3).squeeze(),
    "squeeze_dim": lambda ns, x: x.unsqueeze(1).squeeze(1),
    "flatten": lambda ns, x: x.flatten(1), "clone": lambda ns, x: x.clone() * 2,
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_ops(name):
    run_both(SHAPE_OPS[name], R(2, 3, 4, seed=5))


# ---- indexing -------------------------------------------------------------------------------

INDEXING = {
    "int": lambda ns, x: x[1], "neg_int": lambda ns, x: x[-1, 2],
    "slice": lambda ns, x: x[1:3], "slices": lambda ns, x: x[:, 1::2],
    "ellipsis": lambda ns, x: x[..., 0], "none": lambda ns, x: x[None, 1],
    "mask": lambda ns, x: x[x > 0],
    "row_mask": lambda ns, x: x[ns.tensor([True, False, True, True])],
    "int_tensor": lambda ns, x: x[ns.tensor([0, 2, 2, 3])],
    "int_tensor_2d": lambda ns, x: x[ns.tensor([0, 3]), ns.tensor([1, 1])],
    "list": lambda ns, x: x[[1, 0, 1]],
}


@pytest.mark.parametrize("name", sorted(INDEXING))
def test_indexing(name):
    run_both(INDEXING[name], R(4, 5, seed=6))


# ---- several tensors ------------------------------------------------------------------------


def test_cat_stack_where():
    a, b, c = R(2, 3, seed=1), R(4, 3, seed=2), R(2, 3, seed=3)
    run_both(lambda ns, x, y: ns.cat([x, y]), a, b)
    run_both(lambda ns, x, y: ns.cat([x, y], dim=0) * 2, a, b, wrt=(1,))
    run_both(lambda ns, x, y: ns.cat((x.t(), y.t()), 1), a, b)
    run_both(lambda ns, x, y: ns.stack([x, y]), a, c)
    run_both(lambda ns, x, y: ns.stack([x, y, x], dim=1), a, c)
    run_both(lambda ns, x, y: ns.stack([x, y], dim=-1), a, c, wrt=(0,))
    run_both(lambda ns, x, y: ns.where(x > 0, x, y), a, c)
    run_both(lambda ns, x, y: ns.where(x > y, x * y, 0.0), a, c)
    run_both(lambda ns, x, y: ns.where(x > 0, x, y[0]), a, c)


# ---- accumulation, retain_graph, create_graph -----------------------------------------------


def test_accumulation_over_several_backwards():
    grads = []
    for ns in (tt, torch):
        x = _to(ns, R(3, 4), True)
        w = _to(ns, R(4, 2, seed=1), True)
        for k in range(3):
            ((x @ w).tanh() * (k + 1)).sum().backward()
        (x * x).sum().backward()
        grads.append((_np(x.grad), _np(w.grad)))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def test_retain_graph():
    grads = []
    for ns in (tt, torch):
        x = _to(ns, R(5), True)
        y = (x.sin() * x).sum()
        y.backward(retain_graph=True)
        first = _np(x.grad).copy()
        y.backward()
        grads.append((first, _np(x.grad)))
        np.testing.assert_allclose(grads[-1][1], 2 * first)
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=RTOL)


SECOND_ORDER = {
    "cube": lambda ns, x: (x ** 3).sum(),
    "sin_exp": lambda ns, x: (x.sin() * x.exp()).sum(),
    "tanh_mm": lambda ns, x: (x.reshape(2, 3).mm(x.reshape(3, 2)).tanh()).sum(),
    "sigmoid_mean": lambda ns, x: (x.sigmoid() ** 2).mean(),
    "log_div": lambda ns, x: (x.abs().log() / (x * x + 1)).sum(),
    "index_max": lambda ns, x: (x[1:] * x[:-1]).max() + (x ** 2).prod(),
    "cat_where": lambda ns, x: ns.where(x > 0, x ** 2, -x ** 3).sum() + ns.cat([x, x ** 2]).sum(),
    "relu_sqrt": lambda ns, x: (x.relu() + 1).sqrt().sum(),
    "broadcast": lambda ns, x: (x.unsqueeze(1) * x.unsqueeze(0)).sum(1).pow(2).sum(),
    "clamp_cos": lambda ns, x: (x.clamp(-1, 1).cos() * x).sum(),
}


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_create_graph_second_derivatives(name):
    f = SECOND_ORDER[name]
    out = []
    for ns in (tt, torch):
        x = _to(ns, R(6, seed=7), True)
        y = f(ns, x)
        (g,) = ns.autograd.grad(y, x, create_graph=True)
        v = _to(ns, R(6, seed=8), False)
        (h,) = ns.autograd.grad((g * v).sum(), x)
        # and through .backward(create_graph=True) into .grad
        x2 = _to(ns, R(6, seed=7), True)
        f(ns, x2).backward(create_graph=True)
        assert x2.grad.requires_grad
        x2.grad.sum().backward()
        out.append((_np(g), _np(h), _np(x2.grad)))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9)


def test_third_derivative():
    out = []
    for ns in (tt, torch):
        x = _to(ns, R(4, seed=9), True)
        (g,) = ns.autograd.grad((x.sin() * x ** 2).sum(), x, create_graph=True)
        (h,) = ns.autograd.grad(g.sum(), x, create_graph=True)
        (k,) = ns.autograd.grad(h.sum(), x)
        out.append(_np(k))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-8)


def test_autograd_grad_leaves_grad_untouched_and_grad_outputs():
    out = []
    for ns in (tt, torch):
        x = _to(ns, R(3, seed=1), True)
        w = _to(ns, R(3, seed=2), True)
        y = x * w
        gx, gw = ns.autograd.grad(y, (x, w), grad_outputs=_to(ns, R(3, seed=3), False))
        assert x.grad is None and w.grad is None
        out.append((_np(gx), _np(gw)))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=RTOL)


def test_autograd_grad_unused_input():
    for ns in (tt, torch):
        x = _to(ns, R(3), True)
        z = _to(ns, R(3), True)
        with pytest.raises(RuntimeError, match="not have been used in the graph"):
            ns.autograd.grad((x * 2).sum(), (x, z), retain_graph=True)
        _, gz = ns.autograd.grad((x * 2).sum(), (x, z), allow_unused=True)
        assert gz is None


def test_nonleaf_grad_and_retain_grad():
    out = []
    for ns in (tt, torch):
        x = _to(ns, R(4), True)
        h = x * 2
        h.retain_grad()
        assert h.retains_grad and not h.is_leaf
        u = x.exp()
        (h.sin() * u).sum().backward()
        out.append((_np(h.grad), _np(x.grad)))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=RTOL)


def test_hooks_inspect_and_modify_gradients():
    out = []
    for ns in (tt, torch):
        seen = []
        x = _to(ns, R(4), True)
        h = x * 3
        h.register_hook(lambda g, seen=seen: seen.append(_np(g).copy()))
        handle = h.register_hook(lambda g: g * 10)
        x.register_hook(lambda g: g + 1)
        (h ** 2).sum().backward()
        first = _np(x.grad).copy()
        handle.remove()
        x.grad = None
        (x * 3).pow(2).sum().backward()
        out.append((np.array(seen), first, _np(x.grad)))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=RTOL)


# ---- graph structure ------------------------------------------------------------------------


@pytest.mark.parametrize("expr,name", [
    (lambda ns, x, w: x * w, "MulBackward0"), (lambda ns, x, w: (x * w).sum(), "SumBackward0"),
    (lambda ns, x, w: x.sum(1), "SumBackward1"), (lambda ns, x, w: x.mm(w.t()), "MmBackward0"),
    (lambda ns, x, w: x.pow(2), "PowBackward0"), (lambda ns, x, w: x ** w, "PowBackward1"),
    (lambda ns, x, w: x + w, "AddBackward0"), (lambda ns, x, w: x - w, "SubBackward0"),
    (lambda ns, x, w: x / w, "DivBackward0"), (lambda ns, x, w: -x, "NegBackward0"),
    (lambda ns, x, w: x.exp(), "ExpBackward0"), (lambda ns, x, w: x.tanh(), "TanhBackward0"),
    (lambda ns, x, w: x.sigmoid(), "SigmoidBackward0"),
    (lambda ns, x, w: x.relu(), "ReluBackward0"), (lambda ns, x, w: x.mean(), "MeanBackward0"),
    (lambda ns, x, w: x.t(), "TBackward0"), (lambda ns, x, w: x.permute(1, 0), "PermuteBackward0"),
    (lambda ns, x, w: x.transpose(0, 1), "TransposeBackward0"),
    (lambda ns, x, w: x.unsqueeze(0), "UnsqueezeBackward0"),
    (lambda ns, x, w: x.view(-1), "ViewBackward0"), (lambda ns, x, w: x[0], "SelectBackward0"),
    (lambda ns, x, w: x[:, 1:], "SliceBackward0"), (lambda ns, x, w: x.clone(), "CloneBackward0"),
    (lambda ns, x, w: ns.cat([x, w]), "CatBackward0"),
    (lambda ns, x, w: ns.stack([x, w]), "StackBackward0"),
    (lambda ns, x, w: ns.where(x > 0, x, w), "WhereBackward0"),
    (lambda ns, x, w: x.abs(), "AbsBackward0"), (lambda ns, x, w: x.sqrt(), "SqrtBackward0"),
    (lambda ns, x, w: x.clamp(0, 1), "ClampBackward1"),
    (lambda ns, x, w: x % 0.7, "RemainderBackward0"),
    (lambda ns, x, w: x % w, "RemainderBackward1"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_grad_fn_names(expr, name):
    for ns in (tt, torch):
        x, w = _to(ns, P(2, 3), True), _to(ns, P(2, 3, seed=1), True)
        y = expr(ns, x, w)
        assert y.grad_fn.name() == name, (ns.__name__, y.grad_fn.name())
        assert type(y.grad_fn).__name__ == name


def test_next_functions_walk_the_graph():
    def walk(fn, depth=0):
        if fn is None:
            return [(depth, None)]
        out = [(depth, type(fn).__name__)]
        for nxt, _ in fn.next_functions:
            out += walk(nxt, depth + 1)
        return out
    graphs = []
    for ns in (tt, torch):
        x = _to(ns, R(2, 3), True)
        w = _to(ns, R(3, 4), True)
        c = _to(ns, R(2, 4), False)
        y = ((x.mm(w) - c) * 2).sum()
        graphs.append(walk(y.grad_fn))
        assert x.grad_fn is None and x.is_leaf and c.is_leaf
    assert graphs[0] == graphs[1]
    assert ("AccumulateGrad" in [n for _, n in graphs[0]])


# ---- in place -------------------------------------------------------------------------------

INPLACE = {
    "add_": lambda ns, x, y: (x * 1).add_(y), "sub_": lambda ns, x, y: (x * 1).sub_(y),
    "mul_": lambda ns, x, y: (x * 1).mul_(y), "div_": lambda ns, x, y: (x * 1).div_(y.abs() + 1),
    "iadd": lambda ns, x, y: _iop(x * 1, y, "__iadd__"),
    "isub": lambda ns, x, y: _iop(x * 1, y, "__isub__"),
    "imul": lambda ns, x, y: _iop(x * 1, y, "__imul__"),
    "idiv": lambda ns, x, y: _iop(x * 1, y.abs() + 1, "__itruediv__"),
    "imod": lambda ns, x, y: _iop(x * 1, y.abs() + 0.5, "__imod__"),
    "clamp_": lambda ns, x, y: (x * y).clamp_(-0.5, 0.5),
    "clamp_min_": lambda ns, x, y: (x * y).clamp_(min=0),
    "zero_": lambda ns, x, y: (x * 1).zero_() + y, "fill_": lambda ns, x, y: (x * 1).fill_(2) * y,
    "setitem_mask": lambda ns, x, y: _setitem(x * y, lambda t: t < 0, 0.0),
    "setitem_slice_tensor": lambda ns, x, y: _setitem(x * 1, lambda t: (slice(None), 1), y[:, 0]),
    "setitem_into_const": lambda ns, x, y: _setitem(ns.zeros(3, 4, dtype=ns.float64),
                                                    lambda t: 1, x[0] * y[1]),
    "view_add_": lambda ns, x, y: _view_inplace(x * 1, y),
}


def _iop(t, other, method):
    return getattr(t, method)(other)


def _setitem(t, index, value):
    t[index(t) if callable(index) else index] = value
    return t * 1


def _view_inplace(t, y):
    t[1:3].mul_(y[0])
    return t


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_operations(name):
    run_both(INPLACE[name], R(3, 4, seed=1), R(3, 4, seed=2))


def test_inplace_versions_and_updates_in_no_grad():
    for ns in (tt, torch):
        w = _to(ns, R(3), True)
        (w * w).sum().backward()
        with ns.no_grad():
            w -= 0.1 * w.grad
            w *= 2
            w += 1
            w /= 3
            w.grad.zero_()
        assert w.is_leaf and w.requires_grad
    a, b = [], []
    for ns, out in ((tt, a), (torch, b)):
        w = _to(ns, R(3), True)
        with ns.no_grad():
            w.sub_(1).mul_(2).add_(3).div_(4).clamp_(0, 1)
        out.append(_np(w))
    np.testing.assert_allclose(a[0], b[0])


def _error_both(f):
    """Run ``f(ns)`` on both; both must raise the same exception type. Returns the messages."""
    messages = []
    for ns in (tt, torch):
        with pytest.raises(Exception) as info:
            f(ns)
        messages.append((type(info.value), str(info.value)))
    assert messages[0][0] is messages[1][0], messages
    return messages[0][1], messages[1][1]


def test_error_inplace_on_leaf():
    mine, ref = _error_both(lambda ns: _to(ns, R(3), True).add_(1))
    assert "a leaf Variable that requires grad is being used in an in-place operation" in mine
    assert "a leaf Variable that requires grad" in ref
    _error_both(lambda ns: _iop(_to(ns, R(3), True), 1, "__imul__"))
    _error_both(lambda ns: _to(ns, R(3), True).__setitem__(0, 1.0))


def test_error_saved_tensor_modified_in_place():
    def f(ns):
        x = _to(ns, R(3), True)
        h = x * 2
        y = h.exp()              # saves its result
        y.add_(1)
        y.sum().backward()
    mine, ref = _error_both(f)
    for m in (mine, ref):
        assert "modified by an inplace operation" in m

    def g(ns):
        x = _to(ns, R(3), True)
        c = _to(ns, R(3), False)
        y = (x * c).sum()        # saves c
        c.mul_(2)
        y.backward()
    mine, ref = _error_both(g)
    assert "modified by an inplace operation" in mine and "is at version 1" in mine


def test_inplace_after_use_that_saves_nothing_is_fine():
    out = []
    for ns in (tt, torch):
        x = _to(ns, R(3), True)
        c = _to(ns, R(3), False)
        y = (x + c).sum()        # add saves nothing
        c.mul_(2)
        y.backward()
        out.append(_np(x.grad))
    np.testing.assert_allclose(out[0], out[1])


def test_error_second_backward_through_freed_graph():
    def f(ns):
        x = _to(ns, R(3), True)
        y = (x * x).sum()
        y.backward()
        y.backward()
    mine, ref = _error_both(f)
    assert "Trying to backward through the graph a second time" in mine
    assert "Trying to backward through the graph a second time" in ref


def test_error_non_scalar_backward_and_wrong_gradient_shape():
    mine, ref = _error_both(lambda ns: (_to(ns, R(3), True) * 2).backward())
    assert mine == ref == "grad can be implicitly created only for scalar outputs"
    mine, ref = _error_both(
        lambda ns: (_to(ns, R(3), True) * 2).backward(_to(ns, R(4), False)))
    assert "Mismatch in shape" in mine and "Mismatch in shape" in ref
    run = []
    for ns in (tt, torch):
        x = _to(ns, R(3), True)
        (x * 2).backward(_to(ns, R(3, seed=5), False))
        run.append(_np(x.grad))
    np.testing.assert_allclose(run[0], run[1])


def test_error_backward_without_grad():
    mine, ref = _error_both(lambda ns: (_to(ns, R(3), False) * 2).sum().backward())
    assert "does not require grad" in mine and "does not require grad" in ref


def test_error_requires_grad_on_integers_and_nonleaf():
    mine, ref = _error_both(lambda ns: ns.tensor([1, 2]).requires_grad_())
    assert "floating point" in mine and "floating point" in ref
    mine, ref = _error_both(lambda ns: setattr(_to(ns, R(2), True) * 2, "requires_grad", False))
    assert "leaf variables" in mine and "leaf variables" in ref


def test_error_numpy_of_tensor_requiring_grad():
    mine, ref = _error_both(lambda ns: _to(ns, R(2), True).numpy())
    assert "detach().numpy()" in mine and "detach().numpy()" in ref


# ---- grad modes -----------------------------------------------------------------------------


def test_no_grad_enable_grad_set_grad_enabled():
    for ns in (tt, torch):
        x = _to(ns, R(3), True)
        with ns.no_grad():
            y = x * 2
            with ns.enable_grad():
                z = x * 2
        assert not y.requires_grad and y.grad_fn is None and z.requires_grad

        @ns.no_grad()
        def f(t):
            return t * 2
        assert not f(x).requires_grad
        with ns.set_grad_enabled(False):
            assert not (x * 2).requires_grad
        assert (x * 2).requires_grad
        ns.set_grad_enabled(False)
        assert not (x * 2).requires_grad
        ns.set_grad_enabled(True)
        assert (x * 2).requires_grad


# ---- custom Functions -----------------------------------------------------------------------


def _functions(ns):
    class MulAdd(ns.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, scale):
            ctx.save_for_backward(x, y)
            ctx.scale = scale
            return x * y * scale + y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            gx = g * y * ctx.scale if ctx.needs_input_grad[0] else None
            gy = g * (x * ctx.scale + 1) if ctx.needs_input_grad[1] else None
            return gx, gy, None

    class TwoOut(ns.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.exp(), x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            (x,) = ctx.saved_tensors
            return ga * x.exp() + gb * 3

    class WrongCount(ns.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    class WrongShape(ns.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return ns.ones(7, dtype=ns.float64)

    class Cube(ns.autograd.Function):     # differentiable backward: double backward works
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    return MulAdd, TwoOut, WrongCount, WrongShape, Cube


def test_custom_function_values_grads_and_ctx():
    out = []
    for ns in (tt, torch):
        MulAdd, TwoOut, _, _, Cube = _functions(ns)
        x, y = _to(ns, R(3, seed=1), True), _to(ns, R(3, seed=2), True)
        z = MulAdd.apply(x, y, 2.5)
        assert z.grad_fn.name() == "MulAddBackward"
        a, b = TwoOut.apply(x)
        (z.sum() + (a * b).sum()).backward()
        c = _to(ns, R(3, seed=3), False)
        w = MulAdd.apply(c, y, 1.0)       # needs_input_grad[0] is False: backward returns None
        w.sum().backward()
        x3 = _to(ns, R(3, seed=4), True)
        (g,) = ns.autograd.grad(Cube.apply(x3).sum(), x3, create_graph=True)
        (h,) = ns.autograd.grad(g.sum(), x3)
        out.append((_np(z), _np(x.grad), _np(y.grad), _np(h)))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=RTOL)


def test_custom_function_errors():
    def wrong_count(ns):
        WrongCount = _functions(ns)[2]
        WrongCount.apply(_to(ns, R(3), True), _to(ns, R(3), True)).sum().backward()
    mine, ref = _error_both(wrong_count)
    assert "returned an incorrect number of gradients (expected 2, got 1)" in mine
    assert "returned an incorrect number of gradients (expected 2, got 1)" in ref

    def wrong_shape(ns):
        WrongShape = _functions(ns)[3]
        WrongShape.apply(_to(ns, R(2, 3), True)).backward()
    mine, ref = _error_both(wrong_shape)
    assert "returned an invalid gradient at index 0" in mine
    assert "returned an invalid gradient at index 0" in ref

    def saved_modified(ns):
        MulAdd = _functions(ns)[0]
        x, y = _to(ns, R(3), True), _to(ns, R(3), False)
        z = MulAdd.apply(x, y, 1.0)
        y.add_(1)
        z.sum().backward()
    mine, ref = _error_both(saved_modified)
    assert "modified by an inplace operation" in mine and "modified by an inplace" in ref


def test_custom_relu_from_the_issue():
    out = []
    for ns in (tt, torch):
        class MyReLU(ns.autograd.Function):
            @staticmethod
            def forward(ctx, input):
                ctx.save_for_backward(input)
                return input.clamp(min=0)

            @staticmethod
            def backward(ctx, grad_output):
                input, = ctx.saved_tensors
                grad_input = grad_output.clone()
                grad_input[input < 0] = 0
                return grad_input
        x = _to(ns, R(4, 5), True)
        w = _to(ns, R(5, 3, seed=1), True)
        y = MyReLU.apply(x.mm(w))
        (y ** 2).sum().backward()
        out.append((_np(y), _np(x.grad), _np(w.grad)))
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=RTOL)


# ---- the namespace --------------------------------------------------------------------------


def test_factories_dtypes_and_attributes():
    for name in ("zeros", "ones", "empty", "randn", "rand"):
        for ns in (tt, torch):
            t = getattr(ns, name)(2, 3)
            assert tuple(t.shape) == (2, 3) and t.dtype == ns.float32
            t = getattr(ns, name)((2, 3), dtype=ns.float64, requires_grad=True,
                                  device=ns.device("cpu"))
            assert t.dtype == ns.float64 and t.requires_grad and t.is_leaf
    for ns in (tt, torch):
        x = ns.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        assert x.dtype == ns.float32 == ns.float and ns.double == ns.float64
        assert ns.tensor([1, 2]).dtype == ns.int64 == ns.long
        assert ns.tensor([True]).dtype == ns.bool
        assert x.size() == (2, 3) and x.size(1) == 3 and x.dim() == 2 and x.ndim == 2
        assert x.numel() == 6 and x.T.shape == (3, 2) and str(x.device) == "cpu"
        assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
        assert x[1, 2].item() == 6.0 and isinstance(x.sum().item(), float)
        assert ns.zeros_like(x).sum().item() == 0 and ns.ones_like(x).sum().item() == 6
        assert ns.arange(5).tolist() == [0, 1, 2, 3, 4] and ns.arange(5).dtype == ns.int64
        assert ns.arange(0.0, 1.0, 0.25).dtype == ns.float32
        assert ns.eye(3).sum().item() == 3.0
        y = ns.tensor([1.0, 2.0], requires_grad=True)
        d = y.detach()
        assert not d.requires_grad and d.grad_fn is None
        c = y.clone()
        assert c.requires_grad and c.grad_fn is not None
        assert y.requires_grad_(False) is y and not y.requires_grad
    for ns in (tt, torch):
        ns.manual_seed(3)
        a = ns.randn(4)
        ns.manual_seed(3)
        assert (ns.randn(4) == a).all() if ns is torch else np.array_equal(ns.randn(4).data,
                                                                          a.data)


def test_cuda_device_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CPU through numpy.*JAX backend"):
        tt.device("cuda")
    with pytest.raises(RuntimeError, match="JAX backend"):
        tt.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="JAX backend"):
        tt.zeros(2).to("cuda:0")
    assert tt.zeros(2, device="cpu").device == "cpu"


# ---- property-based: random broadcasting shapes ---------------------------------------------


@st.composite
def broadcast_pair(draw):
    ndim = draw(st.integers(0, 3))
    shape = draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim))
    a = [s if draw(st.booleans()) else 1 for s in shape]
    b = [s if draw(st.booleans()) else 1 for s in shape]
    a = a[draw(st.integers(0, len(a))):]
    return tuple(a), tuple(b)


@settings(max_examples=40, deadline=None)
@given(shapes=broadcast_pair(), name=st.sampled_from(sorted(BINARY)))
def test_property_broadcasting(shapes, name):
    a, b = shapes
    y = R(*b, seed=2)
    if name in ("div", "div_m", "pow", "mod", "remainder", "remainder_m"):
        y = np.abs(y) + 0.5
    run_both(BINARY[name], R(*a, seed=1), y)


@settings(max_examples=25, deadline=None)
@given(shapes=broadcast_pair())
def test_property_chains(shapes):
    a, b = shapes
    run_both(lambda ns, x, y: ((x * y).tanh() + x.sin() / (y * y + 1)).exp(), R(*a, seed=3),
             R(*b, seed=4))


# ---- the acceptance program -----------------------------------------------------------------

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "two_layer_relu.py"
IMPORT_LINE = "import transgrad.torch as torch"


def _load(source, name):
    module = types.ModuleType(name)
    module.__file__ = str(EXAMPLE)
    exec(compile(source, str(EXAMPLE), "exec"), module.__dict__)  # noqa: S102  (the example)
    return module


def _shared_randn(make):
    """``randn`` drawing the same float32 values on both sides (PyTorch's own stream differs
    from numpy's, so identical initial values have to come from one generator)."""
    rng = np.random.default_rng(0)

    def randn(*size, dtype=None, device=None, requires_grad=False):
        return make(rng.standard_normal(size).astype(np.float32)).requires_grad_(requires_grad)
    return randn


def test_two_layer_example_runs_unchanged_and_matches_pytorch(monkeypatch):
    """The example is a PyTorch program: with ``import torch`` instead of its import line it
    runs on PyTorch. From identical initial values the losses agree to 1e-4 (relative) while
    the loss is far above float32 rounding noise; later (the loss falls from 3e7 to 1e-5) the
    two runs differ by rounding only, as much as PyTorch differs from itself between thread
    counts (measured: 1.6e-2 relative at worst over 500 steps)."""
    source = EXAMPLE.read_text()
    assert source.count(IMPORT_LINE) == 1
    mine = _load(source, "two_layer_relu_transgrad")
    ref = _load(source.replace(IMPORT_LINE, "import torch"), "two_layer_relu_torch")
    assert mine.torch is tt and ref.torch is torch

    monkeypatch.setattr(tt, "randn", _shared_randn(tt.from_numpy))
    losses = np.array(mine.train(steps=500, log_every=0))
    monkeypatch.setattr(torch, "randn", _shared_randn(torch.from_numpy))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)      # OpenMP threads on a busy machine can slow PyTorch 30-fold
    try:
        expected = np.array(ref.train(steps=500, log_every=0))
    finally:
        torch.set_num_threads(threads)

    assert losses.shape == expected.shape == (500,)
    rel = np.abs(losses - expected) / np.abs(expected)
    above_noise = expected > 10.0
    assert above_noise.sum() > 100
    assert rel[above_noise].max() < 1e-4, rel[above_noise].max()
    assert rel.max() < 5e-2, rel.max()
    assert losses[-1] < 1e-3 and expected[-1] < 1e-3


# ---- torch.fft, torch.special, torch.linalg ---------------------------------------------------

def _spd(n):
    a = R(n, n, seed=n)
    return a @ a.T + n * np.eye(n)


SUBMODULES = {
    "fft.rfft_irfft": (lambda ns, x: ns.fft.irfft(ns.fft.rfft(x, dim=0) * 2.0, 3, 0), [R(3, 4)]),
    "fft.fft_ifft": (lambda ns, x: ns.fft.hfft(ns.fft.ifft(ns.fft.fft(x, 6) * 0.5, 6), 7),
                     [R(2, 4)]),
    "fft.hfft_ihfft": (lambda ns, x: ns.fft.hfft(ns.fft.ihfft(x), 5, norm="ortho"), [R(3, 5)]),
    "fft.rfftn_irfftn": (lambda ns, x: ns.fft.irfftn(ns.fft.rfftn(x, norm="forward"), (3, 4),
                                                     norm="forward"), [R(3, 4)]),
    "fft.rfft2_irfft2": (lambda ns, x: ns.fft.irfft2(ns.fft.rfft2(x) * 3.0, s=(3, 4)), [R(3, 4)]),
    "fft.shifts": (lambda ns, x: ns.fft.fftshift(x) * ns.fft.ifftshift(x, dim=1), [R(3, 4)]),
    "special.erf": (lambda ns, x: ns.special.erf(x) + ns.special.erfc(x * 0.5), [R(3, 4)]),
    "special.erfinv": (lambda ns, x: ns.special.erfinv(x * 0.4), [R(3, 4)]),
    "special.expit_logit": (lambda ns, x: ns.special.expit(x) * ns.special.logit(x * 0.2 + 0.5),
                            [R(3, 4)]),
    "special.gamma": (lambda ns, x: ns.special.gammaln(x) + ns.special.digamma(x)
                      + ns.special.psi(x) * 2.0, [P(3, 4)]),
    "special.polygamma": (lambda ns, x: ns.special.polygamma(1, x), [P(3, 4)]),
    "special.bessel": (lambda ns, x: ns.special.i0(x) + ns.special.i0e(x) + ns.special.i1(x)
                       + ns.special.i1e(x), [P(3, 4)]),
    "special.ndtr": (lambda ns, x: ns.special.ndtr(x) + ns.special.log_ndtr(x)
                     + ns.special.ndtri(x * 0.2 + 0.5), [R(3, 4)]),
    "special.xlogy": (lambda ns, x, y: ns.special.xlogy(x, y) + ns.special.xlog1py(x, y),
                      [R(3, 4), P(3, 4)]),
    "special.softmax": (lambda ns, x: ns.special.softmax(x, 1) + ns.special.log_softmax(x, 0),
                        [R(3, 4)]),
    "special.logsumexp": (lambda ns, x: ns.special.logsumexp(x, 1, keepdim=True), [R(3, 4)]),
    "special.misc": (lambda ns, x: ns.special.expm1(x) + ns.special.exp2(x) + ns.special.sinc(x)
                     + ns.special.log1p(x * 0.3), [R(3, 4)]),
    "special.multigammaln": (lambda ns, x: ns.special.multigammaln(x + 2.0, 3), [P(3, 4)]),
    "linalg.inv_det": (lambda ns, a: ns.linalg.inv(a) * ns.linalg.det(a), [_spd(3)]),
    "linalg.slogdet": (lambda ns, a: ns.linalg.slogdet(a)[1], [_spd(3)]),
    "linalg.solve": (lambda ns, a, b: ns.linalg.solve(a, b), [_spd(3), R(3, 2)]),
    "linalg.cholesky": (lambda ns, a: ns.linalg.cholesky(a), [_spd(3)]),
    "linalg.eigh": (lambda ns, a: ns.linalg.eigh(a)[0] + ns.linalg.eigvalsh(a), [_spd(3)]),
    "linalg.svd": (lambda ns, a: ns.linalg.svd(a, full_matrices=False)[1], [R(4, 3)]),
    "linalg.qr": (lambda ns, a: ns.linalg.qr(a)[1], [R(4, 3)]),
    "linalg.pinv": (lambda ns, a: ns.linalg.pinv(a), [R(4, 3)]),
    "linalg.matrix_power": (lambda ns, a: ns.linalg.matrix_power(a, 3), [R(3, 3)]),
    "linalg.multi_dot": (lambda ns, a, b: ns.linalg.multi_dot([a, b, a.T]), [R(2, 3), R(3, 3)]),
    "linalg.norm": (lambda ns, a: ns.linalg.norm(a, 3, 1) + ns.linalg.vector_norm(a, dim=1)
                    + ns.linalg.norm(a, "fro") + ns.linalg.matrix_norm(a, "nuc"), [R(3, 4)]),
    "linalg.cross": (lambda ns, a, b: ns.linalg.cross(a, b), [R(4, 3), R(4, 3)]),
    "linalg.solve_triangular": (lambda ns, a, b: ns.linalg.solve_triangular(a, b, upper=False),
                                [np.tril(_spd(3)), R(3, 2)]),
}


@pytest.mark.parametrize("name", sorted(SUBMODULES))
def test_torch_submodules(name):
    """transgrad.torch.fft / .special / .linalg against torch's, values and gradients."""
    pytest.importorskip("scipy")
    f, arrays = SUBMODULES[name]
    run_both(f, *arrays)


def test_torch_bessel_values():
    """PyTorch has no derivative of bessel_j0/j1 and modified_bessel_i0/i1 (no grad_fn); the
    values agree, and transgrad differentiates them by its scipy rules."""
    pytest.importorskip("scipy")
    run_both(lambda ns, x: ns.special.bessel_j0(x) + ns.special.bessel_j1(x)
             + ns.special.modified_bessel_i0(x) + ns.special.modified_bessel_i1(x),
             P(3, 4), wrt=())
