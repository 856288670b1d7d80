"""``np.einsum``: its rule and the lazily computed cotangents of its operands.

Each operand's cotangent is one einsum of ``g`` with the other operands; ``einsum_vjp`` returns
them as an ``EinsumCotangents`` sequence that computes an entry only when it is indexed, so
differentiating with respect to one operand costs one einsum.
"""

import numpy as np

from .. import runtime as tgr
from ..runtime import ListCotangent, unbroadcast, zeros_like_value
from .registry import Sample, helper, vjp
from .specs import A


@vjp(np.einsum, linear=True, samples=[
    Sample(("ij,jk->ik", A(3, 4), A(4, 2))), Sample(("ij,jk", A(3, 4), A(4, 2))),
    Sample(("ii->i", A(3, 3))), Sample(("ii", A(3, 3))), Sample(("i,i", A(4), A(4))),
    Sample(("i,j->ij", A(3), A(2))), Sample(("ij->", A(3, 4))), Sample(("ijk->kj", A(2, 3, 4))),
    Sample(("...ij,...jk->...ik", A(2, 3, 4), A(4, 5))), Sample(("bij,bjk->bik", A(2, 3, 4),
                                                                 A(2, 4, 2))),
    Sample(("...i,...i->...", A(1, 3), A(4, 3))), Sample(("ij,jk,kl->il", A(2, 3), A(3, 4),
                                                          A(4, 2))),
    Sample(("i...,i...", A(3, 2), A(3, 2))), Sample(("Ba,ab", A(2, 3), A(3, 4))),
    Sample(("iij->j", A(3, 3, 2)))])
def einsum(g, ans, subscripts, *operands, out=None, optimize=False):
    """Each operand's cotangent is one einsum of ``g`` with the other operands (subscripts
    strings only, with ``...`` and implicit output)."""
    return tgr.einsum_vjp(g, subscripts, operands)


@helper(linear=(0, 2), sequence_linear=(2, 1))
def einsum_vjp(g, subscripts, operands):
    """One cotangent per argument of ``np.einsum(subscripts, *operands)``, computed lazily."""
    return EinsumCotangents(g, subscripts, operands)


@vjp(einsum_vjp, samples=[
    Sample((A(3, 2), "ij,jk->ik", [A(3, 4), A(4, 2)])), Sample((A(3), "ii->i", [A(3, 3)])),
    Sample((A(), "i,i", [A(4), A(4)])),
    Sample((A(2, 3, 5), "...ij,...jk->...ik", [A(2, 3, 4), A(4, 5)])),
    Sample((A(2, 2), "ij,jk,kl->il", [A(2, 3), A(3, 4), A(4, 2)]))])
def einsum_vjp_rule(gg, ans, g, subscripts, operands):
    """Each operand's entry is one einsum of ``g`` with the other operands: linear in each."""
    bg, b_operands = tgr.einsum_cotangents_vjp(gg, g, subscripts, operands)
    return bg, None, b_operands


@helper
def _einsum_specs(subscripts, operands):
    """Explicit per-operand subscripts and output, with ``...`` spelled as letters."""
    import string  # here: the helper is re-bound onto the tgr namespace, which has no string
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    specs = inputs.split(",")
    spare = [c for c in string.ascii_letters if c not in subscripts]
    counts = [np.ndim(op) - len(s.replace("...", "")) for s, op in zip(specs, operands)
              if "..." in s]
    ellipsis = "".join(spare[:max(counts, default=0)])
    specs = [s.replace("...", ellipsis[len(ellipsis) - (np.ndim(op) - len(s) + 3):])
             if "..." in s else s for s, op in zip(specs, operands)]
    if arrow:
        output = output.replace("...", ellipsis)
    else:   # implicit mode: broadcast axes, then the letters used once, sorted
        letters = "".join(specs)
        output = ellipsis + "".join(sorted(c for c in set(letters) - set(ellipsis)
                                           if letters.count(c) == 1))
    return specs, output, spare[len(ellipsis):]


@helper
class EinsumCotangents:
    """The cotangents of ``np.einsum(subscripts, *operands)``'s arguments, in order
    (``None`` for ``subscripts``); each is computed only when it is indexed, as one einsum of
    ``g`` with the other operands."""

    def __init__(self, g, subscripts, operands):
        self.g, self.operands = g, operands
        self.specs, self.output, self.spare = _einsum_specs(subscripts, operands)

    def __len__(self):
        return 1 + len(self.operands)

    def zero_cotangent(self):
        """The zero of this cotangent's cotangent: none for the subscripts, one per operand."""
        return ListCotangent([0.0] + [zeros_like_value(op) for op in self.operands])

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        return None if i == 0 else self.cotangent(i - 1)

    def __add__(self, other):
        return CotangentSum(self, other)

    def cotangent(self, i):
        spec, x = self.specs[i], self.operands[i]
        shape = np.shape(x)
        others = [s for j, s in enumerate(self.specs) if j != i]
        specs = [self.output] + others
        arrays = [self.g] + [op for j, op in enumerate(self.operands) if j != i]
        spare, result, first = iter(self.spare), [], {}
        for pos, c in enumerate(spec):
            if c in first:    # a repeated letter (a diagonal): tie a fresh letter to it by eye
                fresh = next(spare)
                specs.append(c + fresh)
                arrays.append(np.eye(shape[pos]))
                result.append(fresh)
            else:
                first[c] = pos
                result.append(c)
        available = set("".join(specs))
        for c, pos in first.items():
            if c not in available:   # summed in this operand only: the cotangent is constant
                specs.append(c)
                arrays.append(np.ones(shape[pos]))
        formula = ",".join(specs) + "->" + "".join(result)
        bx = einsum_contract(formula, arrays)
        return unbroadcast(bx, shape)


@helper
def einsum_contract(formula, arrays):
    """``np.einsum(formula, *arrays)`` (explicit subscripts, one letter per axis) through
    numpy's optimized contraction (BLAS) where the index space has 2048 points or more, its C
    loop below: for GradBench gmm's ``mij,ijk->mik`` (20,000 points) the loop took 342 us and
    the contraction 17 us; for 36 points the loop 2.5 us and the contraction's path search
    alone about 10 us."""
    sizes = {}
    for spec, array in zip(formula.partition("->")[0].split(","), arrays):
        sizes.update(zip(spec, np.shape(array)))
    points = 1
    for n in sizes.values():
        points *= n
    return np.einsum(formula, *arrays, optimize=len(arrays) > 2 or (
        len(arrays) > 1 and points >= 2048))


@helper
def einsum_cotangents_vjp(gg, g, subscripts, operands):
    """The transpose of ``einsum_vjp``: ``gg`` has one cotangent per entry of
    ``einsum_vjp(g, subscripts, operands)`` (None or zero for ``subscripts``). Operand ``i``'s
    entry is linear in ``g`` and in the other operands: ``<gg_i, entry_i> = <g, einsum with
    gg_i in place of operand i>``, so ``g`` gets that einsum and each other operand its
    cotangent in it. Returns the cotangents of ``g`` and of the operands."""
    operands = list(operands)
    bg, b_operands = zeros_like_value(g), [zeros_like_value(x) for x in operands]
    for i in range(len(operands)):
        part = gg[i + 1]
        if part is None:
            continue
        replaced = operands[:i] + [np.broadcast_to(part, np.shape(operands[i]))] \
            + operands[i + 1:]
        bg = bg + np.einsum(subscripts, *replaced)
        entries = EinsumCotangents(g, subscripts, replaced)
        for j in range(len(operands)):
            if j != i:
                b_operands[j] = b_operands[j] + entries.cotangent(j)
    return bg, b_operands


@helper
class CotangentSum:
    """The entrywise sum of two lazily computed sequences of cotangents (forward mode over
    ``einsum_vjp`` adds one per differentiated operand)."""

    def __init__(self, left, right):
        self.left, self.right = left, right

    def __len__(self):
        return len(self.left)

    def __getitem__(self, i):
        a, b = self.left[i], self.right[i]
        return a if b is None else b if a is None else a + b

    def __add__(self, other):
        return CotangentSum(self, other)


@helper
class Omitted:
    """A sequence of cotangents with entry ``index`` zero (like ``value``), computed
    lazily."""

    def __init__(self, entries, index, value):
        self.entries, self.index, self.value = entries, index, value

    def __len__(self):
        return len(self.entries)

    def __getitem__(self, i):
        if i % len(self.entries) == self.index:
            return zeros_like_value(self.value)
        return self.entries[i]

    def __add__(self, other):
        return CotangentSum(self, other)


@helper
def omit(entries, index, value):
    """``entries`` with entry ``index`` zero (shaped like ``value``): forward mode over
    ``einsum_vjp`` with one operand's tangent in place of the operand changes the other
    operands' cotangents only."""
    return Omitted(entries, index, value)
