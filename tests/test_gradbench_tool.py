"""benchmarks/gradbench/tool.py answers GradBench's protocol: driven with the messages an
eval sends (start, define, evaluate with min_runs / min_seconds, analysis), on small inputs,
its outputs checked against closed forms and central differences. Plus a smoke test of
speed.py's table on one tiny case (no timing assertions)."""
import importlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "benchmarks", "gradbench")


@pytest.fixture(autouse=True)
def _torch_state_restored():
    """speed.py's PyTorch rows set torch's default dtype to float64 (numpy's), one thread and
    ``Tensor.copy`` for the whole process; other test files (the PyTorch parity tests) must
    not see them."""
    torch = pytest.importorskip("torch")
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    had_copy = hasattr(torch.Tensor, "copy")
    yield
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)
    if not had_copy and hasattr(torch.Tensor, "copy"):
        del torch.Tensor.copy


@pytest.fixture(scope="module")
def gb():
    """The folder's modules, imported with the folder on sys.path (removed afterwards)."""
    added = HERE not in sys.path
    if added:
        sys.path.insert(0, HERE)
    before = set(sys.modules)
    names = ("tool", "fdiff", "lse", "gmm", "llsq", "kmeans", "ba", "ht", "det", "speed")
    yield {name: importlib.import_module(name) for name in names}
    for name in set(sys.modules) - before:
        if getattr(sys.modules[name], "__file__", "") and \
                os.path.dirname(sys.modules[name].__file__ or "") == HERE:
            del sys.modules[name]
    if added:
        sys.path.remove(HERE)


def session(tool, messages):
    """The tool's responses to ``messages`` (dicts), one JSON line each way."""
    stdin = io.StringIO("".join(json.dumps(m) + "\n" for m in messages))
    stdout = io.StringIO()
    tool.main(stdin, stdout)
    return [json.loads(line) for line in stdout.getvalue().splitlines()]


def evaluate(tool, module, function, input, runs=2):
    messages = [{"id": 0, "kind": "start", "eval": module},
                {"id": 1, "kind": "define", "module": module},
                {"id": 2, "kind": "evaluate", "module": module, "function": function,
                 "input": input | {"min_runs": runs, "min_seconds": 0}},
                {"id": 3, "kind": "analysis", "of": 2, "valid": True}]
    start, define, response, analysis = session(tool, messages)
    assert start["id"] == 0 and start["tool"] == "transgrad"
    assert define == {"id": 1, "success": True}
    assert analysis == {"id": 3}
    assert response["id"] == 2
    assert response["success"], response.get("error")
    names = [t["name"] for t in response["timings"]]
    assert names == ["prepare"] + ["evaluate"] * runs
    assert all(isinstance(t["nanoseconds"], int) and t["nanoseconds"] > 0
               for t in response["timings"])
    return response["output"]


def test_hello(gb):
    responses = session(gb["tool"], [
        {"id": 0, "kind": "start", "eval": "hello"},
        {"id": 1, "kind": "define", "module": "hello"},
        {"id": 2, "kind": "evaluate", "module": "hello", "function": "square", "input": 3.0},
        {"id": 3, "kind": "evaluate", "module": "hello", "function": "double", "input": 3.0}])
    assert responses[1] == {"id": 1, "success": True}
    assert responses[2]["output"] == 9.0 and responses[3]["output"] == 6.0


def test_lse(gb):
    x = np.array([0.3, -1.2, 2.5, 0.0])
    primal = evaluate(gb["tool"], "lse", "primal", {"x": x.tolist()})
    gradient = evaluate(gb["tool"], "lse", "gradient", {"x": x.tolist()})
    assert primal == pytest.approx(np.log(np.sum(np.exp(x))), rel=1e-14)
    np.testing.assert_allclose(gradient, np.exp(x) / np.sum(np.exp(x)), rtol=1e-13)


def test_llsq_against_central_differences(gb):
    x, n = np.linspace(-0.4, 0.7, 5), 6
    gradient = evaluate(gb["tool"], "llsq", "gradient", {"x": x.tolist(), "n": n}, runs=1)
    want = gb["fdiff"].central(lambda v: gb["llsq"].llsq(v, n), x)
    np.testing.assert_allclose(gradient, want, rtol=1e-7, atol=1e-9)
    primal = evaluate(gb["tool"], "llsq", "primal", {"x": x.tolist(), "n": n}, runs=1)
    assert primal == pytest.approx(gb["llsq"].llsq(x, n), rel=1e-14)


def test_gmm_jacobian_is_a_dict_of_nested_lists(gb):
    raw = gb["gmm"].generate(seed=31337, d=3, k=2, n=6, m=0, gamma=1.0)
    output = evaluate(gb["tool"], "gmm", "jacobian", raw, runs=1)
    assert sorted(output) == ["alpha", "l", "mu", "q"]
    independent, fixed = gb["gmm"].inputs("small")
    want = gb["gmm"].fd_derivative(independent, fixed)
    for name in want:
        np.testing.assert_allclose(np.array(output[name]), want[name], rtol=1e-6, atol=1e-8)
    objective = evaluate(gb["tool"], "gmm", "objective", raw, runs=1)
    assert objective == pytest.approx(gb["gmm"].primal(independent, fixed), rel=1e-13)


def test_kmeans_dir(gb):
    points, centroids = gb["kmeans"].inputs("small")
    input = {"points": points.tolist(), "centroids": centroids.tolist()}
    output = np.array(evaluate(gb["tool"], "kmeans", "dir", input, runs=1))
    want = gb["kmeans"].fd_derivative(points, centroids)
    np.testing.assert_allclose(output, want, rtol=1e-5, atol=1e-8)
    assert evaluate(gb["tool"], "kmeans", "cost", input, runs=1) == pytest.approx(
        gb["kmeans"].costfun(points, centroids), rel=1e-14)


def test_ba_outputs_in_gradbench_layout(gb):
    path = os.path.join(HERE, "data", "ba1_n49_m7776_p31843.txt")
    input = gb["ba"].parse(path) | {"n": 3, "m": 4, "p": 12}
    objective = evaluate(gb["tool"], "ba", "objective", input, runs=1)
    args = gb["ba"].prepare_input(input)
    reproj, w_err = gb["ba"].primal(*args)
    assert objective["reproj_error"]["repeated"] == 12
    np.testing.assert_allclose(objective["reproj_error"]["elements"], reproj[:2], rtol=1e-14)
    assert objective["w_err"] == {"element": pytest.approx(w_err[0]), "repeated": 12}

    jacobian = evaluate(gb["tool"], "ba", "jacobian", input, runs=1)
    # GradBench sends the first 30 entries and the last (rows has 3 p + 1 = 37)
    assert {len(v) for v in jacobian.values()} == {31}
    # CSR row offsets: 15 entries per reprojection row, then 1 per weight row
    assert jacobian["rows"][:4] == [0, 15, 30, 45]
    assert jacobian["rows"][-1] == 2 * 12 * 15 + 12
    # observation 0 sees camera 0 (columns 0..10) and point 0 (after 11 n camera columns)
    assert jacobian["cols"][:15] == list(range(11)) + [33, 34, 35, 3 * 11 + 3 * 4]
    assert jacobian["cols"][-1] == 3 * 11 + 3 * 4 + 11
    cams, X, w, _, feats = args
    want = gb["fdiff"].central(
        lambda z: gb["ba"].compute_reproj_err(z[:11], z[11:14], z[14], feats[0]),
        np.concatenate([cams[0], X[0], [w[0]]]))
    np.testing.assert_allclose(jacobian["vals"][:15], want[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jacobian["vals"][15:30], want[1], rtol=1e-6, atol=1e-6)
    assert jacobian["vals"][-1] == pytest.approx(-2 * w[-1])


def test_ht_from_gradbench_input(gb):
    ht = gb["ht"]
    (all_params, n_bones, parents, relatives, inverse_absolutes, base_positions, weights,
     mirrored, points, correspondences, triangles) = ht.inputs("small")
    npts = points.shape[0]
    input = {"theta": all_params[2 * npts:].tolist(), "us": all_params[:2 * npts].tolist(),
             "data": {"correspondences": correspondences.tolist(), "points": points.tolist(),
                      "model": {"bone_count": n_bones, "bone_names": ["b"] * n_bones,
                                "parents": parents.tolist(),
                                "base_relatives": relatives.tolist(),
                                "inverse_base_absolutes": inverse_absolutes.tolist(),
                                "base_positions": base_positions.tolist(),
                                "weights": weights.tolist(), "triangles": triangles.tolist(),
                                "is_mirrored": bool(mirrored)}}}
    objective = evaluate(gb["tool"], "ht", "objective", input, runs=1)
    args = ht.inputs("small")
    np.testing.assert_allclose(objective, ht.primal(*args).ravel(), rtol=1e-13, atol=1e-14)
    jacobian = np.array(evaluate(gb["tool"], "ht", "jacobian", input, runs=1))
    assert jacobian.shape == (3 * npts, 2 + all_params.shape[0] - 2 * npts)
    np.testing.assert_allclose(jacobian, ht.fd_derivative(*args), rtol=1e-6, atol=1e-7)


def test_refusals_are_responses(gb):
    tool = gb["tool"]
    responses = session(tool, [
        {"id": 0, "kind": "start"},
        {"id": 1, "kind": "define", "module": "hello_unknown"},
        {"id": 2, "kind": "evaluate", "module": "lse", "function": "hessian",
         "input": {"x": [1.0], "min_runs": 1, "min_seconds": 0}},
        {"id": 3, "kind": "evaluate", "module": "lse", "function": "gradient",
         "input": {"y": [1.0], "min_runs": 1, "min_seconds": 0}},
        {"id": 4, "kind": "end"},
    ])
    assert [r["id"] for r in responses] == [0, 1, 2, 3, 4]
    assert responses[1]["success"] is False and "hello_unknown" in responses[1]["error"]
    assert responses[2]["success"] is False and "hessian" in responses[2]["error"]
    assert responses[3]["success"] is False and "KeyError" in responses[3]["error"]
    assert responses[4] == {"id": 4}


def test_min_seconds_repeats_runs(gb):
    output = session(gb["tool"], [{"id": 7, "kind": "evaluate", "module": "lse",
                                   "function": "primal",
                                   "input": {"x": [1.0, 2.0], "min_runs": 1,
                                             "min_seconds": 0.01}}])[0]
    evaluations = [t["nanoseconds"] for t in output["timings"] if t["name"] == "evaluate"]
    assert sum(evaluations) >= 0.01e9 and len(evaluations) >= 2


def test_the_tool_as_a_process():
    lines = [{"id": 0, "kind": "start", "eval": "lse"}, {"id": 1, "kind": "define",
                                                           "module": "lse"},
             {"id": 2, "kind": "evaluate", "module": "lse", "function": "gradient",
              "input": {"x": [0.0, 0.0], "min_runs": 1, "min_seconds": 0}}]
    done = subprocess.run([sys.executable, os.path.join(HERE, "tool.py")],
                          input="".join(json.dumps(m) + "\n" for m in lines),
                          capture_output=True, text=True, timeout=300, check=True)
    responses = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in responses] == [0, 1, 2]
    assert responses[2]["output"] == [0.5, 0.5]


def test_speed_table_machinery(gb):
    """One tiny case through speed.py's rows, checks and report (its numbers unchecked)."""
    speed = gb["speed"]
    row = speed.measure_case("lse", "small", tools=("transgrad", "pytorch"), budget=0.01)
    assert row["obj_ms"] > 0
    for tool in ("transgrad", "pytorch"):
        cell = row["cells"][tool]
        assert cell["status"] == "ok", cell["status"]
        assert 0 < cell["min"] <= cell["ms"]
        assert cell["ratio"] == pytest.approx(cell["min"] / row["obj_min"])
    text = speed.report([row], ("transgrad", "pytorch"), markdown=True)
    assert text.splitlines()[0].startswith("| objective | case | numpy objective |")
    assert "numpy <= 3x objective" in text
