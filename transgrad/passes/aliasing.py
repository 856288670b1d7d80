"""Reject in-place updates that another name could observe (an analysis).

The reverse pass treats every name as its own value. An update in place (``y[i] = v``, an
augmented ``z += v`` on an array, ``values.append(v)`` on a list) breaks that if another
name that is read later shares the updated memory, so such programs raise
``TransformError`` instead of getting a wrong derivative::

    y = np.zeros((2, 3))
    row = y[1]           # a view of y
    row[0] = x           # TransformError at `row = y[1]`: `row` may share memory with `y`

The analysis follows the program's flow (branches joined, loops to a fixed point) and knows
which values may share memory and which cannot:

* sharing: ``z = y``; basic slices and other views (``y[1:]``, ``.T``, ``reshape``...); an
  element read from a list, tuple or object; a list holding an array (``out.append(y)``);
  whatever a call into a user function returns (it may return its argument);
* never sharing: numbers (an augmented ``s += b`` on a number makes a new number), the
  results of arithmetic and of numpy functions that allocate, fancy indexing with a list
  display, copies (``.copy()``, ``list(a)``, ``np.array``).

An update is refused only where a name sharing the memory is read after it. The message
names the user's variables (not normalization's temporaries) and points at the line where
the memory became shared.
"""

import inspect
import math
import operator
import re

import gast
import numpy as np

from .. import ir, runtime
from ..rules import CallableSet, is_nondifferentiable, lookup_vjp
from . import alias_calls
from .activity import assignments
from .alias_ranks import more_ranks
from .alias_forms import basic_index, index_count, integer_index, range_with_steps, target_names
from .alias_state import State, int_result, is_int, param_token
from .shapes import ranks

_OPTIONAL_VIEWS = ("permute_dims", "matrix_transpose", "unstack")
VIEWS = CallableSet({operator.getitem, np.reshape, np.transpose, np.ravel, np.squeeze, np.expand_dims,
         np.swapaxes, np.moveaxis, np.broadcast_to, np.diagonal, np.asarray, np.atleast_1d,
         np.atleast_2d, np.atleast_3d, np.flip, np.fliplr, np.flipud, np.split, np.array_split,
         np.hsplit, np.vsplit, np.dsplit, np.rot90, np.ascontiguousarray, np.asfortranarray,
         np.asanyarray, np.require, np.real, np.imag, np.diag, np.broadcast_arrays,
         *(getattr(np, n) for n in _OPTIONAL_VIEWS if hasattr(np, n))})
# shallow copies of a container: a new list holding the same elements
CONTAINER_COPIES = CallableSet({list, tuple})
# full reductions of an array give a numpy scalar, which never changes in place
REDUCTIONS = CallableSet({np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.var, np.std,
              np.linalg.norm, np.vdot, np.trace, np.median, np.average, np.ptp})
NUMBER_FUNCTIONS = CallableSet({float, int, bool, len, complex, str, round, range, runtime.item, np.ndim,
                    np.size, np.shape})   # (a range never changes either)
# functions of numbers that give numbers (on arrays they give arrays)
OF_NUMBERS = CallableSet({abs, max, min, sum, pow, divmod})
NONDIFFERENTIABLE_ATTRIBUTES = {"dtype", "shape", "ndim", "size", "itemsize", "nbytes"}
_UNKNOWN = object()   # a value not known when the code is built
# what a call tells a helper of an argument
_KINDS = ("lists", "containers", "number_items", "ints", "int_items")
HINT = "take a copy first (`.copy()` or `np.array(...)`), so the update has one owner"


class _Analysis:
    def __init__(self, info, tree):
        self.info = info
        self.tree = tree
        arguments = tree.args
        self.params = [a.id for a in arguments.posonlyargs + arguments.args
                       + arguments.kwonlyargs + [arguments.vararg, arguments.kwarg] if a]
        self.ranks = {}       # name -> ndim, where the arguments' ranks tell
        self.before = {}      # id(stmt) -> the state before it (joined over loop iterations)
        self.live_after = {}  # id(stmt) -> the names that may be read after it
        self._liveness(tree.body, set())
        self.user_names = _user_names(info)
        self.pending = []     # (stmt, name, kind, is_list): in-place changes to check
        self.calls = {}       # (id(stmt), name) -> (callee, its parameter, line): see `call`
        self.refuse = True    # raise a called helper's refusal (not for analyse_flow's users)
        # (id(stmt), name) -> whether the helper called there reads its argument `name` only
        # in ways whose derivative does not read it again (see `unsafe_uses`)
        self.call_safe = {}
        # names bound once to a value known when the code is built (`cond1 = n <= 0` in a
        # helper called as h(a, 2)): a branch on one runs one way
        self.constants = {}
        counts = {}
        for stmt in assignments(tree.body):
            for target in ir.assigned(stmt):
                counts[target] = counts.get(target, 0) + 1
        self.once = {n for n, c in counts.items() if c == 1}
        self.rebound = set(counts)
        # names bound once to a range of constants with steps (`steps1 = range(2)`): a loop
        # over one runs its body at least once
        stores = {}
        for node in ir.walk(tree):
            if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
                stores[node.id] = stores.get(node.id, 0) + 1
        self.taken_ranges = {ir.assigned(stmt)[0] for stmt in assignments(tree.body)
                             if len(ir.assigned(stmt)) == 1 and range_with_steps(stmt.value)
                             and stores.get(ir.assigned(stmt)[0]) == 1}

    # --- liveness ------------------------------------------------------------------------
    def _liveness(self, body, out, jumps=None):
        """The names live before ``body`` when ``out`` are live after it; records the names
        live after each statement. ``jumps``: (live at the loop's exit, live at its head)."""
        live = set(out)
        for stmt in reversed(body):
            self.live_after[id(stmt)] = self.live_after.get(id(stmt), set()) | live
            if isinstance(stmt, gast.Break):
                live = set(jumps[0]) if jumps else set()
            elif isinstance(stmt, gast.Continue):
                live = set(jumps[1]) if jumps else set()
            elif isinstance(stmt, gast.If):
                live = (self._liveness(stmt.body, live, jumps)
                        | self._liveness(stmt.orelse, live, jumps)
                        | set(ir.names_in(stmt.test)))
            elif isinstance(stmt, (gast.For, gast.While)):
                exit_live = self._liveness(stmt.orelse, live, jumps) if stmt.orelse else live
                test = stmt.test if isinstance(stmt, gast.While) else stmt.iter
                targets = set(target_names(stmt.target)) if isinstance(stmt, gast.For) else set()
                head = set(exit_live) | set(ir.names_in(test))
                while True:
                    inner = self._liveness(stmt.body, head, (exit_live, head)) - targets
                    again = head | inner
                    if again == head:
                        break
                    head = again
                live = head
            elif isinstance(stmt, gast.Assign):
                update = ir.set_item(stmt)
                reads = set(ir.names_in(stmt.value))
                if update is not None:
                    live = live | reads | {update[0]} | set(ir.names_in(update[1]))
                else:
                    live = (live - set(ir.assigned(stmt))) | reads
            elif isinstance(stmt, gast.Return):
                live = set(ir.names_in(stmt.value)) if stmt.value is not None else set()
            elif isinstance(stmt, gast.Expr):
                live = live | set(ir.names_in(stmt.value))
        return live

    def read_later(self, name, stmt):
        """Whether ``name`` may be read after ``stmt`` runs before it is bound again."""
        return name in self.live_after.get(id(stmt), ())

    # --- the flow ----------------------------------------------------------------------------
    def run(self, numbers=(), constants=None, kinds=None):
        """``numbers``: parameters that hold numbers in this call; ``constants``: parameter ->
        its value, where the call passes a constant (a helper's recursion depth); ``kinds``:
        parameter -> the kinds (``"lists"``, ``"containers"``, ``"number_items"``) its
        argument certainly has in this call (a list of ints)."""
        state = State()
        state.numbers.update(numbers)
        for param in self.params:
            if param not in state.numbers:   # the entry value, related to what shares it
                state.add_full(param, param_token(param), None)
            for kind in (kinds or {}).get(param, ()):
                getattr(state, kind).add(param)
        self.constants.update({p: v for p, v in (constants or {}).items()
                               if p not in self.rebound})
        self.block(self.tree.body, state, [])

    def constant_of(self, node):
        """The value of ``node`` when the code is built, or _UNKNOWN."""
        if isinstance(node, gast.Constant):
            return node.value if isinstance(node.value, (int, float, bool)) else _UNKNOWN
        if isinstance(node, gast.Name):
            return self.constants.get(node.id, _UNKNOWN)
        if not isinstance(node, (gast.Compare, gast.BinOp, gast.UnaryOp, gast.BoolOp)):
            return _UNKNOWN
        prim = ir.primitive(node)
        if getattr(prim.func, "__module__", None) != "_operator" or prim.kwargs:
            return _UNKNOWN
        values = [self.constant_of(a) for a in prim.args]
        if any(v is _UNKNOWN for v in values):
            return _UNKNOWN
        try:
            return prim.func(*values)
        except Exception:   # noqa: BLE001 - 1 / 0 and the like: not known
            return _UNKNOWN

    def block(self, body, state, jumps):
        """The state after ``body``; ``jumps`` collects (kind, state) of break/continue."""
        for stmt in body:
            if state.dead:
                return state
            if isinstance(stmt, gast.If):
                taken = self.constant_of(stmt.test)
                then = self.block(stmt.body, state.copy(), jumps) \
                    if taken is _UNKNOWN or taken else State.join([])
                other = self.block(stmt.orelse, state.copy(), jumps) \
                    if taken is _UNKNOWN or not taken else State.join([])
                state = State.join([then, other])
            elif isinstance(stmt, (gast.For, gast.While)):
                state = self.loop(stmt, state)
            elif isinstance(stmt, (gast.Break, gast.Continue)):
                jumps.append((type(stmt), state))
                state = state.copy()
                state.dead = True
            elif isinstance(stmt, gast.Assign):
                self.record(stmt, state)
                state = self.assign(stmt, state)
            elif isinstance(stmt, gast.Return):
                self.record(stmt, state)
        return state

    def loop(self, stmt, entry):
        head = entry
        while True:
            jumps = []
            self.record(stmt, head)
            inner = head.copy()
            if isinstance(stmt, gast.For):
                for target in target_names(stmt.target):
                    self.bind_element(inner, target, ir.operand_names(stmt.iter), stmt)
            end = self.block(stmt.body, inner, jumps)
            again = State.join([head, end] + [s for kind, s in jumps
                                                 if kind is gast.Continue])
            if again.same(head):
                break
            head = again
        # after at least one step the loop leaves from the end of a step (or a continue),
        # never from the state before it
        first = [end] + [s for kind, s in jumps if kind is gast.Continue] \
            if self.takes_a_step(stmt) else [head]
        exits = first + [s for kind, s in jumps if kind is gast.Break]
        after = State.join(exits)
        return self.block(stmt.orelse, after, []) if stmt.orelse else after

    def takes_a_step(self, loop):
        """Whether the ``for`` loop runs its body at least once: over a range of constants
        that has steps, directly or through a name bound once to one."""
        if not isinstance(loop, gast.For):
            return False
        it = loop.iter
        return range_with_steps(it) or isinstance(it, gast.Name) and it.id in self.taken_ranges

    def record(self, stmt, state):
        seen = self.before.get(id(stmt))
        self.before[id(stmt)] = state.copy() if seen is None else State.join([seen, state])

    # --- transfer functions --------------------------------------------------------------
    def assign(self, stmt, state):
        update = ir.set_item(stmt)
        if update is not None:
            return self.store(stmt, state, update[0])
        targets = ir.assigned(stmt)
        prim = ir.primitive(stmt.value)
        new = state.copy()
        if len(targets) > 1:   # a, b = t: each an element of t
            sources = ir.operand_names(stmt.value)
            made = []
            kinds = state.tuples.get(sources[0], ()) if len(sources) == 1 else ()
            for position, target in enumerate(targets):
                item = state.copy()
                item.forget(target)
                if position < len(kinds) and kinds[position]:
                    item.numbers.add(target)   # a number in a tuple a helper returned
                else:
                    self.bind_element(item, target, sources, stmt, state)
                made.append(item)
            for target in targets:
                new.forget(target)
            for target, item in zip(targets, made):
                new.full |= {p for p in item.full if target in p}
                new.elem |= {p for p in item.elem if target in p}
                new.origin.update({k: v for k, v in item.origin.items() if target in k})
                for kind in State.KINDS + State.MAYBE:
                    if target in getattr(item, kind):
                        getattr(new, kind).add(target)
            return new
        target = targets[0]
        func = prim.func
        operands = [n for a in prim.args for n in ir.operand_names(a)]
        new.forget(target)
        if func is ir.COPY:
            if isinstance(prim.args[0], gast.Constant):
                new.numbers.add(target)
            elif operands:
                self.share(new, target, operands[0], state, stmt)
        elif func is ir.PACK:
            self.pack(new, target, prim.args, state, stmt,
                      isinstance(stmt.value, gast.List))
        elif func is runtime.append:
            self.mutate_list(stmt, state, operands[0] if operands else None, "append")
            if operands:
                self.share(new, target, operands[0], state, stmt)
                for item in operands[1:]:
                    self.hold(new, target, item, state, stmt)
                if not all(n in state.numbers for n in operands[1:]):
                    new.number_items.discard(target)
                if not all(n in state.ints for n in operands[1:]):
                    new.int_items.discard(target)
                if any(n in state.sequences for n in operands[1:]):
                    new.nested.add(target)
        elif getattr(stmt, "in_place_of", None) and stmt.in_place_of not in state.numbers \
                and stmt.in_place_of in operands:
            # `s += v` on an array (or a list): the same object, changed in place
            self.mutate(stmt, state, stmt.in_place_of, "augmented")
            self.share(new, target, stmt.in_place_of, state, stmt)
            new.number_items.discard(target)   # `a += [v]` of a list: new elements
            new.int_items.discard(target)
        elif func is operator.getitem:
            base = ir.operand_names(prim.args[0])
            index = prim.args[1]
            if base and base[0] in state.numbers:
                new.numbers.add(target)
            elif base and integer_index(index) and (
                    self.ranks.get(target) == 0 and self.ranks.get(base[0], 0) > 0
                    or self.ranks.get(base[0]) == index_count(index)):
                new.numbers.add(target)   # an element of an array: a numpy scalar
            elif base and (base[0] in state.containers or not basic_index(index)):
                if base[0] in state.containers:
                    if isinstance(index, gast.Slice):   # a[:] of a list: a new list
                        self.copy_container(new, target, base[0], state, stmt)
                    else:
                        self.bind_element(new, target, base, stmt, state)
                # else: fancy indexing copies
            elif base:
                self.share(new, target, base[0], state, stmt)
        elif func is getattr:
            attr = prim.args[1].value
            base = ir.operand_names(prim.args[0])
            if attr in NONDIFFERENTIABLE_ATTRIBUTES or (base and base[0] in state.numbers):
                new.numbers.add(target)
            elif base:
                self.bind_element(new, target, base, stmt, state)
        elif func is runtime.copy_of and operands and operands[0] not in state.containers:
            pass   # an array's copy is a new array
        elif func in CONTAINER_COPIES or func is runtime.copy_of:
            if operands:
                self.copy_container(new, target, operands[0], state, stmt)
            new.containers.add(target)
            if func is list or operands and operands[0] in state.lists:
                new.lists.add(target)
        elif func in VIEWS:
            if operands and operands[0] not in state.numbers:
                self.share(new, target, operands[0], state, stmt)
        elif func in (operator.mul, operator.add, runtime.add_or_concatenate) \
                and self.sequence_result(new, target, func, prim, state, stmt):
            pass
        elif self.makes_number(func, prim, operands, state, target):
            new.numbers.add(target)
        elif not self.allocates(func):
            self.call(stmt, state, new, target, func, prim)
        if target in new.containers:
            new.sequences.add(target)
        if int_result(prim, state):
            new.numbers.add(target)
            new.ints.add(target)
        if func is range:
            new.int_items.add(target)
        value = self.constant_of(stmt.value)
        if value is not _UNKNOWN and target in self.once:
            self.constants[target] = value
        return new

    def call(self, stmt, state, new, target, func, prim):
        """``target = h(...)`` of a user function: its result shares what the function's own
        source, analysed for this call, says it may return (``h(a, n)`` returning ``a`` only
        when ``n <= 0`` returns a new array for ``h(y, 2)``), and the arguments it updates in
        place change here. A callable whose source cannot be read may return any argument."""
        passed = alias_calls.bind_call(func, prim)
        summary = None
        if passed is not None:
            values = {p: self.constant_of(node) for p, node in passed.items()}
            numbers = frozenset(p for p, node in passed.items()
                                if isinstance(node, gast.Name) and node.id in state.numbers
                                or type(values[p]) in (int, float, bool))
            known = tuple(sorted((p, self.ranks[node.id]) for p, node in passed.items()
                                 if isinstance(node, gast.Name) and node.id in self.ranks))
            kinds = tuple(sorted((p, tuple(k for k in _KINDS if node.id in getattr(state, k)))
                                 for p, node in passed.items() if isinstance(node, gast.Name)
                                 and any(node.id in getattr(state, k) for k in _KINDS)))
            summary = alias_calls.summary(func, numbers, tuple(sorted(
                (p, v) for p, v in values.items() if type(v) in (int, bool))), _analyse, known,
                kinds)
        refusal = summary.refusal if summary is not None else \
            alias_calls.refusal_without_kinds(func, check_in_place_updates) \
            if inspect.isfunction(func) else None
        if refusal is not None and self.refuse:   # the helper's update, seen for this call
            refusal.alias_refusal = True
            raise refusal
        if summary is not None:
            alias_calls.vet(func)
        if summary is None:
            for name in [n for a in list(prim.args) + list(prim.kwargs.values())
                         for n in ir.operand_names(a)]:
                if name not in state.numbers:
                    self.share(new, target, name, state, stmt)
            return
        if summary.number:
            new.numbers.add(target)
        if summary.sequence:
            new.sequences.add(target)
        for param in summary.shares:
            for name in ir.operand_names(passed[param]) if param in passed else ():
                if name not in state.numbers:
                    self.share(new, target, name, state, stmt)
        if summary.items is not None:
            new.tuples[target] = summary.items
        for param, name in ((p, node.id) for p, node in passed.items()
                            if isinstance(node, gast.Name)):
            self.call_safe[(id(stmt), name)] = summary.safe is None or param in summary.safe
            if param in summary.mutates and not (summary.kept is None or param in summary.kept):
                new.int_items.discard(name)   # the helper may store other values in it
                new.number_items.discard(name)
        for param, line in summary.mutates.items():
            for name in ir.operand_names(passed[param]) if param in passed else ():
                self.calls[(id(stmt), name)] = (getattr(func, "__name__", "the function"),
                                                param, line)
                self.pending.append((stmt, name, "call", name in state.lists))

    def sequence_result(self, new, target, func, prim, state, stmt):
        """``[0] * n``, ``a + b`` of lists: a new container holding the operands' elements.
        False where no operand is certainly a sequence (arithmetic); where one may be an array
        (``a + b`` of a list and an unknown name), the result holds what both hold."""
        if len(prim.args) != 2 or prim.kwargs:
            return False
        sequences = [isinstance(a, (gast.List, gast.Tuple))
                     or isinstance(a, gast.Name) and a.id in state.containers for a in prim.args]
        if not any(sequences):
            return False
        others = [a for a, is_sequence in zip(prim.args, sequences) if not is_sequence]
        if func is operator.mul:
            certain = all(isinstance(a, gast.Constant) and type(a.value) is int
                          or isinstance(a, gast.Name) and a.id in state.numbers for a in others)
            held = [a for a, is_sequence in zip(prim.args, sequences) if is_sequence]
        else:
            certain, held = not others, prim.args
        numbers = True
        ints = all(all(is_int(e, state) for e in a.elts) if isinstance(a, (gast.List, gast.Tuple))
                   else a.id in state.int_items for a in held)
        for operand in held:
            if isinstance(operand, (gast.List, gast.Tuple)):
                numbers = numbers and all(isinstance(e, gast.Constant) or isinstance(e, gast.Name)
                                          and e.id in state.numbers for e in operand.elts)
                for item in [n for e in operand.elts for n in ir.operand_names(e)]:
                    self.hold(new, target, item, state, stmt)
            elif isinstance(operand, gast.Name):
                numbers = numbers and operand.id in state.number_items
                self.copy_container(new, target, operand.id, state, stmt)
                if operand.id in state.nested:
                    new.nested.add(target)
        new.sequences.add(target)   # (where not certain: on some path)
        new.number_items.discard(target)   # (copy_container copied one operand's kinds)
        new.int_items.discard(target)
        if certain:
            new.containers.add(target)
            if all(isinstance(a, gast.List) or isinstance(a, gast.Name) and a.id in state.lists
                   for a in held):
                new.lists.add(target)
            if numbers:
                new.number_items.add(target)
            if ints:
                new.int_items.add(target)
        return True

    @staticmethod
    def allocates(func):
        return lookup_vjp(func) is not None or is_nondifferentiable(func) \
            or isinstance(func, np.ufunc) or func in (np.copy, np.array)

    def makes_number(self, func, prim, operands, state, target):
        if func in NUMBER_FUNCTIONS or getattr(func, "__module__", None) == "math":
            return True
        if func in OF_NUMBERS and len(prim.args) == 1 and not prim.kwargs \
                and operands and operands[0] in state.number_items:
            return True   # sum(values) of a list of numbers
        if (isinstance(func, np.ufunc) or getattr(func, "__module__", None) == "_operator") \
                and self.ranks.get(target) == 0:
            return True   # arithmetic never gives a 0-d array: a rank-0 result is a scalar
        all_numbers = all(n in state.numbers for n in operands) and all(
            isinstance(a, (gast.Name, gast.Constant)) for a in prim.args)
        if all_numbers and (func in OF_NUMBERS or isinstance(func, np.ufunc)
                            or getattr(func, "__module__", None) == "_operator"):
            return True
        if func in REDUCTIONS and len(prim.args) == 1 and not prim.kwargs:
            return True   # a numpy scalar (of an array; of a number, a number)
        return False

    def share(self, new, target, source, state, stmt):
        """``target`` names the same memory as ``source``."""
        if source in state.numbers:
            new.numbers.add(target)
            if source in state.ints:
                new.ints.add(target)
            return
        shared, holders, items = state.related(source)
        new.add_full(target, source, stmt)
        for m in shared:
            new.add_full(target, m, stmt)
        for c in holders:
            new.add_elem(target, c, stmt)
        for e in items:
            new.add_elem(e, target, stmt)
        for kind in ("lists", "containers", "number_items", "int_items") + State.MAYBE:
            if source in getattr(state, kind):
                getattr(new, kind).add(target)

    def hold(self, new, container, item, state, stmt):
        """``container`` holds ``item`` (and so whatever shares its memory)."""
        if item in state.numbers:
            return
        shared, holders, items = state.related(item)
        new.add_elem(item, container, stmt)
        for m in shared:
            new.add_elem(m, container, stmt)
        for e in items:
            new.add_elem(e, container, stmt)

    def pack(self, new, target, elts, state, stmt, is_list):
        new.containers.add(target)
        if is_list:
            new.lists.add(target)
        else:
            new.tuples[target] = tuple(
                isinstance(e, gast.Constant) or isinstance(e, gast.Name) and e.id in state.numbers
                for e in elts)
        numbers = True
        for elt in elts:
            if isinstance(elt, gast.Constant):
                continue
            for item in ir.operand_names(elt):
                self.hold(new, target, item, state, stmt)
                numbers = numbers and item in state.numbers
            if isinstance(elt, (gast.Tuple, gast.List)) or not ir.operand_names(elt):
                numbers = numbers and isinstance(elt, gast.Constant)
        if numbers:
            new.number_items.add(target)
        if all(is_int(e, state) for e in elts):
            new.int_items.add(target)
        if any(isinstance(e, (gast.List, gast.Tuple))
               or isinstance(e, gast.Name) and e.id in state.sequences for e in elts):
            new.nested.add(target)

    def copy_container(self, new, target, source, state, stmt):
        """``list(a)``, ``a[:]``: a new container holding ``a``'s elements."""
        if source in state.numbers:   # tuple(np.shape(x)), list(range(n)): ints
            new.number_items.add(target)
            new.int_items.add(target)
            return
        shared, holders, items = state.related(source)
        for e in items:
            new.add_elem(e, target, stmt)
        if source not in state.containers:   # list(array) holds views of its rows
            self.hold(new, target, source, state, stmt)
        if source in state.number_items:
            new.number_items.add(target)
        if source in state.int_items:
            new.int_items.add(target)
        if source in state.nested:
            new.nested.add(target)

    def bind_element(self, new, target, sources, stmt, state=None):
        """``target`` is an element of ``sources[0]`` (``t[0]``, ``a, b = t``, a loop over
        ``t``, an attribute of an object)."""
        state = state or new
        if not sources:
            return
        source = sources[0]
        if source in state.nested:
            new.sequences.add(target)   # a list held in a list
        if source in state.numbers or source in state.number_items:
            new.numbers.add(target)
            if source in state.int_items:
                new.ints.add(target)   # an element of a list of ints, a range's counter
            return
        if source not in state.containers:   # an array's row, or a user object's attribute
            if self.ranks.get(target) == 0 and self.ranks.get(source, 0) > 0:
                new.numbers.add(target)   # an element of a vector: a numpy scalar
                return
            self.share(new, target, source, state, stmt)
            return
        shared, holders, items = state.related(source)
        new.add_elem(target, source, stmt)
        for m in shared:
            new.add_elem(target, m, stmt)
        for c in holders:
            new.add_elem(target, c, stmt)
        for e in items:
            new.add_full(target, e, stmt)

    def store(self, stmt, state, array):
        """``y[i] = v``: a list's slot or an array's elements change."""
        new = state.copy()
        value = ir.operand_names(stmt.value)
        if array in state.lists:
            self.mutate_list(stmt, state, array, "store")
            for item in value:
                self.hold(new, array, item, state, stmt)
            if not (all(n in state.numbers for n in value)
                    and (value or isinstance(stmt.value, gast.Constant))):
                new.number_items.discard(array)
            if not is_int(stmt.value, state):
                new.int_items.discard(array)
            if any(n in state.sequences for n in value):
                new.nested.add(array)
        else:
            self.mutate(stmt, state, array, "store")
        return new

    # --- the checks ----------------------------------------------------------------------
    def mutate(self, stmt, state, name, kind):
        """An array changes in place: every name sharing it, or holding it, sees that."""
        self.pending.append((stmt, name, kind, False))

    def mutate_list(self, stmt, state, name, kind):
        """A list changes in place: names of the same list and containers holding it see
        that; its elements do not."""
        if name is not None:
            self.pending.append((stmt, name, kind, True))

    def check(self):
        for stmt, name, kind, is_list in self.pending:
            state = self.before[id(stmt)]
            shared, holders, items = state.related(name)
            observers = shared | holders | (set() if is_list else items)
            if kind == "call":
                # a helper changes the argument itself; a call that is not differentiated
                # leaves the change in place when the derivative of an earlier line reads the
                # argument again (a gather's index list, a product's factor)
                elsewhere = self.unsafe_uses(stmt)
                reread = sorted(({name} | shared | holders) & elsewhere)
                if reread:
                    raise self.error(stmt, state, name, reread[0], kind, "reread")
                if not (is_list and name in state.int_items):
                    observers.add(name)   # (a list of ints read only by element: not seen)
            successor = ir.assigned(stmt)
            for other in sorted(observers, key=lambda n: (not self.is_user(n), n)):
                if other in successor or not self.read_later(other, stmt):
                    continue
                relation = "self" if other == name else "same" if other in shared \
                    else "holder" if other in holders else "item"
                raise self.error(stmt, state, name, other, kind, relation)

    def unsafe_uses(self, skipped=None):
        """The names read somewhere other than as the list of an element read ``t = r[i]``,
        a store's target ``r[i] = v``, ``len(r)``, a loop's sequence, a branch's test, the
        value returned, or an argument of a helper that reads it only so (``call_safe``).
        A derivative never reads such a list again, so a helper may change it in place.
        ``skipped``: a statement not looked at (the call being checked)."""
        unsafe = set()
        for stmt in ir.walk(self.tree):
            if stmt is skipped or isinstance(stmt, (gast.For, gast.If, gast.While, gast.Return)):
                continue
            if not isinstance(stmt, gast.Assign):
                if isinstance(stmt, gast.stmt) and not isinstance(stmt, gast.FunctionDef):
                    unsafe.update(ir.names_in(stmt))
                continue
            update = ir.set_item(stmt)
            if update is not None:
                unsafe.update(ir.names_in(update[1]))
                unsafe.update(ir.names_in(stmt.value))
                continue
            prim = ir.primitive(stmt.value)
            args = list(prim.args) + list(prim.kwargs.values())
            if prim.func is operator.getitem and isinstance(args[0], gast.Name) \
                    or prim.func is len:
                args = args[1:]
            elif inspect.isfunction(prim.func):
                args = [a for a in args if not (isinstance(a, gast.Name)
                                                and self.call_safe.get((id(stmt), a.id)))]
            unsafe.update(n for a in args for n in ir.names_in(a))
        return unsafe

    def is_user(self, name):
        return self.display(name) is not None

    def display(self, name):
        """The user's name for ``name`` (``s`` for its renamed version ``s_1``), or None for a
        temporary of normalization."""
        if name in self.user_names:   # the namer never gives a temporary a user's name
            return name
        stem = re.sub(r"_\d+$", "", name)
        if stem != name and stem in self.user_names:
            return stem
        return None

    def error(self, stmt, state, name, other, kind, relation):
        if kind == "call":
            return self.call_error(stmt, state, name, other, relation)
        origin = getattr(state.origin_of(name, other), "origin", None) or stmt.origin
        line = stmt.origin.lineno
        shown = self.display(name) or "a value"
        other_shown = self.display(other)
        other_text = f"`{other_shown}`" if other_shown else "a value computed on this line"
        where = "" if origin is stmt.origin else f" (line {line})"
        seen = {"same": "is the same list", "holder": "holds it",
                "item": "is an element of it"}[relation]
        if kind in ("append", "store") and relation != "item" and name in state.lists:
            change = "`.append`" if kind == "append" else "a store"
            message = f"`{shown}` is changed in place by {change}{where}, and {other_text} {seen}"
            copy = f"`{shown} = list({other_shown})`" if other_shown else "`list(...)`"
            hint = f"take a copy so each list has one name: {copy}"
        elif kind == "augmented":
            seen = {"same": "shares its memory", "holder": "holds it",
                    "item": "is an element of it"}[relation]
            message = (f"`{shown}` is updated in place by an augmented assignment{where}, and "
                       f"{other_text} {seen}")
            hint = (f"write `x = x + y` (here `{shown} = {shown} + ...`: a new array), or take "
                    f"a copy first (`.copy()`)")
        else:
            seen = {"same": "may share its memory", "holder": "holds it",
                    "item": "is an element of it"}[relation]
            message = f"`{shown}` is updated in place{where}, and {other_text} {seen}"
            hint = HINT
        return self.info.error(message, origin, hint=hint)

    def call_error(self, stmt, state, name, other, relation):
        """A helper updates its argument in place, and the caller reads it (or a name
        sharing it) afterwards: the caller's derivative would not see the update."""
        callee, param, line = self.calls[(id(stmt), name)]
        shown = self.display(name) or "a value"
        other_shown = self.display(other) or "a value computed on this line"
        seen = {"self": "is read after the call", "same": "shares its memory",
                "holder": "holds it", "item": "is an element of it",
                "reread": "is read again by the derivative of another line"}[relation]
        then = "and it" if relation == "self" or other == name else f"and `{other_shown}`"
        message = (f"`{callee}` updates its argument `{param}` in place (line {line}): "
                   f"`{shown}` changes in this call, {then} {seen}")
        copy = f"`{callee}({shown}.copy(), ...)`" if self.display(name) else "a copy"
        hint = (f"pass {copy}, or write `{param} = {param} + ...` in `{callee}` "
                f"(a new array)")
        return self.info.error(message, stmt.origin, hint=hint)


def _analyse(info, tree, numbers, constants, param_ranks, kinds):
    """A helper's analysis for one call (alias_calls reads its states and updates)."""
    analysis = _Analysis(info, tree)
    if param_ranks:
        analysis.ranks = more_ranks(tree, ranks(tree, param_ranks))
    analysis.run(numbers, constants, kinds)
    return analysis


def _mutates(stmt):
    """An update in place, or a call of a user function (which may update its arguments)."""
    if ir.set_item(stmt) is not None or getattr(stmt, "in_place_of", None) is not None:
        return True
    func = ir.primitive(stmt.value).func
    return func is runtime.append or inspect.isfunction(func)


def _user_names(info):
    """The identifiers in the user's source of the function."""
    tree = info.tree
    first = getattr(tree, "lineno", 1) or 1
    last = getattr(tree, "end_lineno", None) or len(info.lines)
    text = "\n".join(info.line(n) for n in range(first, last + 1))
    return set(re.findall(r"[A-Za-z_]\w*", text))


def analyse_flow(info, tree, param_ranks=None, numbers=(), refuse=True):
    """The analysis of ``tree`` run (its states before each statement), not checked yet;
    ``refuse``: raise where a called helper's updates are refused for the call."""
    analysis = _Analysis(info, tree)
    analysis.refuse = refuse
    if param_ranks:
        analysis.ranks = more_ranks(tree, ranks(tree, param_ranks))
    analysis.run(numbers)
    return analysis


def check_in_place_updates(info, tree, param_ranks=None, numbers=(), callee=False):
    """Raise TransformError where an in-place update could be seen through another name.

    ``param_ranks`` (parameter -> ndim, where the call tells) lets the analysis know which
    elements are numbers (``t = v[i]`` of a vector) rather than views (a matrix's row);
    ``numbers``: the parameters that are Python numbers in this call (they share nothing).

    Generated code (a derivative differentiated again) is not checked: it updates in place
    only arrays it allocated itself, and restores the user's updates, checked when it was
    built. Nor is a function called from generated code (``callee``) whose callers checked
    its updates for their calls, knowing their arguments (lists of numbers, ranks)."""
    if callee and alias_calls.vetted(info.func):
        return
    if info.generated or not any(_mutates(stmt) for stmt in assignments(tree.body)):
        return   # nothing changes in place: nothing to see through another name
    analyse_flow(info, tree, param_ranks, numbers).check()


_ = math   # math functions are recognized by their module
