"""Loops marked ``tg.checkpoint`` become one call of their outlined step (binomial checkpointing).

In a reverse-mode build, the marked loop becomes a call of ``run_checkpointed`` with the
loop-carried names (assigned in the body, bound outside it too) and the outside names the body
reads; the body becomes a step function of them (a real function whose source is the user's
body at its own lines and columns, so the pipeline differentiates it like any called function
and its errors point at the user's lines), returning the carried names. ``build_vjp`` (the
pipeline's) makes the step's split VJP, with respect to the carried and outside names that may
depend on the differentiated parameters; ``run_checkpointed``'s reverse rule runs the revolve
schedule with it (``transgrad/checkpoint.py``)::

    >>> import inspect
    >>> from transgrad.passes.show import front_end, printed
    >>> info, _ = front_end('''
    ... import transgrad as tg
    ... def f(w, xs):
    ...     h, hs = 1.0, []
    ...     for t in tg.checkpoint(range(len(xs)), snapshots=2):
    ...         h = np.sin(w * h) + xs[t]
    ...         hs.append(h)
    ...     return h + sum(hs)
    ... ''', through="resolve")
    >>> def build_vjp(step, wrt):
    ...     print(inspect.getsource(step), "wrt", wrt)
    >>> outline_loops(info, (0,), "reverse", "numpy", build_vjp)
        def f_loop4(h, t, w, xs, hs):
            h = np.sin(w * h) + xs[t]
            hs.append(h)
            return (h, hs)
     wrt (0, 2)
    >>> print(printed(info.tree))  # doctest: +NORMALIZE_WHITESPACE
    def f(w, xs):
        h, hs = (1.0, [])
        h, hs = run_checkpointed(f_loop4, tg.checkpoint(range(len(xs)), snapshots=2), (h,),
            (w, xs), (hs,))
        return h + sum(hs)

Forward mode needs no tape: there the marker is replaced by the range it marks (or the
condition). A derivative of a gradient that runs a checkpointed loop (``tg.hvp``, ``tg.grad``
of the gradient) is refused at the user's loop.

Supported: a ``for`` over ``tg.checkpoint(<range>, snapshots=k)`` whose body assigns names
(the loop-carried state: names also bound outside the loop), reads others (passed in) and
appends to lists made before the loop (``hs.append(h)``, the list used only so in the body: the
step appends to a fresh list, the loop's result is the per-step values after the list's own);
``while tg.checkpoint(cond, snapshots=k, max_steps=n):`` the same, its condition outlined too
(the run counts the steps, then reverses them on the schedule for that count); with
``snapshots`` given to ``outline_loops`` (``tg.grad(f, checkpoint=k)``) every outermost
``for ... in range(...)`` loop is marked. Refused, at their line: ``break``, ``continue``,
``return``, ``yield`` and ``else:`` in the loop, in-place updates (``x[i] = v``, ``x.a = v``,
``lst.extend(v)`` on a list from outside the loop), names first bound in the loop and read after
it, a while marker without ``max_steps``. ``x += v`` is ``x = x + v`` in the step, as
everywhere transgrad differentiates. On the JAX backend the step's split VJP is JAX code, and
a traced run scans the schedule's actions (``transgrad/checkpoint_jax.py``).
"""

import copy
import linecache
import warnings
from itertools import count

import gast

from ..checkpoint import CheckpointedLoop, checkpoint, run_checkpointed
from ..errors import TransformError
from ..ir import clone, names_in, walk
from .forward import OwnJvp

_MUTATING_METHODS = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "update",
                               "setdefault", "popitem", "add", "discard", "sort", "reverse",
                               "fill", "resize", "put", "itemset"})
_files = count(1)


def outline_loops(info, positions, kind, backend, build_vjp, snapshots=None, check_plain=None,
                  build_jvp=None):
    """Rewrite every loop marked ``tg.checkpoint`` in ``info.tree`` (after ``resolve``).

    ``positions``: the differentiated parameters; ``kind``: "reverse" or "forward";
    ``build_vjp(func, wrt)``: the split VJP of a function, built by the same pipeline;
    ``snapshots``: ``tg.grad(f, checkpoint=k)``'s k (or "auto"): every outermost
    ``for ... in range(...)`` loop is marked with it first. ``check_plain(info)``: run on a
    copy with every loop unmarked (taken before outlining) (the alias analysis: the outlined step
    cannot see that a value it updates in place is a view of another made outside it).
    ``build_jvp(func, wrt)``: the forward derivative of a function (the loop keeps both
    builders: forward mode over its gradient builds the step's JVP and that JVP's VJP)."""
    _refuse_checkpointed_calls(info, kind)
    if kind == "reverse":
        _warn_markers_off_loops(info)
    if snapshots is not None and kind == "reverse":
        _mark_range_loops(info.tree.body, snapshots, in_loop=False)
    loops = list(_marked_loops(info.tree.body))
    if not loops:
        return
    if kind == "forward":   # no tape to shrink: iterate the range itself (nested ones too)
        for node in list(walk(info.tree)):
            if isinstance(node, gast.For) and _is_marker(node.iter) \
                    or isinstance(node, gast.While) and _is_marker(node.test):
                _unmark(info, node)
        return
    plain = unmarked_copy(info) if check_plain is not None else None
    params = [a.id for a in info.tree.args.args + info.tree.args.kwonlyargs]
    active = _active_names(info.tree, {params[i] for i in positions if i < len(params)})
    taken = {n.id for n in walk(info.tree) if isinstance(n, gast.Name)} | set(info.namespace)
    outlined = []
    for loop, body in loops:
        new, holder = _rephrased(loop, _outline_marked, info, loop, active, taken, backend)
        body[body.index(loop)] = new
        if holder is not None:
            outlined.append((loop, holder))
    # the caller as outlined: a loop's call binds its carried names from all it reads, so a
    # name the loop left constant may be active there, and the caller's adjoint reads its
    # cotangent; the steps differentiate what is active in the caller as it now stands
    active = _active_names(info.tree, {params[i] for i in positions if i < len(params)})
    for loop, holder in outlined:
        _rephrased(loop, _build_step, holder, active, (build_vjp, build_jvp))
    if plain is not None:   # after the loops' own refusals, which say more
        check_plain(plain)


def unmarked_copy(info):
    """``info`` with a copy of its tree in which every marked loop is a plain loop."""
    plain = copy.copy(info)
    plain.tree = clone(info.tree)
    for node in list(walk(plain.tree)):
        if isinstance(node, gast.For) and _is_marker(node.iter) \
                or isinstance(node, gast.While) and _is_marker(node.test):
            _unmark(plain, node)
    return plain


def _mark_range_loops(body, snapshots, in_loop):
    """Mark each outermost ``for ... in range(...)`` loop as ``tg.checkpoint`` would."""
    for stmt in body:
        if isinstance(stmt, (gast.FunctionDef, gast.ClassDef)):   # their own scopes
            continue
        if isinstance(stmt, gast.For) and not in_loop and isinstance(stmt.iter, gast.Call) \
                and getattr(stmt.iter.func, "resolved", None) is range:
            marker = gast.Call(func=_resolved("checkpoint", checkpoint), args=[stmt.iter],
                               keywords=[gast.keyword(arg="snapshots",
                                                      value=gast.Constant(snapshots, None))])
            stmt.iter = gast.copy_location(marker, stmt.iter)
            stmt.iter.option = True     # from checkpoint=, not written: errors say so
            continue
        nested = in_loop or isinstance(stmt, (gast.For, gast.While))
        for field in ("body", "orelse", "finalbody"):
            _mark_range_loops(getattr(stmt, field, None) or [], snapshots, nested)
        for handler in getattr(stmt, "handlers", None) or []:
            _mark_range_loops(handler.body, snapshots, nested)


def _refuse_checkpointed_calls(info, kind):
    """Reverse mode over a gradient that runs a checkpointed loop (``tg.grad`` of its
    ``tg.grad``), and any derivative of forward mode over one (third derivatives): refused
    at the user's loop, which the loop's holder remembers. Forward mode over the gradient
    (``tg.hvp``) differentiates the loop's calls as wholes (``checkpoint._run_jvp``)."""
    for node in walk(info.tree):
        if not isinstance(node, gast.Call):
            continue
        func = getattr(node.func, "resolved", None)
        if func is run_checkpointed and kind == "reverse" or isinstance(func, OwnJvp):
            holder = getattr(node.args[0], "resolved", None) if node.args else None
            where = getattr(holder, "where", None) or {}
            raise TransformError(
                "differentiating the gradient of a tg.checkpoint loop again by reverse mode "
                "(tg.grad of its tg.grad), or a third time, is not supported yet", **where,
                hint="tg.hvp (forward over reverse) differentiates it; or take the derivative "
                     "of the loop without the marker (or without checkpoint=): it then keeps "
                     "every step")


def _marked_loops(body):
    """(loop, the statement list holding it) for each outermost marked loop."""
    for stmt in body:
        if isinstance(stmt, gast.For) and _is_marker(stmt.iter) \
                or isinstance(stmt, gast.While) and _is_marker(stmt.test):
            yield stmt, body
            continue
        if isinstance(stmt, (gast.FunctionDef, gast.ClassDef)):   # their own scopes
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from _marked_loops(getattr(stmt, field, None) or [])
        for handler in getattr(stmt, "handlers", None) or []:
            yield from _marked_loops(handler.body)


def _warn_markers_off_loops(info):
    """A marker made anywhere but in a loop's header (``steps = tg.checkpoint(...)``, then
    ``for t in steps``) marks nothing the compiler sees: the loop keeps every step. Its
    gradient is right, but the memory the user asked to save is not saved, so say so."""
    headers = {id(_marker_of(n)) for n in walk(info.tree) if isinstance(n, (gast.For, gast.While))}
    for node in walk(info.tree):
        if _is_marker(node) and id(node) not in headers:
            warnings.warn_explicit(
                "transgrad: tg.checkpoint marks a loop only in the loop's own header "
                "(`for t in tg.checkpoint(range(n), snapshots=k):`); made here, it marks "
                "nothing, and the loop that iterates it keeps every step",
                CheckpointWarning, info.filename, getattr(node, "lineno", 0) or 0)


class CheckpointWarning(UserWarning):
    """A ``tg.checkpoint`` marker the compiler cannot see: its loop is not checkpointed."""


def _is_marker(node):
    return isinstance(node, gast.Call) and getattr(node.func, "resolved", None) is checkpoint


def _marker_of(loop):
    return loop.iter if isinstance(loop, gast.For) else loop.test


def _unmark(info, loop):
    """The loop as written without the marker: over its range, or while its condition."""
    if isinstance(loop, gast.For):
        loop.iter = _steps_expression(info, loop)
    else:
        loop.test = _condition(info, loop)


def _condition(info, loop):
    """The condition of ``while tg.checkpoint(cond, snapshots=k, max_steps=n):``."""
    call = loop.test
    if len(call.args) != 1:
        raise info.error("tg.checkpoint of a while loop takes its condition", call,
                         hint="write `while tg.checkpoint(cond, snapshots=k, max_steps=n):`")
    return call.args[0]


def _keyword(call, name_):
    return next((k.value for k in call.keywords if k.arg == name_), None)


def _steps_expression(info, loop):
    call = loop.iter
    steps = call.args[:1] or [k.value for k in call.keywords if k.arg == "steps"]
    if not steps:
        raise info.error("tg.checkpoint needs the range to iterate", call,
                         hint="write tg.checkpoint(range(n), snapshots=k)")
    return steps[0]


def _rephrased(loop, work, *args):
    """``work(*args)``, its refusal saying how to mark fewer loops where ``checkpoint=``
    marked ``loop``."""
    try:
        return work(*args)
    except TransformError as error:
        if not getattr(_marker_of(loop), "option", False) or error.lineno is None:
            raise
        raise TransformError(
            error.message + " (checkpoint= marks every outermost `for ... in range(...)` loop)",
            filename=error.filename, lineno=error.lineno, col_offset=error.col_offset,
            source_line=error.source_line,
            hint=(error.hint + "; or " if error.hint else "") + "mark only the loops to "
                 "checkpoint, `for t in tg.checkpoint(range(n), snapshots=k):`, instead of "
                 "passing checkpoint=") from None


def _outline_marked(info, loop, active, taken, backend):
    """(the statement that replaces ``loop``: a call of its outlined step, the step's holder,
    whose split VJP ``_build_step`` makes), or (``loop`` unmarked, None) where nothing in
    ``active`` flows through it."""
    _check_loop(info, loop)
    is_while = isinstance(loop, gast.While)
    marker = _while_marker(info, loop) if is_while else loop.iter
    target = _fresh("step", taken) if is_while else loop.target.id
    collected = _collected_lists(info, loop)
    carried, outside = _carried_and_outside(info, loop, collected)
    _check_mutations(info, loop, set(carried) | set(outside))
    name = _fresh(f"{info.tree.name}_loop{loop.lineno}", taken)
    step = _step_function(info, loop, name, carried, target, outside, collected)
    if not (carried or collected) or not _differentiated(carried, outside, active):
        _unmark(info, loop)   # nothing differentiable flows: a plain loop
        return loop, None
    holder = CheckpointedLoop(name, step, None, ())
    holder.backend, holder.names = backend, (carried, outside)
    if is_while:
        holder.cond = _condition_function(info, loop, _fresh(f"{name}_cond", taken), carried,
                                          outside)
    holder.where = {"filename": info.filename, "lineno": loop.lineno,
                    "col_offset": loop.col_offset, "source_line": info.line(loop.lineno)}
    call = gast.Call(func=_resolved("run_checkpointed", run_checkpointed),
                     args=[_resolved(name, holder), marker, _tuple(carried, gast.Load),
                           _tuple(outside, gast.Load), _tuple(collected, gast.Load)],
                     keywords=[])
    new = gast.Assign(targets=[_tuple(carried + collected, gast.Store)], value=call,
                      type_comment=None)
    return gast.copy_location(new, loop), holder


def _differentiated(carried, outside, active):
    """The step's argument positions (``*carried, t, *outside``) that hold active names."""
    return [i for i, n in enumerate(carried) if n in active] + [
        len(carried) + 1 + j for j, n in enumerate(outside) if n in active]


def _build_step(holder, active, builders):
    """The outlined step's split VJP, for the positions ``active`` makes differentiated."""
    holder.wrt = tuple(_differentiated(*holder.names, active))
    holder.build_vjp, holder.build_jvp = builders
    holder.pair = holder.build_vjp(holder.step, holder.wrt)


def _while_marker(info, loop):
    """``checkpoint(range(max_steps), snapshots=k)`` for ``while tg.checkpoint(cond,
    snapshots=k, max_steps=n)``: the steps it may take (the loop counts them first)."""
    call = loop.test
    _condition(info, loop)
    bound, snapshots = _keyword(call, "max_steps"), _keyword(call, "snapshots")
    if bound is None:
        raise info.error(
            "a tg.checkpoint while loop needs a bound on its steps, max_steps=", call,
            hint="write `while tg.checkpoint(cond, snapshots=k, max_steps=n):` (the gradient "
                 "refuses to run more than n steps)")
    if snapshots is None:
        raise info.error("tg.checkpoint needs snapshots=", call,
                         hint="write `while tg.checkpoint(cond, snapshots=k, max_steps=n):`")
    steps = gast.Call(func=_resolved("range", range), args=[bound], keywords=[])
    made = gast.Call(func=_resolved("checkpoint", checkpoint), args=[steps],
                     keywords=[gast.keyword(arg="snapshots", value=snapshots)])
    return gast.copy_location(made, call)


def _analysed(loop):
    """The statements whose names make the loop's state: the body, and a while's condition
    (read before every step)."""
    if isinstance(loop, gast.While):
        return [gast.copy_location(gast.Expr(value=_condition(None, loop)), loop.test)] \
            + loop.body
    return loop.body


def _target_id(loop):
    return loop.target.id if isinstance(loop, gast.For) else None


def _collected_lists(info, loop):
    """Names of lists bound before the loop that its body only appends to (``hs.append(h)``):
    the step appends to a fresh list, and the loop's result is the list followed by every
    step's appended values (per-step outputs, kept like a scan's ys)."""
    params = {a.id for a in info.tree.args.args + info.tree.args.kwonlyargs}
    receivers, uses = {}, {}
    for node in _walk_step(_analysed(loop)):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                and node.func.attr == "append" and isinstance(node.func.value, gast.Name) \
                and len(node.args) == 1 and not node.keywords:
            receivers[id(node.func.value)] = node.func.value
        elif isinstance(node, gast.Name):
            uses.setdefault(node.id, []).append(node)
    bound_outside = set(params)
    inside = set(map(id, walk_statements(_analysed(loop))))
    for node in walk(info.tree):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) \
                and id(node) not in inside:
            bound_outside.add(node.id)
    collected = []
    for node in sorted(receivers.values(), key=lambda n: (n.lineno, n.col_offset)):
        name_ = node.id
        if name_ in collected or name_ not in bound_outside or name_ == _target_id(loop):
            continue
        other = [n for n in uses.get(name_, []) if id(n) not in receivers]
        if any(isinstance(n.ctx, gast.Store) for n in other):   # bound in the step: not these
            continue
        if other:
            raise info.error(
                f"`{name_}` is appended to in the tg.checkpoint loop and used there otherwise",
                other[0], hint=f"a list the loop appends to is its per-step output: read the "
                               f"appended value from a name carried by the loop, not `{name_}`")
        if name_ in params:
            raise info.error(
                f"the tg.checkpoint loop appends to the argument `{name_}`", node,
                hint=f"append to a list made in the function (`{name_} = list({name_})`)")
        collected.append(name_)
    return collected


def _check_loop(info, loop):
    """Refuse, at their line, what the outlined step cannot express yet."""
    if isinstance(loop, gast.For) and not isinstance(loop.target, gast.Name):
        raise info.error("a tg.checkpoint loop needs one loop variable", loop.target,
                         hint="write `for t in tg.checkpoint(range(n), snapshots=k):`")
    if loop.orelse:
        raise info.error("a tg.checkpoint loop cannot have an `else:` block", loop.orelse[0])
    if loop.lineno == loop.body[0].lineno:
        raise info.error("a tg.checkpoint loop needs its body on the lines below the `for`",
                         loop.body[0])
    own_jumps = set(map(id, _own_jumps(loop.body)))
    for node in _walk_step(loop.body):
        if isinstance(node, (gast.Return, gast.Yield, gast.YieldFrom)) or (
                isinstance(node, gast.Break) and id(node) in own_jumps):
            word = {gast.Break: "break", gast.Return: "return", gast.Yield: "yield",
                    gast.YieldFrom: "yield"}[type(node)]
            raise info.error(f"`{word}` in a tg.checkpoint loop is not supported yet", node,
                             hint="every step must be taken (a `continue` may end one early); "
                                  "compute a flag and use it in the body, or drop the marker")
        if isinstance(node, (gast.Global, gast.Nonlocal)):
            raise info.error("global and nonlocal names cannot be assigned in a tg.checkpoint "
                             "loop", node)
        if isinstance(node, (gast.Subscript, gast.Attribute)) \
                and isinstance(node.ctx, (gast.Store, gast.Del)):
            raise info.error(
                "a tg.checkpoint loop cannot update a value in place: the snapshots of the "
                "loop's state are kept by reference", node,
                hint="build a new value instead (np.concatenate, np.where, a new list)")
        if isinstance(node, gast.For):
            _check_iterated_update(info, node)
    for outer in walk(info.tree):   # a loop around the marked one that goes over x
        if isinstance(outer, gast.For) and outer is not loop \
                and any(n is loop for n in walk_statements(outer.body)):
            _check_iterated_update(info, outer, loop.body, "around")


def _check_iterated_update(info, loop, body=None, where="in"):
    """The step spells ``x op= v`` as ``x = x op (v)`` (``_functional_updates``); a ``for``
    over x (in the marked loop, or ``where="around"`` it, updating x in ``body``) would go on
    over the old array, where numpy's iterator sees the update in place (fuzz seed
    2801241: a silently wrong value)."""
    iterated = set(names_in(loop.iter))
    for node in _walk_step(loop.body if body is None else body):
        if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name) \
                and node.target.id in iterated:
            raise info.error(
                f"`{node.target.id}` is updated in place while a loop {where} the "
                f"tg.checkpoint loop goes over it", node,
                hint=f"write `{node.target.id} = {node.target.id} "
                     f"{_OPERATORS[type(node.op)]} ...` and loop over "
                     f"`range(len({node.target.id}))`, or update a copy")


def _check_mutations(info, loop, kept):
    """Refuse method calls that change a value the step gets from outside or hands on: the
    snapshots hold such values by reference (a list the step builds itself is its own)."""
    for node in _walk_step(loop.body):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                and node.func.attr in _MUTATING_METHODS \
                and isinstance(node.func.value, gast.Name) and node.func.value.id in kept:
            raise info.error(
                f"`{node.func.value.id}.{node.func.attr}(...)` in a tg.checkpoint loop changes "
                "a value the steps share (snapshots hold it by reference)",
                node, hint="collect per-step values with `lst.append(v)` on a list made before "
                           "the loop (and used only so in it), or keep the running value "
                           "carried by the loop (`total = total + v`)")


def _own_jumps(body):
    """The ``break`` and ``continue`` statements of the loop whose body is ``body`` (not those
    of loops or functions inside it)."""
    for stmt in body:
        if isinstance(stmt, (gast.Break, gast.Continue)):
            yield stmt
        elif isinstance(stmt, (gast.If, gast.With, gast.Try)):
            for field in ("body", "orelse", "finalbody"):
                yield from _own_jumps(getattr(stmt, field, []))
            for handler in getattr(stmt, "handlers", []):
                yield from _own_jumps(handler.body)
        elif isinstance(stmt, (gast.For, gast.While)):
            yield from _own_jumps(stmt.orelse)


def _walk_step(body):
    """The nodes of the loop body, not those of functions defined in it."""
    pending = list(body)
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, (gast.FunctionDef, gast.Lambda)):
            continue
        pending.extend(gast.iter_child_nodes(node))


def _carried_and_outside(info, loop, collected=()):
    """(carried, outside): names the body assigns that the function binds elsewhere too (the
    loop's state, in first-use order) and the function's other local names the body reads
    (not the ``collected`` lists it appends to)."""
    inside = set(map(id, walk_statements(_analysed(loop))))
    elsewhere = {a.id for a in info.tree.args.args + info.tree.args.kwonlyargs}
    for arg in (info.tree.args.vararg, info.tree.args.kwarg):
        if arg is not None:
            elsewhere.add(arg.id)
    read_elsewhere = set()
    for node in walk(info.tree):
        if isinstance(node, gast.Name) and id(node) not in inside \
                and node is not getattr(loop, "target", None):
            (elsewhere if isinstance(node.ctx, gast.Store) else read_elsewhere).add(node.id)
    target = _target_id(loop)
    if target is not None and target in read_elsewhere and target not in elsewhere:
        raise info.error(f"the loop variable `{target}` is read after the tg.checkpoint loop",
                         loop.target, hint="keep the last step's value in a name bound before "
                                           "the loop")
    first_use, stored = {}, set()
    for node, stores in _in_order(_analysed(loop)):
        if node.id != target and node.id not in collected:
            first_use.setdefault(node.id, (node, stores))
            if stores:
                stored.add(node.id)
    carried, outside = [], []
    for name_, (node, stores) in first_use.items():
        if name_ in stored:
            if name_ in elsewhere:
                carried.append(name_)
            elif name_ in read_elsewhere or not stores:
                raise info.error(
                    f"`{name_}` is first bound in the tg.checkpoint loop and read "
                    + ("after it" if name_ in read_elsewhere else "before it is assigned"),
                    node, hint=f"give `{name_}` its initial value before the loop")
        elif name_ in elsewhere:
            outside.append(name_)
    return carried, outside


def walk_statements(body):
    for stmt in body:
        yield from walk(stmt)


def _in_order(body):
    """(Name node, whether it binds) in the order Python evaluates them: a value before the
    targets it is assigned to, ``x += v`` reading x first."""
    for stmt in body:
        yield from _names_in_order(stmt)


def _names_in_order(node):
    if isinstance(node, gast.Name):
        yield node, isinstance(node.ctx, gast.Store)
        return
    if isinstance(node, (gast.Assign, gast.AugAssign, gast.AnnAssign)):
        if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            yield node.target, False
        if node.value is not None:
            yield from _names_in_order(node.value)
        for target in getattr(node, "targets", None) or [node.target]:
            yield from _names_in_order(target)
        return
    if isinstance(node, gast.For):
        yield from _names_in_order(node.iter)
        yield from _names_in_order(node.target)
        for stmt in node.body + node.orelse:
            yield from _names_in_order(stmt)
        return
    for child in gast.iter_child_nodes(node):
        yield from _names_in_order(child)


def _step_function(info, loop, name, carried, target, outside, collected=()):
    """The loop's body as ``def name(*carried, target, *outside, *collected)`` returning the
    carried values and the collected lists (each a fresh list, that step's appended values):
    its text is the user's, at the same lines and columns, in a file of its own."""
    indent = " " * loop.col_offset
    body_indent = " " * loop.body[0].col_offset
    params = ", ".join(carried + [target] + outside + list(collected))
    returned = ", ".join(carried + list(collected)) + (
        "," if len(carried) + len(collected) == 1 else "")
    first, last = loop.body[0].lineno, max(getattr(s, "end_lineno", s.lineno) for s in loop.body)
    text = _functional_updates(info, loop.body, {i: info.line(i) for i in range(first, last + 1)})
    for jump in _own_jumps(loop.body):   # a `continue` ends the step: it returns the state
        if not isinstance(jump, gast.Continue):
            continue
        line = text[jump.lineno].encode()
        text[jump.lineno] = (line[:jump.col_offset] + f"return ({returned})".encode()
                             + line[jump.end_col_offset + info.tree.col_offset:]).decode()
    lines = ["\n"] * (loop.lineno - 2) + ["if True:\n", f"{indent}def {name}({params}):\n"]
    lines += ["\n"] * (first - loop.lineno - 1) + [text[i] + "\n" for i in
                                                    range(first, last + 1)]
    lines.append(f"{body_indent}return ({returned})\n")
    filename = f"{info.filename} (tg.checkpoint loop {next(_files)} of {info.tree.name})"
    source = "".join(lines)
    linecache.cache[filename] = (len(source), None, lines, filename)
    namespace = {k: v for k, v in info.namespace.items()}
    exec(compile(source, filename, "exec"), namespace)   # noqa: S102  (the user's own code)
    return namespace[name]


def _condition_function(info, loop, name, carried, outside):
    """A while loop's condition as ``def name(*carried, *outside)`` returning it, its text the
    user's at the same line, in a file of its own."""
    cond = _condition(info, loop)
    text = {i: info.line(i) for i in range(cond.lineno, cond.end_lineno + 1)}
    params = ", ".join(carried + outside)
    lines = ["\n"] * (cond.lineno - 2) + ["if True:\n"]
    lines += f" def {name}({params}): return ({_segment(text, cond, info.tree.col_offset)})\n" \
        .splitlines(keepends=True)
    filename = f"{info.filename} (tg.checkpoint loop condition {next(_files)} of " \
               f"{info.tree.name})"
    source = "".join(lines)
    linecache.cache[filename] = (len(source), None, lines, filename)
    namespace = dict(info.namespace)
    exec(compile(source, filename, "exec"), namespace)   # noqa: S102  (the user's own code)
    return namespace[name]


_OPERATORS = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/", gast.FloorDiv: "//",
              gast.Mod: "%", gast.Pow: "**", gast.MatMult: "@", gast.BitAnd: "&",
              gast.BitOr: "|", gast.BitXor: "^", gast.LShift: "<<", gast.RShift: ">>"}


def _functional_updates(info, body, text):
    """``text`` (line number -> line) with each ``x op= v`` of the body spelled
    ``x = x op (v)``, on the same lines: the step runs as transgrad differentiates it, and an
    array in a snapshot is never updated in place (``h += v`` would change the kept state)."""
    indent = info.tree.col_offset      # end columns are the dedented source's, starts are not
    updates = [n for n in _walk_step(body)
               if isinstance(n, gast.AugAssign) and isinstance(n.target, gast.Name)]
    for node in sorted(updates, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        value = _segment(text, node.value, indent)
        name_ = node.target.id
        spelled = f"{name_} = {name_} {_OPERATORS[type(node.op)]} ({value})"
        start = text[node.lineno].encode()[:node.col_offset]
        end = text[node.end_lineno].encode()[node.end_col_offset + indent:]
        replaced = (start + spelled.encode() + end).decode().split("\n")
        if len(replaced) != node.end_lineno - node.lineno + 1:
            raise info.error("write this update as `x = x + v` in a tg.checkpoint loop", node)
        for offset, line in enumerate(replaced):
            text[node.lineno + offset] = line
    return text


def _segment(text, node, indent):
    """The source text of ``node`` (columns are byte offsets)."""
    lines = [text[i].encode() for i in range(node.lineno, node.end_lineno + 1)]
    lines[-1] = lines[-1][:node.end_col_offset + indent]
    lines[0] = lines[0][node.col_offset:]
    return b"\n".join(lines).decode()


def _active_names(tree, seeds):
    """Names that may hold a value computed from ``seeds``: a flow-insensitive, conservative
    closure over every binding in the function (assignments, loop targets, calls that may
    store into their receiver)."""
    active = set(seeds)
    bindings = []
    for node in walk(tree):
        if isinstance(node, (gast.Assign, gast.AugAssign, gast.AnnAssign)):
            targets = getattr(node, "targets", None) or [node.target]
            bindings.append((targets, [node.value] + (
                [node.target] if isinstance(node, gast.AugAssign) else [])))
        elif isinstance(node, gast.For):
            bindings.append(([node.target], [node.iter]))
        elif isinstance(node, gast.NamedExpr):
            bindings.append(([node.target], [node.value]))
        elif isinstance(node, (gast.With, gast.AsyncWith)):
            bindings += [([i.optional_vars], [i.context_expr]) for i in node.items
                         if i.optional_vars is not None]
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) \
                and isinstance(node.func.value, gast.Name) \
                and not hasattr(node.func.value, "resolved"):   # lst.append(w): lst holds w
            bindings.append(([node.func.value], node.args + [k.value for k in node.keywords]))
        elif isinstance(node, gast.FunctionDef) and node is not tree:
            bindings.append(([gast.Name(id=node.name, ctx=gast.Store(), annotation=None,
                                        type_comment=None)], node.body))
    changed = True
    while changed:
        changed = False
        for targets, values in bindings:
            if any(isinstance(n, gast.Name) and n.id in active
                   for v in values if v is not None for n in walk(v)):
                for target in targets:
                    for n in walk(target):
                        if isinstance(n, gast.Name) and n.id not in active:
                            active.add(n.id)
                            changed = True
    return active


def _fresh(base, taken):
    name, suffix = base, 1
    while name in taken:
        suffix += 1
        name = f"{base}_{suffix}"
    taken.add(name)
    return name


def _resolved(id_, obj):
    node = gast.Name(id=id_, ctx=gast.Load(), annotation=None, type_comment=None)
    node.resolved = obj
    return node


def _tuple(names, ctx):
    return gast.Tuple(elts=[gast.Name(id=n, ctx=ctx(), annotation=None, type_comment=None)
                            for n in names], ctx=ctx())
