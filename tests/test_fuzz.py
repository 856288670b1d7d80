"""The differential fuzzer's fast slice, and every saved fuzz regression replayed.

The fast slice checks SLICE random programs (fixed seeds) from tests/fuzz/gen.py: every program
in grad and jvp, value_and_grad on every other seed, vjp and hvp on one seed in VJP_EVERY, the
JAX backend (eager and under jax.jit, against jax.grad of the program run on jax.numpy) on one
seed in JAX_EVERY (about 60 s of CPU on the 2-core machine; JAX's eager dispatch is the slow
part).
A wrong value, a wrong derivative or a crash fails the test with the program's seed;
``python -m tests.fuzz --count 1 --seed SEED --out /tmp/f`` prints and shrinks it. A refusal
(TransformError) is accepted. The long run is ``python -m tests.fuzz --count 10000``.
"""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.fuzz import check as C
from tests.fuzz.gen import ALL_FEATURES, generate
from tests.fuzz.shrink import read_regression, shrink

SLICE = 200
CHUNK = 25
FIRST_SEED = 0
VJP_EVERY = 5
JAX_EVERY = 40

# seeds of the fast slice that fail today because of a known open bug (a regression file
# holds the shrunk program): seed -> the bug. They are checked by test_known_slice_failures,
# which is xfail(strict=True), so fixing the bug makes it say so.
KNOWN = {}   # seed -> why it fails (strict xfail), while a finding is open


def _modes(seed):
    modes = ["grad", "jvp"]
    if seed % 2 == 0:
        modes.append("value_and_grad")
    if seed % VJP_EVERY == 0:
        modes += ["vjp", "hvp"]
    if seed % JAX_EVERY == 0 and C.jax_available():
        modes += ["jax", "jax_jit"]
    return tuple(modes)


def _failures(seed):
    res = C.check(generate(seed), modes=_modes(seed), twin=seed % JAX_EVERY == 0)
    return {m: f"{r.cls}: {r.detail}" for m, r in res.failures().items()}


@pytest.mark.parametrize("first", range(FIRST_SEED, FIRST_SEED + SLICE, CHUNK))
def test_fast_slice(first):
    bad = {}
    for seed in range(first, first + CHUNK):
        if seed in KNOWN:
            continue
        fails = _failures(seed)
        if fails:
            bad[seed] = fails
    assert not bad, "fuzz programs failed (seed: {mode: failure}): %r" % bad


@pytest.mark.parametrize("seed", [pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=r))
                                  for s, r in sorted(KNOWN.items())])
def test_known_slice_failures(seed):
    assert not _failures(seed)

REGRESSIONS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "fuzz", "regressions",
                                            "*.py")))


def _regression_params():
    out = []
    for path in REGRESSIONS:
        meta = read_regression(path)
        marks = [pytest.mark.xfail(strict=True, reason=meta["xfail"])] if meta.get("xfail") \
            else []
        out.append(pytest.param(path, marks=marks, id=os.path.basename(path)[:-3]))
    return out


@pytest.mark.parametrize("path", _regression_params())
def test_regression(path):
    meta = read_regression(path)
    mode = meta["mode"]
    if mode.startswith("jax") and not C.jax_available():
        pytest.skip("jax is not installed")
    res = C.check_source(meta["source"], meta["args"], meta["seed"], modes=(mode,))
    assert not res.skip, res.skip
    got = res.modes[mode]
    allowed = ("ok",) if meta.get("expect") == "ok" else ("ok", "refusal")
    assert got.cls in allowed, f"{mode}: {got.cls}: {got.detail}"


def test_generator_is_reproducible_and_valid():
    for seed in (1, 2, 3):
        assert generate(seed).source == generate(seed).source
    # every generated program runs in numpy and returns a finite float
    for seed in range(40):
        p = generate(seed)
        mod = C.load(p.source, seed)
        try:
            with np.errstate(all="ignore"):
                v = mod.f(*C.make_args(p.args, seed))
        finally:
            C.unload(mod)
        assert np.ndim(v) == 0


def test_features_can_be_switched_off():
    off = {"store", "store_repeat", "while", "helper", "helper_tuple", "recursion"}
    for seed in range(60):
        p = generate(seed, ALL_FEATURES - off)
        assert not p.features & off
        assert not C.has_stores(p.source) and "while " not in p.source
        assert "def h" not in p.source


def test_checker_catches_a_wrong_gradient():
    """The checker is not vacuous: a program with a deliberately wrong custom rule
    (d(a*a) = a instead of 2a) is reported as a wrong derivative, a right one as ok."""
    src = (
        "import math\nimport numpy as np\nimport transgrad as tg\n\n\n"
        "def sq(a):\n    return a * a\n\n\n"
        "@tg.defvjp(sq)\ndef _sq_vjp(g, ans, a):\n    return g * a{}\n\n\n"
        "def f(x):\n    return np.sum(np.sin(sq(x)))\n")
    modes = ("grad", "value_and_grad", "vjp")
    res = C.check_source(src.format(" * 2.0"), [[3]], 7, modes=modes)
    assert {m: r.cls for m, r in res.modes.items()} == dict.fromkeys(modes, "ok")
    res = C.check_source(src.format(""), [[3]], 7, modes=modes)
    assert {m: r.cls for m, r in res.modes.items()} == dict.fromkeys(modes, "wrong_derivative")


def test_shrinker_keeps_the_failure_and_drops_the_rest():
    src = (
        "import math\nimport numpy as np\nimport transgrad as tg\n\n\n"
        "def sq(a):\n    return a * a\n\n\n"
        "@tg.defvjp(sq)\ndef _sq_vjp(g, ans, a):\n    return g * a\n\n\n"
        "def f(x):\n    acc = 0.0\n    for i in range(2):\n        acc += np.sum(np.cos(x))\n"
        "    z = np.tanh(x) * 2.0\n    if np.sum(z) > 100.0:\n        return acc\n"
        "    return acc + np.sum(np.sin(sq(x)) * 1.5) + np.mean(z)\n")
    res = C.check_source(src, [[3]], 3, modes=("grad",), twin=False)
    mr = res.modes["grad"]
    assert mr.cls == "wrong_derivative"
    small = shrink(src, [[3]], 3, "grad", mr, budget_s=60, twin=False)
    assert len(small) < len(src) - 100
    assert "sq(" in small and "for i" not in small
    assert C.check_source(small, [[3]], 3, modes=("grad",)).modes["grad"].cls == mr.cls


def test_runner_records_a_worker_that_dies_and_goes_on(tmp_path):
    """A worker process killed inside a mode (XLA's fatal checks call abort(); seed 2204060
    under jax_jit did) or one that stops answering is recorded as a fatal crash with its
    seed and mode, and the run checks the other programs and writes its summary (the test
    hook makes seed 2's worker abort in grad, seed 3's hang)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, TGFUZZ_TEST_HOOK="2:grad:abort,3:grad:hang")
    run = subprocess.run([sys.executable, "-m", "tests.fuzz", "--count", "3", "--seed", "1",
                          "--jobs", "2", "--modes", "grad", "--jax-every", "1000",
                          "--hang-seconds", "10", "--out", str(tmp_path)],
                         capture_output=True, text=True, check=False, cwd=root, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    with open(tmp_path / "results.jsonl") as fh:
        records = {r["seed"]: r for r in map(json.loads, fh)}
    assert sorted(records) == [1, 2, 3]
    assert not records[1].get("fatal")
    assert records[2]["modes"] == {"grad": [
        "crash", "fatal: the worker process was killed by SIGABRT in mode grad"]}
    assert records[3]["modes"]["grad"][1].startswith("fatal: the worker process gave no answer")
    assert records[2]["outcome"] == records[3]["outcome"] == "crash"
    summary = (tmp_path / "summary.txt").read_text()
    assert "programs checked: 3" in summary and "killed by SIGABRT in mode grad" in summary
    assert (tmp_path / "failures" / "seed2.py").exists()
    assert "not shrunk" in run.stdout
