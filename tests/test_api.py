"""The public API's contract: call forms, metadata, types, caching, threads, CLI, linecache."""

import linecache
import subprocess
import sys
import threading
import traceback

import numpy as np
import pytest

import transgrad as tg
from tests.checks import assert_close, numeric_vjp
from tests.fixtures import userfuncs as uf

rng = np.random.default_rng(0)


def two_layer_args(dtype=np.float64):
    shapes = [(5, 4), (4, 3), (6, 5), (6, 3)]
    return [rng.normal(size=s).astype(dtype) for s in shapes]


def test_grad_tuple_wrt_matches_finite_differences():
    args = two_layer_args()
    g1, g2 = tg.grad(uf.two_layer, wrt=(0, 1))(*args)
    assert_close(g1, numeric_vjp(uf.two_layer, args, 0, 1.0))
    assert_close(g2, numeric_vjp(uf.two_layer, args, 1, 1.0))


def test_decorator_forms():
    bare = tg.grad(uf.scalar_mix)
    called = tg.grad(wrt=(0, 1))(uf.scalar_mix)
    assert bare(1.0, 2.0) == pytest.approx(2.0 + np.e)
    assert called(1.0, 2.0) == pytest.approx((2.0 + np.e, 1.0))


def test_metadata_and_source():
    dloss = tg.grad(uf.two_layer, wrt=(0, 1))
    assert dloss.__name__ == "dtwo_layer"
    assert dloss.__wrapped__ is uf.two_layer
    assert "gradient of two_layer" in dloss.__doc__ and "w1, w2" in dloss.__doc__
    assert dloss.source == tg.source(dloss)
    assert dloss.source.startswith("def dtwo_layer(w1, w2, x, y):")
    assert "# grad of line" in dloss.source


def test_source_is_what_runs():
    dloss = tg.grad(uf.two_layer, wrt=(0, 1))
    namespace = {"np": np, "tgr": __import__("transgrad.runtime").runtime}
    exec(dloss.source, namespace)  # noqa: S102 - the printed source must run as is
    args = two_layer_args()
    assert_close(namespace["dtwo_layer"](*args), dloss(*args))


def test_generated_code_shape():
    source = tg.grad(uf.two_layer, wrt=(0, 1)).source
    # one primitive per statement, adjoints named after the user's variables
    for name in ("bh", "bout", "bw1", "bw2"):
        assert f"    {name} = " in source
    # nothing for x and y (not requested), no zeros materialized, no stack
    assert "bx " not in source and "by " not in source
    assert "zeros" not in source and "push" not in source


def test_unused_argument_gets_zeros_and_no_adjoint_code():
    dfun = tg.grad(uf.unused_arg, wrt=(0, 1))
    gx, gy = dfun(np.ones(3), np.ones(2))
    assert_close(gx, 2 * np.ones(3))
    assert_close(gy, np.zeros(2))
    assert dfun.source.count("by") == 0


def test_verbose_prints_source(capsys):
    dfun = tg.grad(uf.vector_out, verbose=True)
    with pytest.raises(tg.TransformError):
        dfun(np.ones(3))
    assert "def dvector_out" in capsys.readouterr().out


def test_types_follow_arguments():
    assert isinstance(tg.grad(uf.scalar_mix)(1.0, 2.0), float)
    args32 = two_layer_args(np.float32)
    g1, g2 = tg.grad(uf.two_layer, wrt=(0, 1))(*args32)
    assert g1.dtype == np.float32 and g1.shape == args32[0].shape
    assert g2.dtype == np.float32 and g2.shape == args32[1].shape
    g64 = tg.grad(uf.two_layer, wrt=(0, 1))(*[a.astype(np.float64) for a in args32])
    assert_close(g1, g64[0], rtol=1e-3, atol=1e-3)


def test_value_and_grad():
    args = two_layer_args()
    value, (g1, g2) = tg.value_and_grad(uf.two_layer, wrt=(0, 1))(*args)
    assert value == pytest.approx(uf.two_layer(*args))
    assert_close(g1, tg.grad(uf.two_layer)(*args))
    assert_close(g2, tg.grad(uf.two_layer, wrt=1)(*args))


def test_vjp_array_and_tuple_outputs():
    x = rng.normal(size=(3, 2))
    ct = rng.normal(size=(3, 2))
    assert_close(tg.vjp(uf.vector_out)(x, ct), numeric_vjp(uf.vector_out, [x], 0, ct))
    y = rng.normal(size=(3, 2))
    cts = (rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))
    gx, gy = tg.vjp(uf.tuple_out, wrt=(0, 1))(x, y, cts)
    assert_close(gx, numeric_vjp(uf.tuple_out, [x, y], 0, cts))
    assert_close(gy, numeric_vjp(uf.tuple_out, [x, y], 1, cts))


def test_grad_of_non_scalar_points_to_vjp():
    with pytest.raises(tg.TransformError, match="vjp"):
        tg.grad(uf.vector_out)(np.ones(3))


def test_cache_builds_once_and_rebuilds_changed_function():
    from transgrad import api
    api._cache.clear()
    first = tg.grad(uf.scalar_mix)
    first(1.0, 2.0)
    second = tg.grad(uf.scalar_mix)
    second(1.0, 2.0)
    assert len(api._cache) == 1
    assert first._generated is second._generated
    # the same function with new code (edited and reloaded) is rebuilt
    original = uf.scalar_mix.__code__
    try:
        uf.scalar_mix.__code__ = uf.vector_out.__code__.replace(co_name="scalar_mix")
        tg.grad(uf.unused_arg)(1.0, 2.0)
    finally:
        uf.scalar_mix.__code__ = original


def test_threads_share_one_build_and_run_concurrently():
    from transgrad import api
    api._cache.clear()
    dloss = [tg.grad(uf.two_layer, wrt=(0, 1)) for _ in range(8)]
    args = two_layer_args()
    expected = tg.grad(uf.two_layer, wrt=(0, 1))(*args)
    api._cache.clear()
    results, errors = [None] * 8, []

    def work(i):
        try:
            for _ in range(20):
                results[i] = dloss[i](*args)
        except Exception as exc:  # noqa: BLE001 - any failure in a thread is reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(api._cache) == 1
    for r in results:
        assert_close(r, expected)


def test_generated_lines_are_in_linecache_and_tracebacks():
    dfun = tg.grad(uf.raises_inside)
    try:
        dfun(np.ones((2, 3)))
    except ValueError:
        frames = traceback.extract_tb(sys.exc_info()[2])
    else:  # pragma: no cover
        pytest.fail("expected a shape error from the generated code")
    generated = [f for f in frames if f.filename.startswith("<transgrad")]
    assert generated, frames
    line = linecache.getline(generated[-1].filename, generated[-1].lineno)
    assert line.strip() and line.strip() == generated[-1].line


def test_cli_show(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "transgrad", "show", f"{uf.__file__}:two_layer", "--wrt", "0,1"],
        capture_output=True, text=True, check=True)
    assert out.stdout == tg.grad(uf.two_layer, wrt=(0, 1)).source


def test_cli_reports_errors_with_line():
    out = subprocess.run(
        [sys.executable, "-m", "transgrad", "show", f"{uf.__file__}:with_try"],
        capture_output=True, text=True, check=False)
    assert out.returncode == 1
    assert "line" in out.stderr and "try:" in out.stderr
