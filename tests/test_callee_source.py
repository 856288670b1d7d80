"""``.source`` shows the generated code of the user functions a derivative calls: the halves
of their VJPs (``sq_vjp.fwd``, ``sq_vjp.bwd``) or their JVPs, after the derivative's own
function, each headed by a comment naming the function and its line."""

import builtins
import math
import types

import numpy as np

import transgrad as tg
from transgrad import runtime


def sq(x, w):
    return np.sum(np.tanh(w * x) ** 2)


def twice(x, w):
    return sq(x, w) + sq(2.0 * x, w)


def outer_loss(x, w):
    total = 0.0
    for _ in range(3):
        total = total + twice(x, w)
    return total


def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def cube_sum(x):
    return np.sum(power(x, 3))


def _args():
    rng = np.random.default_rng(0)
    return rng.normal(size=4), rng.normal(size=(3, 4))


def _heading(func, name):
    code = func.__code__
    return (f"# {name}.fwd, {name}.bwd: the VJP halves of {func.__qualname__} "
            f"({code.co_filename}, line {code.co_firstlineno})")


def _run_printed(source, name, args):
    """Run the printed text: each called function's section defines the halves its heading
    names (``# sq_vjp.fwd, sq_vjp.bwd: ...`` or ``# sq_vjp_shapes.bwd: ...``)."""
    main, *sections = source.split("\n\n# ")
    scope = {"__builtins__": builtins, "np": np, "math": math, "tgr": runtime}
    for section in sections:
        heading, text = section.split("\n", 1)
        local = dict(scope)
        exec(compile(text, "<printed>", "exec"), local)   # noqa: S102 (generated here)
        defined = [v for k, v in local.items() if k not in scope]
        halves = [h.strip() for h in heading.split(":")[0].split(",")]
        holder = halves[0].split(".")[0]
        scope[holder] = types.SimpleNamespace(**{
            h.split(".")[1]: f for h, f in zip(halves, defined)})
    exec(compile(main, "<printed>", "exec"), scope)   # noqa: S102
    return scope[name](*args)


def test_the_called_functions_halves_follow_the_derivative():
    """Before a call, the general code calls the pair ``sq_vjp``; the exact-shape code the
    call ran calls copies made for its shapes (``sq_vjp_shapes.fwd``, whose tape's own
    backward half is ``sq_vjp_shapes_.bwd``)."""
    dloss = tg.grad(twice, wrt=(0, 1))
    for holder in ("sq_vjp", "sq_vjp_shapes"):   # the general code, then the exact code
        source = dloss.source
        own, _, rest = source.partition("\n\n# ")
        assert own.startswith("def dtwice(x, w):") and f"{holder}.fwd(" in own
        assert own.rstrip() == dloss.own_source.rstrip()
        assert "def sq_fwd(" in rest and "def sq_bwd(tape, g):" in rest
        compile(source, "<printed>", "exec")
        dloss(*_args())
    assert dloss.last_variant().label == "exact shapes"
    assert source.count(" the VJP's backward half of sq ") == 1   # one copy for both calls


def test_the_printed_text_is_the_code_that_runs():
    dloss = tg.grad(twice, wrt=(0, 1))
    args = _args()
    expected = dloss(*args)
    got = _run_printed(dloss.source, "dtwice", args)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-14)


def test_functions_called_by_called_functions_each_once():
    source = tg.grad(outer_loss, wrt=(0, 1)).source
    assert source.count(_heading(twice, "twice_vjp")) == 1
    assert source.count(_heading(sq, "sq_vjp")) == 1
    assert source.index("def twice_fwd(") < source.index("def sq_fwd(")
    compile(source, "<printed>", "exec")


def test_a_recursive_function_is_shown_once():
    dloss = tg.grad(cube_sum)
    x = np.array([0.5, -1.5])
    np.testing.assert_allclose(dloss(x), 3 * x ** 2)
    source = dloss.source
    assert source.count(_heading(power, "power_vjp")) == 1
    assert "power_vjp.fwd(" in source.split("def power_fwd(")[1]   # it calls itself
    compile(source, "<printed>", "exec")


def test_forward_mode_shows_the_called_functions_jvp():
    djvp = tg.jvp(twice, wrt=0)
    x, w = _args()
    djvp(x, w, np.ones_like(x))
    code = sq.__code__   # the JVP the call ran: made for its shapes (sq_jvp_shapes)
    heading = (f"# sq_jvp_shapes: the JVP of sq ({code.co_filename}, "
               f"line {code.co_firstlineno})")
    assert djvp.source.count(heading) == 1
    compile(djvp.source, "<printed>", "exec")


def test_a_derivative_that_calls_nothing_shows_its_function_only():
    dloss = tg.grad(sq)
    dloss(*_args())
    assert dloss.source == dloss.own_source
    assert "# " not in dloss.source.split("\n", 1)[0]


def test_called_halves_are_made_for_the_shapes_of_their_call():
    """With exact shapes, a called function's backward half knows the shapes of its tape:
    its broadcasting checks are decided, and the gradient is unchanged."""
    dloss = tg.grad(twice, wrt=(0, 1))
    x, w = _args()
    gx, gw = dloss(x, w)
    t1, t2 = np.tanh(w * x), np.tanh(2.0 * w * x)
    b1, b2 = 2 * t1 * (1 - t1 ** 2), 2 * t2 * (1 - t2 ** 2)
    np.testing.assert_allclose(gx, (b1 * w).sum(axis=0) + 2.0 * (b2 * w).sum(axis=0))
    np.testing.assert_allclose(gw, b1 * x + b2 * 2.0 * x)
    assert "sq_vjp_shapes_.bwd(" in dloss.own_source   # the copy for the forward copy's tape
    heading = "# sq_vjp_shapes_.bwd: the VJP's backward half of sq"
    made = dloss.source.split(heading)[1].split("\n\n# ")[0]
    assert "def sq_bwd(tape, g):" in made and "tgr." not in made
    got = _run_printed(dloss.source, "dtwice", (x, w))
    np.testing.assert_allclose(got[1], gw, rtol=1e-14)
