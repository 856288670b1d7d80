"""The same objectives differentiated by PyTorch eager and by HIPS autograd, for speed.py.

Each objective module here is loaded a second time with its ``np`` (and the scipy.special
names it imports) bound to another array library, so PyTorch and autograd run the very code
transgrad differentiates. That code was written from GradBench's PyTorch originals where
GradBench has them (gmm, lstm, ba, ht: tools/pytorch/*_objective.py, whose structure it keeps)
and from its JAX, C++ or Futhark code otherwise (lse, kmeans, llsq, ode, det, particle,
saddle: GradBench has no PyTorch tool for llsq, ode, det, particle and saddle, so these are
the PyTorch versions of those objectives). The derivative is asked as GradBench's PyTorch tool
asks it (tools/pytorch/*.py): ``backward`` of the scalar objective for the gradients, ``vjp``
and ``vhp`` for kmeans' ``dir``, one backward pass per output element for the Jacobians of ba
(per observation) and ht (``torch_jacobian`` in tools/pytorch/utils.py); particle and saddle
use ``torch.func.grad`` and ``torch.func.jvp`` as the operators r and f.

autograd runs the numpy objective with ``autograd.numpy`` (its intended use); where the
objective assigns into an array that holds a derivative-carrying value (gmm, lstm, ht),
autograd cannot run it and says so: that is reported, not rewritten.

``PREPARE[tool][name](module_copy, *args)`` returns a zero-argument callable computing the
derivative (what is timed) and ``PRIMAL[tool][name]`` one computing the objective.
"""
import importlib.util
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def load_copy(name, patches, solver_patches=None):
    """A fresh copy of benchmarks/gradbench/<name>.py with module globals replaced by
    ``patches`` (the solver it imports from is copied and patched likewise)."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    spec = importlib.util.spec_from_file_location(
        f"_copy_{name}_{id(patches)}", os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for key, value in patches.items():
        mine = getattr(vars(module).get(key), "__module__", None) == module.__name__
        if key in ("np", "tg") or (key in vars(module) and not mine):
            setattr(module, key, value)     # numpy, transgrad, or a name from scipy
    if name in ("particle", "saddle"):
        solver = load_copy("solver", solver_patches or patches)
        for key in ("multivariate_argmin", "multivariate_argmax", "multivariate_max"):
            if hasattr(module, key):
                setattr(module, key, getattr(solver, key))
    return module


# --- PyTorch --------------------------------------------------------------------------

def torch_numpy():
    """A namespace that answers the numpy calls of the objectives with torch's."""
    import torch
    # numpy's default float is float64; so must torch's be for np.zeros, np.eye, np.empty
    torch.set_default_dtype(torch.float64)
    # one thread, as GradBench runs its tools (its JAX tool pins itself to one core): on
    # these small arrays torch's thread pool only adds waiting
    torch.set_num_threads(1)

    class TorchNumpy:
        float64 = double = torch.float64
        int64 = torch.int64
        pi = math.pi

        def __getattr__(self, name):
            return getattr(torch, name)

        @staticmethod
        def _dtype(dtype):
            return torch.float64 if dtype in (None, float, np.float64) else dtype

        def array(self, value, dtype=None):
            if isinstance(value, (list, tuple)) and any(torch.is_tensor(v) for v in value):
                return torch.stack([torch.as_tensor(v, dtype=torch.float64) for v in value])
            return torch.as_tensor(value, dtype=self._dtype(dtype))

        def zeros(self, shape, dtype=None):
            return torch.zeros(shape, dtype=self._dtype(dtype))

        def ones(self, shape=None, dtype=None):
            return torch.ones(shape, dtype=self._dtype(dtype))

        def eye(self, n, dtype=None):
            return torch.eye(n, dtype=self._dtype(dtype))

        def full(self, n, value):
            return torch.full((n,) if isinstance(n, int) else n, float(value),
                              dtype=torch.float64)

        def sum(self, a, axis=None):
            return torch.sum(a) if axis is None else torch.sum(a, dim=axis)

        def max(self, a, axis=None):
            return torch.max(a) if axis is None else torch.max(a, dim=axis).values

        def min(self, a, axis=None):
            return torch.min(a) if axis is None else torch.min(a, dim=axis).values

        def concatenate(self, seq, axis=0):
            return torch.cat(tuple(seq), dim=axis)

        def stack(self, seq, axis=0):
            return torch.stack(list(seq), dim=axis)

        def hstack(self, seq):
            return torch.hstack(tuple(seq))

        def transpose(self, a, axes=None):
            return a.T if axes is None else a.permute(*axes)

        def repeat(self, a, repeats):
            return torch.repeat_interleave(a, repeats)

        def cumprod(self, a):
            return torch.cumprod(a, dim=0)

        def sign(self, x):
            return torch.sign(torch.as_tensor(x, dtype=torch.float64))

        def roll(self, a, shift):
            return torch.roll(a, shifts=shift)

        def cross(self, a, b):
            return torch.linalg.cross(a, b)

        def reshape(self, a, shape):
            return torch.reshape(a, shape)

        def zeros_like(self, a):
            return torch.zeros_like(a)

    return TorchNumpy()


def torch_patches():
    import torch
    tnp = torch_numpy()
    if not hasattr(torch.Tensor, "copy"):
        # lstm's ``s.copy()`` is ADBench's PyTorch ``s.clone()``
        torch.Tensor.copy = torch.Tensor.clone

    class TorchTg:
        """transgrad's operators as particle and saddle call them, answered by torch.func."""

        @staticmethod
        def grad(f):
            return torch.func.grad(f)

        @staticmethod
        def jvp(f):
            return lambda x, t: torch.func.jvp(f, (x,), (t,))

    return {"np": tnp, "tg": TorchTg,
            "logsumexp": lambda a, axis: torch.logsumexp(a, dim=axis),
            "sigmoid": torch.sigmoid}


def to_torch(value, grad=False):
    import torch
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return torch.tensor(value, dtype=torch.float64, requires_grad=grad)
    if isinstance(value, np.ndarray):
        return torch.tensor(value)
    return value


def to_numpy(value):
    import torch
    if torch.is_tensor(value):
        return value.detach().numpy()
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(to_numpy(v) for v in value)
    return value


def _torch_gradient(objective, wrt):
    """prepare(module, *args): the gradient of objective(module, *args) wrt the arguments at
    positions ``wrt`` by ``backward``, as GradBench's PyTorch tools take it."""
    def prepare(module, *args):
        import torch
        args = [to_torch(a, grad=i in wrt) for i, a in enumerate(args)]
        leaves = [args[i] for i in wrt]

        def gradient():
            for leaf in leaves:
                leaf.grad = None
            objective(module, *args).backward()
            grads = tuple(leaf.grad for leaf in leaves)
            return grads[0] if len(grads) == 1 else grads
        assert torch.is_grad_enabled()
        return gradient
    return prepare


def _torch_gmm(module, independent, fixed):
    import torch
    fixed = {k: to_torch(v) for k, v in fixed.items()}
    ind = {k: to_torch(v, grad=True) for k, v in independent.items()}

    def gradient():
        for leaf in ind.values():
            leaf.grad = None
        module.gmm_objective(**fixed, **ind).backward()
        return {k: leaf.grad for k, leaf in ind.items()}
    assert torch.is_grad_enabled()
    return gradient


def _torch_kmeans(module, points, centroids):
    import torch
    from torch.autograd.functional import vhp, vjp
    points, centroids = to_torch(points), to_torch(centroids)

    def cost(cs):
        return module.costfun(points, cs)

    def dir():
        _, jac = vjp(cost, centroids, v=torch.tensor(1.0, dtype=torch.float64))
        _, hes = vhp(cost, centroids, v=torch.ones_like(centroids))
        return jac / hes
    return dir


def _torch_ba(module, cams, X, w, obs, feats):
    import torch
    # as tools/pytorch/ba.py prepare: one leaf tensor per camera, point and weight
    cams = [to_torch(c, grad=True) for c in cams]
    X = [to_torch(x, grad=True) for x in X]
    w = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in w]
    feats = to_torch(feats)

    def jacobian():
        p = len(obs)
        reproj_J = torch.empty((p, 2, 15), dtype=torch.float64)
        w_J = torch.empty(p, dtype=torch.float64)
        for j in range(p):
            inputs = (cams[obs[j, 0]], X[obs[j, 1]], w[j])
            err = module.compute_reproj_err(*inputs, feats[j])
            for row in range(2):
                grads = torch.autograd.grad(err[row], inputs, retain_graph=True)
                reproj_J[j, row] = torch.cat([g.reshape(-1) for g in grads])
        for j in range(p):
            w_J[j] = torch.autograd.grad(module.compute_w_err(w[j]), w[j])[0]
        return reproj_J, w_J
    return jacobian


def _torch_ht(module, all_params, *params):
    import torch
    inputs = to_torch(all_params, grad=True)
    params = [to_torch(p) for p in params]

    def jacobian():
        # tools/pytorch/utils.py torch_jacobian: one backward pass per output element
        err = module.hand_objective_complicated(inputs, *params).reshape(-1)
        rows = [torch.autograd.grad(e, inputs, retain_graph=True)[0] for e in err]
        return module.compact(torch.stack(rows))
    return jacobian


def _torch_nested(module, start, variant):
    import torch
    grads = {"r": torch.func.grad, "f": _torch_grad_f}
    start = torch.tensor(start, dtype=torch.float64) if np.ndim(start) else start
    name = "particle" if hasattr(module, "naive_euler") else "saddle"
    run = getattr(module, name)

    def solve():
        return run(grads[variant[0]], grads[variant[1]], start)
    if name == "particle":
        return lambda: solve()[0]
    return solve


def _torch_grad_f(f):
    import torch

    def g(x):
        return torch.stack([torch.func.jvp(f, (x,), (torch.eye(len(x), dtype=x.dtype)[i],))[1]
                            for i in range(len(x))])
    return g


TORCH_PREPARE = {
    "lse": _torch_gradient(lambda m, x: m.logsumexp(x), (0,)),
    "gmm": _torch_gmm,
    "kmeans": _torch_kmeans,
    "llsq": _torch_gradient(lambda m, x, n: m.llsq(x, n), (0,)),
    "ode": _torch_gradient(lambda m, x, s: m.ode(x, s)[-1], (0,)),
    "lstm": _torch_gradient(lambda m, *a: m.lstm_objective(*a), (0, 1)),
    "det": _torch_gradient(lambda m, A, ell: m.det(A, ell), (0,)),
    "ba": _torch_ba,
    "ht": _torch_ht,
    "particle": _torch_nested,
    "saddle": _torch_nested,
}


def _torch_primal(module, *args):
    import torch
    args = [to_torch(a) for a in args]
    if isinstance(args[0], dict):
        args = [{k: to_torch(v) for k, v in a.items()} for a in args]

    def primal():
        with torch.no_grad():
            return module.primal(*args)
    return primal


# --- HIPS autograd ----------------------------------------------------------------------

def autograd_patches():
    import autograd
    import autograd.numpy as anp
    import autograd.scipy.special as asp
    from autograd.differential_operators import make_jvp

    class AutogradTg:
        """transgrad's operators as particle and saddle call them, answered by autograd
        (its forward mode ``make_jvp`` is a reverse pass of a reverse pass)."""

        @staticmethod
        def grad(f):
            return autograd.grad(f)

        @staticmethod
        def jvp(f):
            return lambda x, t: make_jvp(f, 0)(x)(t)

    return {"np": anp, "tg": AutogradTg, "logsumexp": asp.logsumexp,
            "sigmoid": asp.expit, "multigammaln": asp.multigammaln}


def _autograd_gradient(objective, wrt):
    def prepare(module, *args):
        import autograd
        if len(wrt) == 1:
            gradient = autograd.grad(lambda v: objective(
                module, *args[:wrt[0]], v, *args[wrt[0] + 1:]))
            return lambda: gradient(args[wrt[0]])
        gradient = autograd.grad(lambda vs: objective(module, *vs, *args[len(wrt):]))
        return lambda: tuple(gradient(tuple(args[:len(wrt)])))
    return prepare


def _autograd_gmm(module, independent, fixed):
    import autograd
    gradient = autograd.grad(lambda ind: module.gmm_objective(**fixed, **ind))
    return lambda: gradient(independent)


def _autograd_kmeans(module, points, centroids):
    import autograd

    def cost(cs):
        return module.costfun(points, cs)
    gradient = autograd.grad(cost)
    hvp = autograd.hessian_vector_product(cost)
    ones = np.ones(centroids.shape)
    return lambda: gradient(centroids) / hvp(centroids, ones)


def _autograd_ba(module, cams, X, w, obs, feats):
    import autograd
    jacs = [autograd.jacobian(module.compute_reproj_err, i) for i in range(3)]
    dw = autograd.grad(module.compute_w_err)

    def jac(*args):
        return tuple(j(*args) for j in jacs)
    return lambda: module.jacobian_blocks(jac, dw, cams, X, w, obs, feats)


def _autograd_ht(module, all_params, *params):
    import autograd
    jacobian = autograd.jacobian(lambda p: module.hand_objective_complicated(p, *params))
    return lambda: module.compact(jacobian(all_params).reshape(-1, all_params.shape[0]))


def _autograd_nested(module, start, variant):
    return lambda: module.derivative(start, variant)


AUTOGRAD_PREPARE = {
    "lse": _autograd_gradient(lambda m, x: m.logsumexp(x), (0,)),
    "gmm": _autograd_gmm,
    "kmeans": _autograd_kmeans,
    "llsq": _autograd_gradient(lambda m, x, n: m.llsq(x, n), (0,)),
    "ode": _autograd_gradient(lambda m, x, s: m.ode(x, s)[-1], (0,)),
    "lstm": _autograd_gradient(lambda m, *a: m.lstm_objective(*a), (0, 1)),
    "det": _autograd_gradient(lambda m, A, ell: m.det(A, ell), (0,)),
    "ba": _autograd_ba,
    "ht": _autograd_ht,
    "particle": _autograd_nested,
    "saddle": _autograd_nested,
}


def prepare(tool, name, args):
    """(derivative, primal): zero-argument callables for ``tool`` ("pytorch" or "autograd")
    on the module ``name``'s arguments; primal is None where the module has none."""
    if tool == "pytorch":
        module = load_copy(name, torch_patches())
        derivative = TORCH_PREPARE[name](module, *args)
        primal = _torch_primal(module, *args) if module.primal is not None else None
        return (lambda: to_numpy(derivative())), primal
    module = load_copy(name, autograd_patches())
    derivative = AUTOGRAD_PREPARE[name](module, *args)
    primal = (lambda: module.primal(*args)) if module.primal is not None else None
    return derivative, primal
