"""Name hygiene (issue 10 #14): a user's variable named like a name generated code relies on
never collides with it. Generated names (the runtime alias ``tgr``, ``np``, the stack,
temporaries, adjoints, tangents, saved control values, the builtins the adjoint loop calls)
avoid the user's; a user's local variable named like a module generated code reads is renamed
(``tgr`` -> ``tgr_1``), a builtin a local variable shadows is printed under another name.

Each group of names goes through one function that assigns them inside a loop, a branch, a
while loop and a loop over an array, beside a ``zip`` (``len``, ``min``), as locals of a user
helper it calls and as parameters of a nested function; values and derivatives in
value_and_grad, jvp, hvp and the JAX backend are checked against central differences.
"""

import linecache

import numpy as np
import pytest

import transgrad as tg
from tests import checks
from tests.checks import assert_close, numeric_vjp

# names generated code uses: modules, builtins, the stack, temporaries, saved control values,
# adjoints and tangents, the names of split halves and forward-mode parameters
CLASHING = ["tgr", "np", "math", "jnp", "jax", "range", "len", "min", "reversed", "stack",
            "t", "t1", "t2", "bx", "bs", "dx", "ds", "g1", "cond1", "steps1", "trips1", "k1",
            "n1", "seq1", "result", "result1", "returned", "bstack", "tangent", "g", "x_1",
            "s_1", "btgr", "dtgr", "tgr_1", "full", "tape", "b_parts1"]
ON_JAX = ["tgr", "np", "jnp", "jax", "len", "min", "range", "reversed", "stack", "t1",
          "bx", "trips1"]

TEMPLATE = """
import numpy as numpy_
import math as math_


def helper(u, w):
    NAME = u * w
    for i in numpy_.arange(2):
        NAME = NAME + numpy_.sin(u) * 0.5
    return SUM


def f(x):
    s = 0.0
    NAME = 0.0
    for i in numpy_.arange(3):
        NAME = 2.0 + i
        if x[i] > 0:
            s = s + numpy_.sum(x * x) * NAME
        else:
            s = s + numpy_.sin(x[i]) * NAME + math_.cos(0.5)
    for item in x:
        NAME = item * 0.5
        s = s + NAME * item
    for a, b in zip(x, x[::-1]):
        s = s + a * b
    j = 0
    while j < 2 and s < 1e6:
        NAME = s * 0.01
        s = s + NAME
        j = j + 1

    def inner(PARAMS):
        return PRODUCT
    s = s + inner(ARGS) + numpy_.sum(helper(x, 1.5))
    return s
"""


def _source(names):
    """The template for ``names``: each line that assigns NAME once per name."""
    lines = []
    for line in TEMPLATE.splitlines():
        if "NAME" in line:
            lines.extend(line.replace("NAME", name) for name in names)
        else:
            lines.append(line.replace("SUM", " + ".join(names))
                         .replace("PARAMS", ", ".join(names))
                         .replace("PRODUCT", " + ".join(f"{n} * {n}" for n in names))
                         .replace("ARGS", ", ".join("x[0]" for _ in names)))
    return "\n".join(lines) + "\n"


def _make(names, tmp_path, label):
    """The template's ``f`` for ``names``, as a module with a file (transgrad reads source)."""
    source = _source(names)
    path = tmp_path / f"hygiene_{label}.py"
    path.write_text(source)
    namespace = {"__name__": f"hygiene_{label}"}
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102
    linecache.checkcache(str(path))
    return namespace["f"]


X = np.array([0.5, -1.0, 2.0])
V = np.array([0.3, 0.2, -0.1])


GROUPS = [CLASHING[i::5] for i in range(5)]   # about eight names a function


@pytest.mark.parametrize("names", GROUPS, ids=lambda names: "-".join(names))
def test_user_variables_named_like_generated_code(names, tmp_path):
    f = _make(names, tmp_path, "_".join(names))
    expected = numeric_vjp(f, (X,), 0, 1.0)
    value, grad = tg.value_and_grad(f)(X)
    assert value == pytest.approx(f(X), rel=1e-12)
    assert_close(grad, expected, "grad")
    value, tangent = tg.jvp(f)(X, V)
    assert value == pytest.approx(f(X), rel=1e-12)
    assert tangent == pytest.approx(float(expected @ V), rel=1e-6)
    eps = 1e-5
    hessian_v = (tg.grad(f)(X + eps * V) - tg.grad(f)(X - eps * V)) / (2 * eps)
    assert_close(tg.hvp(f)(X, V), hessian_v, "hvp", rtol=1e-5, atol=1e-4)


@pytest.mark.skipif(not checks.HAVE_JAX, reason="jax not installed")
def test_user_variables_named_like_generated_code_on_jax(tmp_path):
    f = _make(ON_JAX, tmp_path, "jax")
    assert_close(np.asarray(tg.grad(f, backend="jax")(X)), numeric_vjp(f, (X,), 0, 1.0), "jax")


def test_the_reported_case_tgr_in_a_loop():
    def f(x):
        s = 0.0
        for i in range(2):
            tgr = 1.0 + i
            s = s + np.sum(x * x) * tgr
        return s
    x = np.array([0.5, -1.0, 2.0])
    assert_close(tg.grad(f)(x), 6.0 * x, "grad")
    assert tg.jvp(f)(x, np.ones(3))[1] == pytest.approx(6.0 * np.sum(x))
    source = tg.grad(f).source
    assert "tgr_1 = " in source and "tgr.check_scalar_output" in source


def builtin_parameter(x, len, min):
    s = 0.0
    for a, b in zip(x, x):
        s = s + a * b * len + min
    return s


def test_parameters_named_like_builtins_generated_code_calls():
    """``len`` and ``min`` as parameters: the generated loop calls them under other names."""
    args = (X, 2.0, 0.5)
    assert_close(tg.grad(builtin_parameter)(*args), numeric_vjp(builtin_parameter, args, 0, 1.0),
                 "builtins as parameters")


def module_parameter(x, tgr):
    return np.sum(x * tgr)


def test_a_parameter_named_like_a_module_is_refused():
    with pytest.raises(tg.TransformError, match="parameter named `tgr`") as info:
        tg.grad(module_parameter)(X, 2.0)
    assert info.value.lineno == module_parameter.__code__.co_firstlineno
    assert "rename the parameter `tgr`" in info.value.hint


def module_name_bound_in_both_branches(x, c):
    if c > 0:
        tgr = x * 2.0
    else:
        tgr = x * 3.0
    np_ = np.sum(tgr * tgr)
    return np_


@pytest.mark.parametrize("c", [0, 1])
def test_a_module_name_bound_in_both_branches_keeps_one_name(c):
    x = np.array([0.5, -0.2, 0.1])
    func = module_name_bound_in_both_branches
    assert_close(tg.grad(func)(x, c), numeric_vjp(func, (x, c), 0, 1.0), "grad")
    assert tg.jvp(func)(x, c, np.ones(3))[0] == pytest.approx(func(x, c))


PARAMETER_SOURCE = '''
import numpy as np


def f(x, NAME):
    s = 0.0
    for i in range(2):
        s = s + np.sum(x * x) * NAME
    return s
'''


@pytest.mark.parametrize("name", ["tangent", "g", "stack", "bx", "dx", "t1", "steps1"])
def test_parameters_named_like_generated_code(name, tmp_path):
    """Parameters keep their names (keyword calls): the generated ones avoid them."""
    source = PARAMETER_SOURCE.replace("NAME", name)
    path = tmp_path / f"parameter_{name}.py"
    path.write_text(source)
    namespace = {}
    exec(compile(source, str(path), "exec"), namespace)  # noqa: S102
    f = namespace["f"]
    args = (X, 1.5)
    expected = numeric_vjp(f, args, 0, 1.0)
    assert_close(tg.grad(f)(*args), expected, "grad")
    assert_close(tg.grad(f, wrt=1)(*args), numeric_vjp(f, args, 1, 1.0), "grad wrt 1")
    assert_close(tg.vjp(f)(*args, 2.0), 2.0 * expected, "vjp")
    assert tg.jvp(f)(*args, V)[1] == pytest.approx(float(expected @ V))
    assert_close(tg.hvp(f)(*args, V), 2 * 2 * 1.5 * V, "hvp")


def keyword_prefixed(x):
    el = x * 2.0      # its tangent is not `del`, its adjoint not `bel`-clashing anything
    ef = np.sin(el)   # nor `def`
    reak = ef * ef    # nor is an adjoint named `break`
    return np.sum(reak)


def test_generated_names_are_never_keywords():
    """The tangent of ``el`` would be ``del``, of ``ef`` ``def``: keywords are never free."""
    x = np.array([0.5, -1.0, 2.0])
    direction = np.array([1.0, 0.5, -0.25])
    expected = numeric_vjp(keyword_prefixed, (x,), 0, 1.0)
    assert_close(tg.grad(keyword_prefixed)(x), expected, "grad")
    assert_close(tg.jvp(keyword_prefixed)(x, direction)[1], expected @ direction, "jvp")
    assert "del_1" in tg.jvp(keyword_prefixed).source
