"""``python -m transgrad rules``: the listing of every callable, and its flags checked against
what each mode, backend and the Tensor actually do."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import transgrad as tg
from tests.checks import HAVE_JAX, assert_close
from transgrad import listing

EPS = 1e-6


@pytest.fixture(scope="module")
def cli_json():
    out = subprocess.run([sys.executable, "-m", "transgrad", "rules", "--json"],
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def by_name():
    return {e["name"]: e for e in listing.entries(internal=True)}


def test_json_entries_have_bool_flags_and_unique_sorted_names(cli_json):
    assert len(cli_json) > 300
    for entry in cli_json:
        assert isinstance(entry["name"], str)
        for flag in listing.FLAGS:
            assert type(entry[flag]) is bool, (entry["name"], flag)
        assert isinstance(entry["aliases"], list)
    names = [e["name"] for e in cli_json]
    assert len(set(names)) == len(names)
    assert names == sorted(names)
    assert not any(n.startswith("transgrad.runtime.") for n in names)   # only with --all
    # aliases are names too, and no alias is another entry's name
    aliases = [a for e in cli_json for a in e["aliases"]]
    assert not set(aliases) & set(names)
    assert "numpy.abs" in aliases


def test_plain_table_and_its_summary_line(capsys):
    from transgrad.__main__ import main
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:6] == ["name", *listing.FLAGS]
    sin = next(line.split() for line in lines if line.startswith("numpy.sin "))
    assert sin == ["numpy.sin", "yes", "yes", "yes" if HAVE_JAX else "-", "yes", "-"]
    total = listing.counts(listing.entries())   # this process's (the tests' rules included)
    assert lines[-1] == (f"{total['callables']} callables: {total['reverse']} reverse, "
                         f"{total['forward']} forward, {total['jax']} jax, "
                         f"{total['tensor']} tensor, {total['nondifferentiable']} "
                         "nondifferentiable")


def test_all_adds_the_helpers_of_generated_code(cli_json, by_name):
    assert "transgrad.runtime.unbroadcast_to" in by_name
    assert by_name["transgrad.runtime.unbroadcast_to"]["reverse"]
    assert len(by_name) > len(cli_json)
    # in this process, the user rules the tests registered (tg.defvjp, in tests' modules and
    # in the fuzzer's generated ones) are listed too: compare the libraries' entries only
    cli_names = {e["name"] for e in cli_json}
    libraries = {name.split(".")[0] for name in cli_names}
    public = {e["name"] for e in listing.entries() if e["name"].split(".")[0] in libraries}
    assert public == cli_names


def test_known_entries(by_name):
    def flags(name):   # without JAX installed, every jax flag is false
        return {f: by_name[name][f] if f != "jax" or HAVE_JAX else not by_name[name][f]
                for f in listing.FLAGS}
    assert flags("numpy.sin") == {"reverse": True, "forward": True, "jax": True,
                                  "tensor": True, "nondifferentiable": False}
    assert flags("numpy.argmax") == {"reverse": False, "forward": False, "jax": True,
                                     "tensor": True, "nondifferentiable": True}
    assert flags("math.exp")["reverse"] and not flags("math.exp")["tensor"]
    assert flags("numpy.linalg.eigh")["forward"] and flags("numpy.linalg.eigh")["reverse"]
    assert flags("numpy.random.normal")["nondifferentiable"]
    assert not by_name["numpy.random.normal"]["jax"]
    assert flags("numpy.ndarray.sum") == flags("numpy.sum")
    assert not flags("numpy.ndarray.item")["tensor"]     # a Python number, as in PyTorch
    for name in ("operator.mul", "builtins.sum", "numpy.linalg.solve", "transgrad.stop_gradient"):
        assert name in by_name


# --- the forward flag against tg.jvp: a tiny function calling each, against central
# differences

def f_sin(x): return np.sin(x)
def f_cos(x): return np.cos(x)
def f_exp(x): return np.exp(x)
def f_log(x): return np.log(x)
def f_sqrt(x): return np.sqrt(x)
def f_tanh(x): return np.tanh(x)
def f_arcsin(x): return np.arcsin(x)
def f_square(x): return np.square(x)
def f_sum(x): return np.sum(x, axis=0)
def f_mean(x): return np.mean(x)
def f_prod(x): return np.prod(x, axis=1)
def f_max(x): return np.max(x, axis=1)
def f_cumsum(x): return np.cumsum(x, axis=1)
def f_cumprod(x): return np.cumprod(x)
def f_transpose(x): return np.transpose(x)
def f_sort(x): return np.sort(x)
def f_var(x): return np.var(x, axis=0)
def f_norm(x): return np.linalg.norm(x)
def f_inv(x): return np.linalg.inv(x + 3.0 * np.eye(3))
def f_det(x): return np.linalg.det(x + 3.0 * np.eye(3))
def f_tril(x): return np.tril(x)
def f_method_sum(x): return x.sum(axis=1)
def f_math_exp(s): return math.exp(s) * math.sin(s)


FORWARD = [("numpy.sin", f_sin), ("numpy.cos", f_cos), ("numpy.exp", f_exp),
           ("numpy.log", f_log), ("numpy.sqrt", f_sqrt), ("numpy.tanh", f_tanh),
           ("numpy.arcsin", f_arcsin), ("numpy.square", f_square), ("numpy.sum", f_sum),
           ("numpy.mean", f_mean), ("numpy.prod", f_prod), ("numpy.max", f_max),
           ("numpy.cumsum", f_cumsum), ("numpy.cumprod", f_cumprod),
           ("numpy.transpose", f_transpose), ("numpy.sort", f_sort), ("numpy.var", f_var),
           ("numpy.linalg.norm", f_norm), ("numpy.linalg.inv", f_inv),
           ("numpy.linalg.det", f_det), ("numpy.tril", f_tril),
           ("numpy.ndarray.sum", f_method_sum), ("math.exp", f_math_exp)]


@pytest.mark.parametrize("name, f", FORWARD, ids=[n for n, _ in FORWARD])
def test_forward_flag_means_tg_jvp_differentiates_it(by_name, name, f):
    assert by_name[name]["forward"]
    rng = np.random.default_rng(0)
    x = 0.5 if name.startswith("math.") else rng.uniform(0.2, 0.8, (3, 3))
    v = 1.0 if name.startswith("math.") else rng.uniform(-1, 1, (3, 3))
    value, slope = tg.jvp(f)(x, v)
    assert_close(value, f(x))
    expected = (np.asarray(f(x + EPS * v)) - np.asarray(f(x - EPS * v))) / (2 * EPS)
    assert_close(slope, expected, rtol=1e-5, atol=1e-7)


def softclip(x):
    return np.tanh(x) * 2.0


def softclip_vjp(g, ans, x):
    return g * 2.0 * (1 - np.tanh(x) ** 2)


def uses_softclip(x):
    return np.sum(softclip(x))


def test_reverse_without_forward_means_tg_jvp_refuses():
    """No built-in reverse rule lacks a forward twin (test_wrong_answers checks that), so a
    user's rule stands in: reverse true, forward false, and tg.jvp says so."""
    tg.defvjp(softclip)(softclip_vjp)
    entry = next(e for e in listing.entries() if e["name"].endswith("test_listing.softclip"))
    assert entry["reverse"] and not entry["forward"]
    x = np.array([0.1, -0.4, 0.7])
    assert_close(tg.grad(uses_softclip)(x), 2.0 * (1 - np.tanh(x) ** 2))
    with pytest.raises(tg.TransformError, match="no forward-mode rule"):
        tg.jvp(uses_softclip)(x, np.ones(3))


def eigenvalues(a):
    return np.linalg.eigh(a)[0]


def test_forward_and_reverse_of_eigh(by_name):
    """eigh had a forward rule only; both flags now, each checked against differences."""
    assert by_name["numpy.linalg.eigh"]["forward"] and by_name["numpy.linalg.eigh"]["reverse"]
    a = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 3.0]])
    v = np.array([[0.5, 0.1, -0.2], [0.1, -0.3, 0.4], [-0.2, 0.4, 0.2]])
    _, slope = tg.jvp(eigenvalues)(a, v)
    assert_close(slope, (eigenvalues(a + EPS * v) - eigenvalues(a - EPS * v)) / (2 * EPS),
                 rtol=1e-5)
    grad = tg.grad(lambda_sum_eigenvalues)(a)
    assert_close(np.sum(grad * v), np.sum(slope), rtol=1e-5)


def lambda_sum_eigenvalues(a):
    return np.sum(np.linalg.eigh(a)[0])


# --- the other flags against what they claim

def uses_argmax(x):
    return x[np.argmax(x)] * 2.0


def uses_fix(x):
    return np.sum(np.fix(x) * x)


def test_nondifferentiable_entry_is_a_constant_in_both_modes(by_name):
    assert by_name["numpy.argmax"]["nondifferentiable"]
    x = np.array([0.1, 0.9, 0.3])
    assert_close(tg.grad(uses_argmax)(x), np.array([0.0, 2.0, 0.0]))
    assert_close(tg.jvp(uses_argmax)(x, np.ones(3))[1], 2.0)


def test_jax_flag_matches_the_backend(by_name):
    pytest.importorskip("jax")
    assert not by_name["numpy.fix"]["jax"]
    with pytest.raises(tg.TransformError, match="no jax.numpy equivalent"):
        tg.grad(uses_fix, backend="jax").source    # noqa: B018
    assert by_name["numpy.sin"]["jax"]
    assert "jnp.sin" in tg.grad(f_mean_sin, backend="jax").source


def f_mean_sin(x):
    return np.mean(np.sin(x))


def test_tensor_flag_matches_the_tensor(by_name):
    x = tg.tensor(np.array([0.3, 0.6]), requires_grad=True)
    assert by_name["numpy.sin"]["tensor"] and np.sin(x).grad_fn is not None
    assert by_name["numpy.linalg.norm"]["tensor"]
    assert np.linalg.norm(x).grad_fn is not None
    assert by_name["operator.mul"]["tensor"] and (x * x).grad_fn is not None
    assert not by_name["math.exp"]["tensor"] and isinstance(math.exp(x[0]), float)
    assert by_name["operator.mod"]["tensor"] and (x % 2.0).grad_fn is not None
    assert not by_name["operator.floordiv"]["tensor"]
    with pytest.raises(TypeError):
        x // 2.0


def test_tensor_flag_of_functions_reached_through_transgrad_torch(by_name):
    """scipy's logsumexp reads a Tensor as an array, but ``transgrad.torch.special.logsumexp``
    applies it by its rule: the listing says tensor for it."""
    pytest.importorskip("scipy")
    import transgrad.torch as torch
    x = torch.tensor(np.array([[0.3, 0.6], [0.1, -0.2]]), requires_grad=True)
    assert by_name["scipy.special.logsumexp"]["tensor"]
    assert torch.special.logsumexp(x, 1).grad_fn is not None
    assert by_name["scipy.linalg.solve_triangular"]["tensor"]
    assert torch.linalg.solve_triangular(x, x, upper=True).grad_fn is not None
    assert by_name["numpy.fft.rfft"]["tensor"] and torch.fft.rfft(x, dim=0).grad_fn is not None


# --- docs/rules.md, and the error about a call that has no rule -------------------------------

def test_docs_rules_md_is_current():
    """docs/rules.md is the command's output: regenerate it with
    ``python -m transgrad rules --markdown > docs/rules.md``."""
    import pathlib
    out = subprocess.run([sys.executable, "-m", "transgrad", "rules", "--markdown"],
                         capture_output=True, text=True, check=True, timeout=120)
    path = pathlib.Path(__file__).resolve().parents[1] / "docs" / "rules.md"
    assert path.read_text() == out.stdout, \
        "docs/rules.md is out of date: python -m transgrad rules --markdown > docs/rules.md"
    assert "| `numpy.fft.fft` | yes | yes |" in out.stdout


def _coverage_script():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "autograd_coverage.py"
    spec = importlib.util.spec_from_file_location("autograd_coverage", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_autograd_coverage_floor(cli_json):
    """At least 95% of HIPS autograd's differentiable primitives have a rule (issue 12), read
    from autograd itself where it is installed, else from docs/autograd_coverage.md, which
    must then be current: ``python scripts/autograd_coverage.py --write``."""
    coverage = _coverage_script()
    try:
        primitives = coverage.autograd_primitives()
    except ImportError:
        primitives = None
    rows = coverage.table(primitives or coverage.documented_primitives(),
                          coverage.by_every_name(cli_json))
    covered, total = coverage.summary(rows)
    assert total >= 190 and covered / total >= coverage.FLOOR, \
        [name for name, _, status in rows if status == "missing"]
    if primitives is not None:
        assert coverage.DOC.read_text() == coverage.markdown(rows), \
            "docs/autograd_coverage.md is out of date: python scripts/autograd_coverage.py --write"


def test_closest_rule_names_aliases_and_near_names():
    from transgrad.rules.suggest import closest_rule
    assert closest_rule(np.amax) == "np.max"
    assert closest_rule(np.cumulative_sum) == "np.cumsum"
    assert closest_rule(np.linalg.norm) is None      # has a rule itself: nothing other is near
    assert closest_rule(uses_fix) is None            # a user function: no library name


def uses_cumulative_sum(x):
    return np.sum(np.cumulative_sum(x))


def uses_cumulative_prod(x):
    return np.sum(np.cumulative_prod(x))


def test_a_call_with_no_rule_names_it_the_closest_and_tg_defvjp():
    from transgrad.rules import lookup_vjp
    cases = [(np.cumulative_sum, uses_cumulative_sum, "np.cumsum"),
             (np.cumulative_prod, uses_cumulative_prod, "np.cumprod")]
    cases = [c for c in cases if lookup_vjp(c[0]) is None]
    if not cases:
        pytest.skip("every candidate has a rule now")
    func, f, near = cases[0]
    with pytest.raises(tg.TransformError) as caught:
        tg.grad(f)(np.array([0.1, 0.2]))
    text = str(caught.value)
    assert f"no derivative rule for `np.{func.__name__}`" in text
    assert f"{near} has a rule" in text
    assert f"@tg.defvjp(np.{func.__name__})" in text
