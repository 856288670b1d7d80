"""References in float64 JAX for the GradBench objectives, written after GradBench's own JAX
objectives where it has them (lse, gmm, kmeans, llsq, ode: python/gradbench/gradbench/tools/
jax/) and otherwise after its PyTorch objectives (lstm, ba, ht: tools/pytorch/), its C++
reference (det: cpp/gradbench/evals/det.hpp) or its Futhark tool (particle, saddle:
tools/futhark/), in JAX style (``jnp``, ``.at[].set``). Every reference derivative is JAX's
(``jax.grad``, ``jax.jacrev``, ``jax.jvp``).

``REFERENCES[name] = (primal, derivative, jitted)``: the first two take the arguments of the
module's ``inputs(kind)`` and return numpy values; ``jitted()`` returns the derivative
compiled with ``jax.jit`` where GradBench's JAX tool compiles it (for timings), or None.
"""
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp, multigammaln

jax.config.update("jax_enable_x64", True)

REFERENCES = {}


def register(name, primal, derivative, jitted=None):
    REFERENCES[name] = (primal, derivative, jitted or (lambda: None))


def memo(fn):
    """fn, remembering its last result: the primal and the derivative of a reference share
    one compiled value-and-derivative (compiling costs seconds, running microseconds)."""
    last = {}

    def call(*args):
        key = tuple(id(a) for a in args)
        if key not in last:
            last.clear()
            last[key] = (args, fn(*args))
        return last[key][1]
    return call


# --- lse (tools/jax/lse.py) -------------------------------------------------------------

def lse_logsumexp(x):
    x_max = jnp.max(x)
    return jnp.log(jnp.sum(jnp.exp(x - x_max))) + x_max


register("lse", lambda x: float(lse_logsumexp(x)),
         lambda x: np.asarray(jax.grad(lse_logsumexp)(x)),
         lambda: jax.jit(jax.grad(lse_logsumexp)))


# --- gmm (tools/jax/gmm_objective.py) ---------------------------------------------------

def log_wishart_prior(*, k, p, gamma, m, sum_qs, Qdiags, l):
    n = p + m + 1
    out = jnp.sum(
        0.5 * gamma * gamma * (jnp.sum(Qdiags**2, axis=1) + jnp.sum(l**2, axis=1))
        - m * sum_qs
    )
    C = n * p * (jnp.log(gamma / math.sqrt(2)))
    return -out + k * (C - multigammaln(0.5 * n, p))


def gmm_objective(*, d, k, n, x, m, gamma, alpha, mu, q, l):
    Qdiags = jnp.exp(q)
    sum_qs = jnp.sum(q, axis=1)
    cols = jnp.repeat(jnp.arange(d - 1), jnp.arange(d - 1, 0, -1),
                      total_repeat_length=d * (d - 1) // 2)
    rows = jnp.concatenate([jnp.arange(c + 1, d) for c in range(d - 1)])
    Ls = jnp.zeros((k, d, d), dtype=l.dtype).at[:, rows, cols].set(l)
    xcentered = x[:, None, :] - mu[None, ...]
    Lxcentered = Qdiags * xcentered + jnp.einsum("ijk,mik->mij", Ls, xcentered)
    sqsum_Lxcentered = jnp.sum(Lxcentered**2, axis=2)
    inner_term = alpha + sum_qs - 0.5 * sqsum_Lxcentered
    slse = jnp.sum(logsumexp(inner_term, axis=1))
    CONSTANT = -n * d * 0.5 * math.log(2 * math.pi)
    return (CONSTANT + slse - n * logsumexp(alpha, axis=0)
            + log_wishart_prior(k=k, p=d, gamma=gamma, m=m, sum_qs=sum_qs,
                                Qdiags=Qdiags, l=l))


@partial(jax.jit, static_argnames=["d", "k"])
def _gmm_jac(independent, **fixed):
    return jax.grad(lambda ind: gmm_objective(**fixed, **ind))(independent)


@partial(jax.jit, static_argnames=["d", "k"])
def _gmm_value_and_jac(independent, **fixed):
    return jax.value_and_grad(lambda ind: gmm_objective(**fixed, **ind))(independent)


_gmm = memo(lambda ind, fixed: _gmm_value_and_jac(ind, **fixed))
register("gmm", lambda ind, fixed: float(_gmm(ind, fixed)[0]),
         lambda ind, fixed: {k: np.asarray(v) for k, v in _gmm(ind, fixed)[1].items()},
         lambda: lambda ind, fixed: _gmm_jac(ind, **fixed))


# --- kmeans (tools/jax/kmeans.py) -------------------------------------------------------

def costfun(points, centers):
    def all_pairs_norm(a, b):
        a_sqr = jnp.sum(a**2, 1)[None, :]
        b_sqr = jnp.sum(b**2, 1)[:, None]
        diff = jnp.matmul(a, b.T).T
        return a_sqr + b_sqr - 2 * diff

    dists = all_pairs_norm(points, centers)
    min_dist = jnp.min(dists, axis=0)
    return min_dist.sum()


@jax.jit
def _kmeans_dir(points, centroids):
    f_diff = jax.grad(lambda cs: costfun(points, cs))
    d, hes = jax.jvp(f_diff, [centroids], [jnp.ones(shape=centroids.shape)])
    return d / hes


register("kmeans", lambda p, c: float(costfun(p, c)),
         lambda p, c: np.asarray(_kmeans_dir(p, c)), lambda: _kmeans_dir)


# --- llsq (tools/jax/llsq.py) -----------------------------------------------------------

def _t(i, n):
    return -1.0 + (i * 2.0) / (n - 1.0)


@partial(jax.jit, static_argnums=[1])
def llsq(x, n):
    m = x.shape[0]

    def f(i):
        ti = _t(i, n)
        muls = jnp.cumprod(jnp.full(m, ti).at[0].set(1))
        return (jnp.sign(ti) + jnp.sum(-x * muls)) ** 2

    results = jax.vmap(f)(jnp.arange(n))
    return jnp.sum(results) / 2.0


_grad_llsq = jax.jit(jax.grad(llsq, argnums=0), static_argnums=[1])
register("llsq", lambda x, n: float(llsq(x, n)), lambda x, n: np.asarray(_grad_llsq(x, n)),
         lambda: _grad_llsq)


# --- ode (tools/jax/ode.py) -------------------------------------------------------------

def ode_fun_vec(x):
    def f(y):
        def single_component(i, xi, yi_rot):
            return jnp.where(i == 0, xi, xi * yi_rot)

        iota = jnp.arange(x.shape[0])
        y_rot = jnp.roll(y, shift=1)
        return jax.vmap(single_component)(iota, x, y_rot)

    return f


def runge_kutta(f, yi, tf, s):
    h = tf / s

    def body_fun(yf, _):
        k1 = f(yf)
        k2 = f(yf + (h / 2 * k1))
        k3 = f(yf + h / 2 * k2)
        k4 = f(yf + (h * k3))
        yf_next = yf + (h / 6 * (k1 + ((2 * k2) + (2 * k3) + k4)))
        return yf_next, yf_next

    _, y_trajectory = jax.lax.scan(body_fun, yi, None, length=s)
    return y_trajectory[-1]


@partial(jax.jit, static_argnums=[1])
def ode(x, s):
    return runge_kutta(ode_fun_vec(x), jnp.zeros_like(x), 2.0, s)


@partial(jax.jit, static_argnums=[1])
def _grad_ode(x, s):
    return jax.grad(lambda x_: ode(x_, s)[-1])(x)


register("ode", lambda x, s: np.asarray(ode(x, s)), lambda x, s: np.asarray(_grad_ode(x, s)),
         lambda: _grad_ode)


# --- lstm (tools/pytorch/lstm_objective.py, in JAX) -------------------------------------

def lstm_cell(weight, bias, hidden, cell, _input):
    gates = jnp.concatenate((_input, hidden, _input, hidden)) * weight + bias
    hsize = hidden.shape[0]
    forget = jax.nn.sigmoid(gates[0:hsize])
    ingate = jax.nn.sigmoid(gates[hsize: 2 * hsize])
    outgate = jax.nn.sigmoid(gates[2 * hsize: 3 * hsize])
    change = jnp.tanh(gates[3 * hsize:])
    cell = cell * forget + ingate * change
    hidden = outgate * jnp.tanh(cell)
    return (hidden, cell)


def lstm_predict(w, w2, s, x):
    s2 = s
    x = x * w2[0]
    for i in range(0, len(s), 2):
        h, c = lstm_cell(w[i], w[i + 1], s[i], s[i + 1], x)
        s2 = s2.at[i].set(h).at[i + 1].set(c)
        x = s2[i]
    return (x * w2[1] + w2[2], s2)


def lstm_objective(main_params, extra_params, state, sequence):
    # the loop over the sequence as lax.scan (its body is the original's loop body; the
    # list of states becomes the carried state): jit of the unrolled Python loop over 1023
    # characters did not compile in 300 s
    def body(carry, t):
        total, state, _input = carry
        ypred, new_state = lstm_predict(main_params, extra_params, state, _input)
        ynorm = ypred - jnp.log(jnp.sum(jnp.exp(ypred)) + 2)
        ygold = sequence[t + 1]
        return (total + jnp.sum(ygold * ynorm), new_state, ygold), None

    (total, _, _), _ = jax.lax.scan(body, (0.0, state, sequence[0]),
                                    jnp.arange(len(sequence) - 1))
    count = (len(sequence) - 1) * sequence.shape[1]
    return -total / count


_lstm_grad = jax.jit(jax.grad(lstm_objective, argnums=(0, 1)))
_lstm = memo(jax.jit(jax.value_and_grad(lstm_objective, argnums=(0, 1))))
register("lstm", lambda *a: float(_lstm(*a)[0]),
         lambda *a: tuple(np.asarray(g) for g in _lstm(*a)[1]), lambda: _lstm_grad)


# --- det (cpp/gradbench/evals/det.hpp, recursion traced by JAX) -------------------------

def det_of_minor(A, n, m, r, c):
    R0 = r[n]
    Cj = c[n]
    if m == 1:
        return A[R0 * n + Cj]
    detM = 0.0
    sign = 1
    r[n] = r[R0]
    Cj1 = n
    for j in range(m):
        M0j = A[R0 * n + Cj]
        c[Cj1] = c[Cj]
        detS = det_of_minor(A, n, m - 1, r, c)
        c[Cj1] = Cj
        detM = detM + M0j * detS if sign > 0 else detM - M0j * detS
        Cj1 = Cj
        Cj = c[Cj]
        sign = -sign
    r[n] = R0
    return detM


def det(A, ell):
    r = [i + 1 for i in range(ell)] + [0]
    c = [i + 1 for i in range(ell)] + [0]
    return det_of_minor(A, ell, ell, r, c)


_det_grad = jax.jit(jax.grad(det), static_argnums=[1])
register("det", lambda A, ell: float(det(jnp.asarray(A), ell)),
         lambda A, ell: np.asarray(_det_grad(A, ell)), lambda: _det_grad)


# --- ba (tools/pytorch/ba_objective.py, in JAX) -----------------------------------------

def rodrigues_rotate_point(rot, X):
    sqtheta = jnp.sum(rot**2)
    # the branch of the original, as a select (the reference is jitted and vmapped)
    safe = jnp.where(sqtheta != 0.0, sqtheta, 1.0)
    theta = jnp.sqrt(safe)
    costheta = jnp.cos(theta)
    sintheta = jnp.sin(theta)
    w = (1.0 / theta) * rot
    tmp = jnp.dot(w, X) * (1.0 - costheta)
    rotated = X * costheta + jnp.cross(w, X) * sintheta + w * tmp
    return jnp.where(sqtheta != 0.0, rotated, X + jnp.cross(rot, X))


def radial_distort(rad_params, proj):
    rsq = jnp.sum(proj**2)
    L = 1.0 + rad_params[0] * rsq + rad_params[1] * rsq * rsq
    return proj * L


def project(cam, X):
    Xcam = rodrigues_rotate_point(cam[0:3], X - cam[3:6])
    distorted = radial_distort(cam[9:11], Xcam[0:2] / Xcam[2])
    return distorted * cam[6] + cam[7:9]


def compute_reproj_err(cam, X, w, feat):
    return w * (project(cam, X) - feat)


def compute_w_err(w):
    return 1.0 - w**2


def _ba_primal(cams, X, w, obs, feats):
    r = jax.vmap(compute_reproj_err)(cams[obs[:, 0]], X[obs[:, 1]], w, feats)
    return r.flatten(), compute_w_err(w)


def _ba_block(cam, x, w, feat):
    J = jax.jacrev(compute_reproj_err, argnums=(0, 1, 2))(cam, x, w, feat)
    return jnp.concatenate([J[0], J[1], J[2][:, None]], axis=1), jax.grad(compute_w_err)(w)


@jax.jit
def _ba_jac(cams, X, w, obs, feats):
    return jax.vmap(_ba_block)(cams[obs[:, 0]], X[obs[:, 1]], w, feats)


_ba = memo(jax.jit(lambda *a: (_ba_primal(*a), _ba_jac.__wrapped__(*a))))
register("ba", lambda *a: tuple(np.asarray(v) for v in _ba(*a)[0]),
         lambda *a: tuple(np.asarray(v) for v in _ba(*a)[1]), lambda: _ba_jac)


# --- ht (tools/pytorch/ht_objective.py, in JAX) -----------------------------------------

def to_pose_params(theta, nbones):
    pose_params = jnp.zeros((int(nbones) + 3, 3), dtype=jnp.float64)
    pose_params = pose_params.at[0, :].set(theta[0:3])
    pose_params = pose_params.at[1, :].set(jnp.ones((3,)))
    pose_params = pose_params.at[2, :].set(theta[3:6])
    i_theta = 6
    i_pose_params = 5
    for i_finger in range(5):
        for i in [1, 2, 3]:
            pose_params = pose_params.at[i_pose_params, 0].set(theta[i_theta])
            i_theta += 1
            if i == 1:
                pose_params = pose_params.at[i_pose_params, 1].set(theta[i_theta])
                i_theta += 1
            i_pose_params += 1
        i_pose_params += 1
    return pose_params


def euler_angles_to_rotation_matrix(xzy):
    tx, ty, tz = xzy[0], xzy[2], xzy[1]
    Rx = jnp.eye(3).at[1, 1].set(jnp.cos(tx)).at[2, 1].set(jnp.sin(tx))
    Rx = Rx.at[1, 2].set(-Rx[2, 1]).at[2, 2].set(Rx[1, 1])
    Ry = jnp.eye(3).at[0, 0].set(jnp.cos(ty)).at[2, 0].set(jnp.sin(ty))
    Ry = Ry.at[0, 2].set(-Ry[2, 0]).at[2, 2].set(Ry[0, 0])
    Rz = jnp.eye(3).at[0, 0].set(jnp.cos(tz)).at[1, 0].set(jnp.sin(tz))
    Rz = Rz.at[0, 1].set(-Rz[1, 0]).at[1, 1].set(Rz[0, 0])
    return (Rz @ Ry) @ Rx


def get_posed_relatives(pose_params, base_relatives):
    def inner(rot_param, base_relative):
        tr = jnp.eye(4, dtype=jnp.float64).at[:3, :3].set(
            euler_angles_to_rotation_matrix(rot_param))
        return base_relative @ tr

    return jnp.stack([inner(pose_params[3:][i], base_relatives[i])
                      for i in range(len(pose_params[3:]))])


def relatives_to_absolutes(relatives, parents):
    absolutes = []
    for i in range(relatives.shape[0]):
        if parents[i] == -1:
            absolutes.append(relatives[i])
        else:
            absolutes.append(absolutes[parents[i]] @ relatives[i])
    return jnp.stack(absolutes)


def angle_axis_to_rotation_matrix(angle_axis):
    n = jnp.sqrt(jnp.sum(angle_axis**2))

    def aa2R():
        x, y, z = angle_axis / n
        s, c = jnp.sin(n), jnp.cos(n)
        return jnp.array([
            [x * x + (1 - x * x) * c, x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
            [x * y * (1 - c) + z * s, y * y + (1 - y * y) * c, y * z * (1 - c) - x * s],
            [x * z * (1 - c) - y * s, z * y * (1 - c) + x * s, z * z + (1 - z * z) * c],
        ])

    # the original's `if n < 0.0001` branch, as lax.cond (the reference is jitted)
    return jax.lax.cond(n < 0.0001, lambda: jnp.eye(3), aa2R)


def apply_global_transform(pose_params, positions):
    R = angle_axis_to_rotation_matrix(pose_params[0]) * pose_params[1]
    return jnp.transpose(R @ jnp.transpose(positions)) + pose_params[2]


def get_skinned_vertex_positions(pose_params, base_relatives, parents,
                                 inverse_base_absolutes, base_positions, weights):
    relatives = get_posed_relatives(pose_params, base_relatives)
    absolutes = relatives_to_absolutes(relatives, parents)
    transforms = jnp.stack([absolutes[i] @ inverse_base_absolutes[i]
                            for i in range(len(absolutes))])
    positions = jnp.stack([transforms[i] @ base_positions.T
                           for i in range(transforms.shape[0])])
    positions = jnp.swapaxes(jnp.swapaxes(positions, 0, 2), 1, 2)
    positions2 = jnp.sum(positions * weights.reshape((*weights.shape, 1)), 1)[:, :3]
    return apply_global_transform(pose_params, positions2)


def hand_objective_complicated(all_params, nbones, parents, base_relatives,
                               inverse_base_absolutes, base_positions, weights,
                               mirror_factor, points, correspondences, triangles):
    npts = points.shape[0]
    us = all_params[: 2 * npts].reshape((npts, 2))
    theta = all_params[2 * npts:]
    pose_params = to_pose_params(theta, nbones)
    vertex_positions = get_skinned_vertex_positions(
        pose_params, base_relatives, parents, inverse_base_absolutes, base_positions,
        weights)

    def get_hand_pt(u, triangle):
        return (u[0] * vertex_positions[int(triangle[0])]
                + u[1] * vertex_positions[int(triangle[1])]
                + (1.0 - u[0] - u[1]) * vertex_positions[int(triangle[2])])

    return jnp.stack([points[i] - get_hand_pt(us[i], triangles[int(correspondences[i])])
                      for i in range(points.shape[0])])


_ht_compiled = {}


def _ht_jitted(params):
    # one compiled Jacobian per data set (the data are constants of the computation)
    key = tuple(id(p) for p in params)
    if key not in _ht_compiled:
        _ht_compiled[key] = (params, jax.jit(jax.jacfwd(
            lambda p: hand_objective_complicated(p, *params))))
    return _ht_compiled[key][1]


def _ht_derivative(all_params, *params):
    # eager: compiling the unrolled model costs more than it saves on one call (timings use
    # the compiled one)
    from ht import compact
    J = jax.jacfwd(lambda p: hand_objective_complicated(p, *params))(all_params)
    return compact(np.asarray(J).reshape(-1, all_params.shape[0]))


def _ht_timed():
    from ht import compact

    def jacobian(all_params, *params):
        J = _ht_jitted(params)(all_params)
        return compact(np.asarray(J).reshape(-1, all_params.shape[0]))
    return jacobian


register("ht", lambda *a: np.asarray(hand_objective_complicated(*a)), _ht_derivative,
         _ht_timed)


# --- particle and saddle (tools/futhark/{particle,saddle,solver}.fut, in JAX) -----------
# Futhark's solver is a ``loop ... while`` over a state tuple: here ``lax.while_loop`` with
# ``lax.cond``, compiled. JAX cannot reverse-differentiate a ``while_loop``, so the outer
# derivative (the solver's gradient of a function that contains a loop) is forward mode in
# every variant; the variant's letter for the inner derivative is honoured. (Written with
# Python loops and eager ``jax.grad`` instead, particle took 255 s and saddle over 300 s.)

def _magnitude(v):
    return jnp.sqrt(jnp.sum(v * v))


def multivariate_argmin(grad, f, x):
    g = grad(f)

    def step(state):
        x, fx, gx, eta, i, _go = state

        def descend():
            x_prime = x - eta * gx

            def try_step():
                fx_prime = f(x_prime)
                return jax.lax.cond(
                    fx_prime < fx,
                    lambda: (x_prime, fx_prime, g(x_prime), eta, i + 1, True),
                    lambda: (x, fx, gx, eta / 2, 0, True))

            return jax.lax.cond(_magnitude(x - x_prime) <= 1e-5,
                                lambda: (x, fx, gx, eta, i, False), try_step)

        return jax.lax.cond(
            _magnitude(gx) <= 1e-5, lambda: (x, fx, gx, eta, i, False),
            lambda: jax.lax.cond(i == 10, lambda: (x, fx, gx, 2 * eta, 0, True), descend))

    init = (x, f(x), g(x), jnp.asarray(1e-5, x.dtype), 0, True)
    return jax.lax.while_loop(lambda s: s[5], step, init)[0]


def multivariate_argmax(grad, f, x):
    return multivariate_argmin(grad, lambda x: -f(x), x)


def multivariate_max(grad, f, x):
    return f(multivariate_argmax(grad, f, x))


def _grad_r(f):
    return jax.grad(f)


def _grad_f(f):
    def g(x):
        return jnp.stack([jax.jvp(f, (x,), (e,))[1] for e in jnp.eye(x.shape[0])])
    return g


_GRADS = {"r": _grad_r, "f": _grad_f}


def naive_euler(grad, w):
    charges = [jnp.stack([10.0, 10.0 - w]), jnp.array([10.0, 0.0])]
    delta_t = 1e-1

    def p(x):
        return sum(1.0 / jnp.sqrt(jnp.sum((x - c) ** 2)) for c in charges)

    def step(state):
        x, xdot, _go = state
        xddot = -1.0 * grad(p)(x)
        x_new = x + delta_t * xdot
        return jax.lax.cond(x_new[1] > 0, lambda: (x_new, xdot + delta_t * xddot, True),
                            lambda: (x, xdot, False))

    x, xdot, _ = jax.lax.while_loop(lambda s: s[2], step,
                                    (jnp.array([0.0, 8.0]), jnp.array([0.75, 0.0]), True))
    delta_t_f = -x[1] / xdot[1]
    x_t_f = x + delta_t_f * xdot
    return x_t_f[0] * x_t_f[0]


@partial(jax.jit, static_argnums=[1])
def _particle_jit(w0, variant):
    g1 = _GRADS[variant[1]]
    return multivariate_argmin(_grad_f, lambda w: naive_euler(g1, w[0]),
                               jnp.reshape(w0, (1,)))[0]


def _particle(w0, variant):
    return float(_particle_jit(jnp.asarray(w0, jnp.float64), variant))


register("particle", None, _particle)


@partial(jax.jit, static_argnums=[1])
def _saddle_jit(start, variant):
    g1 = _GRADS[variant[1]]

    def f(x1, y1, x2, y2):
        return (x1**2 + y1**2) - (x2**2 + y2**2)

    def r2_cost(p1, p):
        return f(p1[0], p1[1], p[0], p[1])

    def r1_cost(p1):
        return multivariate_max(g1, lambda p: r2_cost(p1, p), start)

    r1 = multivariate_argmin(_grad_f, r1_cost, start)
    r2 = multivariate_argmax(_grad_f, lambda p: r2_cost(r1, p), start)
    return jnp.concatenate([r1, r2])


def _saddle(start, variant):
    return np.asarray(_saddle_jit(jnp.asarray(start), variant))


register("saddle", None, _saddle)
