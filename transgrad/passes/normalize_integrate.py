"""Calls whose argument is a user function, in ``normalize``: ``scipy.integrate.odeint(func, y0,
t, args=(...))``. The right-hand side ``func`` must be known when the code is built (a
module-level function, a nested ``def`` or a lambda, a function passed to an inlined one); it
becomes an ``OdeFunction`` (``rules/integrate.py``) that runs it and builds its derivatives
with the pipeline's ``Context``. A nested function or lambda is lifted to a function of its
own whose extra parameters are the enclosing variables it reads, passed after ``args``, so
the derivative reaches them as it reaches ``args``:

>>> from transgrad.passes.show import show
>>> print(show('''
... from scipy.integrate import odeint
... def f(y0, k):
...     ys = odeint(lambda y, t: -k * y, y0, np.array([0.0, 1.0]), rtol=1e-10)
...     return ys[-1]
... ''', through="normalize"))
def f(y0, k):
    t1 = np.array([0.0, 1.0])
    ys = odeint(lambda1_ode, y0, t1, (k,), rtol=1e-10)
    t2 = ys[-1]
    return t2

Refused at their line: a ``func`` known only when the code runs, ``args`` that is not a tuple
display where enclosing variables must be appended to it, and the keywords that change what
odeint returns or how it calls ``func`` (``full_output``, ``tfirst``, ``Dfun``...), and a
derivative of generated code that runs odeint's derivatives (``tg.hvp``, grad of grad).
"""

import inspect

import gast

from ..ir import clone
from ..rules.integrate import ODE_SOLVERS, SOLVE_OPTIONS, OdeFunction
from .normalize_functions import FunctionList, resolved_name_of

# keywords that change the result or the calling convention: accepted only at their default
_DEFAULT_ONLY = {"Dfun": None, "col_deriv": 0, "full_output": 0, "ml": None, "mu": None,
                 "ixpr": 0, "mxhnil": 0, "printmessg": 0, "tfirst": False}


def integrator_call(normalizer, node):
    """The normalized call of an ODE solver given a user function, else None."""
    solver = getattr(node.func, "resolved", None)
    if inspect.ismethod(solver) and isinstance(solver.__self__, OdeFunction):
        where = solver.__self__.where   # generated code's call of odeint's derivative
        raise normalizer.info.error(
            "a derivative of odeint's derivative (tg.hvp, a gradient of a gradient) is not "
            f"supported (odeint at {where.get('filename')}, line {where.get('lineno')})",
            node, hint="odeint's derivatives integrate adjoint or tangent "
            "systems that transgrad does not differentiate again; take second derivatives "
            "by finite differences of tg.grad")
    try:
        if solver not in ODE_SOLVERS:
            return None
    except TypeError:   # unhashable
        return None
    info = normalizer.info
    positional, keywords = normalizer.spread_arguments(node)   # f(*xs, **options)
    try:
        bound = inspect.signature(solver).bind(*positional,
                                               **{k.arg: k.value for k in keywords})
    except TypeError as error:
        raise info.error(f"odeint: {error}", node) from None
    given = dict(bound.arguments)
    for keyword, default in _DEFAULT_ONLY.items():
        if keyword in given and not (isinstance(given[keyword], gast.Constant)
                                     and given[keyword].value == default):
            raise info.error(f"odeint's `{keyword}` is not supported in a differentiated "
                             "function", given[keyword],
                             hint=f"leave `{keyword}` at its default ({default!r})")
    func, free = _right_hand_side(normalizer, given["func"], node)
    args = given.get("args")
    if args is None:
        elts = []
    elif isinstance(args, (gast.Tuple, gast.List)) and not any(
            isinstance(e, gast.Starred) for e in args.elts):
        elts = [normalizer.atom_of(e) for e in args.elts]
    elif not free:
        elts = None
    else:
        raise info.error("odeint's `args` must be a tuple display here: the function reads "
                         f"enclosing variables ({', '.join(free)}) that are passed after it",
                         args, hint="write args=(a, b) where the call is")
    if elts is None:
        extra = normalizer.arg(args)
    else:
        elts += [normalizer.arg(gast.copy_location(gast.Name(
            id=n, ctx=gast.Load(), annotation=None, type_comment=None), node)) for n in free]
        extra = gast.Tuple(elts=elts, ctx=gast.Load())
    context = getattr(normalizer, "context", None)
    holder = OdeFunction(func, context and context.callee_vjp, context and context.callee_jvp,
                         {"filename": info.filename, "lineno": getattr(node, "lineno", None)},
                         context.backend if context else "numpy")
    keywords = [gast.keyword(arg=k, value=normalizer.arg(given[k]))
                for k in SOLVE_OPTIONS if k in given]
    call = gast.Call(func=clone(node.func),
                     args=[resolved_name_of(holder, node), normalizer.arg(given["y0"]),
                           normalizer.arg(given["t"]), extra],
                     keywords=keywords)
    return gast.copy_location(call, node)


def _right_hand_side(normalizer, node, call):
    """(the function odeint calls, the enclosing variables it reads: passed after args)."""
    value = normalizer.function_value(node)
    if isinstance(value, gast.FunctionDef):
        return normalizer.lift(value, call)
    if value is None or isinstance(value, FunctionList) or not callable(
            getattr(value, "resolved", None)):
        raise normalizer.info.error(
            "odeint's right-hand side must be a function known when the code is built", node,
            hint="pass a module-level function, a nested def or a lambda by name")
    if isinstance(value.resolved, OdeFunction):   # generated code differentiated again
        return value.resolved.func, []
    if not inspect.isfunction(value.resolved):
        raise normalizer.info.error(
            f"odeint's right-hand side `{getattr(value, 'id', '?')}` is not a Python function "
            f"({type(value.resolved).__name__})", node,
            hint="wrap it in a def or a lambda: transgrad differentiates functions by their "
                 "source")
    return value.resolved, []
