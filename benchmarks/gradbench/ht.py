"""ht: hand tracking (ADBench), the "complicated" variant: residuals of 3-D points against a
skinned hand mesh, and the Jacobian wrt (us, theta), compacted as GradBench asks.

Follows gradbench/gradbench python/gradbench/gradbench/tools/pytorch/ht_objective.py
(ADBench's PyTorch hand model: ``to_pose_params`` with its nested loops and subscript
assignment, ``euler_angles_to_rotation_matrix`` writing into identity matrices and reading
back, ``get_posed_relatives`` with the helper ``inner``, ``relatives_to_absolutes`` on a list,
``angle_axis_to_rotation_matrix`` with the closure ``aa2R`` and its branch,
``weights.reshape((*weights.shape, 1))``, ``hand_objective_complicated`` with the closure
``get_hand_pt``) and tools/pytorch/ht.py (``calculate_jacobian`` and the compaction of the
Jacobian into the us part and the theta part). ``torch.stack``, ``torch.eye``,
``torch.transpose`` become numpy's; torch's ``.transpose(0, 2)`` (swap two axes) becomes
``np.swapaxes``. Inputs follow python/gradbench/gradbench/evals/ht/io.py
(``load_model``, ``read_hand_instance``); the smallest published instance is hand1_t26_c100
(GradBench's default model is complicated_big; its vertices.txt is 1.6 MB, so data/ht holds
the complicated_small model, 544 vertices, and the complicated_small hand1 instance; ADBench,
MIT licence, data/ht/LICENSE.TXT). The small case keeps the first 8 points of hand1 and the
vertices their triangles use.
"""
import os

import numpy as np
from fdiff import central

import transgrad as tg

NAME = "ht"
CASES = ("small", "published")


def to_pose_params(theta, nbones):
    pose_params = np.zeros((int(nbones) + 3, 3), dtype=np.float64)

    pose_params[0, :] = theta[0:3]
    pose_params[1, :] = np.ones((3,))
    pose_params[2, :] = theta[3:6]

    i_theta = 6
    i_pose_params = 5
    n_fingers = 5
    for i_finger in range(n_fingers):
        for i in [1, 2, 3]:
            pose_params[i_pose_params, 0] = theta[i_theta]
            i_theta += 1
            if i == 1:
                pose_params[i_pose_params, 1] = theta[i_theta]
                i_theta += 1
            i_pose_params += 1
        i_pose_params += 1

    return pose_params


def euler_angles_to_rotation_matrix(xzy):
    tx = xzy[0]
    ty = xzy[2]
    tz = xzy[1]

    Rx = np.eye(3)
    Rx[1, 1] = np.cos(tx)
    Rx[2, 1] = np.sin(tx)
    Rx[1, 2] = -Rx[2, 1]
    Rx[2, 2] = Rx[1, 1]

    Ry = np.eye(3)
    Ry[0, 0] = np.cos(ty)
    Ry[2, 0] = np.sin(ty)
    Ry[0, 2] = -Ry[2, 0]
    Ry[2, 2] = Ry[0, 0]

    Rz = np.eye(3)
    Rz[0, 0] = np.cos(tz)
    Rz[1, 0] = np.sin(tz)
    Rz[0, 1] = -Rz[1, 0]
    Rz[1, 1] = Rz[0, 0]

    return (Rz @ Ry) @ Rx


def get_posed_relatives(pose_params, base_relatives):
    def inner(rot_param, base_relative):
        tr = np.eye(4, dtype=np.float64)
        R = euler_angles_to_rotation_matrix(rot_param)
        tr[:3, :3] = R
        return base_relative @ tr

    relatives = np.stack(
        [
            inner(pose_params[3:][i], base_relatives[i])
            for i in range(len(pose_params[3:]))
        ]
    )

    return relatives


def relatives_to_absolutes(relatives, parents):
    absolutes = []
    for i in range(relatives.shape[0]):
        if parents[i] == -1:
            absolutes.append(relatives[i])
        else:
            absolutes.append(absolutes[parents[i]] @ relatives[i])

    return np.stack(absolutes)


def angle_axis_to_rotation_matrix(angle_axis):
    n = np.sqrt(np.sum(angle_axis**2))

    def aa2R():
        angle_axis_normalized = angle_axis / n
        x = angle_axis_normalized[0]
        y = angle_axis_normalized[1]
        z = angle_axis_normalized[2]
        s, c = np.sin(n), np.cos(n)
        R = np.zeros((3, 3), dtype=np.float64)
        R[0, 0] = x * x + (1 - x * x) * c
        R[0, 1] = x * y * (1 - c) - z * s
        R[0, 2] = x * z * (1 - c) + y * s

        R[1, 0] = x * y * (1 - c) + z * s
        R[1, 1] = y * y + (1 - y * y) * c
        R[1, 2] = y * z * (1 - c) - x * s

        R[2, 0] = x * z * (1 - c) - y * s
        R[2, 1] = z * y * (1 - c) + x * s
        R[2, 2] = z * z + (1 - z * z) * c
        return R

    if n < 0.0001:
        return np.eye(3)
    else:
        return aa2R()


def apply_global_transform(pose_params, positions):
    R = angle_axis_to_rotation_matrix(pose_params[0])
    s = pose_params[1]
    R *= s
    t = pose_params[2]
    return np.transpose(R @ np.transpose(positions, (1, 0)), (1, 0)) + t


def get_skinned_vertex_positions(
    pose_params,
    base_relatives,
    parents,
    inverse_base_absolutes,
    base_positions,
    weights,
    mirror_factor,
):
    relatives = get_posed_relatives(pose_params, base_relatives)

    absolutes = relatives_to_absolutes(relatives, parents)

    transforms = np.stack(
        [(absolutes[i] @ inverse_base_absolutes[i]) for i in range(len(absolutes))]
    )

    positions = np.swapaxes(
        np.swapaxes(
            np.stack(
                [
                    transforms[i, :, :] @ np.swapaxes(base_positions, 0, 1)
                    for i in range(transforms.shape[0])
                ]
            ),
            0, 2,
        ),
        1, 2,
    )

    positions2 = np.sum(positions * weights.reshape((*weights.shape, 1)), 1)[:, :3]

    positions3 = apply_global_transform(pose_params, positions2)

    return positions3


def hand_objective_complicated(
    all_params,
    nbones,
    parents,
    base_relatives,
    inverse_base_absolutes,
    base_positions,
    weights,
    mirror_factor,
    points,
    correspondences,
    triangles,
):
    npts = points.shape[0]
    us = all_params[: 2 * npts].reshape((npts, 2))
    theta = all_params[2 * npts:]
    pose_params = to_pose_params(theta, nbones)
    vertex_positions = get_skinned_vertex_positions(
        pose_params,
        base_relatives,
        parents,
        inverse_base_absolutes,
        base_positions,
        weights,
        mirror_factor,
    )

    def get_hand_pt(u, triangle):
        return (
            u[0] * vertex_positions[int(triangle[0])]
            + u[1] * vertex_positions[int(triangle[1])]
            + (1.0 - u[0] - u[1]) * vertex_positions[int(triangle[2])]
        )

    err = np.stack(
        [
            points[i] - get_hand_pt(us[i], triangles[int(correspondences[i])])
            for i in range(points.shape[0])
        ]
    )

    return err


# --- input reading (evals/ht/io.py load_model and read_hand_instance) -------------------

DELIM = ":"


def load_model(path):
    triangles = np.loadtxt(os.path.join(path, "triangles.txt"), int, delimiter=DELIM)
    bones_path = os.path.join(path, "bones.txt")
    bone_names = tuple(line.split(DELIM)[0] for line in open(bones_path))
    parents = np.loadtxt(bones_path, int, usecols=[1], delimiter=DELIM).flatten()
    relative_transforms = np.loadtxt(
        bones_path, usecols=range(2, 2 + 16), delimiter=DELIM
    ).reshape(len(parents), 4, 4)
    vertices_path = os.path.join(path, "vertices.txt")
    n_bones = len(bone_names)
    with open(vertices_path) as handle:
        n_verts = len(handle.readlines())
    positions = np.zeros((n_verts, 3))
    weights = np.zeros((n_verts, n_bones))
    with open(vertices_path) as handle:
        for i_vert, line in enumerate(handle):
            atoms = line.split(DELIM)
            positions[i_vert] = [float(x) for x in atoms[:3]]
            for i in range(int(atoms[8])):
                i_bone = int(atoms[9 + i * 2])
                weights[i_vert, i_bone] = float(atoms[9 + i * 2 + 1])
    inverse_absolute_transforms = np.loadtxt(
        bones_path, usecols=range(2 + 16, 2 + 16 + 16), delimiter=DELIM
    ).reshape(len(parents), 4, 4)
    homogeneous_base_positions = np.ones((positions.shape[0], 4))
    homogeneous_base_positions[:, :3] = positions
    return (n_bones, parents, relative_transforms, inverse_absolute_transforms,
            homogeneous_base_positions, weights, triangles, False)


def read_hand_instance(model_dir, fn):
    model = load_model(model_dir)
    with open(fn) as fid:
        npts, ntheta = [int(v) for v in fid.readline().split()]
        lines = [fid.readline().split() for _ in range(npts)]
        correspondences = np.array([int(line[0]) for line in lines])
        points = np.array([[float(v) for v in line[1:]] for line in lines])
        us = np.array([[float(v) for v in fid.readline().split()] for _ in range(npts)])
        theta = np.array([float(fid.readline()) for _ in range(ntheta)])
    return model, correspondences, points, us, theta


def inputs(kind):
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "ht")
    model, correspondences, points, us, theta = read_hand_instance(
        os.path.join(here, "model"), os.path.join(here, "hand1_t26_c100.txt"))
    (n_bones, parents, relatives, inverse_absolutes, base_positions, weights, triangles,
     mirrored) = model
    if kind == "small":
        npts = 8
        points, us = points[:npts], us[:npts]
        tri = triangles[correspondences[:npts]]
        used, remapped = np.unique(tri, return_inverse=True)
        base_positions, weights = base_positions[used], weights[used]
        triangles = remapped.reshape(tri.shape)
        correspondences = np.arange(npts)
    # tools/pytorch/ht.py prepare: the differentiated input is us then theta
    all_params = np.append(us.flatten(), theta)
    return (all_params, n_bones, parents, relatives, inverse_absolutes, base_positions,
            weights, mirrored, points, correspondences, triangles)


def primal(*args):
    return hand_objective_complicated(*args)


def compact(J):
    # tools/pytorch/ht.py calculate_jacobian, the complicated case
    n_rows, n_cols = J.shape
    us_J = np.empty([n_rows, 2])
    for i in range(n_rows // 3):
        for k in range(3):
            us_J[3 * i + k] = J[3 * i + k][2 * i: 2 * i + 2]
    us_count = 2 * n_rows // 3
    theta_count = n_cols - us_count
    theta_J = np.empty([n_rows, theta_count])
    for i in range(n_rows):
        theta_J[i] = J[i][us_count:]
    return np.concatenate((us_J, theta_J), 1)


def derivative(*args):
    J = tg.jacobian(hand_objective_complicated)(*args)
    return compact(J.reshape(-1, args[0].shape[0]))


def prepare(*args):
    """The derivative built once, as a GradBench tool builds it before its timed runs."""
    jacobian = tg.jacobian(hand_objective_complicated)
    return lambda: compact(jacobian(*args).reshape(-1, args[0].shape[0]))


def derivative_jax():
    import jax

    tangent = tg.jvp(hand_objective_complicated, backend="jax")
    made = {}

    def jacobian(all_params, *params):
        # one jitted function per model (params: ints and the int index arrays the branches
        # read), made once and kept as a JAX user keeps one; all columns at once by
        # jax.vmap of the JVP, as the reference's jax.jacfwd
        key = tuple(id(p) for p in params)
        if key not in made:
            made.clear()
            made[key] = (params, jax.jit(lambda p, T: jax.vmap(
                lambda t: tangent(p, *params, t)[1].reshape(-1))(T)))
        columns = made[key][1]
        return compact(np.asarray(columns(all_params, np.eye(all_params.shape[0]))).T)
    return jacobian


def fd_derivative(all_params, *params):
    J = central(lambda p: hand_objective_complicated(p, *params), all_params)
    return compact(J.reshape(-1, all_params.shape[0]))
