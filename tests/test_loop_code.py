"""Golden tests of generated loop code (issue 13, "Loop code quality"): what a loop gradient
saves per step, and that the redundant forms stay out. Values are checked against central
differences too.

The tanh RNN ``h = tanh(W_h @ h + W_x @ xs[t]); loss = loss + sum(h ** 2)`` is the issue's
example: backpropagation through time needs one saved value per step (the hidden state), and
the code for exact shapes saves exactly that.
"""

import inspect

import numpy as np

import transgrad as tg
from tests.checks import assert_close, numeric_vjp
from tests.corpus import programs


def rnn_loss(W_h, W_x, xs, h0):
    h = h0
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(W_h @ h + W_x @ xs[t])
        loss = loss + np.sum(h ** 2)
    return loss


def rows_loss(w, xs):
    total = 0.0
    for x in xs:
        total = total + np.sum(np.sin(w * x))
    return total


def squares(x, y):
    d = x - y
    return np.sum(d * d)


def maxima_in_loop(x, n):
    total = 0.0
    for i in range(n):
        total = total + np.max(x * i)
    return total


def rnn_args(steps=6, hidden=4, inputs=3):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((hidden, hidden)) * 0.4, rng.standard_normal((hidden, inputs)),
            rng.standard_normal((steps, inputs)), rng.standard_normal(hidden) * 0.1)


def line_of(func, text):
    lines, first = inspect.getsourcelines(func)
    return first + next(k for k, line in enumerate(lines) if text in line)


def loop_body(source, header):
    """The lines of the first loop whose header line is ``header``."""
    lines = source.splitlines()
    start = next(k for k, line in enumerate(lines) if line.strip() == header)
    indent = len(lines[start]) - len(lines[start].lstrip())
    body = []
    for line in lines[start + 1:]:
        if len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line.strip())
    return body


def check_values(grad, func, args, wrt):
    got = grad(*args)
    got = got if isinstance(wrt, tuple) else (got,)
    for k, i in enumerate(wrt if isinstance(wrt, tuple) else (wrt,)):
        assert_close(got[k], numeric_vjp(func, args, i, 1.0))


EXACT_RNN = """\
def drnn_loss(W_h, W_x, xs, h0):
    stack = []
    h = h0
    t1 = np.shape(xs)
    t2 = t1[0]
    steps1 = range(t2)
    for t in steps1:
        k = t % 64
        if k == 0:
            t5_rows = xs[t:t + 64] @ W_x.T
        t3 = W_h @ h
        t5 = t5_rows[k]
        t6 = t3 + t5
        stack.append(h)
        h = np.tanh(t6)
    bW_h = np.zeros((4, 4))
    bW_x = np.zeros((4, 3))
    bh = np.zeros((4,))
    bt6_rows = []
    h_rows = []
    t4_rows = []
    for t in reversed(steps1):
        t4 = xs[t]
        # grad of line {loss}: loss = loss + np.sum(h ** 2)
        bh += 2.0 * h
        # grad of line {h}: h = np.tanh(W_h @ h + W_x @ xs[t])
        bt6 = bh * (1 - h ** 2)
        h = stack.pop()
        # bW_x += np.outer(bt6, t4): added up per 64 steps
        bt6_rows.append(bt6)
        t4_rows.append(t4)
        # bW_h += np.outer(bt6, h): added up per 64 steps
        h_rows.append(h)
        bh = W_h.T @ bt6
        if len(bt6_rows) >= 64:
            bW_x += np.array(bt6_rows).T @ np.array(t4_rows)
            bW_h += np.array(bt6_rows).T @ np.array(h_rows)
            bt6_rows.clear()
            h_rows.clear()
            t4_rows.clear()
    if bt6_rows:
        bW_x += np.array(bt6_rows).T @ np.array(t4_rows)
        bW_h += np.array(bt6_rows).T @ np.array(h_rows)
    return (bW_h, bW_x)
"""


def test_rnn_saves_one_value_per_step():
    """Called with float64 arrays, the loop saves the hidden state only: the products, the
    square and the loss accumulator were read only for their shapes, which are known now;
    the input row is read again from xs, and nothing is pushed before its first value. The
    input projections are made per chunk of 64 steps, the weights' products added up per
    chunk."""
    grad = tg.grad(rnn_loss, wrt=(0, 1))
    args = rnn_args()
    check_values(grad, rnn_loss, args, (0, 1))
    lines = {"loss": line_of(rnn_loss, "loss = loss +"), "h": line_of(rnn_loss, "h = np.tanh")}
    assert grad.source == EXACT_RNN.format(**lines)
    primal = loop_body(grad.source, "for t in steps1:")
    adjoint = loop_body(grad.source, "for t in reversed(steps1):")
    assert [line for line in primal if line.startswith("stack.append(")] == ["stack.append(h)"]
    assert [line for line in adjoint if "stack.pop()" in line] == ["h = stack.pop()"]


def _exact_source(func, args, wrt):
    grad = tg.grad(func, wrt=wrt)
    check_values(grad, func, args, wrt)
    assert grad.last_variant().label == "exact shapes"
    return grad.source


def test_input_projections_are_made_per_chunk_of_steps():
    """Each step's row of xs projected by a weight the loop never changes: one product per 64
    steps (on the chunk's first step), in a loop run twice from the start as well; where the
    loop writes into xs, each product stays at its step."""
    rng = np.random.default_rng(1)
    gated = _exact_source(programs.rnn_gated_restarts, (
        rng.normal(size=(3, 3)) * 0.4, rng.normal(size=(3, 2)) * 0.5,
        rng.normal(size=(3, 2)) * 0.5, rng.normal(size=(130, 2))), (0, 1, 2))
    primal = loop_body(gated, "for t in steps2:")
    assert primal[:4] == ["k = t % 64", "if k == 0:", "t4_rows = xs[t:t + 64] @ wg.T",
                          "t9_rows = xs[t:t + 64] @ wx.T"]
    assert "t4 = t4_rows[k]" in primal and "t9 = t9_rows[k]" in primal
    fed_back = _exact_source(programs.rnn_inputs_fed_back, (
        rng.normal(size=(3, 2)) * 0.5, rng.normal(size=(67, 2)), rng.normal(size=(2, 3)) * 0.5),
        (0, 1, 2))
    primal = loop_body(fed_back, "for t in steps1:")
    assert "t:t + 64" not in fed_back and "t5 = wx @ t4" in primal


def signed_terms(x, signs):
    total = 0.0
    for i in range(signs.shape[0]):
        term = x[i] * x[i + 1]
        if signs[i] > 0:
            total = total + term
        else:
            total = total - term
    return total


def test_a_branch_that_starts_an_adjoint_in_both_arms_needs_no_zero_start():
    """``bterm`` is first given in each arm of the branch (``bterm = 1.0`` / ``-1.0``), not
    started at 0.0 before it and added to; the primal's branch, whose arms only fed the
    adjoint, is gone (its test is still saved)."""
    args = (np.arange(1.0, 6.0), np.array([1.0, -1.0, 1.0, -1.0]))
    grad = tg.grad(signed_terms)
    check_values(grad, signed_terms, args, 0)
    adjoint = loop_body(grad.source, "for i in reversed(steps1):")
    assert "bterm = 0.0" not in adjoint and adjoint.count("bterm = 1.0") == 1
    assert adjoint.count("bterm = -1.0") == 1
    primal = loop_body(grad.source, "for i in steps1:")
    assert "cond1 = t6 > 0" in primal and not any(line.startswith("if ") for line in primal)


def shifted_products(x, y):
    s = 0.0
    for i in range(3):
        z = np.sin(y) + x * i
        s = s + np.sum(z * x)
    return s


def test_a_value_read_only_for_its_shape_is_neither_computed_nor_saved():
    """``np.sum(z * x)``'s adjoint broadcasts to the product's shape, which exact shapes know
    ((3,)): the product is not computed in the primal loop nor pushed; only z is saved. The
    broadcast of a number is spelled ``np.full`` (1-2 us, ``np.broadcast_to`` 3.5)."""
    args = (np.array([0.5, -1.0, 2.0]), np.array([0.3, 0.1, -0.7]))
    grad = tg.grad(shifted_products, wrt=(0, 1))
    check_values(grad, shifted_products, args, (0, 1))
    primal = loop_body(grad.source, "for i in steps1:")
    assert [line for line in primal if line.startswith("stack.append(")] == ["stack.append(z)"]
    assert not any("* x" in line and "z" in line for line in primal)
    assert "np.full((3,), 1.0)" in grad.source and "np.broadcast_to" not in grad.source


def test_rnn_before_a_call_saves_no_row_and_no_square():
    """The code for ranks only (before a call) still asks for shapes at run time, but the
    input row is recomputed, the square's shape is read from h, and no `x = None` precedes a
    value that is pushed only after its first assignment."""
    source = tg.grad(rnn_loss, wrt=(0, 1)).source
    primal = loop_body(source, "for t in steps1:")
    pushes = [line for line in primal if line.startswith("stack.append(")]
    assert "stack.append(t4)" not in pushes and "stack.append(t7)" not in pushes
    assert "stack.append(loss)" not in pushes
    assert "t4 = xs[t]" in loop_body(source, "for t in reversed(steps1):")
    assert "t4 = None" not in source and "t7 = None" not in source and "t = None" not in source


def test_rows_of_a_sequence_are_read_again_not_saved():
    grad = tg.grad(rows_loss)
    args = (np.array([0.3, -0.7]), np.random.default_rng(1).standard_normal((5, 2)))
    check_values(grad, rows_loss, args, 0)
    source = grad.source
    assert "stack.append(x)" not in source, source   # the row: xs[k1] again
    assert "x = xs[k1]" in loop_body(source, "for k1 in reversed(steps1):")
    assert "stack.append(t1)" in source   # w * x: cos reads it


def test_a_square_written_as_a_product_is_one_term():
    grad = tg.grad(squares)
    args = (np.array([1.0, 2.0, -0.5]), np.array([0.5, 0.25, 1.0]))
    check_values(grad, squares, args, 0)
    body = grad.source.split("# grad of line")[1].split("\n", 1)[1]
    assert body.count("* d") == 1 and "2.0 * d" in body, grad.source


def test_rule_locals_do_not_leak():
    """`full_g, full_ans = (g, ans)` of the max rule, `left`/`right` of the matrix product,
    and `g1 = bx` starts of a loop's adjoint propagate away."""
    grad = tg.grad(maxima_in_loop)
    args = (np.array([0.3, -1.2, 0.8]), 4)
    check_values(grad, maxima_in_loop, args, 0)
    assert "full_g" not in grad.source and "full_ans" not in grad.source, grad.source
    rnn = tg.grad(rnn_loss, wrt=(0, 1))
    rnn(*rnn_args())
    for form in ("left", "right", "g1 = ", "= 0.0", "tgr.unbroadcast_to", "tgr.match"):
        assert form not in rnn.source, (form, rnn.source)


def test_zero_starts_are_the_first_contribution():
    """`bh = 0.0; ...; bh = bh + e` in the adjoint loop becomes `bh = e`."""
    grad = tg.grad(rnn_loss, wrt=(0, 1))
    grad(*rnn_args())
    adjoint = loop_body(grad.source, "for t in reversed(steps1):")
    assert "bh = W_h.T @ bt6" in adjoint
    assert not any(line.endswith("= 0.0") for line in adjoint)


def test_values_with_other_shapes_still_right():
    """A batch of hidden states (h0 a matrix): the rank code's run-time choices still hold."""
    rng = np.random.default_rng(3)
    W_h, W_x, _, _ = rnn_args()
    h0 = rng.standard_normal((4, 2)) * 0.1
    xs3 = rng.standard_normal((5, 3, 2))
    grad = tg.grad(rnn_loss, wrt=(0, 1))
    check_values(grad, rnn_loss, (W_h, W_x, xs3, h0), (0, 1))


def history_loss(w, h0, steps):
    states = [h0]
    for t in range(steps):
        h = np.tanh(w * states[t]) + 0.5 * states[t]
        states.append(h)
    return np.sum(states[-1] ** 2) + np.sum(states[steps // 2])


def history_stacked(w, h0):
    states = [h0]
    for t in range(4):
        states.append(np.sin(w * states[t]))
    return np.stack(states)


def test_an_appended_history_gives_its_cotangent_back_without_a_copy():
    """Undoing ``states.append(h)`` hands ``states`` the view ``g[:-1]`` of the array its
    adjoint owned: ``bstates = 0.0; bstates = bstates + g[:-1]`` copied the whole history
    each step, quadratic in the loop's length (an RNN's list of states)."""
    rng = np.random.default_rng(5)
    w, h0 = rng.standard_normal(3), rng.standard_normal(3)
    grad = tg.grad(history_loss, wrt=(0, 1))
    check_values(grad, history_loss, (w, h0, 6), (0, 1))
    adjoint = loop_body(grad.source, "for t in reversed(steps1):")
    assert "bstates = g1[:-1]" in adjoint, grad.source
    assert "bstates = bstates + g1[:-1]" not in adjoint


def test_an_appended_history_never_writes_into_the_callers_cotangent():
    """The list's cotangent is the caller's array (``np.stack`` of the list returned): the
    adjoint copies it before it updates one in place (then owns the copy and takes views of
    it), never writing into the caller's array, and gives the right values."""
    rng = np.random.default_rng(6)
    w, h0 = rng.standard_normal(3), rng.standard_normal(3)
    cotangent = rng.standard_normal((5, 3))
    kept = cotangent.copy()
    got = tg.vjp(history_stacked, wrt=(0, 1))(w, h0, cotangent)
    np.testing.assert_array_equal(cotangent, kept)
    for k in range(2):
        assert_close(got[k], numeric_vjp(history_stacked, (w, h0), k, kept))
