"""The pipeline's lists are what builds run, and the layers import only downwards."""

import ast
import pathlib
import types

import numpy as np

import transgrad as tg
from tests.checks import assert_close
from transgrad import pipeline

ROOT = pathlib.Path(tg.__file__).parent


def square_sum(x):
    return np.sum(x * x)


def helper(v):
    return np.sin(v) * 2.0


def calls_helper(x):
    return np.sum(helper(x))


def fresh(func):
    """A new function object with the same code, with nothing cached (a function made again
    from the same code finds the builds of the last one that read the same objects)."""
    pipeline.clear_cache()
    return types.FunctionType(func.__code__, func.__globals__, func.__name__)


def scaled_loss_maker(data, scale):
    return lambda w, power=2: np.sum((w * data) ** power) * scale


def test_a_function_made_again_from_the_same_code_finds_its_build(monkeypatch):
    """A lambda made at each call of the code that differentiates it is built once while it
    reads the same objects; other objects (a cell, a default) are another build."""
    builds = []
    monkeypatch.setattr(pipeline, "FRONT_END", pipeline.FRONT_END + [builds.append])
    data, w = np.arange(1.0, 4.0), np.array([0.5, -1.0, 2.0])
    scale = 2.0
    for _ in range(3):
        assert_close(tg.grad(scaled_loss_maker(data, scale))(w), 2 * scale * w * data ** 2,
                     "the same objects")
    assert len(builds) == 1
    assert_close(tg.grad(scaled_loss_maker(data, 3.0))(w), 6.0 * w * data ** 2, "a new scale")
    assert len(builds) == 2
    other = data + 1.0
    assert_close(tg.grad(scaled_loss_maker(other, scale))(w), 4.0 * w * other ** 2, "new data")
    assert len(builds) == 3
    made = scaled_loss_maker(data, scale)
    made.__defaults__ = (4,)   # another default: what the lambda reads differs
    assert_close(tg.grad(made)(w), scale * 4 * w ** 3 * data ** 4, "another default")
    assert len(builds) == 4
    # a derivative of a derivative made again: kept with the inner derivative's code
    builds.clear()
    for _ in range(3):
        _, hv = tg.jvp(tg.grad(scaled_loss_maker(data, scale)))(w, np.ones(3))
        assert_close(hv, 2 * scale * data ** 2, "forward over reverse")
    assert len(builds) == 1


def test_a_stage_added_to_a_list_is_run(monkeypatch):
    seen = []

    def spy(job):
        seen.append((job.mode, len(job.functions), job.context.backend))

    monkeypatch.setitem(pipeline.MODE_PASSES, "reverse",
                        pipeline.MODE_PASSES["reverse"] + [spy])
    fn, _ = pipeline.build(fresh(square_sum), (0,), True, "grad")
    assert seen == [("grad", 1, "numpy")]
    x = np.arange(3.0)
    assert_close(fn(x), 2 * x, "the gradient still runs")


def test_a_front_end_stage_sees_the_normalized_tree(monkeypatch):
    statements = []

    def spy(job):
        statements.append(len(job.tree.body))

    monkeypatch.setattr(pipeline, "FRONT_END", pipeline.FRONT_END + [spy])
    pipeline.build(fresh(square_sum), (0,), True, "grad")
    assert statements and statements[0] >= 2   # x * x, then np.sum: one op per statement


def test_a_stage_taken_out_is_not_run(monkeypatch):
    full = pipeline.build(fresh(square_sum), (0,), True, "grad")[1]
    passes = [p for p in pipeline.MODE_PASSES["reverse"] if p is not pipeline.optimize]
    monkeypatch.setitem(pipeline.MODE_PASSES, "reverse", passes)
    unoptimized = pipeline.build(fresh(square_sum), (0,), True, "grad")[1]
    assert len(unoptimized.splitlines()) > len(full.splitlines())


def test_the_call_time_stage_is_the_list(monkeypatch):
    x = np.arange(3.0)
    dsum = tg.grad(fresh(square_sum))
    assert_close(dsum(x), 2 * x, "exact shapes")
    exact = dsum.last_variant()
    assert exact.shapes is not None and exact.label == "exact shapes"
    monkeypatch.setitem(pipeline.CALL_TIME, "numpy", [])
    dsum = tg.grad(fresh(square_sum))
    assert_close(dsum(x), 2 * x, "no call-time stage")
    assert dsum.last_variant().shapes is None
    assert {v.label for v in dsum.variants()} == {"argument kinds"}


def test_passes_build_callees_through_the_context(monkeypatch):
    asked = []

    def take_over(job):   # after normalize, before the mode passes: wrap the context's
        build_callee = job.context.callee_vjp

        def callee_vjp(func, wrt):
            asked.append((func.__name__, wrt))
            return build_callee(func, wrt)
        job.context.callee_vjp = callee_vjp

    monkeypatch.setattr(pipeline, "FRONT_END", pipeline.FRONT_END + [take_over])
    fn, _ = pipeline.build(fresh(calls_helper), (0,), True, "grad")
    assert asked == [("helper", (0,))]
    x = np.linspace(-1.0, 1.0, 4)
    assert_close(fn(x), 2.0 * np.cos(x), "through the callee's pair")


def test_variants_list_the_generated_code():
    dsum = tg.grad(fresh(square_sum))
    assert dsum.variants() == [] and dsum.last_variant() is None
    source = dsum.source
    general, = dsum.variants()
    assert general.label == "general" and general.source == source
    dsum(2.0)
    assert dsum.last_variant().kinds[0] == (True,)   # a Python number


# --- layers: a pass, a backend, the printer and the parser never import the driver -----------

LOWER = ["passes", "backends", "rules", "codegen.py", "parse.py", "template.py", "ir.py",
         "naming.py", "runtime.py"]
DRIVER = {"transgrad.api", "transgrad.pipeline", "transgrad.derivative", "transgrad.higher",
          "transgrad.build_cache", "transgrad.view"}


def _imported(source, where):
    """Every module ``source`` imports, at any depth (function-level imports count), read as
    the module at ``where`` (a path relative to transgrad/, for relative imports)."""
    package = ["transgrad"] + list(pathlib.PurePath(where).parent.parts)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def test_lower_layers_never_import_the_driver():
    files = []
    for entry in LOWER:
        target = ROOT / entry
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert len(files) > 20
    found = [f"{path.relative_to(ROOT)}:{line} imports {module}" for path in files
             for line, module in _imported(path.read_text(), path.relative_to(ROOT))
             if module in DRIVER]
    assert not found, "\n".join(found)


def test_the_layer_check_sees_function_level_imports():
    source = "def f():\n    from ..api import split\n    from .. import pipeline\n"
    found = {m for _, m in _imported(source, "passes/example.py")} & DRIVER
    assert found == {"transgrad.api", "transgrad.pipeline"}
    assert not {m for _, m in _imported("from . import api\n", "backends/x.py")} & DRIVER
