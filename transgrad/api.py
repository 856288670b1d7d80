"""Public entry points: grad, value_and_grad, vjp, jvp, source.

Each returns a ``GradientFunction`` (``derivative.py``): a callable that builds the
derivative's source through the pipeline (``pipeline.py``) on first use (or when ``.source``
is read), caches it, and checks its arguments on every call.
"""

from . import backends
from .arguments import check_wrt as _check_wrt  # noqa: F401  (re-exported, as below)
from .checkpoint import check_snapshots
from .derivative import EXACT_VARIANTS as _EXACT_VARIANTS  # noqa: F401
from .derivative import SHAPE_KEYS as _SHAPE_KEYS  # noqa: F401
from .derivative import GradientFunction, JaxGradientFunction
from .errors import TransformError
from .pipeline import (  # noqa: F401  (transgrad.api.build, .split... as before the split)
    ForwardFunction,
    SplitVJP,
    _cache,
    build,
    clear_cache,
    forward_function,
    split,
)


def _entry(mode, func, wrt, verbose, backend, loops=None, checkpoint=None):
    if checkpoint is not None:
        try:
            check_snapshots(checkpoint)
        except ValueError as error:
            raise TransformError(f"checkpoint={checkpoint!r}: {error}",
                                 hint="pass a number of snapshots, or 'auto'") from None
    if backends.check_backend(backend) == "jax":
        def make(f):
            return _with_checkpoint(JaxGradientFunction(f, wrt, mode, verbose, loops or "scan"),
                                    checkpoint)
    elif loops is not None:
        raise TransformError("loops= chooses how the JAX backend compiles loops",
                             hint="pass backend='jax' too, or leave loops out")
    else:
        def make(f):
            return _with_checkpoint(GradientFunction(f, wrt, mode, verbose), checkpoint)
    if func is None:
        return make
    if not callable(func):
        raise TransformError(f"expected a function to differentiate, got {func!r}")
    return make(func)


def _with_checkpoint(derivative, checkpoint):
    if checkpoint is not None:
        derivative.checkpoint = checkpoint
    return derivative


def grad(func=None, wrt=0, *, verbose=False, backend="numpy", loops=None, checkpoint=None):
    """The gradient of a scalar-valued numpy function, as generated Python source.

    Usable as a call, ``tg.grad(f)``, a bare decorator ``@tg.grad``, or ``@tg.grad(wrt=(0, 1))``.

    Example::

        def loss(w, x):
            return np.sum(np.tanh(x @ w) ** 2)

        dloss = tg.grad(loss)          # d loss / d w
        print(dloss.source)
        gw = dloss(w, x)               # same shape and dtype as w

    Args:
        func: the function; its source must be readable (defined in a file).
        wrt: the index of the positional argument to differentiate, or a tuple of indices
            (then a tuple of gradients is returned).
        verbose: print the generated source when it is built.
        backend: "numpy" (the default) or "jax": the generated code runs on ``jax.numpy``
            and composes with ``jax.jit``, ``jax.vmap`` and sharded inputs.
        loops: for ``backend="jax"``, "scan" (the default) compiles ``for`` loops as
            ``jax.lax.scan`` (fast to compile); "unroll" keeps Python loops, which JAX unrolls
            (slow to compile for long loops, sometimes faster to run for short ones).
        checkpoint: a number of snapshots k, or "auto": every outermost
            ``for ... in range(...)`` loop of ``func`` is reversed as if marked
            ``tg.checkpoint(range(...), snapshots=k)`` (memory of k loop states instead of one
            per step, for recomputation); "auto" takes the fewest snapshots that run each step
            forward at most twice (about sqrt(2 n) for n steps).

    Raises:
        TransformError: the function uses something transgrad cannot differentiate (the
            message names the file, line and column), or its output is not a scalar.
    """
    return _entry("grad", func, wrt, verbose, backend, loops, checkpoint)


def value_and_grad(func=None, wrt=0, *, verbose=False, backend="numpy", loops=None,
                   checkpoint=None):
    """Like ``grad``, but the callable returns ``(value, gradient)`` from one sweep.

    Example::

        value, g = tg.value_and_grad(loss)(w, x)
    """
    return _entry("value_and_grad", func, wrt, verbose, backend, loops, checkpoint)


def vjp(func=None, wrt=0, *, verbose=False, backend="numpy", loops=None, checkpoint=None):
    """The vector-Jacobian product of a function with any output shape.

    ``tg.vjp(f, wrt)(*args, cotangent)`` returns the cotangent pulled back to the ``wrt``
    arguments: ``sum(cotangent * f(*args))`` differentiated. A function returning a tuple takes
    a tuple cotangent.

    Example::

        def layer(x, w):
            return np.tanh(x @ w)         # x: (3, 5), w: (5, 4): the output is (3, 4)

        bx = tg.vjp(layer)(x, w, np.ones((3, 4)))   # d sum(layer(x, w)) / dx, shaped like x
    """
    return _entry("vjp", func, wrt, verbose, backend, loops, checkpoint)


def jvp(func=None, wrt=0, *, verbose=False, backend="numpy", loops=None):
    """Forward mode: ``tg.jvp(f, wrt)(*args, tangent)`` returns ``(f(*args), J @ tangent)``.

    The derivative is generated as source, a tangent statement after each statement of ``f``
    (``.source`` shows it); with ``wrt`` a tuple, ``tangent`` is a tuple. Forward rules come from
    the reverse table where they can be derived (elementwise and multilinear primitives);
    others raise TransformError for now.

    Example::

        value, slope = tg.jvp(f)(x, np.ones_like(x))
    """
    return _entry("jvp", func, wrt, verbose, backend, loops)


# Called inside a differentiated function on a function known when its code is built
# (``tg.grad(p)(x)``), these are run then: the derivative is a constant of that code.
for _entry_point in (grad, value_and_grad, vjp, jvp):
    _entry_point.transforms_functions = True


def source(obj):
    """The generated source of a transgrad derivative (same as ``obj.source``)."""
    if isinstance(obj, GradientFunction):
        return obj.source
    raise TypeError(f"{obj!r} is not a transgrad-generated function")
