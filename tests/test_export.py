"""tg.export and `python -m transgrad export`: standalone modules that run without transgrad."""

import subprocess
import sys

import numpy as np

import transgrad as tg
from tests.fixtures import userfuncs as uf

RUN = """
import sys
sys.path.insert(0, {folder!r})
import numpy as np
import {module} as exported
rng = np.random.default_rng(0)
x, w = rng.normal(size=(2, 3)), rng.normal(size=(3, 3)) * 0.5
grads = exported.{name}(x, w, 3)
assert "transgrad" not in sys.modules
np.save({out!r}, np.concatenate([g.ravel() for g in grads]))
"""


def run_isolated(folder, module, name, out):
    code = RUN.format(folder=str(folder), module=module, name=name, out=str(out))
    subprocess.run([sys.executable, "-I", "-c", code], check=True, cwd=folder)
    return np.load(out)


def expected():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 3)), rng.normal(size=(3, 3)) * 0.5
    gx, gw = tg.grad(uf.looped_model, wrt=(0, 1))(x, w, 3)
    return np.concatenate([gx.ravel(), gw.ravel()])


def test_export_runs_without_transgrad(tmp_path):
    path = tg.export(uf.looped_model, tmp_path / "dmodel.py", wrt=(0, 1))
    text = path.read_text()
    assert "import transgrad_runtime as tgr" in text and "import transgrad\n" not in text
    assert (tmp_path / "transgrad_runtime.py").exists()
    got = run_isolated(tmp_path, "dmodel", "dlooped_model", tmp_path / "out.npy")
    np.testing.assert_allclose(got, expected(), rtol=1e-12)


def test_cli_export(tmp_path):
    target = f"{uf.__file__}:looped_model"
    out = subprocess.run([sys.executable, "-m", "transgrad", "export", target, "-o",
                          str(tmp_path / "dm.py"), "--wrt", "0,1"],
                         capture_output=True, text=True, check=True)
    assert "wrote" in out.stdout
    got = run_isolated(tmp_path, "dm", "dlooped_model", tmp_path / "out.npy")
    np.testing.assert_allclose(got, expected(), rtol=1e-12)
