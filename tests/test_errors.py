"""Bad input gets a clear TransformError naming the file and line, never a wrong derivative."""

import dataclasses

import numpy as np
import pytest

import transgrad as tg
from tests.fixtures import userfuncs as uf


def error_of(func, *args, **options):
    with pytest.raises(tg.TransformError) as info:
        tg.grad(func, **options)(*args)
    return info.value


@pytest.mark.parametrize("func, construct, line_text", [
    (uf.with_try, "try", "try:"),
    (uf.with_yield, "yield", "yield x"),
    (uf.with_attribute_store, "attributes", "obj.value = x"),
    (uf.with_global, "global", "global SCALE"),
    (uf.with_exec, "exec", "exec("),
    (uf.with_add_at, "in place", "np.add.at(y, [0, 1, 1], x)"),
    (uf.with_fill, "in place", "y.fill(1.0)"),
    (uf.with_out, "out=", "np.multiply(x, 2.0, out=y)"),
])
def test_unsupported_syntax_names_the_line(func, construct, line_text):
    error = error_of(func, 1.0, 1.0) if func is uf.with_attribute_store else error_of(func, 1.0)
    assert construct in str(error)
    assert error.filename == uf.__file__
    assert line_text in error.source_line
    assert f"line {error.lineno}" in str(error) and error.hint


def test_call_without_rule_or_source():
    error = error_of(uf.no_rule, np.ones(4))
    assert "no derivative rule" in str(error) and "np.nextafter" in str(error)
    assert "np.nextafter(x, 2.0)" in error.source_line
    assert "defvjp" in error.hint


def test_integer_and_bool_arguments_are_rejected():
    error = error_of(uf.with_int, np.ones(3), 2, wrt=1)
    assert "argument 1 (n)" in str(error) and "int" in str(error)
    assert error.lineno == uf.with_int.__code__.co_firstlineno
    error = error_of(uf.with_int, np.arange(3), 2.0, wrt=0)
    assert "int64" in str(error)
    error = error_of(uf.with_int, True, 2.0, wrt=0)
    assert "bool" in str(error)


def test_wrt_out_of_range():
    error = error_of(uf.with_int, np.ones(3), 2.0, wrt=2)
    assert "out of range" in str(error) and "def with_int" in error.source_line
    with pytest.raises(tg.TransformError, match="wrt must be"):
        tg.grad(uf.with_int, wrt="x")


def test_source_not_readable():
    namespace = {"np": np}
    exec("def f(x):\n    return np.sum(x * x)\n", namespace)  # noqa: S102 - no source file
    error = error_of(namespace["f"], np.ones(2))
    assert "source" in str(error) and "exec" in error.hint


def test_c_function_without_source():
    error = error_of(np.tanh, np.ones(2))
    assert "tanh" in str(error)


def test_augmented_assignment_on_an_aliased_array_is_rejected():
    error = error_of(uf.augmented_alias, np.ones(3), np.ones(3))
    assert "augmented assignment" in str(error) and "w = z" in error.source_line
    assert "x = x + y" in error.hint


def test_augmented_assignment_on_a_fresh_array():
    from tests.checks import assert_close, numeric_vjp
    x, y = np.ones(3), np.arange(3.0)
    assert_close(tg.grad(uf.augmented_fresh)(x, y), numeric_vjp(uf.augmented_fresh, [x, y], 0, 1.0))


@dataclasses.dataclass
class _Scale:
    """A dataclass is not hashable (eq=True): transgrad's tables of callables must not ask
    for its hash."""
    k: float

    def __call__(self, x):
        return self.k * x


_SCALE = _Scale(2.0)


def _through_a_dataclass(x):
    return np.sum(_SCALE(x) * x)


def _past_a_dataclass(x):
    return np.sum(tg.stop_gradient(_SCALE(x)) * x)


@pytest.mark.parametrize("make, want", [
    (lambda f: tg.grad(f), lambda x: 4.0 * x),
    (lambda f: tg.grad(f, backend="jax"), lambda x: 4.0 * x),
    (lambda f: (lambda x: tg.hvp(f)(x, np.ones(3))), lambda x: np.full(3, 4.0)),  # 4 I @ ones
    (lambda f: (lambda x: tg.jvp(f)(x, np.ones(3))), None)])
def test_an_unhashable_callable_object_is_never_a_type_error(make, want):
    """A dataclass instance called as a function (not hashable): it was a bare ``TypeError:
    unhashable type`` from inside a pass in every mode. Reverse mode calls it as its method
    (``_SCALE.__call__(x)``, differentiated from its source); forward mode has no rule for a
    method of a module-level object and says so at the line, also behind
    ``tg.stop_gradient``."""
    x = np.linspace(0.0, 1.0, 3)
    if want is not None:
        np.testing.assert_allclose(make(_through_a_dataclass)(x), want(x))
    else:
        for func in (_through_a_dataclass, _past_a_dataclass):
            with pytest.raises(tg.TransformError, match="_Scale"):
                make(func)(x)
