"""Small utilities on Python function objects, shared by every layer (imports nothing of
transgrad).

``copy_function`` is the one way transgrad runs a function's own code with other globals: the
JAX backend runs the runtime helpers with ``np`` bound to a JAX dispatcher, and the eager
Tensor runs derivative rules with ``np`` bound to a namespace that records on Tensors.
"""

import types


def copy_function(func, globals_):
    """A copy of ``func`` whose code looks its global names up in ``globals_``.

    The copy keeps the defaults, keyword defaults, closure, name, qualified name, module,
    docstring and attribute dict (``__wrapped__`` included), so it reads like ``func`` in
    tracebacks, listings and ``inspect``. Example::

        jax_sum = copy_function(runtime.unbroadcast, {**vars(runtime), "np": jnp})
    """
    copy = types.FunctionType(func.__code__, globals_, func.__name__, func.__defaults__,
                              func.__closure__)
    copy.__kwdefaults__ = func.__kwdefaults__
    copy.__qualname__ = func.__qualname__
    copy.__module__ = func.__module__
    copy.__doc__ = func.__doc__
    copy.__dict__.update(func.__dict__)
    return copy
