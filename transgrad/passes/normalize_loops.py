"""How ``normalize`` desugars loops: ``for`` over any iterable (``enumerate``, ``zip``,
``reversed`` nest) becomes a loop over a saved range of indices; a ``while`` loop, or a loop
that may ``break``, counts its trips for the adjoint sweep."""


import gast

from .. import ir
from ..ir import clone, walk
from .normalize_calls import resolved_name
from .normalize_jumps import walk_loop_body


class LoopDesugaring:
    """The loop methods of ``Normalizer`` (which holds the state they use)."""

    def visit_for(self, stmt):
        if stmt.orelse:
            raise self.info.error("`for ... else` is not supported", stmt,
                                  hint="use a flag variable set before `break`")
        index, steps, binding = self.loop_header(stmt)
        body = self.block(binding + stmt.body)
        node = gast.For(target=ir.name(index, store=True), iter=steps, body=body, orelse=[],
                        type_comment=None)
        self.finish_loop(node, stmt)

    def finish_loop(self, node, stmt):
        """Count the loop's trips when it may leave early (break) or is a while loop."""
        jumps = any(isinstance(n, gast.Break) for n in walk_loop_body(stmt.body))
        if jumps or isinstance(node, gast.While):
            count = self.fresh("trips", multi=True)
            self.assign_temp(count, gast.Constant(value=0, kind=None))
            step = gast.Assign(targets=[ir.name(count, store=True)], value=gast.BinOp(
                left=ir.name(count), op=gast.Add(), right=gast.Constant(value=1, kind=None)),
                type_comment=None)
            step.origin = stmt
            step.counter_step = True   # its old value is never needed: no save
            gast.copy_location(step, stmt)
            node.body.insert(0, step)
            node.trip_count = count
        self.emit(node)

    def loop_header(self, stmt):
        """Turn ``for TARGET in ITER`` into a loop over a saved range of indices.

        Returns (index name, the range's Name, statements that bind TARGET from the index).
        """
        iterable, target = stmt.iter, stmt.target
        call = iterable.func if isinstance(iterable, gast.Call) else None
        builtin = getattr(call, "resolved", None) if call is not None else None
        if builtin is range and isinstance(target, gast.Name) and not iterable.keywords:
            args = [self.atom_of(a) for a in iterable.args]
            steps = self.assign_temp(
                self.fresh("steps", multi=True),
                gast.Call(func=resolved_name(range), args=args, keywords=[]))
            self.multi.add(target.id)
            return self.store(target.id).id, steps, []
        # every other iterable is indexed: for k in range(len(seq)): target = seq[k]
        index = self.fresh("k", multi=True)
        lengths = []
        value = self.iteration_item(iterable, ir.name(index), lengths, _rebound_in_loop(stmt))
        length = lengths[0] if len(lengths) == 1 else self.assign_temp(
            self.fresh("n"), gast.Call(func=resolved_name(min), args=lengths, keywords=[]))
        steps = self.assign_temp(self.fresh("steps", multi=True), gast.Call(
            func=resolved_name(range), args=[length], keywords=[]))
        binding = gast.Assign(targets=[target], value=value, type_comment=None)
        gast.copy_location(binding, stmt)
        return index, steps, [binding]

    def iteration_item(self, iterable, position, lengths, rebound=frozenset()):
        """The element at ``position`` of ``iterable`` (enumerate, zip and reversed nest);
        appends the Name of each underlying sequence's length to ``lengths``. A sequence
        named by a variable in ``rebound`` (the loop assigns it) is first saved in a
        temporary: Python iterates the object the name held when the loop began."""
        call = iterable.func if isinstance(iterable, gast.Call) else None
        builtin = getattr(call, "resolved", None) if call is not None else None
        if builtin is enumerate:
            item = self.iteration_item(iterable.args[0], position, lengths, rebound)
            start = iterable.args[1] if len(iterable.args) > 1 else next(
                (k.value for k in iterable.keywords if k.arg == "start"), None)
            count = clone(position) if start is None else gast.BinOp(
                left=clone(position), op=gast.Add(), right=self.atom_of(start))
            return gast.Tuple(elts=[count, item], ctx=gast.Load())
        if builtin is zip:
            return gast.Tuple(elts=[self.iteration_item(a, clone(position), lengths, rebound)
                                    for a in iterable.args], ctx=gast.Load())
        if builtin is reversed:
            sequence = self.sequence(iterable.args[0], rebound)
            length = self.assign_temp(self.fresh("n"), gast.Call(
                func=resolved_name(len), args=[sequence], keywords=[]))
            lengths.append(length)
            last = gast.BinOp(left=gast.BinOp(left=clone(length), op=gast.Sub(),
                                              right=gast.Constant(value=1, kind=None)),
                              op=gast.Sub(), right=clone(position))
            return gast.Subscript(value=sequence, slice=last, ctx=gast.Load())
        sequence = self.sequence(iterable, rebound)
        lengths.append(self.assign_temp(self.fresh("n"), gast.Call(
            func=resolved_name(len), args=[sequence], keywords=[])))
        return gast.Subscript(value=sequence, slice=clone(position), ctx=gast.Load())

    def sequence(self, node, rebound):
        """The atom a loop indexes for ``node``: ``seq1 = v`` first when the loop rebinds
        ``v`` (``for item in v: v = item * v`` iterates the first ``v``)."""
        sequence = self.atom_of(node)
        if isinstance(node, gast.Name) and node.id in rebound:
            sequence = self.assign_temp(self.fresh("seq"), sequence)
        return sequence

    def visit_while(self, stmt):
        if stmt.orelse:
            raise self.info.error("`while ... else` is not supported", stmt,
                                  hint="use a flag variable set before `break`")
        cond = self.fresh("cond", multi=True)
        self.assign_temp(cond, self.expr(stmt.test))
        body = self.block(stmt.body)
        outer, self.body = self.body, []
        self.assign_temp(cond, self.expr(stmt.test))
        retest, self.body = self.body, outer
        _extend_open_paths(body, retest)
        self.finish_loop(gast.While(test=ir.name(cond), body=body, orelse=[]), stmt)


def _extend_open_paths(body, stmts):
    """Append ``stmts`` (a while loop's test, evaluated again) to every path through the
    normalized loop ``body`` that does not end in ``break``: after ``restructure_jumps`` a
    jump ends its path, so the paths that break go through the last ``if`` of a block."""
    if body and isinstance(body[-1], gast.Break):
        return
    last = body[-1] if body else None
    if isinstance(last, gast.If) and any(isinstance(n, gast.Break)
                                         for n in walk_loop_body([last])):
        _extend_open_paths(last.body, stmts)
        if not last.orelse:
            last.orelse = [clone(s) for s in stmts]
        else:
            _extend_open_paths(last.orelse, [clone(s) for s in stmts])
        return
    if len(body) == 1 and isinstance(body[0], gast.Pass):
        body.clear()
    body.extend(stmts)


def _rebound_in_loop(loop):
    """Names the loop ``for TARGET in ...: BODY`` binds to new objects: its target and names
    assigned in its body (an augmented assignment updates an array in place: not counted)."""
    augmented = {id(n.target) for n in walk(loop) if isinstance(n, gast.AugAssign)}
    return {n.id for part in [loop.target] + loop.body for n in walk(part)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)
            and id(n) not in augmented}
