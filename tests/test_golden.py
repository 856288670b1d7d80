"""Golden tests: the exact generated source for small functions, where the output matters.

These pin the generated code's shape (one primitive per statement, `b<name>` adjoints, one
`# grad of line N` comment per user line, no stack for straight-line code, pushes only for
overwritten values, in-place accumulation in loops). Line numbers are looked up in the fixture.
"""

import inspect
import textwrap

import numpy as np

import transgrad as tg
from tests.fixtures import userfuncs as uf


def line_of(func, text):
    lines, first = inspect.getsourcelines(func)
    return first + next(k for k, line in enumerate(lines) if text in line)


HEAD = """\
def dtwo_layer(w1, w2, x, y):
    t1 = x @ w1
    h = np.maximum(t1, 0.0)
    out = h @ w2
    t2 = out - y
    t3 = t2 ** 2
    t4 = np.sum(t3)
    tgr.check_scalar_output(t4, 'two_layer')
    # grad of line {ret}: return np.sum((out - y) ** 2)
    bt2 = 2.0 * t2
    bout = tgr.unbroadcast_to(bt2, out)
    # grad of line {out}: out = h @ w2
"""

GENERAL = HEAD + """\
    if np.ndim(h) == 2 and np.ndim(w2) == 2:
        bh = bout @ w2.T
        bw2 = h.T @ bout
    else:
        bh = tgr.matmul_vjp_left(bout, h, w2)
        bw2 = tgr.matmul_vjp_right(bout, h, w2)
    # grad of line {h}: h = np.maximum(x @ w1, 0.0)
    tie = 0.5 * (t1 == 0.0)
    bt1 = bh * ((t1 > 0.0) + tie)
    if np.ndim(x) == 2 and np.ndim(w1) == 2:
        bw1 = x.T @ bt1
    else:
        bw1 = tgr.matmul_vjp_right(bt1, x, w1)
    return (tgr.match(bw1, w1), tgr.match(bw2, w2))
"""

MATRICES = HEAD + """\
    bh = bout @ w2.T
    bw2 = h.T @ bout
    # grad of line {h}: h = np.maximum(x @ w1, 0.0)
    tie = 0.5 * (t1 == 0.0)
    bt1 = bh * ((t1 > 0.0) + tie)
    bw1 = x.T @ bt1
    return (tgr.match(bw1, w1), tgr.match(bw2, w2))
"""

EXACT = """\
def dtwo_layer(w1, w2, x, y):
    t1 = x @ w1
    h = np.maximum(t1, 0.0)
    out = h @ w2
    t2 = out - y
    # grad of line {ret}: return np.sum((out - y) ** 2)
    bout = 2.0 * t2
    # grad of line {out}: out = h @ w2
    bh = bout @ w2.T
    bw2 = h.T @ bout
    # grad of line {h}: h = np.maximum(x @ w1, 0.0)
    tie = 0.5 * (t1 == 0.0)
    bt1 = bh * ((t1 > 0.0) + tie)
    bw1 = x.T @ bt1
    return (bw1, bw2)
"""


def test_two_layer_net():
    """Before any call the ranks are unknown and the matrix-product rule keeps its run-time
    choice; called with matrices, the code is built with the one ``@`` per adjoint, and for
    float64 matrices of these exact shapes the broadcasting check, ``tgr.match`` and the check
    that the output is a real scalar (a sum of complex numbers is refused) go too."""
    ret = line_of(uf.two_layer, "return np.sum")
    lines = {"ret": ret, "out": ret - 1, "h": ret - 2}
    dfun = tg.grad(uf.two_layer, wrt=(0, 1))
    assert dfun.source == GENERAL.format(**lines)
    rng = np.random.default_rng(0)
    dfun(*[rng.normal(size=s) for s in [(5, 4), (4, 3), (6, 5), (6, 3)]])
    assert dfun.source == EXACT.format(**lines)
    by_rank = tg.api.build(uf.two_layer, (0, 1), False, "grad",
                           param_ranks=((0, 2), (1, 2), (2, 2), (3, 2)))
    assert by_rank[1] == MATRICES.format(**lines)


def test_scalar_recurrence_called_with_floats():
    line = line_of(uf.recurrence, "x = a * math.sin(x)")
    expected = textwrap.dedent(f"""\
        def drecurrence(a, x):
            stack = []
            t1 = None
            steps1 = range(3)
            for i in steps1:
                stack.append(t1)
                t1 = math.sin(x)
                t2 = a * t1
                t3 = 0.1 * x
                stack.append(x)
                x = t2 + t3
            tgr.check_scalar_output(x, 'recurrence')
            bx = 1.0
            ba = tgr.zeros_like_value(a)
            for i in reversed(steps1):
                # grad of line {line}: x = a * math.sin(x) + 0.1 * x
                bt2 = bx
                x = stack.pop()
                bx = bx * 0.1
                ba += bt2 * t1
                bt1 = bt2 * a
                bx += bt1 * math.cos(x)
                t1 = stack.pop()
            return (tgr.match(ba, a), tgr.match(bx, x))
        """)
    dfun = tg.grad(uf.recurrence, wrt=(0, 1))
    ga, gx = dfun(0.5, 0.3)
    assert isinstance(ga, float) and isinstance(gx, float)
    assert dfun.source == expected
