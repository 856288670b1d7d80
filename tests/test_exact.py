"""Code for exact argument shapes (``passes/exact.py``): what the shapes decide is decided at
build time, and a call with other shapes never runs code made for the first ones."""

import numpy as np
import pytest

import transgrad as tg
from transgrad import api


def bias_loss(x, b):
    return np.sum(np.tanh(x + b) * x)


def bias_grad(x, b):
    t = np.tanh(x + b)
    g = (1 - t ** 2) * x
    return g + t, g


def _unbroadcast(g, shape):
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


SHAPES = [((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((3, 1), (4,)), ((1, 4), (1,)),
          ((2, 3, 4), (4,)), ((2, 3, 4), (3, 1)), ((5,), ()), ((1,), (1,)), ((4,), (4,))]


@pytest.mark.parametrize("x_shape, b_shape", SHAPES)
def test_broadcasting_undone_for_each_exact_shape(x_shape, b_shape):
    rng = np.random.default_rng(0)
    x, b = rng.normal(size=x_shape), rng.normal(size=b_shape)
    gx, gb = tg.grad(bias_loss, wrt=(0, 1))(x, b)
    ex, eb = bias_grad(x, b)
    np.testing.assert_allclose(gx, _unbroadcast(ex, x.shape), rtol=1e-12)
    np.testing.assert_allclose(gb, _unbroadcast(eb, np.shape(b)), rtol=1e-12)
    assert gx.shape == x.shape and np.shape(gb) == np.shape(b)


def test_one_derivative_called_with_ever_new_shapes():
    """Past the first few shapes no more code is made, and every call stays right."""
    dloss = tg.grad(bias_loss, wrt=(0, 1))
    rng = np.random.default_rng(1)
    for n in range(1, 90):
        for b_shape in [(4,), (1, 4), (n, 1)]:
            x, b = rng.normal(size=(n, 4)), rng.normal(size=b_shape)
            gx, gb = dloss(x, b)
            ex, eb = bias_grad(x, b)
            np.testing.assert_allclose(gx, _unbroadcast(ex, x.shape), rtol=1e-12)
            np.testing.assert_allclose(gb, _unbroadcast(eb, b.shape), rtol=1e-12)
    assert dloss._exact_made <= api._EXACT_VARIANTS
    assert len(dloss._by_shapes) <= api._SHAPE_KEYS
    # the first shapes still run their own code
    x, b = rng.normal(size=(1, 4)), rng.normal(size=(4,))
    dloss(x, b)
    assert "tgr.unbroadcast_to" not in dloss.source


def test_exact_code_reads_like_hand_written():
    dloss = tg.grad(bias_loss, wrt=(0, 1))
    dloss(np.ones((3, 4)), np.ones(4))
    assert "tgr.match" not in dloss.source
    assert "bb = bt1.sum(axis=0)" in dloss.source or ".sum(axis=0)" in dloss.source
    assert "tgr." not in dloss.source


def test_stretched_axes_are_summed_where_they_were_stretched():
    """``b`` of shape (3, 1) broadcast against (3, 4): its cotangent sums axis 1 and keeps
    it; with a leading axis added too (b (3, 1) against (2, 3, 4)) the helper stays."""
    rng = np.random.default_rng(13)
    x, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 1))
    dloss = tg.grad(bias_loss, wrt=(0, 1))
    gx, gb = dloss(x, b)
    ex, eb = bias_grad(x, b)
    np.testing.assert_allclose(gx, ex, rtol=1e-12)
    np.testing.assert_allclose(gb, eb.sum(axis=1, keepdims=True), rtol=1e-12)
    assert ".sum(axis=(1,), keepdims=True)" in dloss.source
    assert "tgr.unbroadcast_to(" not in dloss.source
    dloss(rng.normal(size=(2, 3, 4)), b)
    assert "tgr.unbroadcast_to(" in dloss.source


def test_float32_gradients_stay_float32_and_match_stays():
    dloss = tg.grad(bias_loss, wrt=(0, 1))
    x, b = np.ones((3, 4), np.float32), np.ones(4, np.float32)
    gx, gb = dloss(x, b)
    assert gx.dtype == np.float32 and gb.dtype == np.float32
    assert "tgr.match" in dloss.source


def test_mixed_dtypes_match_converts():
    dloss = tg.grad(bias_loss, wrt=(0, 1))
    gx, gb = dloss(np.ones((3, 4)), np.ones(4, np.float32))
    assert gx.dtype == np.float64 and gb.dtype == np.float32


def passthrough(x, w):
    return np.sum(x * w)


def test_an_argument_is_never_returned_as_a_gradient_without_match():
    w = np.arange(3.0)
    w.flags.writeable = False
    dloss = tg.grad(passthrough)
    g = dloss(np.ones(3), w)
    np.testing.assert_array_equal(g, w)
    g[0] = 7.0   # the gradient is the caller's to change
    assert w[0] == 0.0


def masked(x):
    y = x[x > 0]
    return np.sum(y * y) + np.sum(x)


def test_value_dependent_shapes_keep_their_checks():
    dloss = tg.grad(masked)
    for values in ([1.0, -2.0, 3.0], [-1.0, -2.0, 3.0], [1.0, 2.0, 3.0]):
        x = np.array(values)
        np.testing.assert_allclose(dloss(x), 2 * x * (x > 0) + 1)


def scalar_mix(a, x):
    return np.sum(a * np.sin(x) + a ** 2)


def test_python_float_arguments():
    dloss = tg.grad(scalar_mix, wrt=(0, 1))
    x = np.linspace(0.0, 1.0, 5)
    ga, gx = dloss(0.5, x)
    assert isinstance(ga, float)
    np.testing.assert_allclose(ga, np.sum(np.sin(x)) + 2 * 0.5 * 5)
    np.testing.assert_allclose(gx, 0.5 * np.cos(x))


def mean_loss(w, x):
    return np.mean((x @ w - 1.0) ** 2)


def test_sizes_fold_to_numbers_for_exact_shapes():
    dloss = tg.grad(mean_loss)
    rng = np.random.default_rng(2)
    w, x = rng.normal(size=(3, 2)), rng.normal(size=(5, 3))
    g = dloss(w, x)
    np.testing.assert_allclose(g, x.T @ (2 * (x @ w - 1.0) / 10))
    assert "np.size" not in dloss.source
    w2, x2 = rng.normal(size=(3, 2)), rng.normal(size=(7, 3))
    np.testing.assert_allclose(dloss(w2, x2), x2.T @ (2 * (x2 @ w2 - 1.0) / 14))


def test_vjp_and_value_and_grad():
    rng = np.random.default_rng(3)
    x, b = rng.normal(size=(3, 4)), rng.normal(size=4)
    value, (gx, gb) = tg.value_and_grad(bias_loss, wrt=(0, 1))(x, b)
    assert value == pytest.approx(bias_loss(x, b))
    ex, eb = bias_grad(x, b)
    np.testing.assert_allclose(gx, ex)
    np.testing.assert_allclose(gb, eb.sum(axis=0))

    def layer(x, b):
        return np.tanh(x + b)
    ct = rng.normal(size=(3, 4))
    gx, gb = tg.vjp(layer, wrt=(0, 1))(x, b, ct)
    np.testing.assert_allclose(gx, ct * (1 - np.tanh(x + b) ** 2))
    np.testing.assert_allclose(gb, (ct * (1 - np.tanh(x + b) ** 2)).sum(axis=0))


def mlp_loss(w1, b1, w2, b2, x, y):
    h = np.tanh(x @ w1 + b1)
    out = h @ w2 + b2
    return np.mean((out - y) ** 2)


def _mlp_args(rng, batch=6):
    return (rng.normal(size=(3, 5)), rng.normal(size=5), rng.normal(size=(5, 1)),
            rng.normal(size=1), rng.normal(size=(batch, 3)), rng.normal(size=(batch, 1)))


def _rank_code(dloss, args):
    """(the code for the arguments' ranks, its source), as a call with them finds it."""
    types = tuple((np.ndarray, a.ndim, a.dtype.kind) if isinstance(a, np.ndarray) else type(a)
                  for a in args)
    generated, (_, source), _ = dloss._for_types(types, args)
    return generated, source


EXAMPLES = [(bias_loss, (0, 1), lambda rng: (rng.normal(size=(3, 4)), rng.normal(size=4))),
            (mean_loss, 0, lambda rng: (rng.normal(size=(3, 2)), rng.normal(size=(5, 3)))),
            (mlp_loss, (0, 1, 2, 3), _mlp_args),
            (scalar_mix, (0, 1), lambda rng: (0.5, rng.normal(size=7)))]


@pytest.mark.parametrize("func, wrt, make", EXAMPLES, ids=lambda e: getattr(e, "__name__", ""))
def test_the_rewrite_is_a_pass_on_a_copy_of_the_kept_tree(func, wrt, make):
    """``exact_shapes`` returns a rewritten copy, ``optimize`` tidies it, and the kept tree
    (which every later shape starts from) prints as the rank code it was."""
    from transgrad.codegen import to_source
    from transgrad.passes import exact
    from transgrad.passes.optimize import optimize
    args = make(np.random.default_rng(4))
    rank, source = _rank_code(tg.grad(func, wrt=wrt), args)
    tree = rank.exact_tree
    rewritten = exact.exact_shapes(tree, rank.__globals__, args)
    assert rewritten is not None and rewritten is not tree
    assert not any(a is b for a, b in zip(rewritten.body, tree.body) if a is not None)
    made = exact.specialize(rank, source, args)
    assert made[1] == to_source(optimize(rewritten, classes={}), dict(rank.__globals__))
    assert "tgr.unbroadcast_to" not in made[1] and made[1] != source
    assert to_source(tree, dict(rank.__globals__)) == source
    got, expected = made[0](*args), rank(*args)
    if not isinstance(got, tuple):
        got, expected = (got,), (expected,)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12)


def test_shapes_that_decide_nothing_make_no_variant():
    from transgrad.passes import exact
    rng = np.random.default_rng(8)
    x, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 1))
    rank, source = _rank_code(tg.grad(bias_loss, wrt=(0, 1)), (x, b))
    # arguments that are not exactly ndarrays: nothing about their values is certain
    args = (np.ma.masked_array(x), np.ma.masked_array(b))
    assert exact.exact_shapes(rank.exact_tree, rank.__globals__, args) is None
    assert exact.specialize(rank, source, args) is None


def test_mean_of_an_mlp_folds_sizes_merges_copies_and_drops_dead_code():
    dloss = tg.grad(mlp_loss, wrt=(0, 1, 2, 3))
    rng = np.random.default_rng(5)
    args = _mlp_args(rng)
    grads = dloss(*args)
    assert "np.size" not in dloss.source and "tgr." not in dloss.source
    assert "bout = 0.3333333333333333 * t" in dloss.source   # 2 / 6 folded into one factor
    w1, b1, w2, b2, x, y = args
    h = np.tanh(x @ w1 + b1)
    bout = 2 * (h @ w2 + b2 - y) / 6
    bt = bout @ w2.T * (1 - h ** 2)
    for g, e in zip(grads, (x.T @ bt, bt.sum(axis=0), h.T @ bout, bout.sum(axis=0))):
        np.testing.assert_allclose(g, e, rtol=1e-12)


def test_code_built_without_a_tree_runs_as_built():
    dloss = tg.grad(mlp_loss, wrt=(0, 1, 2, 3))
    args = _mlp_args(np.random.default_rng(7), batch=4)
    rank, source = _rank_code(dloss, args)
    rank.__dict__.pop("exact_tree", None)
    rank.__dict__.pop("exact_variants", None)
    grads = dloss(*args)
    assert dloss.source == source and "tgr." in source
    for g, e in zip(grads, rank(*args)):
        np.testing.assert_allclose(g, e, rtol=1e-12)


# --- loops, branches and the generated stack (the interpretation reaches blocks) -----------

def _central(func, args, i, eps=1e-6):
    """Central differences of scalar ``func`` in argument ``i``."""
    x = np.asarray(args[i], dtype=float)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        for sign in (1, -1):
            moved = x.copy()
            moved[index] += sign * eps
            shifted = list(args)
            shifted[i] = moved
            grad[index] += sign * func(*shifted) / (2 * eps)
    return grad


def _check(dloss, func, args, wrt):
    grads = dloss(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for i, g in zip(wrt, grads):
        np.testing.assert_allclose(g, _central(func, args, i), rtol=1e-6, atol=1e-8)
    return grads


def rnn_loss(w_h, w_x, xs, h0):
    h = h0
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(w_h @ h + w_x @ xs[t])
        loss = loss + np.sum(h ** 2)
    return loss


def test_a_loop_body_whose_shapes_stay_is_specialized():
    """The tanh RNN: the carried h keeps its shape, so its body and the adjoint loop's need no
    run-time dispatch (the matrix products' gradients are one formula each), and the weights'
    outer products are deferred: one product of the stacked operands per chunk of steps."""
    rng = np.random.default_rng(3)
    args = (0.3 * rng.normal(size=(5, 5)), 0.3 * rng.normal(size=(5, 2)),
            rng.normal(size=(6, 2)), rng.normal(size=5))
    dloss = tg.grad(rnn_loss, wrt=(0, 1, 3))
    _check(dloss, rnn_loss, args, (0, 1, 3))
    assert dloss.last_variant().label == "exact shapes"
    assert "tgr." not in dloss.source
    code = [line for line in dloss.source.splitlines() if not line.strip().startswith("#")]
    assert not any("np.outer(" in line for line in code)   # only the comments name them
    assert "bw_h += np.array(bt6_rows).T @ np.array(h_rows)" in dloss.source


def widening(x, b):
    y = x
    for _ in range(3):
        y = np.sin(y) + b   # (4,) the first time round, then (3, 4)
    return np.sum(y * y)


def test_a_carried_shape_that_changes_keeps_its_checks():
    rng = np.random.default_rng(4)
    args = (rng.normal(size=4), rng.normal(size=(3, 1)))
    dloss = tg.grad(widening, wrt=(0, 1))
    _check(dloss, widening, args, (0, 1))
    assert dloss.last_variant().label == "exact shapes"
    assert "tgr.unbroadcast_to(" in dloss.source


def same_arms(x, b, flag):
    if flag > 0:
        y = np.tanh(x + b)
    else:
        y = np.sin(x + b)
    return np.sum(y * x)


def other_arms(x, b, flag):
    if flag > 0:
        y = x * b
    else:
        y = x + 1.0
    return np.sum(y * x)


def test_branches_join_their_arms():
    """Arms that agree on a shape decide it after the branch; arms that disagree keep the
    check, and both directions run the one variant correctly."""
    rng = np.random.default_rng(5)
    x, b = rng.normal(size=(3, 4)), rng.normal(size=4)
    dsame = tg.grad(same_arms, wrt=(0, 1))
    for flag in (1.0, -1.0):
        _check(dsame, same_arms, (x, b, flag), (0, 1))
    assert "tgr.unbroadcast_to" not in dsame.source
    dother = tg.grad(other_arms, wrt=(0, 1))
    x, b = rng.normal(size=4), rng.normal(size=(3, 1))
    for flag in (1.0, -1.0, 1.0):
        _check(dother, other_arms, (x, b, flag), (0, 1))
    assert "tgr.unbroadcast_to(" in dother.source


def contract(x, w, tol):
    k = 0
    while k < 4 and np.sum(x * x) > tol:
        x = np.tanh(w @ x)
        k = k + 1
    return np.sum(x ** 2)


def stop_early(x, w, limit):
    for i in range(5):
        if i == limit:
            break
        if i == 1:
            continue
        x = np.sin(x) * w   # (4,) times (3, 4): (3, 4) from then on
    return np.sum(x)


def test_while_loops_breaks_and_continues():
    rng = np.random.default_rng(6)
    x, w = rng.normal(size=4), 0.5 * rng.normal(size=(4, 4))
    dcontract = tg.grad(contract, wrt=(0, 1))
    for tol in (0.0, 0.5, 100.0):   # four steps, fewer, none
        _check(dcontract, contract, (x, w, tol), (0, 1))
    assert "tgr.matmul_vjp" not in dcontract.source
    dstop = tg.grad(stop_early, wrt=(0, 1))
    w = rng.normal(size=(3, 4))
    for limit in (0, 1, 2, 4):
        _check(dstop, stop_early, (x, w, float(limit)), (0, 1))
    assert dstop.last_variant().label == "exact shapes"


def contracted(a, b):
    return np.sum(np.einsum("ij,jk->ik", a, b) ** 2)


def test_a_large_einsum_is_given_its_contraction_path():
    """numpy's einsum runs one C loop unless told how to contract: exact code passes the path
    ``np.einsum_path`` finds for the known shapes (searched once, at the rewrite) where the
    index space has 2048 points or more, and leaves a small einsum as written."""
    rng = np.random.default_rng(5)
    for shapes, planned in ((((40, 30), (30, 20)), True), (((3, 4), (4, 2)), False)):
        a, b = (rng.normal(size=s) for s in shapes)
        dcontracted = tg.grad(contracted, wrt=(0, 1))
        ga, gb = dcontracted(a, b)
        product = a @ b
        np.testing.assert_allclose(ga, 2 * product @ b.T, rtol=1e-12)
        np.testing.assert_allclose(gb, 2 * a.T @ product, rtol=1e-12)
        assert (dcontracted.last_variant().label == "exact shapes") == planned
        assert ("optimize=['einsum_path', (0, 1)]" in dcontracted.source) == planned


def test_einsum_index_points():
    from transgrad.passes.exact_einsum import index_points
    assert index_points("ijk,mik->mij", [(5, 2, 2), (1000, 5, 2)]) == 20000
    assert index_points("...ij,...jk", [(2, 3, 4), (4, 5)]) == 120   # ... counted once
    assert index_points("ii", [(3, 3)]) == 3
    assert index_points("ij,jk", [(2, 3)]) is None                    # an operand missing
    assert index_points("ijk", [(2, 3)]) is None                      # too few axes


def cell(w, h, x):
    return np.tanh(w * h + x)


def layers(w, s, x):
    """A stack of cells, one per row of ``s``: the forward half pushes each cell's tape."""
    s2 = s.copy()
    for i in range(len(s)):
        s2[i] = cell(w[i], s[i], x)
        x = s2[i]
    return x, s2


def stacked_loss(w, s, x):
    y, s2 = layers(w, s, x)
    return np.sum(y ** 2) + np.sum(s2 * s)


def test_a_called_functions_stack_reaches_its_backward_half():
    """``layers``' forward half pushes its cells' tapes on a stack it returns in its tape;
    its backward half, made for that tape, pops them knowing their shapes, so each cell's
    backward half is made for them too and decides its broadcasts."""
    rng = np.random.default_rng(5)
    args = (rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=4))
    dloss = tg.grad(stacked_loss, wrt=(0, 1, 2))
    _check(dloss, stacked_loss, args, (0, 1, 2))
    assert dloss.last_variant().label == "exact shapes"
    assert "cell_vjp_shapes.bwd(" in dloss.source
    heading = "# cell_vjp_shapes.bwd: the VJP's backward half of cell"
    made = dloss.source.split(heading)[1].split("\n\n# ")[0]
    assert "def cell_bwd(tape, g):" in made and "tgr.unbroadcast_to" not in made


def listed_loss(w, xs, h0, _range=None):
    """States kept in a list and read back by index, a range defaulted in the function, and
    builtin ``sum`` over an array's rows (GradBench's lstm has all three)."""
    if _range is None:
        _range = range(xs.shape[0])
    states = [h0]
    total = 0.0
    for t in _range:
        h = np.tanh(w @ states[t] + xs[t])
        states.append(h)
        total += sum(h * h, 2)
    return total


def test_a_list_of_states_and_a_defaulted_range_have_known_shapes():
    rng = np.random.default_rng(6)
    args = (0.3 * rng.normal(size=(4, 4)), rng.normal(size=(5, 4)), rng.normal(size=4))
    dloss = tg.grad(listed_loss, wrt=(0, 1, 2))
    _check(dloss, listed_loss, args, (0, 1, 2))
    assert dloss.last_variant().label == "exact shapes"
    assert "tgr.unbroadcast_to(" not in dloss.source and "matmul_vjp" not in dloss.source


def changed_list_loss(w, xs):
    """A list changed in place (a longer item stored into it) keeps its run-time checks."""
    items = [xs[0], xs[1]]
    items[1] = np.concatenate([xs[1], xs[1]])
    return np.sum(w * items[0]) + np.sum(items[1] ** 2)


def test_a_list_changed_in_place_is_not_assumed_alike():
    rng = np.random.default_rng(7)
    args = (rng.normal(size=3), rng.normal(size=(2, 3)))
    dloss = tg.grad(changed_list_loss, wrt=(0, 1))
    _check(dloss, changed_list_loss, args, (0, 1))


OFFSET = 1   # a module constant the rewrite reads as the int it holds


def _rotate(axis, x):
    return x * np.dot(axis, x) + np.cross(axis, x)


def offset_loss(axis, x, w):
    y = _rotate(axis, x)
    return np.sum(y[OFFSET:OFFSET + 2] * w) + y[OFFSET] ** 2


def test_module_constants_cross_and_dot_have_known_shapes():
    """A module's int constants are the ints they hold (a slice ``y[OFFSET:OFFSET + 2]`` has
    a known shape; rebinding one builds the derivative again), and ``np.cross`` and ``np.dot``
    of 3-vectors have known shapes, so the helper's backward half decides its broadcasts."""
    global OFFSET
    rng = np.random.default_rng(9)
    args = (rng.normal(size=3), rng.normal(size=3), rng.normal(size=2))
    dloss = tg.grad(offset_loss, wrt=(0, 1, 2))
    _check(dloss, offset_loss, args, (0, 1, 2))
    heading = ".bwd: the VJP's backward half of _rotate"   # _rotate_vjp_shapes(_).bwd
    made = dloss.source.split(heading)[1].split("\n\n# ")[0]
    assert "tgr.unbroadcast_to" not in made
    assert "tgr.unbroadcast_to" not in dloss.source.split("\n\n\n")[0]
    try:
        OFFSET = 0
        _check(dloss, offset_loss, args, (0, 1, 2))
    finally:
        OFFSET = 1


def captured_list_loss(x, w):
    """A nested function appends a longer item to a list it captured."""
    items = [x]

    def grow(v):
        items.append(np.concatenate([v, v]))
    grow(x * w)
    return np.sum(items[0] * w) + np.sum(items[-1] ** 2)


def test_a_list_a_nested_function_changes_is_not_assumed_alike():
    rng = np.random.default_rng(10)
    args = (rng.normal(size=3), rng.normal(size=3))
    _check(tg.grad(captured_list_loss, wrt=(0, 1)), captured_list_loss, args, (0, 1))


def _pose_rows(theta, nbones):
    """As GradBench ht's ``to_pose_params``: a matrix sized by an int argument."""
    rows = np.zeros((int(nbones) + 1, 3), dtype=np.float64)
    rows[0, :] = theta[0:3]
    for i in range(nbones):
        rows[i + 1] = rows[i] * np.eye(3)[i % 3] + theta[3:6]
    return rows


def sized_by_an_int_loss(theta, nbones, scale):
    rows = _pose_rows(theta, nbones)
    return np.sum(np.sin(rows) * scale)


def test_int_arguments_that_fix_shapes_are_known_for_their_values():
    """An int argument that fixes a shape (``np.zeros((int(n) + 1, 3))``) is known in code made
    for its value, which hands calls with other values to the code made without it; an int
    that fixes nothing makes no second variant."""
    rng = np.random.default_rng(11)
    theta = rng.normal(size=6)
    dloss = tg.grad(sized_by_an_int_loss)
    for nbones, scale in [(4, 2), (4, 2), (5, 2), (4, 3), (2, 1)]:
        _check(dloss, sized_by_an_int_loss, (theta, nbones, scale), (0,))
    dloss(theta, 4, 2)
    assert dloss.source.startswith("def dsized_by_an_int_loss(theta, nbones, scale):\n"
                                   "    if nbones != 4 or scale != 2:\n"
                                   "        return tgr_other_ints(theta, nbones, scale)\n")
    heading = "# _pose_rows_vjp_shapes.bwd: the VJP's backward half of _pose_rows"
    assert heading in dloss.source
    dscale = tg.grad(lambda x, k: np.sum(x * k))
    _check(dscale, lambda x, k: np.sum(x * k), (theta, 3), (0,))
    assert "tgr_other_ints" not in dscale.source


def gated_cell(gates, cell, w):
    """An LSTM cell's slicing of its gates (GradBench lstm), plus an int-indexed part."""
    h = 3
    forget = 1.0 / (1.0 + np.exp(-gates[0:h]))
    ingate = np.tanh(gates[h:2 * h])
    last = gates[2 * h]
    rest = gates[2 * h + 1:] * w
    return np.sum(cell * forget + ingate ** 2) + last * np.sum(rest)


def gated_cell_read_between(gates, cell, w):
    """The same parts, where the first part's adjoint reads the gates' cotangent's source."""
    first = gates[0:3] * np.sum(gates)
    return np.sum(first * cell) + np.sum(gates[3:] * w)


def test_a_cotangent_assembled_from_slices_is_one_concatenate():
    """The cotangent of an array read by slices that cover it is one ``np.concatenate`` of
    the parts' cotangents (in slice order), not zeros and an update per slice."""
    rng = np.random.default_rng(12)
    args = (rng.normal(size=9), rng.normal(size=3), rng.normal(size=2))
    dcell = tg.grad(gated_cell, wrt=(0, 1, 2))
    _check(dcell, gated_cell, args, (0, 1, 2))
    made = dcell.source
    assert "bgates = np.concatenate((" in made and "tgr.add_at" not in made, made
    assert "bgates[" not in made
    dread = tg.grad(gated_cell_read_between, wrt=(0, 1, 2))
    _check(dread, gated_cell_read_between, (args[0][:5], args[1], args[2]), (0, 1, 2))


def rows_stored_and_summed(x, w):
    """Rows stored into a matrix, and the builtin ``sum`` of a vector's items."""
    y = np.zeros((3, 2))
    for i in range(2):
        y[i] = x * w + y[i + 1]
    return np.sum(y ** 2) + sum(np.sin(x) * 2.0)


def test_stored_parts_and_summed_items_are_written_out():
    """``tgr.stored_part(g, i)`` of a known matrix is ``g[i].copy()``, and the cotangent of a
    builtin ``sum``'s items is ``np.full(shape, g)``."""
    rng = np.random.default_rng(13)
    args = (rng.normal(size=2), rng.normal(size=2))
    d = tg.grad(rows_stored_and_summed, wrt=(0, 1))
    _check(d, rows_stored_and_summed, args, (0, 1))
    assert "tgr.stored_part" not in d.source and "].copy()" in d.source, d.source
    assert "tgr.sum_items_cotangent" not in d.source and "np.full((2,), " in d.source


def scaled_sum(*, a, b, scale=2.0):
    """Keyword-only parameters, as GradBench's gmm writes ``log_wishart_prior``."""
    t = np.sin(a) * b
    return np.sum(t ** 2) * scale


def keyword_loss(x, y):
    return scaled_sum(a=x, b=y) + scaled_sum(b=x, a=y, scale=0.5)


def test_a_function_called_by_keywords_gets_halves_for_the_shapes():
    """Arguments passed by keyword are known to the called function's halves, and so is a
    keyword-only parameter's constant default the call leaves out: both calls' backward
    halves decide every broadcast."""
    rng = np.random.default_rng(8)
    args = (rng.normal(size=5), rng.normal(size=5))
    dloss = tg.grad(keyword_loss, wrt=(0, 1))
    _check(dloss, keyword_loss, args, (0, 1))
    assert dloss.last_variant().label == "exact shapes"
    # a forward half specialized per call (its `np.sum` spelled `t2.sum()`) returns a tape
    # of its own kind: each call's backward half is made for that tape
    sections = dloss.source.split("\n\n# ")[1:]
    halves = [part for part in sections
              if ".bwd: the VJP's backward half of scaled_sum" in part.splitlines()[0]]
    assert len(halves) == 2, dloss.source
    for made in halves:
        assert "tgr.unbroadcast_to" not in made and "tgr.cotangent_of" not in made


def row_norms_loss(x, b):
    """``np.sum(..., 1)``: the axis by position, as GradBench's gmm and kmeans write it."""
    return np.sum(np.sqrt(np.sum((x * b) ** 2, 1) + 1.0))


def test_a_reduction_axis_given_by_position_has_known_shapes():
    rng = np.random.default_rng(9)
    args = (rng.normal(size=(3, 4)), rng.normal(size=4))
    dloss = tg.grad(row_norms_loss, wrt=(0, 1))
    _check(dloss, row_norms_loss, args, (0, 1))
    assert dloss.last_variant().label == "exact shapes"
    assert "tgr.expand_reduced" not in dloss.source and "tgr.match" not in dloss.source


def row_times_column_loss(a, b, x):
    """``np.matmul`` is a ufunc, but not an elementwise one: a (1, 3) row times a (3, 1)
    column is (1, 1), where broadcasting their shapes would say (3, 3)."""
    t = np.matmul(a, b)
    return np.sum(np.sin(t * x))


@pytest.mark.parametrize("shapes", [((1, 3), (3, 1), (3, 3)), ((2, 3), (3, 4), (2, 4)),
                                    ((3, 1), (1, 3), (3, 3))])
def test_np_matmul_has_the_shape_of_a_matrix_product(shapes):
    """Found while reading kmeans' forward-mode code: the rewrite took ``np.matmul`` for an
    elementwise ufunc, so a row times a column crashed in its exact-shape code."""
    rng = np.random.default_rng(10)
    args = tuple(rng.normal(size=s) for s in shapes)
    dloss = tg.grad(row_times_column_loss, wrt=(0, 1, 2))
    _check(dloss, row_times_column_loss, args, (0, 1, 2))
    assert dloss.last_variant().label == "exact shapes"


def nearest_cost(points, centers):
    """GradBench kmeans' ``costfun``: each point's squared distance to its nearest center."""
    dists = np.sum(points ** 2, 1)[None, :] + np.sum(centers ** 2, 1)[:, None] \
        - 2 * np.matmul(points, centers.T).T
    return np.sum(np.min(dists, axis=0))


def make_nearest_loss(points):
    """A closure over data, as GradBench's kmeans is differentiated:
    ``tg.grad(lambda cs: costfun(points, cs))``."""
    def loss(centers):
        return nearest_cost(points, centers)
    return loss


def test_a_closure_array_is_known_and_guarded():
    """The float64 array a closure reads has a known shape in the exact code (so the
    minimum's adjoint and the rank tests are decided), and that code checks it at each call:
    reshaped in place, the array gets the general code."""
    rng = np.random.default_rng(11)
    points, centers = rng.normal(size=(12, 2)), rng.normal(size=(3, 2))
    loss = make_nearest_loss(points)
    dloss = tg.grad(loss)
    _check(dloss, loss, (centers,), (0,))
    assert dloss.last_variant().label == "exact shapes"
    assert "points.shape != (12, 2)" in dloss.last_variant().code[1]
    made = dloss.source.split("for these shapes")[1]
    assert "np.ndim" not in made and "tgr.expand_reduced" not in made


def make_scaled_loss(w):
    def loss(c):
        return np.sum(np.sin(w * c) ** 2)
    return loss


def test_a_closure_array_reshaped_in_place_gets_the_general_code():
    """The exact code sums ``w * c``'s cotangent over w's one axis for the scalar c; with w
    reshaped in place (the same object, so the build stays) it would sum over one of two:
    its guard hands the call to the general code."""
    w, c = np.linspace(0.1, 1.2, 6), np.array(0.7)
    loss = make_scaled_loss(w)
    dloss = tg.grad(loss)
    _check(dloss, loss, (c,), (0,))
    assert "w.shape != (6,)" in dloss.last_variant().code[1]
    w.shape = (2, 3)
    got = dloss(c)
    assert np.shape(got) == ()
    np.testing.assert_allclose(got, _central(loss, (c,), 0), rtol=1e-6)


def _checked_nearest_hvp(seed):
    """``tg.jvp(tg.grad(loss))`` of a closure over data (GradBench kmeans' ``dir``), called
    once and checked: the gradient against ``tg.grad``, the Hessian-vector product against
    central differences of the gradient."""
    rng = np.random.default_rng(seed)
    points, centers = rng.normal(size=(12, 2)), rng.normal(size=(3, 2))
    loss = make_nearest_loss(points)
    hvp = tg.jvp(tg.grad(loss))
    ones = np.ones_like(centers)
    grad, hes = hvp(centers, ones)
    eps = 1e-6
    want = (tg.grad(loss)(centers + eps * ones) - tg.grad(loss)(centers - eps * ones)) / (2 * eps)
    np.testing.assert_allclose(grad, tg.grad(loss)(centers), rtol=1e-12)
    np.testing.assert_allclose(hes, want, rtol=1e-5, atol=1e-7)
    return hvp


def test_forward_over_reverse_has_exact_halves():
    """``tg.jvp(tg.grad(f))`` (GradBench kmeans' ``dir``): the JVPs of the called function's
    halves are rewritten for the call's shapes like the halves themselves."""
    hvp = _checked_nearest_hvp(12)
    assert hvp.last_variant().label == "exact shapes"
    assert "_jvp_shapes(" in hvp.source


def test_rank_tests_bound_to_names_are_decided():
    """The rank code binds a test before branching on it (``t13 = t14 == 2``, then ``if
    cond1:``); with the shapes known the name holds a known bool and the branch is decided
    like one written inline: no rank test is left in the exact code, in forward mode
    either."""
    hvp = _checked_nearest_hvp(14)
    assert "np.ndim(" not in hvp.source
    assert "tgr.unbroadcast_to(" not in hvp.source


def test_known_shapes_start_cotangents_with_np_zeros_of_the_shape():
    """``np.zeros((4, 3))`` rather than ``np.zeros_like(w)`` (0.3 us against 2 us: a
    called function's backward half starts one per call)."""
    def loss(w, x):
        total = 0.0
        for i in range(x.shape[0]):
            total = total + np.sum(np.tanh(w @ x[i]) * w[:, 0])
        return total
    rng = np.random.default_rng(15)
    w, x = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    dloss = tg.grad(loss)
    eps = 1e-6
    want = np.zeros_like(w)
    for k in np.ndindex(w.shape):
        step = np.zeros_like(w)
        step[k] = eps
        want[k] = (loss(w + step, x) - loss(w - step, x)) / (2 * eps)
    np.testing.assert_allclose(dloss(w, x), want, rtol=1e-6, atol=1e-8)
    assert "np.zeros((4, 3))" in dloss.source
    assert "zeros_like" not in dloss.source
