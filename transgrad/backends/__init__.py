"""Backends: the array namespace generated code runs on.

The passes build one tree whatever the backend; what differs is decided here and in
``codegen``: the names the tree's resolved objects print as (``np.sin`` or ``jnp.sin``), the
globals the generated function sees (``np``/``jnp``, ``tgr``), and, for JAX, the pass that turns
in-place subscript assignment into ``x = x.at[i].set(v)`` (``passes/functionalize.py``). The
derivative rules are the same table for both: a rule's template names ``np.cos`` and the JAX
backend prints it as ``jnp.cos``.
"""

from ..errors import TransformError

BACKENDS = ("numpy", "jax")


def check_backend(name):
    """The backend's name, after checking it is known (and, for JAX, installed)."""
    if name not in BACKENDS:
        raise TransformError(f"unknown backend {name!r}",
                             hint=f"use one of: {', '.join(repr(b) for b in BACKENDS)}")
    if name == "jax":
        load("jax")
    return name


_loaded = {}


def load(name):
    """The backend object for ``name`` (imported on first use)."""
    backend = _loaded.get(name)
    if backend is None:
        if name == "numpy":
            from .numpy import NumpyBackend
            backend = NumpyBackend()
        else:
            try:
                import jax  # noqa: F401
            except ImportError:
                raise TransformError(
                    "backend='jax' needs JAX, which is not installed",
                    hint="pip install 'transgrad[jax]'   (or: pip install jax)") from None
            from .jax import JaxBackend
            backend = JaxBackend()
        _loaded[name] = backend
    return backend
