"""The front end's syntax (issue 11) beyond the corpus (tests/corpus/syntax.py): every variant
it cannot differentiate is refused with its file, line, column and a hint, and the code it
writes reads like the loop a person would write."""

import linecache
import textwrap

import numpy as np
import pytest

import transgrad as tg

X = np.array([0.3, -0.5, 0.9])


def error_of(func, *args):
    with pytest.raises(tg.TransformError) as info:
        tg.grad(func)(*args)
    error = info.value
    assert error.filename == __file__ and error.lineno and error.hint, str(error)
    return error


def _two(a, b):
    return a * b


def _defaulted(a, b=1.0):
    return a * b


def _keywords(*, a, b, c=1.0):
    return a * b * c


def star_before_optional(x):
    args = (x,)
    return np.sum(_defaulted(*args, x))


def star_into_unknown(x):
    args = (x,)
    return np.einsum(*("i,i->", x, x)) + np.add.reduce(*args)


def two_unknown_dicts(x, d, e):
    return np.sum(_keywords(**d, **e))


def dict_may_pass_default(x, d):
    return np.sum(_keywords(**d))


def dict_comprehension(x):
    d = {i: x[i] for i in range(2)}
    return d[0]


def set_comprehension(x):
    return len({float(v) for v in x}) * np.sum(x)


def _scale(v):
    return 2.0 * v


def comprehension_variable_named_like_a_global(x):
    ys = [np.sin(_scale) for _scale in x]   # its own _scale, not the function
    return np.sum(np.stack(ys)) + np.sum(_scale(x))


def test_comprehension_variables_are_its_own():
    got = tg.grad(comprehension_variable_named_like_a_global)(X)
    assert np.allclose(got, np.cos(X) + 2.0)


def test_refusals_name_the_line_and_hint():
    error = error_of(star_before_optional, X)
    assert "`b` has a default" in str(error) and "by keyword" in error.hint
    error = error_of(two_unknown_dicts, X, {"a": X}, {"b": X})
    assert "two `**` dicts" in str(error) and "_keywords(**d, **e)" in error.source_line
    error = error_of(dict_may_pass_default, X, {"a": X, "b": X})
    assert "`c`" in str(error) and "default" in str(error)
    error = error_of(dict_comprehension, X)
    assert "dict comprehension" in error.hint and "{i: x[i]" in error.source_line
    error = error_of(set_comprehension, X)
    assert "set comprehension" in error.hint and error.col_offset == 15


def test_star_into_a_function_without_a_known_signature_is_refused():
    error = error_of(star_into_unknown, X)   # a literal splices (einsum); a name cannot
    assert "cannot tell how many arguments" in str(error)
    assert error.col_offset == error.source_line.index("*args")


def test_star_before_other_arguments():
    def f(x):
        args = (x, x * 2.0)
        return np.sum(_keywords(a=x, b=x) + _two(*args[:1], x) + _three(x, *args))
    assert np.allclose(tg.grad(f)(X), 2 * X + 2 * X + 6 * X ** 2)


def _three(a, b, c):
    return a * b * c


def test_star_fills_defaults_by_length():
    def f(x):
        short, long = (x,), (x, 2.0)
        return np.sum(_defaulted(*short) + _defaulted(*long))
    assert np.allclose(tg.grad(f)(X), 3.0)


def test_lambda_without_source_is_refused():
    namespace = {"np": np}
    exec("f = lambda x: np.sum(x * x)", namespace)  # noqa: S102 - a lambda without a file
    with pytest.raises(tg.TransformError) as info:
        tg.grad(namespace["f"])(X)
    assert "source" in str(info.value) and info.value.hint


def test_lambdas_on_one_line_told_apart():
    first, second = (lambda x: np.sum(x ** 2)), (lambda x: np.sum(x ** 3))
    assert np.allclose(tg.grad(first)(X), 2 * X)
    assert np.allclose(tg.grad(second)(X), 3 * X ** 2)
    make = lambda x: (lambda x: np.sum(x * 2.0 * x))   # the same parameter
    assert np.allclose(tg.grad(make(None))(X), 4 * X)


def test_lambda_with_positional_only_and_keyword_only_parameters():
    f = lambda x, /, y, *, k=2.0: np.sum(x * y * k)
    gx, gy = tg.grad(f, wrt=(0, 1))(X, X + 1)
    assert np.allclose(gx, 2 * (X + 1)) and np.allclose(gy, 2 * X)


def test_edited_lambda_file_is_refused(tmp_path):
    """A lambda whose file changed after it was made is refused (the stale-source check)."""
    path = tmp_path / "lam_mod.py"
    path.write_text("import numpy as np\nf = lambda x: np.sum(x * x)\n")
    namespace = {"__name__": "lam_mod", "__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 - a module
    assert np.allclose(tg.grad(namespace["f"])(X), 2 * X)
    path.write_text("import numpy as np\nf = lambda x: np.sum(x * x * x)\n")
    linecache.checkcache(str(path))
    with pytest.raises(tg.TransformError) as info:
        tg.value_and_grad(namespace["f"])(X)   # built now, from the edited file
    assert "not the code that runs" in str(info.value) and "reload" in info.value.hint


def comprehension_source_case(x, n):
    ys = [np.sin(x[i]) * x[i] for i in range(n) if i != 1]
    return np.sum(np.stack(ys))


def test_comprehension_reads_as_a_loop():
    source = tg.grad(comprehension_source_case).source
    expected = textwrap.dedent("""\
        items1 = []
        steps1 = range(n)
        for i in steps1:""")
    assert textwrap.indent(expected, "    ") in source, source
    assert "items1 = tgr.append(items1, " in source
    assert "ys = items1" in source
    got = tg.grad(comprehension_source_case)(X, 3)
    assert np.allclose(got, [np.cos(X[0]) * X[0] + np.sin(X[0]), 0.0,
                             np.cos(X[2]) * X[2] + np.sin(X[2])])
