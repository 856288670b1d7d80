"""``scipy.integrate.odeint``: reverse mode by the adjoint method, forward mode by the
sensitivity equations (loaded only when scipy imports; ``ODE_SOLVERS`` is empty without it).

The user's right-hand side ``func(y, t, *args)`` is a function, not an array, so the compiler
wraps it (``passes/normalize_integrate.py``) in an ``OdeFunction``: a callable that runs it
(scipy calls it for the primal) and that asks the pipeline, through the ``Context`` given
when the code was built, for ``func``'s own split VJP (reverse) or JVP (forward). A nested
function or lambda is first lifted to a function of its own whose extra parameters are the
enclosing variables it reads; they are passed after the user's ``args``, so derivatives reach
them as any other argument.

Reverse (as autograd and ``jax.experimental.ode``): between each pair of output times,
backwards, integrate ``[y, a, a.df/dt, a.df/dargs]`` with ``da/dt = -a.df/dy`` (VJPs of the
user's function), adding each output's cotangent to ``a`` as it is passed; the time
gradient is ``f(y_i, t_i).g_i`` at each output time, and minus the rest at ``t_0``.
Forward: integrate ``[y, v]`` with ``dv/dt = df/dy.v + df/dargs.dargs`` (one JVP of the user's
function per step), from ``v(t_0) = dy0 - f(y0, t0) dt0``; an output time's tangent adds
``f(y_i, t_i) dt_i``. Both are explicit ``@jvp`` rules (in y0, t and args), checked on a sample
right-hand side (``decay``) by the per-rule forward test.

On the JAX backend odeint prints as ``tgr.odeint_solve``: ``jax.experimental.ode.odeint`` on
``func``'s JAX translation (scipy's shapes and default tolerances; LSODA's own options dropped);
reverse mode is JAX's own adjoint (``jax.vjp``), forward mode the same sensitivity equations
solved by JAX's solver; both run under ``jax.jit``. Second derivatives through odeint are
refused where the derivative's code is differentiated again (``normalize_integrate``).
"""

import numpy as np

try:    # scipy stays optional
    from scipy import integrate as _integrate
except ImportError:  # pragma: no cover
    _integrate = None

from .registry import Rule, Sample, declare, helper, jvp, register_vjp
from .specs import A, P

# keywords of scipy.integrate.odeint passed on to the solves the derivatives run (the
# solver's accuracy); other keywords change what odeint returns or how func is called
SOLVE_OPTIONS = ("rtol", "atol", "mxstep", "hmax", "hmin", "h0", "mxordn", "mxords", "tcrit")
ADJOINT_OPTIONS = ("rtol", "atol", "mxstep", "hmax", "hmin", "mxordn", "mxords")

ODE_SOLVERS = set()     # the callables whose first argument is a right-hand side func(y, t, ...)


class OdeFunction:
    """A right-hand side ``func(y, t, *args)`` as the compiler passes it to odeint: calling it
    calls ``func``; ``pullback`` and ``tangent`` are odeint's derivatives, with ``func``'s own
    derivatives built by the same pipeline (``vjp_of(func, wrt)``, ``jvp_of(func, wrt)``: the
    Context's ``callee_vjp`` and ``callee_jvp``; None where the code is only analysed).
    ``backend="jax"``: ``solve`` runs ``jax.experimental.ode.odeint`` on ``func``'s JAX
    translation, and the derivatives are JAX's (reverse) or the same sensitivity equations
    solved by it (forward)."""

    def __init__(self, func, vjp_of=None, jvp_of=None, where=None, backend="numpy"):
        self.func = func
        self.vjp_of, self.jvp_of = vjp_of, jvp_of
        self.where = where or {}     # the odeint call's file and line, for errors at run time
        self.backend = backend
        self.__name__ = f"{getattr(func, '__name__', 'func')}_ode"

    def __repr__(self):
        return f"<transgrad right-hand side {getattr(self.func, '__qualname__', '?')}>"

    def __call__(self, y, t, *args):
        return self.func(y, t, *args)

    def _need(self, builder, mode):
        if builder is None:
            raise ValueError(f"{self.where.get('filename')}, line {self.where.get('lineno')}: "
                             f"odeint's {mode} needs the right-hand side's derivative, "
                             "which only code transgrad generated can build")
        return builder

    # --- reverse: the adjoint method ------------------------------------------------------
    def pullback(self, g, ans, y0, t, args, options):
        """(cotangent of y0, of t, of args) given ``g``, the cotangent of ``ans``."""
        if self.backend == "jax":
            return self._pullback_jax(g, ans, y0, t, args, options)
        ys = np.asarray(ans)
        times = np.asarray(t, dtype=float)
        count, size = ys.shape
        g = np.zeros_like(ys) if g is None else np.broadcast_to(g, ys.shape)
        floats = [j for j, a in enumerate(args) if _is_float(a)]
        pair = self._need(self.vjp_of, "gradient")(self.func, (0, 1, *(2 + j for j in floats)))
        shapes = [np.shape(args[j]) for j in floats]
        sizes = [int(np.prod(s)) for s in shapes]
        solve = {k: v for k, v in options.items() if k in ADJOINT_OPTIONS}

        bounds = np.cumsum([0, size, size, 1, *sizes])   # where each part of the state lies

        def augmented(state, when):   # the solver's hot loop: filled in place, no copies
            value, tape = pair.fwd(state[:size], when, *args)
            parts = pair.bwd(tape, -state[size:2 * size])
            out = np.empty(bounds[-1])
            for k, part in enumerate((value, *parts)):
                out[bounds[k]:bounds[k + 1]] = 0.0 if part is None else np.ravel(part)
            return out

        a = np.array(g[-1], dtype=float)
        g_t0, g_args = 0.0, np.zeros(sum(sizes))
        g_times = np.zeros(count)
        for i in range(count - 1, 0, -1):
            g_times[i] = np.dot(np.ravel(self.func(ys[i], times[i], *args)), g[i])
            g_t0 -= g_times[i]
            start = np.concatenate([ys[i], a, [g_t0], g_args])
            end = _integrate.odeint(augmented, start, np.array([times[i], times[i - 1]]),
                                    **solve)[1]
            a = end[size:2 * size] + g[i - 1]
            g_t0, g_args = end[2 * size], end[2 * size + 1:]
        g_times[0] = g_t0
        g_y0 = a.reshape(np.shape(y0)) if np.ndim(y0) else float(a[0])
        by_position, offset = {}, 0
        for j, shape, n in zip(floats, shapes, sizes):
            part = g_args[offset:offset + n]
            by_position[j] = part.reshape(shape) if shape else float(part[0])
            offset += n
        g_args = tuple(by_position.get(j) for j in range(len(args)))
        return g_y0, g_times.reshape(np.shape(t)), g_args

    # --- forward: the sensitivity equations -----------------------------------------------
    def tangent(self, ans, y0, t, args, dy0, dt, dargs, options):
        """The tangent of odeint's result for the tangents ``dy0``, ``dt``, ``dargs`` (None,
        or a tuple with None for constant arguments)."""
        jax = self.backend == "jax"
        xp = _jnp() if jax else np
        ys = xp.asarray(ans)
        times = xp.asarray(t, dtype=float)
        size = ys.shape[1]
        varied = [j for j, d in enumerate(dargs or ()) if d is not None and _is_float(args[j])]
        fn = self._need(self.jvp_of, "tangent")(self.func, (0, *(2 + j for j in varied)))
        rhs = self._jax_rhs() if jax else self.func
        start = xp.zeros(size) if dy0 is None else xp.ravel(xp.asarray(dy0, dtype=float))
        if dt is not None:
            dts = xp.broadcast_to(xp.asarray(dt, dtype=float), times.shape)
            start = start - xp.ravel(rhs(ys[0], times[0], *args)) * dts[0]
        extra = tuple(dargs[j] for j in varied)
        augmented = self._sensitivities(fn, size, len(args), xp)
        state = xp.concatenate([ys[0], start])
        if jax:
            joint = _jax_odeint()(augmented, state, times, *args, *extra,
                                  **_jax_options(options))
        else:
            solve = {k: v for k, v in options.items() if k in SOLVE_OPTIONS}
            joint = _integrate.odeint(augmented, state, times, (*args, *extra), **solve)
        out = joint[:, size:]
        if dt is not None:   # y(t_0) is y0: its own term cancels
            out = out + xp.stack([xp.ravel(rhs(ys[i], times[i], *args)) * dts[i]
                                  for i in range(len(times))])
        return out

    def _sensitivities(self, fn, size, count, xp):
        """``[y, v]' = [f, df/dy.v + df/dargs.dargs]`` as a function of the state, the time,
        then ``count`` arguments and the arguments' tangents; kept per ``fn`` and shapes (JAX's
        solver compiles once per function it is given)."""
        key = (id(fn), size, count, xp.__name__)
        made = self.__dict__.setdefault("_augmented", {}).get(key)
        if made is None:
            def made(state, when, *operands):
                y, v = state[:size], state[size:]
                value, dvalue = fn(y, when, *operands[:count], (v, *operands[count:]))
                return xp.concatenate([_flat(value, size, xp), _flat(dvalue, size, xp)])
            self._augmented[key] = made
        return made

    # --- the JAX backend: jax.experimental.ode.odeint -------------------------------------
    def solve(self, y0, t, args, options):
        """odeint's result, as scipy shapes it ((len(t), y0.size)), by JAX's solver."""
        jnp = _jnp()
        return _jax_odeint()(self._jax_rhs(), jnp.ravel(jnp.asarray(y0, dtype=float)),
                             jnp.asarray(t, dtype=float), *args, **_jax_options(options))

    def _jax_rhs(self):
        """``func`` as JAX code: its translation by the pipeline (a JVP with respect to
        nothing, of which the value is kept). One function per holder: JAX's solver compiles
        once per right-hand side it is given."""
        made = self.__dict__.get("_rhs")
        if made is None:
            translated = self._need(self.jvp_of, "JAX translation")(self.func, ())

            def made(y, t, *args):
                return translated(y, t, *args, ())[0]
            self._rhs = made
        return made

    def _pullback_jax(self, g, ans, y0, t, args, options):
        import jax   # noqa: PLC0415 (JAX builds only)
        jnp = _jnp()
        floats = [j for j, a in enumerate(args) if _is_float(a)]

        def solved(y0, t, *varying):
            given = list(args)
            for j, value in zip(floats, varying):
                given[j] = value
            return self.solve(y0, t, tuple(given), options)
        _, pull = jax.vjp(solved, jnp.asarray(y0, dtype=float), jnp.asarray(t, dtype=float),
                          *(args[j] for j in floats))
        g_y0, g_t, *g_varying = pull(jnp.broadcast_to(jnp.asarray(g, dtype=float),
                                                      jnp.shape(ans)))
        by_position = dict(zip(floats, g_varying))
        return g_y0, g_t, tuple(by_position.get(j) for j in range(len(args)))


def _is_float(value):
    return isinstance(value, float) or getattr(getattr(value, "dtype", None), "kind", "") == "f"


def _flat(value, size, xp=np):
    """A cotangent or tangent as a flat float vector of ``size`` (zeros for None)."""
    if value is None:
        return xp.zeros(size)
    flat = xp.ravel(xp.asarray(value, dtype=float))
    return xp.broadcast_to(flat, (size,)) if flat.shape[0] == 1 else flat


def _jnp():
    import jax.numpy as jnp   # noqa: PLC0415 (JAX stays optional: only JAX builds reach here)
    return jnp


def _jax_odeint():
    from jax.experimental.ode import odeint   # noqa: PLC0415 (as _jnp)
    return odeint


def _jax_options(options):
    """scipy's options as JAX's solver takes them (its defaults where scipy's mean "none");
    LSODA's own (h0, hmin, mxordn, mxords, tcrit) have no JAX counterpart and are dropped."""
    inf = float("inf")
    return {"rtol": 1.49012e-8 if options.get("rtol") is None else options["rtol"],
            "atol": 1.49012e-8 if options.get("atol") is None else options["atol"],
            "mxstep": options.get("mxstep") or inf, "hmax": options.get("hmax") or inf}


# The rules take the keywords ``normalize_integrate`` lets through (``SOLVE_OPTIONS``); ``func``
# is the compiler's ``OdeFunction`` of the user's right-hand side.

def odeint_vjp(g, ans, func, y0, t, args=(), *, rtol=None, atol=None, tcrit=None, h0=0.0,
               hmax=0.0, hmin=0.0, mxstep=0, mxordn=12, mxords=5):
    """The adjoint method."""
    g_y0, g_t, g_args = func.pullback(g, ans, y0, t, args, dict(
        rtol=rtol, atol=atol, mxstep=mxstep, hmax=hmax, hmin=hmin, mxordn=mxordn,
        mxords=mxords))
    return None, g_y0, g_t, g_args


def odeint_jvp_y0(g, ans, func, y0, t, args=(), *, rtol=None, atol=None, tcrit=None, h0=0.0,
                  hmax=0.0, hmin=0.0, mxstep=0, mxordn=12, mxords=5):
    options = dict(rtol=rtol, atol=atol, tcrit=tcrit, h0=h0, hmax=hmax, hmin=hmin,
                   mxstep=mxstep, mxordn=mxordn, mxords=mxords)
    return func.tangent(ans, y0, t, args, g, None, None, options)


def odeint_jvp_t(g, ans, func, y0, t, args=(), *, rtol=None, atol=None, tcrit=None, h0=0.0,
                 hmax=0.0, hmin=0.0, mxstep=0, mxordn=12, mxords=5):
    options = dict(rtol=rtol, atol=atol, tcrit=tcrit, h0=h0, hmax=hmax, hmin=hmin,
                   mxstep=mxstep, mxordn=mxordn, mxords=mxords)
    return func.tangent(ans, y0, t, args, None, g, None, options)


def odeint_jvp_args(g, ans, func, y0, t, args=(), *, rtol=None, atol=None, tcrit=None,
                    h0=0.0, hmax=0.0, hmin=0.0, mxstep=0, mxordn=12, mxords=5):
    options = dict(rtol=rtol, atol=atol, tcrit=tcrit, h0=h0, hmax=hmax, hmin=hmin,
                   mxstep=mxstep, mxordn=mxordn, mxords=mxords)
    return func.tangent(ans, y0, t, args, None, None, g, options)


def decay(y, t, k, c):
    """A right-hand side for the forward rules' samples: y' = -k y + c sin(t) y^2."""
    return -k * y + c * np.sin(t) * y * y


def _samples(argnum):
    times = np.linspace(0.0, 1.0, 4)
    return [Sample((decay, A(2), times, (0.7, P(2))), {"rtol": 1e-11, "atol": 1e-11},
                   wrt=(argnum,))]


@helper
def odeint_solve(func, y0, t, args=(), rtol=None, atol=None, tcrit=None, h0=0.0, hmax=0.0,
                 hmin=0.0, mxstep=0, mxordn=12, mxords=5):
    """odeint on the JAX backend (its printed twin): ``jax.experimental.ode.odeint``."""
    return func.solve(y0, t, args, dict(rtol=rtol, atol=atol, mxstep=mxstep, hmax=hmax))


if _integrate is not None:
    ODE_SOLVERS.add(_integrate.odeint)
    declare(_integrate.odeint, jax="tgr.odeint_solve")
    # its argument is a function: checked by tests/test_odeint.py, not by samples
    register_vjp(Rule("odeint", (_integrate.odeint,), odeint_vjp, user=True))
    jvp(_integrate.odeint, argnum=1, samples=_samples(1))(odeint_jvp_y0)
    jvp(_integrate.odeint, argnum=2, samples=_samples(2))(odeint_jvp_t)
    jvp(_integrate.odeint, argnum=3, samples=_samples(3))(odeint_jvp_args)
