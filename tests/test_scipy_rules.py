"""The scipy rules (``transgrad/rules/scipy_*.py``) beyond the per-rule reverse test of
``test_rules.py``: forward mode of every rule on its own samples (elementwise rules get their
JVP from the VJP, so it is checked here), the spellings users write (``from scipy.stats import
norm; norm.logpdf(x, mu, s)``), ``cho_solve(cho_factor(a), b)``, and the refusals."""

import numpy as np
import pytest

import transgrad as tg
from tests import checks
from tests.test_rules import Case, _load, _module_source

scipy = pytest.importorskip("scipy")
from scipy import linalg, special, stats  # noqa: E402

from transgrad.listing import entries  # noqa: E402
from transgrad.rules import all_rules  # noqa: E402
from transgrad.rules.forward import forward_kind  # noqa: E402

EPS = 1e-6
# no forward rule: cho_factor returns (c, lower), a tuple with a flag
NO_FORWARD = {"cho_factor"}


def _scipy_rules():
    return [r for r in all_rules() if r.vjp.__module__.startswith("transgrad.rules.scipy_")]


def _forward_cases():
    cases = []
    for rule in _scipy_rules():
        if rule.name in NO_FORWARD:
            continue
        for index, sample in enumerate(rule.samples):
            case = Case(rule, sample)
            for slot in case.slots:
                if slot[1] is None:
                    cases.append(pytest.param(rule, index, slot[0],
                                              id=f"{rule.name}-{index}-arg{slot[0]}"))
    return cases


def test_every_scipy_rule_has_a_forward_mode():
    missing = {r.name for r in _scipy_rules()
               if r.name not in NO_FORWARD and forward_kind(r.primitives[0]) is None}
    assert not missing


@pytest.mark.parametrize("rule, index, argnum", _forward_cases())
def test_forward(rule, index, argnum, tmp_path):
    """``tg.jvp`` of the one-line module calling the primitive, against central differences."""
    case = Case(rule, rule.samples[index])
    primitive = rule.primitives[0]
    source, values, wrt = _module_source(case, primitive)
    module = _load(tmp_path, f"scipy_fwd_{rule.name}_{index}_{argnum}", source)
    module.prim = primitive
    position = wrt[case.slots.index((argnum, None))]
    rng = np.random.default_rng(index + 7)
    tangent = rng.uniform(-1, 1, np.shape(values[position]))
    if isinstance(values[position], float):
        tangent = float(tangent)
    if case.spd[case.slots.index((argnum, None))]:
        tangent = tangent + np.swapaxes(tangent, -1, -2)
    _, slope = tg.jvp(module.f, wrt=position)(*values, tangent)

    def along(step):
        moved = list(values)
        moved[position] = values[position] + step * tangent
        return np.asarray(module.f(*moved))
    expected = (along(EPS) - along(-EPS)) / (2 * EPS)
    checks.assert_close(np.asarray(slope), expected, f"{rule.name} sample {index}\n{source}",
                        rtol=1e-4, atol=1e-5)


# --- what users write -----------------------------------------------------------------------

_USER = '''
import numpy as np
import scipy.stats
from scipy.linalg import cho_factor, cho_solve
from scipy.special import gammaln, jv, logsumexp
from scipy.stats import norm


def loglik(mu, log_s, x):
    return np.sum(norm.logpdf(x, mu, scale=np.exp(log_s))) + np.sum(
        scipy.stats.norm.logcdf(x, loc=mu))


def mixture(logits, x):
    return np.sum(logsumexp(logits + gammaln(x), axis=0))


def gp(a, b):
    factor = cho_factor(a @ a.T + 3.0 * np.eye(3), lower=True)
    return np.sum(cho_solve(factor, b) ** 2)


def t_cdf_in_df(df, x):
    return np.sum(scipy.stats.t.cdf(x, df))


def bessel(x):
    return np.sum(jv(1.5, x))
'''


@pytest.fixture
def user(tmp_path):
    return _load(tmp_path, "scipy_user", _USER)


def test_norm_logpdf_as_users_write_it(user):
    x = np.linspace(-1.0, 2.0, 6)
    grads = tg.grad(user.loglik, wrt=(0, 1))(0.3, 0.2, x)
    for i, value in ((0, 0.3), (1, 0.2)):
        expected = checks.numeric_vjp(user.loglik, [0.3, 0.2, x], i, 1.0)
        checks.assert_close(grads[i], expected, f"d/d argument {i}")
    if checks.HAVE_JAX:
        jst = checks.jax.scipy.stats

        def reference(mu, log_s):
            return checks.jnp.sum(jst.norm.logpdf(x, mu, checks.jnp.exp(log_s))) \
                + checks.jnp.sum(jst.norm.logcdf(x, mu))
        expected = checks.jax.grad(reference, argnums=(0, 1))(0.3, 0.2)
        checks.assert_close(np.asarray(grads), np.asarray(expected), "against jax.grad")
        on_jax = tg.grad(user.loglik, wrt=(0, 1), backend="jax")(0.3, 0.2, x)
        checks.assert_close(np.asarray(on_jax, dtype=float), np.asarray(grads), "JAX backend")
    _, slope = tg.jvp(user.loglik, wrt=0)(0.3, 0.2, x, 1.0)
    checks.assert_close(slope, grads[0], "forward mode")


def test_logsumexp_of_gammaln(user):
    rng = np.random.default_rng(1)
    logits, x = rng.normal(size=(3, 4)), rng.uniform(0.5, 2.0, (3, 4))
    grads = tg.grad(user.mixture, wrt=(0, 1))(logits, x)
    for i in (0, 1):
        checks.assert_close(grads[i], checks.numeric_vjp(user.mixture, [logits, x], i, 1.0),
                            f"d/d argument {i}")
    hessian_vector = tg.hvp(user.mixture, wrt=1)(logits, x, np.ones((3, 4)))
    step = 1e-5
    up = tg.grad(user.mixture, wrt=1)(logits, x + step)
    down = tg.grad(user.mixture, wrt=1)(logits, x - step)
    checks.assert_close(hessian_vector, (up - down) / (2 * step), "hvp (digamma -> polygamma)",
                        rtol=1e-4, atol=1e-5)


def test_cho_solve_of_cho_factor(user):
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    grads = tg.grad(user.gp, wrt=(0, 1))(a, b)
    for i in (0, 1):
        checks.assert_close(grads[i], checks.numeric_vjp(user.gp, [a, b], i, 1.0),
                            f"d/d argument {i}")


def test_no_derivative_in_a_shape_parameter_says_so(user):
    with pytest.raises(tg.TransformError, match="no derivative with respect to its argument 2"):
        tg.grad(user.t_cdf_in_df, wrt=0)(3.0, np.linspace(-1.0, 1.0, 4))


def test_jax_backend_refuses_a_function_jax_lacks(user):
    x = np.linspace(0.5, 2.0, 4)
    expected = checks.numeric_vjp(user.bessel, [x], 0, 1.0)
    checks.assert_close(tg.grad(user.bessel)(x), expected, "jv on numpy")
    with pytest.raises(tg.TransformError, match="no jax.numpy equivalent"):
        tg.grad(user.bessel, backend="jax")(x)


def test_listing_names_scipy_functions():
    by_name = {e["name"]: e for e in entries()}
    assert by_name["scipy.stats.norm.logpdf"]["reverse"]
    assert by_name["scipy.stats.norm.logpdf"]["forward"]
    assert by_name["scipy.special.gammaln"]["jax"]
    assert by_name["scipy.special.gammasgn"]["nondifferentiable"]
    assert by_name["scipy.linalg.solve_triangular"]["reverse"]
    assert by_name["scipy.signal.convolve"]["forward"]
