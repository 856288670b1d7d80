"""The JAX backend: the same generated tree printed on ``jax.numpy``.

``np.cos`` in a rule's template prints as ``jnp.cos``; ``tgr`` is ``jax_runtime``, the numpy
runtime's helpers re-bound onto ``jax.numpy`` (with functional versions of the few primitives
that update arrays). Calls with no ``jax.numpy`` twin are refused when the function is read,
with the line that makes them; a value JAX needs concrete while it is traced is reported at
the user's line (``traced_value_error``).
"""

import linecache
import math
import types

import gast
import jax
import jax.numpy as jnp
import jax.scipy.special
import jax.scipy.stats  # noqa: F401  (printed twins of scipy.stats rules)
import numpy as np

from ..errors import TransformError
from ..ir import walk
from ..line_maps import LINE_MAPS
from ..rules.registry import JAX_TWINS  # declared with the rules (jax=...)
from . import jax_runtime
from .numpy import NumpyBackend


def _declared_twin(obj):
    """The JAX twin a rule declared for ``obj`` (``jax=...``), or None."""
    try:
        return JAX_TWINS.get(obj)
    except TypeError:   # unhashable
        return None


class JaxBackend(NumpyBackend):
    name = "jax"
    functional = True           # x[i] = v becomes x = x.at[i].set(v)

    def globals(self):
        return {"jnp": jnp, "jax": jax, "np": np, "math": math, "tgr": jax_runtime.module}

    def canonical(self, obj):
        if obj is np:
            return "jnp"
        declared = _declared_twin(obj)   # max/min (Python's compare values), scipy functions
        if declared is not None:
            return declared
        name = super().canonical(obj)
        if name is None or "." not in name or isinstance(obj, types.ModuleType):
            return name
        return self.twin(name)

    def twin(self, name):
        """``jnp.<name>`` for a numpy or math name; None when there is no such function."""
        prefix, _, attr = name.partition(".")
        if prefix == "tgr":
            return name
        if prefix == "math":
            declared = JAX_TWINS.get(getattr(math, attr, None))   # another name or signature
            if declared is not None:
                return declared
            return f"jnp.{attr}" if callable(getattr(jnp, attr, None)) else None
        if attr.startswith("random."):
            return None
        target = jnp
        for part in attr.split("."):
            target = getattr(target, part, None)
        return f"jnp.{attr}" if target is not None else None

    def check_tree(self, info):
        """Refuse, with the line, calls to numpy or math functions that have no JAX twin."""
        for node in walk(info.tree):
            if not isinstance(node, gast.Call):
                continue
            func = getattr(node.func, "resolved", None)
            if func is None or isinstance(func, types.ModuleType) or not callable(func):
                continue
            name = NumpyBackend.canonical(self, func)
            if name is None and _declared_twin(func) is None and (isinstance(func, np.ufunc) or (
                    getattr(func, "__module__", None) or "").startswith("scipy.")):
                raise info.error(f"`{getattr(func, '__name__', func)}` has no jax.numpy "
                                 "equivalent, so it cannot run on the JAX backend",
                                 node, hint="use backend='numpy'")
            if name is None or "." not in name or name.startswith("tgr."):
                continue
            if self.twin(name) is None:
                hint = ("pass random numbers in as arguments, or draw them with jax.random"
                        if ".random." in name else
                        "write it with functions jax.numpy has, or use backend='numpy'")
                raise info.error(f"`{name}` has no jax.numpy equivalent, so it cannot run on "
                                 "the JAX backend", node, hint=hint)

    @staticmethod
    def traced(values):
        """True when some argument is a JAX tracer (the call is being traced)."""
        return any(isinstance(leaf, jax.core.Tracer)
                   for leaf in jax.tree_util.tree_leaves(values))

    @staticmethod
    def as_jax(values):
        """Float numpy arrays (also inside lists, tuples and dicts) as JAX arrays, so generated
        code can index them with traced indices inside a scan; integer and boolean arrays
        stay numpy (indices and masks must be concrete)."""
        return jax.tree_util.tree_map(
            lambda v: jnp.asarray(v) if isinstance(v, np.ndarray) and v.dtype.kind in "fc"
            else v, values)

    traced_errors = (jax.errors.ConcretizationTypeError, jax.errors.TracerIntegerConversionError,
                     jax.errors.TracerArrayConversionError,
                     jax.errors.NonConcreteBooleanIndexError)

    def traced_value_error(self, error, func):
        """A TransformError naming the line of ``func`` that needs a concrete value."""
        frame_line = None
        tb = error.__traceback__
        while tb is not None:   # the innermost frame in generated code
            if tb.tb_frame.f_code.co_filename.startswith("<transgrad-"):
                frame_line = (tb.tb_frame.f_code, tb.tb_lineno)
            tb = tb.tb_next
        code = getattr(func, "__code__", None)
        filename, lineno = (code.co_filename, code.co_firstlineno) if code else (None, None)
        generated_text = ""
        through_while = False
        if frame_line is not None:
            gen_code, gen_line = frame_line
            generated_text = linecache.getline(gen_code.co_filename, gen_line).strip()
            loop_line = _reversed_while_line(gen_code.co_filename, gen_line)
            through_while = loop_line is not None
            filename, lines = LINE_MAPS.get(gen_code.co_filename, (filename, {}))
            lineno = lines.get(loop_line or gen_line, lineno)
        source_line = linecache.getline(filename, lineno) if filename else None
        hint = ("a branch or while loop on an array's value cannot be traced: select with "
                "np.where, or move the test outside the jitted function; a Python number "
                "used as a loop bound or shape must be static (jax.jit(f, static_argnums=...))")
        if through_while:
            hint = ("reverse mode through a while loop on a traced value needs a bound on its "
                    "steps (JAX cannot reverse jax.lax.while_loop either): write the loop "
                    "`while tg.checkpoint(cond, snapshots=k, max_steps=N):` (no break or "
                    "return inside), or take this derivative in forward mode (tg.jvp, "
                    "tg.jacfwd: the loop is traced as jax.lax.while_loop), or call it "
                    "outside jax.jit")
        return TransformError(
            f"{getattr(func, '__name__', 'the function')} cannot be traced by JAX here: this line needs a concrete value, "
            f"but under jax.jit or jax.vmap it is a traced array (generated code: "
            f"`{generated_text}`; JAX says: {str(error).splitlines()[0]})",
            filename=filename, lineno=lineno, source_line=source_line, hint=hint)


def _reversed_while_line(filename, line):
    """The line of the ``while`` loop of a reverse derivative's primal sweep (a loop that
    saves values for its adjoint) that ``line`` of generated code is in or is, or of the
    adjoint loop ``for _ in range(trips...)`` that replays it; else None."""
    lines = linecache.getlines(filename)
    if not 0 < line <= len(lines):
        return None
    text = lines[line - 1]
    if text.strip().startswith("for _ in range(trips"):
        return line
    if not any("stack.append(" in text for text in lines):
        return None
    indent = len(text) - len(text.lstrip())
    for k in range(line - 1, -1, -1):
        candidate = lines[k]
        stripped = candidate.lstrip()
        if not stripped or (k < line - 1 and len(candidate) - len(stripped) >= indent):
            continue
        indent = len(candidate) - len(stripped)
        if stripped.startswith(("while ", "for _ in range(trips")):
            return k + 1
        if indent == 0 or stripped.startswith("def "):
            return None
    return None
