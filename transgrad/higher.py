"""Jacobians, Hessians and Hessian-vector products, built on the generated derivatives.

* ``tg.jacfwd(f)``: one call of the generated forward derivative (``tg.jvp``) per input
  element, in the direction of that element;
* ``tg.jacrev(f)``: one call of the generated reverse derivative (``tg.vjp``) per output
  element;
* ``tg.jacobian(f)``: whichever of the two makes fewer calls, from the shapes;
* ``tg.hvp(f)``: forward over reverse, ``tg.jvp(tg.grad(f))``: the forward transformation of
  the gradient's generated source, one sweep, no Hessian formed;
* ``tg.hessian(f)``: ``tg.jacfwd(tg.grad(f))``, one Hessian-vector product per input element.

A Jacobian has the shape ``f(x).shape + x.shape``, as ``jax.jacfwd`` gives it; with ``wrt`` a
tuple there is one Jacobian per argument, and a function returning a tuple has one per output
(outputs outside, arguments inside).
"""

import copy
import inspect

import numpy as np

from . import api
from .arguments import check_tangent, check_wrt  # noqa: F401  (check_tangent: its old home)
from .arguments import describe as _describe
from .arguments import param_name as _param_name
from .errors import TransformError

# --- Jacobians ------------------------------------------------------------------------------

def _leaf(value):
    """True for what a Jacobian is taken of or with respect to: float arrays and numbers."""
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (float, int, np.floating, np.integer)) or (
        isinstance(value, np.ndarray) and value.dtype.kind in "fiu")


def _outputs(value, func, what):
    """The output leaves of ``func`` (a tuple of arrays or numbers) and whether it returned a
    tuple; a TransformError for anything else."""
    parts = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not parts or not all(_leaf(p) for p in parts):
        shown = _describe(value) if not isinstance(value, (tuple, list)) \
            else f"a {type(value).__name__} holding " + ", ".join(_describe(p) for p in parts)
        raise TransformError(
            f"{what}({func.__name__}) needs {func.__name__} to return an array or a number "
            f"(or a tuple of them); it returned {shown}",
            hint="return the array to differentiate, e.g. np.stack of the values you need")
    return parts, isinstance(value, (tuple, list))


def _inputs(args, indices, func, what):
    for i in indices:
        if not -len(args) <= i < len(args):
            raise TransformError(f"{what}({func.__name__}): wrt={i} is out of range for "
                                 f"{len(args)} argument(s)")
        value = args[i]
        if not (isinstance(value, (float, np.floating)) or (
                isinstance(value, np.ndarray) and value.dtype.kind in "fc")):
            name = _param_name(func, i)
            raise TransformError(
                f"{what}({func.__name__}) differentiates with respect to float arrays and "
                f"floats; argument {i % len(args)} ({name}) is {_describe(value)}",
                hint="pass a float array (x.astype(float)) or a float; for structures, use "
                     "tg.jvp / tg.vjp with a structured tangent")


def _assemble(columns, out_shape, in_shape):
    """The Jacobian ``out_shape + in_shape`` from one output column per input element."""
    if not columns:
        return np.zeros(tuple(out_shape) + tuple(in_shape))
    stacked = np.stack([np.asarray(c, dtype=np.result_type(c, float)) for c in columns],
                       axis=-1)
    jac = stacked.reshape(tuple(out_shape) + tuple(in_shape))
    return float(jac) if jac.shape == () else jac


def _arrange(blocks, tuple_out, single_in):
    """blocks[o][i] -> the nested result: outputs outside, arguments inside."""
    rows = [row[0] if single_in else tuple(row) for row in blocks]
    return tuple(rows) if tuple_out else rows[0]


def _shape_signature(values):
    """What the exact-shape halves are keyed on: each value's type, an array's shape and
    dtype."""
    return tuple((type(v), np.shape(v), getattr(v, "dtype", None)) if isinstance(v, np.ndarray)
                 else (type(v), _shape_signature(v)) if type(v) in (tuple, list)
                 else type(v) for v in values)


def _zero_seed(value):
    """A cotangent shaped like ``value`` (a tuple's, entry by entry)."""
    if type(value) is tuple:
        return tuple(_zero_seed(part) for part in value)
    return np.zeros(np.shape(value)) if np.ndim(value) else 0.0


def _holds_a_list(value):
    """Whether a tape holds a list anywhere (a stack that a backward sweep pops)."""
    if type(value) is list:
        return True
    if isinstance(value, (tuple, list)):
        return any(map(_holds_a_list, value))
    if isinstance(value, dict):
        return any(map(_holds_a_list, value.values()))
    return False


def _primal(func, args):
    """``func(*args)`` on copies of the arguments: the user's function may update an
    argument in place, and the derivative's own calls must still see the values given."""
    try:
        copies = copy.deepcopy(args)
    except Exception:  # noqa: BLE001 - an argument that cannot be copied: arrays only
        copies = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
    return func(*copies)


_ROWS_AT_ONCE = 256   # rows per backward sweep: their cotangents are this many times larger


def _pull_rows(made, fresh, shape):
    """Every row of the Jacobian of an output of ``shape`` by the row sweep ``made``,
    ``_ROWS_AT_ONCE`` rows a sweep, each on the tape ``fresh()`` gives; per argument, an
    array of (rows,) + its shape, or None."""
    n = int(np.prod(shape, dtype=np.int64))
    parts = []
    for start in range(0, n, _ROWS_AT_ONCE):
        count = min(_ROWS_AT_ONCE, n - start)
        seeds = np.zeros((count, n))
        seeds[np.arange(count), start + np.arange(count)] = 1.0
        grads = made(fresh(), seeds.reshape((count,) + tuple(shape)), count)
        parts.append(grads if isinstance(grads, tuple) else (grads,))
    if len(parts) == 1:
        return parts[0]
    return tuple(None if chunk[0] is None else np.concatenate(chunk)
                 for chunk in zip(*parts))


def _full_rows(g, shape):
    """The float rows ``g`` of ``shape`` (zero rows come broadcastable), writable."""
    g = np.asarray(g, dtype=float)
    return g if g.shape == shape else np.broadcast_to(g, shape).copy()


def _same_rows(together, by_rows):
    """Whether the rows pulled back together match those pulled back one by one."""
    if together is None or any(r is None for r in by_rows):
        return together is None and all(r is None for r in by_rows)
    stacked = np.stack([np.broadcast_to(r, np.shape(together)[1:]) for r in by_rows])
    if stacked.shape != np.shape(together):
        return False
    scale = float(np.max(np.abs(stacked), initial=0.0)) + 1e-300
    return bool(np.max(np.abs(stacked - together), initial=0.0) <= 1e-12 * scale)


def _unit(shape, k, dtype=float):
    """The k-th unit (co)tangent of a value of ``shape`` (1.0 for a scalar's)."""
    if not shape:
        return 1.0
    e = np.zeros(shape, dtype=dtype)
    e.reshape(-1)[k] = 1.0
    return e


def _basis(value, k):
    """The k-th unit tangent of ``value`` (a float or a float array)."""
    if isinstance(value, np.ndarray):
        return _unit(value.shape, k, value.dtype) if value.shape else \
            np.ones((), dtype=value.dtype)
    return 1.0


class _Derived:
    """What every function built here shares: the name, docstring and ``.source`` of the
    generated derivative it calls."""

    what = ""

    def __init__(self, func, wrt, doc):
        self.wrt_indices, self.single = check_wrt(wrt)
        self.wrt = wrt
        self.func = func
        self.__wrapped__ = func
        self.__name__ = f"{self.what}_{getattr(func, '__name__', 'f')}"
        self.__qualname__ = self.__name__
        names = ", ".join(_param_name(func, i) for i in self.wrt_indices)
        self.__doc__ = doc.format(name=getattr(func, "__name__", "f"), wrt=names) + \
            "\n\nGenerated by transgrad; print .source to read the code it runs."
        self._last = None

    @property
    def source(self):
        """The generated source of the derivative this function calls (the last one used)."""
        return (self._last or self._derivatives()[0]).source

    def _repr_html_(self):   # notebooks: the function and its derivative side by side
        return __import__("transgrad.view").view.html(self)

    def __repr__(self):
        return f"<transgrad {self.what} of {getattr(self.func, '__qualname__', self.func)}>"


class Jacfwd(_Derived):
    what = "jacfwd"

    def __init__(self, func, wrt=0):
        super().__init__(func, wrt, "The Jacobian of {name} with respect to {wrt}, by forward "
                                    "mode (one generated JVP call per input element).")
        self._jvps = {i: api.jvp(func, wrt=i) for i in self.wrt_indices}

    def _derivatives(self):
        return [self._jvps[i] for i in self.wrt_indices]

    def __call__(self, *args, _value=None):
        _inputs(args, self.wrt_indices, self.func, "tg.jacfwd")
        value = _primal(self.func, args) if _value is None else _value   # what to expect
        parts, tuple_out = _outputs(value, self.func, "tg.jacfwd")
        blocks = [[None] * len(self.wrt_indices) for _ in parts]
        for position, i in enumerate(self.wrt_indices):
            jvp = self._last = self._jvps[i]
            x = args[i]
            columns = [[] for _ in parts]
            for k in range(np.size(x)):
                _, tangent = jvp(*args, _basis(x, k))
                for o, t in enumerate(tangent if tuple_out else (tangent,)):
                    columns[o].append(t)
            for o, part in enumerate(parts):
                blocks[o][position] = _assemble(columns[o], np.shape(part), np.shape(x))
        return _arrange(blocks, tuple_out, self.single)


class _Halves:
    """The split VJP's two halves a Jacobian runs, for ``.source``: their generated code."""

    def __init__(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd

    @property
    def source(self):
        return "\n\n".join(inspect.getsource(half) for half in (self.fwd, self.bwd))


class Jacrev(_Derived):
    what = "jacrev"

    def __init__(self, func, wrt=0):
        super().__init__(func, wrt, "The Jacobian of {name} with respect to {wrt}, by reverse "
                                    "mode (one backward sweep per output element; one forward "
                                    "sweep when nothing it saves is consumed by a backward "
                                    "sweep, else one generated VJP call per element).")
        self._vjp = api.vjp(func, wrt=tuple(self.wrt_indices))
        self._pair = None       # the split VJP, False where the function has none
        self._halves = {}       # its halves for exact argument shapes, by shape signature
        self._rows = {}         # by shape signature: the backward half for all rows, or None

    def _derivatives(self):
        return [self._vjp]

    def _forward_once(self, args):
        """(value, pull(seed) -> cotangents) by one forward half and a backward half per
        seed, where the tape holds no stack (a loop's backward sweep pops its stack; without
        one, the backward half only reads the tape); else None."""
        if self._pair is None:
            try:
                self._pair = api.split(self.func, tuple(self.wrt_indices))
            except TransformError:
                self._pair = False
        if self._pair is False:
            return None
        key = _shape_signature(args)
        entry = self._halves.get(key)
        if entry is None:
            value, tape = self._pair.fwd(*args)
            from .passes.exact import halves_for  # the compiler's, only where it is used
            # a stack in the tape (the function's loops): a backward half reads it once
            entry = self._halves[key] = (halves_for(self._pair, args, _zero_seed(value)),
                                         _holds_a_list(tape))
        (fwd, bwd), listed = entry
        if listed and self._rows.get(key, False) is None:
            return None   # one generated VJP per row
        self._last = _Halves(fwd, bwd)
        value, tape = fwd(*args)
        if type(value) is np.ndarray and value.size > 1 and value.dtype == np.float64:
            rows = self._all_rows(key, (fwd, bwd), args, tape, value, listed)
            if rows is not None:
                return value, rows
        if listed:
            self._rows[key] = None
            return None
        return value, lambda seed: bwd(tape, seed)   # a fresh seed per call: adjoints may add in place

    def _all_rows(self, key, halves, args, tape, value, listed):
        """``pull()`` giving every row of the Jacobian from backward sweeps over many rows
        at once (``passes/batch_rows.py``), checked against the row-by-row sweeps the first
        time; None where there is none. A tape with a stack, which a sweep consumes, is made
        again for each sweep after the first."""
        made = self._rows.get(key, False)
        if made is None:
            return None
        fwd, bwd = halves
        tapes = [tape]

        def fresh():
            return tapes.pop() if tapes else (fwd(*args)[1] if listed else tape)

        def rows():
            return _pull_rows(made, fresh, value.shape)
        if made is False:
            from .passes.batch_rows import rows_function
            made = rows_function(bwd, fresh(), np.zeros(value.shape))
            if made is not None:
                try:
                    by_rows = [bwd(fresh(), _unit(value.shape, k)) for k in range(value.size)]
                    by_rows = [r if isinstance(r, tuple) else (r,) for r in by_rows]
                    tapes[:] = [fwd(*args)[1] if listed else tape]
                    together = rows()
                    if not all(_same_rows(t, [r[i] for r in by_rows])
                               for i, t in enumerate(together)):
                        made = None
                except Exception:  # noqa: BLE001 - the row-by-row sweeps stay: they are checked
                    made = None
            self._rows[key] = made
            if made is None:
                return None
            tapes[:] = [fwd(*args)[1] if listed else tape]
        rows.all_rows = True
        return rows

    def __call__(self, *args, _value=None, _checked=False):
        if not _checked:   # tg.jacobian checked them
            _inputs(args, self.wrt_indices, self.func, "tg.jacrev")
        once = self._forward_once(args)   # sets _last to the halves it runs
        if once is not None:
            value, pull = once
        else:
            value = _primal(self.func, args) if _value is None else _value
            self._last = self._vjp

            def pull(seed):
                return self._vjp(*args, seed)
        parts, tuple_out = _outputs(value, self.func, "tg.jacrev")
        shapes = [np.shape(p) for p in parts]
        in_shapes = [np.shape(args[i]) for i in self.wrt_indices]
        if getattr(pull, "all_rows", False):   # one backward sweep for every row
            n = int(np.prod(shapes[0], dtype=np.int64))
            block = [np.zeros(shapes[0] + in_shape) if g is None else
                     _full_rows(g, (n,) + in_shape).reshape(shapes[0] + in_shape)
                     for g, in_shape in zip(pull(), in_shapes)]
            return _arrange([block], tuple_out, self.single)
        blocks = []
        for o, part in enumerate(parts):
            n = int(np.prod(shapes[o], dtype=np.int64))
            rows = [np.zeros((n,) + in_shape) for in_shape in in_shapes]
            for k in range(n):
                # fresh seeds for every row: a backward half may add into them in place
                seed = [_unit(shape, k) if j == o else np.zeros(shape) if shape else 0.0
                        for j, shape in enumerate(shapes)] if tuple_out else _unit(shapes[o], k)
                grads = pull(tuple(seed) if tuple_out else seed)
                for r, g in zip(rows, grads):
                    if g is not None:
                        r[k] = g
            block = []
            for r, in_shape in zip(rows, in_shapes):
                jac = r.reshape(shapes[o] + in_shape)
                block.append(float(jac) if jac.shape == () else jac)
            blocks.append(block)
        return _arrange(blocks, tuple_out, self.single)


class Jacobian(_Derived):
    what = "jacobian"

    def __init__(self, func, wrt=0):
        super().__init__(func, wrt, "The Jacobian of {name} with respect to {wrt}: reverse "
                                    "mode when it pulls back all output rows in one sweep or "
                                    "has no more inputs than outputs, else forward.")
        self._fwd, self._rev = Jacfwd(func, wrt), Jacrev(func, wrt)
        self._forward_for = {}   # argument shapes -> whether forward mode is cheaper

    def _derivatives(self):
        return self._rev._derivatives()

    def __call__(self, *args):
        _inputs(args, self.wrt_indices, self.func, "tg.jacobian")
        key = _shape_signature(args)
        value = None
        if key not in self._forward_for:   # the outputs' size, once for these shapes
            value = _primal(self.func, args)
            parts, _ = _outputs(value, self.func, "tg.jacobian")
            n_in = sum(np.size(args[i]) for i in self.wrt_indices)
            if n_in < sum(np.size(p) for p in parts):
                # more outputs than inputs: forward mode, unless reverse mode pulls back every
                # row in one sweep (then it costs about one gradient)
                result = self._rev(*args, _value=value, _checked=True)
                self._forward_for[key] = not self._rev._rows.get(key)
                self._last = self._rev._last
                return result   # this once by reverse mode either way
            else:
                self._forward_for[key] = False
        if self._forward_for[key]:
            result = self._fwd(*args, _value=value)
            self._last = self._fwd._last
        else:
            result = self._rev(*args, _value=value, _checked=True)
            self._last = self._rev._last
        return result


# --- second derivatives ---------------------------------------------------------------------

def _scalar_output(func, args, what):
    value = _primal(func, args)
    if isinstance(value, (tuple, list, dict)) or np.ndim(value) != 0:
        shape = f"shape {np.shape(value)}" if isinstance(value, np.ndarray) \
            else _describe(value)
        raise TransformError(
            f"{what}({func.__name__}) needs {func.__name__} to return a scalar; it returned "
            f"{shape}",
            hint="reduce the output (np.sum, np.mean), or take tg.jacobian of tg.grad of one "
                 "output at a time")


class Hvp(_Derived):
    what = "hvp"

    def __init__(self, func, wrt=0):
        super().__init__(func, wrt, "The Hessian-vector product of {name} with respect to "
                                    "{wrt}: call it as (*args, v); forward mode over the "
                                    "generated gradient, without forming the Hessian.")
        self.grad = api.grad(func, wrt=wrt)
        self._jvp = api.jvp(self.grad, wrt=wrt)

    def _derivatives(self):
        return [self._jvp]

    def __call__(self, *args):
        if not args:
            raise TypeError(f"{self.__name__}() needs the arguments of {self.func.__name__} "
                            "followed by a vector v")
        self._last = self._jvp
        return self._jvp(*args)[1]


class Hessian(_Derived):
    what = "hessian"

    def __init__(self, func, wrt=0):
        super().__init__(func, wrt, "The Hessian of scalar-valued {name} with respect to "
                                    "{wrt}: one generated Hessian-vector product (forward over "
                                    "reverse) per input element.")
        self.grad = api.grad(func, wrt=wrt)
        self._jacfwd = Jacfwd(self.grad, wrt)

    def _derivatives(self):
        return self._jacfwd._derivatives()

    def __call__(self, *args):
        _inputs(args, self.wrt_indices, self.func, "tg.hessian")
        _scalar_output(self.func, args, "tg.hessian")
        result = self._jacfwd(*args)
        self._last = self._jacfwd._last
        return result


def _entry(kind, func, wrt):
    if func is None:
        return lambda f: _entry(kind, f, wrt)
    if not callable(func):
        raise TransformError(f"expected a function to differentiate, got {func!r}")
    return kind(func, wrt)


def jacfwd(func=None, wrt=0):
    """The Jacobian of ``func`` by forward mode: ``tg.jacfwd(f)(*args)``.

    Calls the generated ``tg.jvp(f)`` once per element of the differentiated argument (cheap
    when the input is small and the output large). The result has the shape
    ``f(*args).shape + x.shape`` (a float when both are scalars); with ``wrt`` a tuple, one
    Jacobian per argument; for a function returning a tuple, one per output (outputs
    outside).

    Example::

        J = tg.jacfwd(np_function)(x)     # J[i, j] = d out[i] / d x[j]

    Raises:
        TransformError: an argument in ``wrt`` is not a float or float array, or ``func``
            returns something other than arrays and numbers.
    """
    return _entry(Jacfwd, func, wrt)


def jacrev(func=None, wrt=0):
    """The Jacobian of ``func`` by reverse mode: ``tg.jacrev(f)(*args)``.

    Calls ``f`` once, then the generated ``tg.vjp(f)`` once per output element (cheap when
    the output is small). Shapes as for ``tg.jacfwd``.
    """
    return _entry(Jacrev, func, wrt)


def jacobian(func=None, wrt=0):
    """The Jacobian of ``func``, by forward mode when the differentiated arguments have fewer
    elements than the output, else by reverse mode. Shapes as for ``tg.jacfwd``.

    Example::

        J = tg.jacobian(f, wrt=(0, 1))(x, y)   # (dout/dx, dout/dy)
    """
    return _entry(Jacobian, func, wrt)


def hessian(func=None, wrt=0):
    """The Hessian of scalar-valued ``func``: ``tg.hessian(f)(*args)`` has the shape
    ``x.shape + x.shape``.

    Built as forward over reverse: the generated gradient of ``f`` is transformed again by
    forward mode, and called once per element of ``x``. With ``wrt`` a tuple, a tuple of
    tuples ``H[i][j] = d^2 f / d x_i d x_j``.

    Raises:
        TransformError: ``func`` does not return a scalar.
    """
    return _entry(Hessian, func, wrt)


def hvp(func=None, wrt=0):
    """Hessian-vector products: ``tg.hvp(f)(*args, v)`` returns ``H @ v`` (shaped like ``x``)
    without forming the Hessian.

    It is ``tg.jvp(tg.grad(f))`` -- forward mode applied to the generated source of the
    gradient -- at the cost of a few gradients. With ``wrt`` a tuple, ``v`` and the result are
    tuples.

    Example::

        hv = tg.hvp(loss)(w, x, y, v)
    """
    return _entry(Hvp, func, wrt)
