"""The adjoints of subscripts in the reverse pass: a read ``y = x[i]`` adds into ``bx`` at
``i``; a store ``y[i] = v`` gives v the part ``by[i]`` and restores y's old elements."""


import gast

from .. import ir
from ..ir import assign, clone, index_value, name, push, tgr_call
from .activity import assignments
from .normalize import stack_operation


class SubscriptAdjoints:
    """The subscript methods of ``ReverseBuilder`` (which holds the state they use)."""

    def accumulate_at(self, var, index, contribution):
        """The adjoint of ``y = x[index]``: add into ``bx`` in place when this code owns it."""
        target = self.adjoint_name(var)
        if var in self.owned:
            base = name(target)
        elif var in self.exists:
            base = gast.BinOp(left=name(target), op=gast.Add(),
                              right=tgr_call("zeros_like_value", name(var)))
        else:
            base = tgr_call("zeros_like_value", name(var))
        self.exists.add(var)
        self.owned.add(var)
        self.maybe_zero.discard(var)
        self.out.append(assign(target, tgr_call("add_at", base, index_value(clone(index)),
                                                contribution)))

    def visit_set_item(self, stmt):
        """``y[i] = v``: v gets ``by[i]``, which then restarts at zero; y's old elements come
        back from the stack."""
        array, index = ir.set_item(stmt)
        stack = stack_operation(stmt.value, "pop")
        stack = stack.id if stack is not None and stack.id in self.stacks else None
        if stack is not None and not (array in self.active and array in self.exists):
            self.out.append(push(self.adjoint_name(stack), gast.Constant(value=0.0, kind=None)))
        if array in self.active and array in self.exists:
            self.shape_zero(array)
            if basic_index(index):
                part = tgr_call("copy_value", gast.Subscript(
                    value=name(self.adjoints[array]), slice=clone(index), ctx=gast.Load()))
            else:   # an index that may repeat an element: only the write numpy kept counts
                part = tgr_call("stored_part", name(self.adjoints[array]),
                                index_value(clone(index)))
            value = stmt.value
            if stack is not None:   # y[i] = stack.pop() of generated code
                self.out.append(push(self.adjoint_name(stack), part))
            elif isinstance(value, gast.Name) and value.id in self.active:
                self.accumulate(value.id, tgr_call("unbroadcast_to", part, name(value.id)))
            if array not in self.owned:
                self.out.append(assign(self.adjoints[array], tgr_call(
                    "owned_copy", name(self.adjoints[array]), name(array))))
                self.owned.add(array)
            zero = gast.Subscript(value=name(self.adjoints[array]), slice=clone(index),
                                  ctx=gast.Store())
            self.out.append(gast.Assign(targets=[zero], value=gast.Constant(value=0.0, kind=None),
                                        type_comment=None))
        restore = gast.Subscript(value=name(array), slice=clone(index), ctx=gast.Store())
        self.out.append(gast.Assign(targets=[restore], value=gast.Call(func=gast.Attribute(
            value=name(self.stack_name()), attr="pop", ctx=gast.Load()), args=[], keywords=[]),
            type_comment=None))


def indexed_receivers(stmt, active):
    """Active names read (``x[i]``) or written (``x[i] = v``) by subscript inside ``stmt``:
    their adjoints are updated element by element, in place."""
    names = {s.value.value.id for s in assignments([stmt])
             if isinstance(s.value, gast.Subscript) and isinstance(s.value.value, gast.Name)
             and s.value.value.id in active and active.intersection(ir.assigned(s))}
    names.update(ir.set_item(s)[0] for s in assignments([stmt])
                 if ir.set_item(s) is not None and ir.set_item(s)[0] in active)
    return names


def basic_index(index):
    """True when the subscript ``index`` certainly selects each element once: integer
    constants, slices, ``None``, ``...`` and tuples of them (names may hold index arrays)."""
    if isinstance(index, gast.Tuple):
        return all(basic_index(e) for e in index.elts)
    if isinstance(index, gast.Slice):
        return True
    return isinstance(index, gast.Constant) and (
        index.value is None or index.value is Ellipsis
        or isinstance(index.value, int) and not isinstance(index.value, bool))
