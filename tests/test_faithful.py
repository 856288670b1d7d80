"""Generated code means what the user's code means (issue 10).

* printing is faithful: a folded negative constant keeps its parentheses (`(-1) ** col`), and
  with ``codegen.CHECK_PRINT`` every printed function is parsed back and compared with the tree
  that was printed, here over the whole corpus in grad (vjp for vector outputs) and jvp;
* a loop over a sequence that the body rebinds iterates the object the name held when the
  loop began, as Python does;
* ufuncs given an output array by position (``np.multiply(y, 3.0, y)``) are refused like
  ``out=``;
* long expressions, multi-line statements, early returns and ``while a and b`` with ``break``.
"""

import ast
import math

import gast
import numpy as np
import pytest

import transgrad as tg
import transgrad.api
from tests import checks
from tests.checks import assert_close, numeric_vjp, random_cotangent
from tests.corpus import CORPUS
from transgrad import codegen


def fd_grad(func, args, i=0):
    return numeric_vjp(func, args, i, 1.0)


def check_all_modes(func, x, value, jax=True):
    """value_and_grad's value is ``value`` (= func(x)); grad, value_and_grad, jvp and (where
    asked) the JAX backend agree with central differences."""
    assert func(x) == pytest.approx(value, abs=1e-12)
    expected = fd_grad(func, (x,))
    v, g = tg.value_and_grad(func)(x)
    assert v == pytest.approx(value, abs=1e-12)
    assert_close(g, expected, "value_and_grad")
    assert_close(tg.grad(func)(x), expected, "grad")
    direction = np.linspace(0.3, -0.7, np.size(x)).reshape(np.shape(x))
    v, d = tg.jvp(func)(x, direction)
    assert v == pytest.approx(value, abs=1e-12)
    assert d == pytest.approx(float(np.sum(expected * direction)), rel=1e-5, abs=1e-6)
    if jax and checks.HAVE_JAX:
        assert_close(np.asarray(tg.grad(func, backend="jax")(x)), expected, "jax")


# ------------------------------------------------------------- 1. printing is faithful

def alternating_sum(x):
    s = 0.0
    for col in range(3):
        sign = (-1) ** col
        s = s + sign * x[col]
    return s


def negative_constants(x):
    a = (-2.0) ** 2 * x[0]          # 4 x0, not -4 x0
    b = -(-3.0) * x[1]              # 3 x1  # noqa: B002
    c = (-1) ** 3 * x[2] ** 2       # -x2^2
    return a + b + c


def _minor(m, col):
    rows = []
    for j in range(3):
        if j != col:
            rows.append(m[1:, j])
    return np.stack(rows, axis=1)


def cofactor_det(m):
    det = 0.0
    for col in range(3):
        sub = _minor(m, col)
        det = det + (-1) ** col * m[0, col] * (sub[0, 0] * sub[1, 1] - sub[0, 1] * sub[1, 0])
    return det


def test_negative_base_of_power_in_a_loop_keeps_its_parentheses():
    x = np.array([1.0, 2.0, 3.0])
    check_all_modes(alternating_sum, x, 2.0)
    assert "(-1) ** col" in tg.grad(alternating_sum).source


def test_folded_negative_constants_in_every_position():
    x = np.array([0.5, -1.5, 2.0])
    check_all_modes(negative_constants, x, 4 * 0.5 + 3 * -1.5 - 4.0)


def test_determinant_by_cofactor_expansion():
    m = np.array([[2.0, -1.0, 0.5], [1.0, 3.0, -2.0], [0.0, 1.5, 1.0]])
    value, grad = tg.value_and_grad(cofactor_det)(m)
    assert value == pytest.approx(np.linalg.det(m), abs=1e-12)
    # d det / d m = det(m) * inv(m).T
    assert_close(grad, np.linalg.det(m) * np.linalg.inv(m).T, "cofactor det")


@pytest.mark.parametrize("value", [-1, -2.5, -0.0, float("-inf"), float("nan"), complex(0, -1),
                                   complex(-1, 2), complex(3, -2), 7, 0.25])
def test_constants_print_as_the_value_they_are(value):
    """Every numeric constant, as the base of `**`, an operand of unary minus and an attribute's
    receiver, prints as source that evaluates to what the tree means (and parses back to it)."""
    def const():
        return gast.Constant(value=value, kind=None)

    def name(n):
        return gast.Name(id=n, ctx=gast.Load(), annotation=None, type_comment=None)

    body = [gast.Return(value=gast.Tuple(elts=[
        gast.BinOp(left=const(), op=gast.Pow(), right=name("p")),
        gast.UnaryOp(op=gast.USub(), operand=const()),
        gast.Attribute(value=const(), attr="real", ctx=gast.Load()),
        gast.BinOp(left=name("p"), op=gast.Pow(), right=const())], ctx=gast.Load()))]
    args = gast.arguments(args=[gast.Name(id="p", ctx=gast.Param(), annotation=None,
                                          type_comment=None)],
                          posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                          kwarg=None, defaults=[])
    fn = gast.FunctionDef(name="g", args=args, body=body, decorator_list=[], returns=None,
                          type_comment=None, type_params=[])
    old, codegen.CHECK_PRINT = codegen.CHECK_PRINT, True
    try:
        source = codegen.to_source(fn, {})
    finally:
        codegen.CHECK_PRINT = old
    scope = {}
    exec(source, scope)  # noqa: S102
    got = scope["g"](3)
    with np.errstate(all="ignore"):
        expected = (value ** 3, -value, value.real, 3 ** value)
    for g, e in zip(got, expected):
        if isinstance(value, complex):
            # (as in Python source, `-1j` is -(1j): its real part is -0.0)
            assert complex(g) == pytest.approx(complex(e))
        elif math.isnan(e):
            assert math.isnan(g)
        else:
            assert g == e and math.copysign(1, g) == math.copysign(1, e)


def test_round_trip_check_catches_an_unfaithful_print():
    tree = ast.Module(body=[ast.Expr(value=ast.BinOp(
        left=ast.Constant(value=-1), op=ast.Pow(), right=ast.Name(id="c", ctx=ast.Load())))],
        type_ignores=[])
    source = ast.unparse(tree)
    assert source == "-1 ** c"
    with pytest.raises(AssertionError, match="does not parse back"):
        codegen.check_printed(tree, source)


def test_a_comment_is_a_statement_printed_as_a_line(monkeypatch):
    """``ir.Comment`` is a real statement: gast's dump, walk and ``ir.clone`` carry it, the
    printer writes ``# text`` at its block's indentation (and the round-trip check ignores
    it), ``optimize`` drops a comment whose code is gone and keeps the others."""
    from transgrad import ir
    from transgrad.passes.optimize import optimize
    monkeypatch.setattr(codegen, "CHECK_PRINT", True)
    fn = gast.parse("def f(x, c):\n    if c:\n        y = x * 2.0\n    else:\n        y = x\n"
                    "    return y\n").body[0]
    fn.body[0].body.insert(0, ir.comment("doubled"))
    fn.body.insert(0, ir.comment("the branch"))
    fn.body.insert(2, ir.comment("nothing follows but the return"))
    assert "Comment(text='doubled')" in gast.dump(fn)
    assert sum(isinstance(n, ir.Comment) for n in gast.walk(fn)) == 3
    assert sum(isinstance(n, ir.Comment) for n in ir.walk(ir.clone(fn))) == 3
    expected = ("def f(x, c):\n    # the branch\n    if c:\n        # doubled\n"
                "        y = x * 2.0\n    else:\n        y = x\n"
                "    # nothing follows but the return\n    return y\n")
    assert codegen.to_source(ir.clone(fn), {}) == expected
    assert codegen.to_source(optimize(fn), {}) == expected.replace(
        "    # nothing follows but the return\n", "")


def test_generated_comments_are_comment_nodes():
    from transgrad import ir

    def f(x):
        y = np.sin(x)
        return np.sum(y * x)
    x = np.ones(3)
    generated, (_, source), _ = tg.grad(f)._for_types(((np.ndarray, 1, "f"),), (x,))
    assert any(isinstance(stmt, ir.Comment) for stmt in generated.exact_tree.body)
    line = f.__code__.co_firstlineno + 2
    assert f"\n    # grad of line {line}: return np.sum(y * x)\n" in source


@pytest.fixture
def check_print(monkeypatch):
    monkeypatch.setattr(codegen, "CHECK_PRINT", True)
    transgrad.api.clear_cache()   # rebuild (and so reprint) everything
    yield
    transgrad.api.clear_cache()


def _tangents(entry, args):
    tangents = tuple(np.ones_like(args[i]) if isinstance(args[i], np.ndarray) else 1.0
                     for i in entry.wrt_indices)
    return tangents[0] if isinstance(entry.wrt, int) else tangents


# corpus functions whose helpers have a reverse rule only (tg.defvjp): no jvp
NO_JVP = {"calls.custom_rule", "calls.custom_rule_uses_answer", "calls.custom_rule_in_loop"}


def test_every_corpus_function_prints_faithfully(check_print):
    """grad (scalar outputs; vjp for the others) and jvp of every corpus function, called, so
    each printed source (rank code and exact-shape variant) is parsed back and compared with
    the tree printed (``codegen.check_printed``)."""
    built = 0
    for entry in CORPUS:
        args = entry.sample()
        if entry.vector_output:
            tg.vjp(entry.func, wrt=entry.wrt)(*args, random_cotangent(entry.func(*args)))
        else:
            tg.grad(entry.func, wrt=entry.wrt)(*args)
        built += 1
        if entry.name not in NO_JVP:
            tg.jvp(entry.func, wrt=entry.wrt)(*args, _tangents(entry, args))
            built += 1
    assert built > 700


# ------------------------------------------------- 13. a loop over a sequence it rebinds

def rebinds_what_it_iterates(x):
    v = x * 1.0
    for item in v:
        v = item * v
    return np.sum(v)


def rebinds_through_enumerate(x):
    v = x * 1.0
    for i, item in enumerate(v):
        v = item * v + i
    return np.sum(v)


def rebinds_through_zip(x):
    v = x * 1.0
    w = x * 2.0
    for a, b in zip(v, w):
        v = a * v + b
        w = w * 0.5
    return np.sum(v * w)


def rebinds_through_reversed(x):
    v = x * 1.0
    for item in reversed(v):
        v = v * item
    return np.sum(v)


def rebinds_its_target(x):
    v = x * 1.0
    s = 0.0
    for v in v:  # noqa: B020 - the point
        s = s * v + v
    return s


def rebinds_a_list(x):
    items = [x[0], x[1], x[2]]
    s = 0.0
    for item in items:
        items = [item * 2.0, item, item]
        s = s + item * items[0]
    return s


def test_loop_over_an_array_the_body_rebinds():
    x = np.array([0.5, -1.0, 2.0])
    check_all_modes(rebinds_what_it_iterates, x, -1.5)


@pytest.mark.parametrize("func", [rebinds_through_enumerate, rebinds_through_zip,
                                  rebinds_through_reversed, rebinds_its_target,
                                  rebinds_a_list])
def test_loop_over_a_rebound_sequence_in_every_form(func):
    x = np.array([0.5, -1.0, 2.0])
    check_all_modes(func, x, func(x), jax=func is not rebinds_a_list)


# ------------------------------------------------------------- 6. positional `out`

def ufunc_out_by_position(x):
    y = x * 2.0
    np.multiply(y, 3.0, y)
    return np.sum(y)


def ufunc_out_by_position_assigned(x):
    y = x * 2.0
    z = np.add(y, 1.0, y)
    return np.sum(z)


def dot_out_by_position(a, b):
    c = np.zeros((2, 2))
    np.dot(a, b, c)
    return np.sum(c)


def reduction_out_by_position(x):
    total = np.zeros(())
    np.sum(x, 0, None, total)
    return total


def _line_of(func, text):
    import inspect
    lines, first = inspect.getsourcelines(func)
    index = next(i for i, line in enumerate(lines) if text in line)
    return first + index, lines[index].index(text)


@pytest.mark.parametrize("func, call, hint", [
    (ufunc_out_by_position, "np.multiply(y, 3.0, y)", "write `y = np.multiply(y, 3.0)`"),
    (ufunc_out_by_position_assigned, "np.add(y, 1.0, y)", "write `y = np.add(y, 1.0)`"),
    (dot_out_by_position, "np.dot(a, b, c)", "write `c = np.dot(a, b)`"),
    (reduction_out_by_position, "np.sum(x, 0, None, total)",
     "write `total = np.sum(x, 0, None)`"),
])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_output_array_by_position_is_refused(func, call, hint, mode):
    args = (np.ones((2, 2)), np.ones((2, 2))) if func is dot_out_by_position else (np.ones(3),)
    build = tg.grad(func) if mode == "grad" else tg.jvp(func)
    call_args = args if mode == "grad" else args + (np.ones_like(args[0]),)
    with pytest.raises(tg.TransformError, match="output array by position") as info:
        build(*call_args)
    line, col = _line_of(func, call)
    assert (info.value.lineno, info.value.col_offset) == (line, col)
    assert hint in info.value.hint


def test_ufunc_without_output_argument_still_works():
    def f(x):
        return np.sum(np.add(x, 1.0) * np.clip(x, 0.0, 1.0)) + np.sum(np.cumsum(x, 0))
    x = np.array([0.2, 0.5, 1.5])
    assert_close(tg.grad(f)(x), fd_grad(f, (x,)), "no out")


# ------------------------------------------- crashes: `while a and b` + break, early returns

def while_and_break(x):
    s = np.sum(x)
    while s < 10.0 and s > 0.0:
        s = s * 2.0
        if s > 5.0:
            break
    return s


def while_and_counter_break(x):
    s = 0.0
    i = 0
    while i < 5 and s < 2.0:
        s = s + np.sum(x) * np.sum(x)
        i = i + 1
        if s > 1.0:
            break
    return s


def while_or_break_in_else(x):
    s = np.sum(x)
    k = 0
    while k < 3 or s < 0.0:
        k = k + 1
        if k > 1:
            s = s * s
            break
        else:
            s = s + 1.0
    return s


@pytest.mark.parametrize("func", [while_and_break, while_and_counter_break,
                                  while_or_break_in_else])
def test_while_with_boolean_test_left_through_break(func):
    x = np.array([0.3, 0.5, 0.7])
    check_all_modes(func, x, func(x), jax=False)


def early_return_in_nested_if(x, a, b):
    if a > 0:  # noqa: SIM102 - the nesting is the point
        if b > 0:
            return np.sum(x)
    x = x * 2.0
    return np.sum(x)


def early_return_then_reassign_twice(x, a, b):
    y = x * 1.5
    if a > 0:
        if b > 0:
            return np.sum(y)
        y = y * 4.0
    y = y * 2.0
    y = np.sin(y)
    return np.sum(y)


def early_return_in_elif(x, a, b):
    if a > 0:
        if b > 0:
            return x[0]
        elif b < 0:
            x = x * 2.0
            return x[1]
    x = -x
    return x[2]


@pytest.mark.parametrize("func", [early_return_in_nested_if, early_return_then_reassign_twice,
                                  early_return_in_elif])
@pytest.mark.parametrize("a, b", [(1, 1), (1, -1), (1, 0), (0, 1)])
def test_early_return_in_nested_if_then_reassignment(func, a, b):
    x = np.array([0.3, -0.5, 0.7])
    value = func(x, a, b)
    expected = fd_grad(func, (x, a, b))
    v, g = tg.value_and_grad(func)(x, a, b)
    assert v == pytest.approx(value, abs=1e-12)
    assert_close(g, expected, "value_and_grad")
    v, d = tg.jvp(func)(x, a, b, np.array([1.0, -2.0, 0.5]))
    assert v == pytest.approx(value, abs=1e-12)
    assert d == pytest.approx(float(expected @ np.array([1.0, -2.0, 0.5])), abs=1e-6)


# ------------------------------------------------------ crashes: a 400-term expression

def _long_sum_function(terms, tmp_path, name):
    """``def long(x): return np.sum(x + x*2 + ... + x*terms)`` in a module file of its own."""
    import importlib.util
    source = ("import numpy as np\n\n\ndef long(x):\n    return np.sum("
              + " + ".join(["x"] + [f"x*{k}" for k in range(2, terms + 1)]) + ")\n")
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.long


def test_a_400_term_expression_builds_in_every_mode(tmp_path):
    import sys
    func = _long_sum_function(400, tmp_path, "long400")
    limit = sys.getrecursionlimit()
    x = np.array([1.0, -2.0, 0.5])
    total = 400 * 401 / 2
    value, grad = tg.value_and_grad(func)(x)
    assert value == pytest.approx(total * np.sum(x))
    assert_close(grad, np.full(3, total), "400 terms")
    assert tg.jvp(func)(x, np.ones(3))[1] == pytest.approx(3 * total)
    assert sys.getrecursionlimit() == limit   # raised only while building


def test_deeper_than_the_limit_is_a_located_error(tmp_path, monkeypatch):
    from transgrad import ir
    func = _long_sum_function(400, tmp_path, "long400_limited")
    monkeypatch.setattr(ir, "RECURSION_LIMIT", 900)   # below the default: left as it is
    with pytest.raises(tg.TransformError, match="nests expressions too deeply") as info:
        tg.grad(func)(np.ones(3))
    assert info.value.lineno == 4 and info.value.filename.endswith("long400_limited.py")
    assert "split" in info.value.hint


# --------------------------------------- errors name the call's own line, not the statement's

def no_rule_on_second_line(x):
    y = np.sum(x) + \
        np.unwrap(x)[0]
    return y


def no_rule_on_third_line(x):
    y = np.sum(
        np.sin(x) *
        np.unwrap(x))
    return y


@pytest.mark.parametrize("func, call, name", [
    (no_rule_on_second_line, "np.unwrap(x)", "np.unwrap"),
    (no_rule_on_third_line, "np.unwrap(x)", "np.unwrap")])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_a_call_without_rule_is_reported_at_its_own_line(func, call, name, mode):
    x = np.ones(3)
    with pytest.raises(tg.TransformError, match=f"rule for `{name}`") as info:
        tg.grad(func)(x) if mode == "grad" else tg.jvp(func)(x, x)
    assert (info.value.lineno, info.value.col_offset) == _line_of(func, call)
    assert call in info.value.source_line


def early_return_then_rebind_parameter(x, w):
    s = np.sum(x)
    if s > 0.0:
        return s
    w = np.stack([x, x * 2.0])
    for i in range(2):
        s = s + np.sum(w * w)
    return s


def bound_in_one_branch_read_in_another(x, c):
    s = np.sum(x)
    if c > 0:
        y = x * 3.0
    s = s * 2.0
    if c > 0:
        s = s + np.sum(y * y)
    return s


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_early_return_then_a_parameter_rebound_in_a_loop(sign):
    """Found by the fuzzer (regressions/grad_crash_dec4a0ca.py): the rebound `w` gets no
    gradient on either path."""
    x, w = sign * np.array([0.5, -0.2, 0.1]), np.ones((2, 3))
    func = early_return_then_rebind_parameter
    value, (gx, gw) = tg.value_and_grad(func, wrt=(0, 1))(x, w)
    assert value == pytest.approx(func(x, w), abs=1e-12)
    assert_close(gx, numeric_vjp(func, (x, w), 0, 1.0), "d/dx")
    assert_close(gw, np.zeros((2, 3)), "d/dw")


@pytest.mark.parametrize("c", [0, 1])
def test_a_variable_bound_in_one_branch_and_read_in_a_later_one(c):
    x = np.array([0.5, -0.2, 0.1])
    func = bound_in_one_branch_read_in_another
    value, grad = tg.value_and_grad(func)(x, c)
    assert value == pytest.approx(func(x, c), abs=1e-12)
    assert_close(grad, fd_grad(func, (x, c)), "grad")


def parameter_rebound_in_a_branch_with_a_loop(x, w):
    s = np.sum(x)
    if s < 0.0:
        w = np.stack([x, x * 2.0])
        for i in range(2):
            s = s + np.sum(w * w)
    return s


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_parameter_rebound_inside_a_branch_gets_no_gradient_from_it(sign):
    """The rebound parameter's adjoint was taken for a name living only in the branch: d/dw
    was the new w's adjoint on one path and unset (UnboundLocalError) on the other."""
    x, w = sign * np.array([0.5, -0.2, 0.1]), np.ones((2, 3))
    func = parameter_rebound_in_a_branch_with_a_loop
    gx, gw = tg.grad(func, wrt=(0, 1))(x, w)
    assert_close(gx, numeric_vjp(func, (x, w), 0, 1.0), "d/dx")
    assert_close(gw, np.zeros((2, 3)), "d/dw")


def constant_then_active_in_loops(x):
    s = 0.0
    for i in range(3):
        q = 2.0
        s = s + x[i] * q
    for i in range(3):
        q = x[i] * 0.5
        s = s + q * x[i]
    return s


def test_reverse_over_reverse_keeps_the_stack_of_adjoints_balanced():
    """optimize dropped `bq = bq + bstack.pop()` when bq was dead after it: the stack of
    adjoints lost an entry per iteration and jacrev(grad) was silently wrong."""
    x = np.array([0.5, -1.0, 2.0])
    assert_close(tg.jacrev(tg.grad(constant_then_active_in_loops))(x), np.eye(3), "jacrev")
    assert_close(tg.hessian(constant_then_active_in_loops)(x), np.eye(3), "hessian")
