"""One naming scheme for generated code, in one place.

``bx`` is the reverse-mode adjoint of ``x`` and ``dx`` its forward-mode tangent; temporaries
that normalization introduces are ``t``, ``t1``, ``t2``...; a reassigned variable keeps its
name with a suffix (``h``, ``h_1``). The Namer hands out names that collide with nothing the
user wrote nor anything already generated.
"""

import keyword
import re

import gast

from .ir import walk

ADJOINT_PREFIX = "b"
TANGENT_PREFIX = "d"

# the globals generated code reads by these names (``np.cos``, ``tgr.add_at``, the adjoint
# loop's ``reversed(steps1)``): a user's local variable of one of these names is renamed
# (``tgr`` -> ``tgr_1``) so it never shadows them; a parameter of one of these names is
# refused (its name is part of the signature). Other builtins generated code calls are
# printed under a fresh name where a local variable holds theirs (codegen).
GLOBAL_MODULES = frozenset({"np", "math", "tgr", "jnp", "jax", "range", "reversed"})


class Namer:
    """Hands out unique, readable names within one generated function."""

    def __init__(self, taken=()):
        # keywords are never free: the tangent of `el` is not `del`, the adjoint of `reak`
        # not `break`
        self.taken = set(taken) | set(keyword.kwlist)
        self._counters = {}

    @classmethod
    def for_tree(cls, tree, reserved=()):
        names = {n.id for n in walk(tree) if isinstance(n, gast.Name)}
        args = {a.id for a in walk(tree.args) if isinstance(a, gast.Name)}
        return cls(names | args | set(reserved))

    def unique(self, base):
        """``base`` itself if free, else ``base_1``, ``base_2``..."""
        base = re.sub(r"\W", "_", base) or "t"
        if base not in self.taken:
            self.taken.add(base)
            return base
        stem = re.sub(r"_\d+$", "", base)
        n = self._counters.get(stem, 0)
        while True:
            n += 1
            name = f"{stem}_{n}"
            if name not in self.taken:
                self._counters[stem] = n
                self.taken.add(name)
                return name

    def temp(self, base="t"):
        """A fresh temporary: ``t1``, ``t2``, ... (or ``base1``...)."""
        n = self._counters.get(("temp", base), 0)
        while True:
            n += 1
            name = f"{base}{n}"
            if name not in self.taken:
                self._counters[("temp", base)] = n
                self.taken.add(name)
                return name

    def adjoint(self, name):
        """The adjoint name of ``name``: ``bx`` for ``x``."""
        return self.unique(ADJOINT_PREFIX + name)

    def tangent(self, name):
        return self.unique(TANGENT_PREFIX + name)
