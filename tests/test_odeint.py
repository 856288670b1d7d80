"""scipy.integrate.odeint inside differentiated functions: reverse mode by the adjoint method,
forward mode by the sensitivity equations (``transgrad/rules/integrate.py``), checked against
closed forms, central differences and ``jax.experimental.ode.odeint`` with ``jax.grad``; on
the JAX backend, against the numpy build."""

import functools

import numpy as np
import pytest

import transgrad as tg
from tests.checks import HAVE_JAX, jax, jnp
from transgrad import TransformError

integrate = pytest.importorskip("scipy.integrate")
odeint = integrate.odeint

TIMES = np.linspace(0.0, 2.0, 5)
TIGHT = {"rtol": 1e-10, "atol": 1e-10}


def central(f, args, i, h=1e-5):
    """d f / d args[i] by central differences (a float result)."""
    x = np.array(args[i], dtype=float)
    out = np.zeros(x.shape)
    for k in np.ndindex(x.shape):
        moved = []
        for step in (h, -h):
            y = x.copy()
            y[k] += step
            changed = list(args)
            changed[i] = y if x.ndim else float(y)
            moved.append(f(*changed))
        out[k] = (moved[0] - moved[1]) / (2 * h)
    return out if x.ndim else float(out)


# --- a linear system with a closed form --------------------------------------------------------

def decay(y, t, k):
    return -k * y


def linear_loss(y0, k):
    ys = odeint(decay, y0, TIMES, args=(k,), rtol=1e-11, atol=1e-11)
    return np.sum(ys[-1] * np.array([1.0, 2.0]))


def test_linear_gradient_is_the_closed_form():
    y0, k = np.array([1.0, 3.0]), 0.7
    g_y0, g_k = tg.grad(linear_loss, wrt=(0, 1))(y0, k)
    end = TIMES[-1]
    # y(T) = y0 exp(-k T): d/dy0 = w exp(-k T), d/dk = -T w.y0 exp(-k T)
    np.testing.assert_allclose(g_y0, np.array([1.0, 2.0]) * np.exp(-k * end), rtol=1e-8)
    assert isinstance(g_k, float)
    np.testing.assert_allclose(g_k, -end * 7.0 * np.exp(-k * end), rtol=1e-8)


def rotation(y, t, w):
    return np.array([-w * y[1], w * y[0]])


def test_times_gradient_of_a_rotation_is_the_closed_form():
    """y(t) = R(w (t - t0)) y0: each output time moves its point along the circle, and t0
    moves every later point back."""
    def last_x(y0, w, t):
        return np.sum(odeint(rotation, y0, t, args=(w,), **TIGHT)[:, 0])
    y0, w, t = np.array([1.0, 0.0]), 1.3, np.array([0.0, 0.4, 1.1])
    g_t = tg.grad(last_x, wrt=2)(y0, w, t)
    # x(t_i) = cos(w (t_i - t0)): d/dt_i = -w sin(w (t_i - t0)), d/dt0 = -sum of the others
    rest = -w * np.sin(w * (t[1:] - t[0]))
    np.testing.assert_allclose(g_t, np.concatenate([[-np.sum(rest)], rest]), rtol=1e-7,
                               atol=1e-9)


# --- a nonlinear system: Lotka-Volterra --------------------------------------------------------

def lotka_volterra(y, t, a, b):
    prey, predators = y[0], y[1]
    return np.array([a * prey - b[0] * prey * predators,
                     b[1] * prey * predators - b[2] * predators])


def lv_loss(y0, a, b, t):
    ys = odeint(lotka_volterra, y0, t, args=(a, b), rtol=1e-10, atol=1e-10)
    return np.sum(ys ** 2)


LV_ARGS = (np.array([1.0, 0.5]), 1.1, np.array([0.4, 0.1, 0.4]), TIMES)


def test_nonlinear_gradient_against_central_differences():
    grads = tg.grad(lv_loss, wrt=(0, 1, 2, 3))(*LV_ARGS)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, central(lv_loss, LV_ARGS, i), rtol=1e-6, atol=1e-6)
    assert np.shape(grads[0]) == (2,) and isinstance(grads[1], float)
    assert np.shape(grads[2]) == (3,) and np.shape(grads[3]) == (5,)


@pytest.mark.skipif(not HAVE_JAX, reason="needs jax")
def test_nonlinear_gradient_against_jax_odeint():
    from jax.experimental.ode import odeint as jax_odeint

    def jax_rhs(y, t, a, b):
        return jnp.stack([a * y[0] - b[0] * y[0] * y[1], b[1] * y[0] * y[1] - b[2] * y[1]])

    def jax_loss(y0, a, b, t):
        return jnp.sum(jax_odeint(jax_rhs, y0, t, a, b, rtol=1e-10, atol=1e-10) ** 2)
    expected = jax.grad(jax_loss, argnums=(0, 1, 2, 3))(*map(jnp.asarray, LV_ARGS))
    grads = tg.grad(lv_loss, wrt=(0, 1, 2, 3))(*LV_ARGS)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, np.asarray(e), rtol=1e-6, atol=1e-7)


def test_value_and_grad_and_vjp():
    value, g_a = tg.value_and_grad(lv_loss, wrt=1)(*LV_ARGS)
    assert value == lv_loss(*LV_ARGS)
    traj = tg.vjp(lambda y0, a: odeint(lotka_volterra, y0, TIMES, args=(a, LV_ARGS[2]),
                                       **TIGHT), wrt=0)
    ct = np.random.default_rng(1).normal(size=(5, 2))
    g_y0 = traj(LV_ARGS[0], LV_ARGS[1], ct)
    expected = central(lambda y0: np.sum(odeint(lotka_volterra, y0, TIMES, args=LV_ARGS[1:3],
                                                **TIGHT) * ct), (LV_ARGS[0],), 0)
    np.testing.assert_allclose(g_y0, expected, rtol=1e-6, atol=1e-7)


# --- right-hand sides as closures and lambdas ---------------------------------------------------

def pendulum_closure(theta0, damping, length):
    def rhs(y, t):   # reads damping and length from the enclosing function
        return np.array([y[1], -9.81 / length * np.sin(y[0]) - damping * y[1]])
    ys = odeint(rhs, np.array([theta0, 0.0]), TIMES, **TIGHT)
    return np.sum(ys[:, 0] ** 2)


def pendulum_lambda(theta0, damping, length):
    ys = odeint(lambda y, t, c: np.array([y[1], -9.81 / length * np.sin(y[0]) - c * y[1]]),
                np.array([theta0, 0.0]), TIMES, args=(damping,), rtol=1e-10, atol=1e-10)
    return np.sum(ys[:, 0] ** 2)


@pytest.mark.parametrize("f", [pendulum_closure, pendulum_lambda])
def test_closure_and_lambda_right_hand_sides(f):
    args = (0.8, 0.3, 1.5)
    grads = tg.grad(f, wrt=(0, 1, 2))(*args)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, central(f, args, i), rtol=1e-6, atol=1e-7)


def scaled(y, t, w):
    return np.tanh(w @ y)


def calls_a_user_function(y0, w):
    """The right-hand side calls another user function; a matrix argument; a loop of
    solves, each starting where the last ended."""
    y = y0
    for _ in range(2):
        y = odeint(lambda z, t, m: scaled(z, t, m) - 0.5 * z, y, TIMES[:3], args=(w,),
                   **TIGHT)[-1]
    return np.sum(y * y)


def test_matrix_argument_user_calls_and_a_loop():
    rng = np.random.default_rng(0)
    args = (rng.normal(size=3), 0.5 * rng.normal(size=(3, 3)))
    g_y0, g_w = tg.grad(calls_a_user_function, wrt=(0, 1))(*args)
    np.testing.assert_allclose(g_y0, central(calls_a_user_function, args, 0), rtol=1e-6)
    np.testing.assert_allclose(g_w, central(calls_a_user_function, args, 1), rtol=1e-6,
                               atol=1e-9)


def test_scalar_initial_value():
    def f(y0, k):
        return odeint(decay, y0, TIMES, args=(k,), **TIGHT)[-1, 0]
    g = tg.grad(f, wrt=(0, 1))(2.0, 0.4)
    np.testing.assert_allclose(g, [np.exp(-0.8), -4.0 * np.exp(-0.8)], rtol=1e-8)


def solved_in_a_callee(y0, k):
    return odeint(decay, y0, TIMES, args=(k,), **TIGHT)[-1]


def calls_a_solver(y0, k):
    return np.sum(solved_in_a_callee(y0, k) ** 2)


def given_a_function(y0, k, rhs):
    return np.sum(odeint(rhs, y0, TIMES, args=(2, k), **TIGHT)[-1])


def scaled_decay(y, t, n, c):   # n: an integer argument, constant
    return -c * n * y


def make_decay(k):
    def rhs(y, t):
        return -k * y
    return rhs


def from_a_factory(y0, k):
    rhs = make_decay(k)
    return np.sum(odeint(rhs, y0, TIMES, **TIGHT)[-1])


def _expected(f, y0, k, end):
    """(d/dy0, d/dk) in closed form: y(T) = y0 exp(-r k T)."""
    if f is calls_a_solver:   # sum(y(T)^2)
        decayed = np.exp(-2 * k * end)
        return 2 * y0 * decayed, -2 * end * np.sum(y0 ** 2) * decayed
    rate = 2.0 if f is given_a_function else 1.0
    decayed = np.exp(-rate * k * end)
    return decayed * np.ones(2), -rate * end * np.sum(y0) * decayed


@pytest.mark.parametrize("f, extra", [(calls_a_solver, ()), (given_a_function, (scaled_decay,)),
                                      (from_a_factory, ())])
def test_callee_function_argument_and_factory(f, extra):
    """odeint in a called function (its split VJP), a right-hand side passed to the
    differentiated function (with an integer in args), one made by a closure factory."""
    y0, k = np.array([1.0, 2.0]), 0.5
    g_y0, g_k = tg.grad(f, wrt=(0, 1))(y0, k, *extra)
    e_y0, e_k = _expected(f, y0, k, TIMES[-1])
    np.testing.assert_allclose(g_y0, e_y0, rtol=1e-8)
    np.testing.assert_allclose(g_k, e_k, rtol=1e-8)


# --- forward mode ---------------------------------------------------------------------------

def lv_trajectory(y0, a, b, t):
    return odeint(lotka_volterra, y0, t, args=(a, b), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("wrt", [0, 1, 2, 3])
def test_jvp_against_central_differences(wrt):
    rng = np.random.default_rng(wrt)
    args = list(LV_ARGS)
    tangent = rng.normal(size=np.shape(args[wrt])) if np.ndim(args[wrt]) else 0.7
    value, slope = tg.jvp(lv_trajectory, wrt=wrt)(*args, tangent)
    np.testing.assert_array_equal(value, lv_trajectory(*args))
    h = 1e-6
    ahead, behind = list(args), list(args)
    ahead[wrt] = args[wrt] + h * tangent
    behind[wrt] = args[wrt] - h * tangent
    expected = (lv_trajectory(*ahead) - lv_trajectory(*behind)) / (2 * h)
    np.testing.assert_allclose(slope, expected, rtol=1e-6, atol=1e-6)


def test_jvp_of_a_closure_agrees_with_the_gradient():
    f = pendulum_closure
    args = (0.8, 0.3, 1.5)
    _, slope = tg.jvp(f, wrt=2)(*args, 1.0)
    np.testing.assert_allclose(slope, tg.grad(f, wrt=2)(*args), rtol=1e-7)


# --- refusals, at the user's line -------------------------------------------------------------

def chosen_at_run_time(y0, k):
    fs = [decay, decay]
    return np.sum(odeint(fs[int(k > 0)], y0, TIMES, args=(k,)))


def full_output(y0, k):
    ys, info = odeint(decay, y0, TIMES, args=(k,), full_output=True)
    return np.sum(ys)


def args_by_name(y0, k):
    extra = (k,)
    return np.sum(odeint(lambda y, t, c: -c * y * k, y0, TIMES, args=extra))


def not_a_function(y0, k):
    return np.sum(odeint(PARTIAL, y0, TIMES, args=(k,)))


PARTIAL = functools.partial(decay)


def simple(y0, k):
    return np.sum(odeint(decay, y0, TIMES, args=(k,)))


@pytest.mark.parametrize("f, message", [
    (chosen_at_run_time, "right-hand side must be a function known when the code is built"),
    (full_output, "`full_output` is not supported"),
    (args_by_name, "`args` must be a tuple display"),
    (not_a_function, "is not a Python function"),
])
def test_unsupported_forms_are_refused_at_their_line(f, message):
    with pytest.raises(TransformError, match=message) as caught:
        tg.grad(f, wrt=1)(np.array([1.0, 2.0]), 0.5)
    assert caught.value.filename == __file__
    assert "odeint(" in caught.value.source_line


def test_second_derivatives_are_refused():
    with pytest.raises(TransformError, match="derivative of odeint's derivative") as caught:
        tg.hvp(simple)(np.array([1.0, 2.0]), 0.5, np.ones(2))
    assert f"{__file__}, line" in str(caught.value)


# --- the JAX backend: jax.experimental.ode.odeint ------------------------------------------

@pytest.mark.skipif(not HAVE_JAX, reason="needs jax")
def test_jax_backend_gradient_and_jit():
    """On JAX, odeint is ``jax.experimental.ode.odeint`` on the right-hand side's JAX code, and
    its gradient JAX's adjoint: the same numbers as the numpy build, under ``jax.jit`` too."""
    expected = tg.grad(lv_loss, wrt=(0, 1, 2, 3))(*LV_ARGS)
    on_jax = tg.grad(lv_loss, wrt=(0, 1, 2, 3), backend="jax")
    for g, e in zip(jax.jit(on_jax)(*map(jnp.asarray, LV_ARGS)), expected):
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-8, atol=1e-8)
    assert "tgr.odeint_solve(lotka_volterra_ode" in on_jax.source


@pytest.mark.skipif(not HAVE_JAX, reason="needs jax")
def test_jax_backend_lambda_and_jvp():
    args = (0.8, 0.3, 1.5)
    np.testing.assert_allclose(tg.grad(pendulum_lambda, wrt=(0, 1, 2), backend="jax")(*args),
                               tg.grad(pendulum_lambda, wrt=(0, 1, 2))(*args), rtol=1e-7)
    for wrt in (3,):
        tangent = np.linspace(0.1, 0.3, np.size(LV_ARGS[wrt])).reshape(np.shape(LV_ARGS[wrt]))
        value, slope = tg.jvp(lv_trajectory, wrt=wrt, backend="jax")(*LV_ARGS, tangent)
        _, expected = tg.jvp(lv_trajectory, wrt=wrt)(*LV_ARGS, tangent)
        np.testing.assert_allclose(np.asarray(value), lv_trajectory(*LV_ARGS), rtol=1e-8)
        np.testing.assert_allclose(np.asarray(slope), expected, rtol=1e-7, atol=1e-9)


def test_listing():
    from transgrad import listing
    entry = next(e for e in listing.entries() if e["name"] == "scipy.integrate.odeint")
    assert entry["reverse"] and entry["forward"] and not entry["nondifferentiable"]
    assert entry["jax"] == HAVE_JAX and not entry["tensor"]
