"""What may share memory at one point of a program: the alias analysis's lattice.

``passes/aliasing.py`` runs the flow (branches joined, loops to a fixed point) over these
states; ``passes/alias_calls.py`` reads a helper's states to summarize a call of it.
"""

import operator

import gast
import numpy as np

from .. import ir
from ..rules import CallableSet


def param_token(name):
    """The name standing for the value a parameter held on entry: never rebound, so it stays
    related to whatever shares the caller's argument after ``x = x * 2.0`` rebinds ``x``."""
    return f"{name}@entry"


class State:
    """What may share memory at one point of the program.

    ``full``: pairs of names that may share memory (the same object, or views of one array);
    ``elem``: ``(element, container)``: the element's value is held by the container (a list
    changed in place is not seen through its elements, an array changed in place is seen
    through the containers holding it); ``origin``: pair -> the statement that made it;
    ``numbers``: names that certainly hold numbers (or strings, None); ``lists``: names that
    certainly hold a Python list; ``containers``: lists and tuples; ``number_items``:
    containers whose elements are all numbers; ``tuples``: name -> per position, whether the
    tuple's element there is a number (``h(x)`` returning ``(a * k, np.min(t))``); ``ints``:
    names that certainly hold Python ints (no derivative flows through them); ``int_items``:
    containers (and ranges) whose elements are all ints (``r = [0] * n``)."""

    # the sets of names known to have a kind; each is kept where every path agrees
    KINDS = ("numbers", "lists", "containers", "number_items", "ints", "int_items")
    # names that may hold a list or tuple on some path, and containers that may hold one:
    # kept where any path says so (``a + b`` of such a name may concatenate)
    MAYBE = ("sequences", "nested")
    __slots__ = ("full", "elem", "origin", "tuples", "dead") + KINDS + MAYBE

    def __init__(self):
        self.full, self.elem, self.origin = set(), set(), {}
        for kind in self.KINDS + self.MAYBE:
            setattr(self, kind, set())
        self.tuples = {}
        self.dead = False   # after break/continue/return: no path reaches here

    def copy(self):
        new = State()
        new.full, new.elem, new.origin = set(self.full), set(self.elem), dict(self.origin)
        for kind in self.KINDS + self.MAYBE:
            setattr(new, kind, set(getattr(self, kind)))
        new.tuples = dict(self.tuples)
        new.dead = self.dead
        return new

    @staticmethod
    def join(states):
        live = [s for s in states if not s.dead]
        if not live:
            dead = State()
            dead.dead = True
            return dead
        out = live[0].copy()
        for s in live[1:]:
            out.full |= s.full
            out.elem |= s.elem
            for pair, stmt in s.origin.items():
                out.origin.setdefault(pair, stmt)
            for kind in State.KINDS:
                getattr(out, kind).intersection_update(getattr(s, kind))
            for kind in State.MAYBE:
                getattr(out, kind).update(getattr(s, kind))
            out.tuples = {n: kinds for n, kinds in out.tuples.items()
                          if s.tuples.get(n) == kinds}
        return out

    def same(self, other):
        return (self.dead == other.dead and self.full == other.full and self.elem == other.elem
                and all(getattr(self, k) == getattr(other, k)
                        for k in self.KINDS + self.MAYBE)
                and self.tuples == other.tuples)

    def related(self, name):
        """(names sharing memory with ``name``, its containers, its elements)."""
        shared = {next(iter(p - {name})) for p in self.full if name in p and len(p) == 2}
        holders = {c for e, c in self.elem if e == name}
        items = {e for e, c in self.elem if c == name}
        return shared, holders, items

    def forget(self, name):
        self.full = {p for p in self.full if name not in p}
        self.elem = {p for p in self.elem if name not in p}
        for kind in self.KINDS + self.MAYBE:
            getattr(self, kind).discard(name)
        self.tuples.pop(name, None)

    def add_full(self, a, b, stmt):
        if a != b:
            pair = frozenset((a, b))
            self.full.add(pair)
            self.origin.setdefault(pair, stmt)

    def add_elem(self, element, container, stmt):
        if element != container:
            self.elem.add((element, container))
            self.origin.setdefault(frozenset((element, container)), stmt)

    def origin_of(self, a, b):
        return self.origin.get(frozenset((a, b)))


def is_int(node, state):
    """An int constant, or a name certainly holding a Python int."""
    if isinstance(node, gast.Constant):
        return type(node.value) in (int, bool)
    return isinstance(node, gast.Name) and node.id in state.ints


_INT_OPERATORS = CallableSet({operator.add, operator.sub, operator.mul, operator.floordiv, operator.mod,
                  operator.neg, operator.pos})
_INT_FUNCTIONS = CallableSet({len, int, np.ndim, np.size})


def int_result(prim, state):
    """Whether this primitive certainly gives a Python int (a counter, an index)."""
    func, args = prim.func, prim.args
    if func is ir.COPY:
        return is_int(args[0], state)
    if func in _INT_FUNCTIONS:
        return True
    if func in _INT_OPERATORS and not prim.kwargs:
        return all(is_int(a, state) for a in args)
    if func is operator.getitem and isinstance(args[0], gast.Name):
        return args[0].id in state.int_items and is_int(args[1], state)
    return False
