"""ba: bundle adjustment (ADBench): reprojection errors and weight errors, and the Jacobian
blocks GradBench asks for (2 x 15 per observation for the reprojection error wrt the camera,
the point and the weight; 1 x 1 for the weight error).

Follows gradbench/gradbench python/gradbench/gradbench/tools/pytorch/ba_objective.py
(ADBench's PyTorch BA: ``rodrigues_rotate_point`` with its branch on ``sqtheta``,
``radial_distort``, ``project``, ``compute_reproj_err``, ``compute_w_err``) and
tools/pytorch/ba.py (``calculate_objective`` and ``calculate_jacobian``: one Jacobian per
observation, in a loop). ``torch.linalg.cross``/``torch.cross`` become ``np.cross``,
``torch.dot`` ``np.dot``. Inputs follow python/gradbench/gradbench/evals/ba/run.py and
tools/pytorch/ba.py ``prepare_input`` (one camera, point, weight and feature tiled n, m, p
times, observations cycling through cameras and points); the smallest published file is
evals/ba/data/ba1_n49_m7776_p31843.txt, copied to data/ (ADBench, MIT licence, data/LICENSE.TXT).
"""
import os
from pathlib import Path

import numpy as np
from fdiff import central

import transgrad as tg

NAME = "ba"
CASES = ("small", "published")

ROT_IDX = 0
C_IDX = 3
F_IDX = 6
X0_IDX = 7
RAD_IDX = 9


def rodrigues_rotate_point(rot, X):
    sqtheta = np.sum(rot**2)
    if sqtheta != 0.0:
        theta = np.sqrt(sqtheta)
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        theta_inverse = 1.0 / theta

        w = theta_inverse * rot
        w_cross_X = np.cross(w, X)
        tmp = np.dot(w, X) * (1.0 - costheta)

        return X * costheta + w_cross_X * sintheta + w * tmp
    else:
        return X + np.cross(rot, X)


def radial_distort(rad_params, proj):
    rsq = np.sum(proj**2)
    L = 1.0 + rad_params[0] * rsq + rad_params[1] * rsq * rsq
    return proj * L


def project(cam, X):
    Xcam = rodrigues_rotate_point(
        cam[ROT_IDX: ROT_IDX + 3], X - cam[C_IDX: C_IDX + 3]
    )
    distorted = radial_distort(cam[RAD_IDX: RAD_IDX + 2], Xcam[0:2] / Xcam[2])
    return distorted * cam[F_IDX] + cam[X0_IDX: X0_IDX + 2]


def compute_reproj_err(cam, X, w, feat):
    return w * (project(cam, X) - feat)


def compute_w_err(w):
    return 1.0 - w**2


def parse(path):
    lines = iter(Path(path).read_text().splitlines())
    n, m, p = [int(v) for v in next(lines).split()]
    one_cam = [float(x) for x in next(lines).split()]
    one_X = [float(x) for x in next(lines).split()]
    one_w = float(next(lines))
    one_feat = [float(x) for x in next(lines).split()]
    return {"n": n, "m": m, "p": p, "cam": one_cam, "x": one_X, "w": one_w,
            "feat": one_feat}


def prepare_input(input):
    n, m, p = input["n"], input["m"], input["p"]
    cams = np.tile(input["cam"], (n, 1))
    X = np.tile(input["x"], (m, 1))
    w = np.tile(input["w"], p)
    feats = np.tile(input["feat"], (p, 1))
    camIdx = 0
    ptIdx = 0
    obs = []
    for i in range(p):
        obs.append((camIdx, ptIdx))
        camIdx = (camIdx + 1) % n
        ptIdx = (ptIdx + 1) % m
    return cams, X, w, np.array(obs, dtype=np.int64), feats


def inputs(kind):
    here = os.path.dirname(os.path.abspath(__file__))
    input = parse(os.path.join(here, "data", "ba1_n49_m7776_p31843.txt"))
    if kind == "small":
        input = input | {"n": 3, "m": 4, "p": 6}
        # a camera whose rotation is not the identity's neighbour, per camera a little apart
        cams, X, w, obs, feats = prepare_input(input)
        rng = np.random.default_rng(31337)
        cams = cams * (1.0 + 0.05 * rng.standard_normal(cams.shape))
        X = X * (1.0 + 0.05 * rng.standard_normal(X.shape))
        w = w * (1.0 + 0.05 * rng.standard_normal(w.shape))
        return cams, X, w, obs, feats
    return prepare_input(input)


def primal(cams, X, w, obs, feats):
    # tools/pytorch/ba.py calculate_objective
    p = len(obs)
    reproj_error = np.empty((p, 2), dtype=np.float64)
    w_err = np.zeros(len(w))
    for j in range(p):
        reproj_error[j] = compute_reproj_err(cams[obs[j, 0]], X[obs[j, 1]], w[j], feats[j])
        w_err[j] = compute_w_err(w[j])
    return reproj_error.flatten(), w_err


def jacobian_blocks(jac, dw, cams, X, w, obs, feats):
    # tools/pytorch/ba.py calculate_jacobian: one Jacobian block per observation
    p = len(obs)
    reproj_J = np.empty((p, 2, 15))
    w_J = np.empty(p)
    for j in range(p):
        J_cam, J_x, J_w = jac(cams[obs[j, 0]], X[obs[j, 1]], w[j], feats[j])
        reproj_J[j] = np.hstack([J_cam, J_x, np.reshape(J_w, (2, 1))])
    for j in range(p):
        w_J[j] = dw(w[j])
    return reproj_J, w_J


def derivative(cams, X, w, obs, feats):
    return jacobian_blocks(tg.jacobian(compute_reproj_err, wrt=(0, 1, 2)),
                           tg.grad(compute_w_err), cams, X, w, obs, feats)


def prepare(cams, X, w, obs, feats):
    """The derivatives built once, as a GradBench tool builds them before its timed runs."""
    jac = tg.jacobian(compute_reproj_err, wrt=(0, 1, 2))
    dw = tg.grad(compute_w_err)
    return lambda: jacobian_blocks(jac, dw, cams, X, w, obs, feats)


def derivative_jax():
    import jax
    import jax.numpy as jnp

    vjp = tg.vjp(compute_reproj_err, wrt=(0, 1, 2), backend="jax")
    dw = tg.grad(compute_w_err, backend="jax")

    def block(cam, x, w, feat):
        rows = []
        for e in jnp.eye(2):
            g_cam, g_x, g_w = vjp(cam, x, w, feat, e)
            rows.append(jnp.concatenate([g_cam, g_x, jnp.reshape(g_w, (1,))]))
        return jnp.stack(rows), dw(w)

    @jax.jit
    def jacobian(cams, X, w, obs, feats):
        return jax.vmap(block)(cams[obs[:, 0]], X[obs[:, 1]], w, feats)

    return jacobian


def fd_derivative(cams, X, w, obs, feats):
    p = len(obs)
    reproj_J = np.empty((p, 2, 15))
    for j in range(p):
        z = np.concatenate([cams[obs[j, 0]], X[obs[j, 1]], [w[j]]])
        reproj_J[j] = central(
            lambda z, j=j: compute_reproj_err(z[:11], z[11:14], z[14], feats[j]), z)
    w_J = np.array([central(compute_w_err, w[j]) for j in range(p)])
    return reproj_J, w_J
