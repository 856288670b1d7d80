"""Rewrite the function body to one primitive operation per statement (A-normal form).

Nested expressions get temporaries, reassigned variables get fresh names (so no value is ever
overwritten in straight-line code and the adjoint sweep needs no stack), augmented assignment
and array methods are desugared into calls of the functions that have rules::

    def f(x, w):                     def f(x, w):
        h = np.tanh(x @ w)      ->       t1 = x @ w
        h = h.sum(axis=0) * 2            h = np.tanh(t1)
        return h                         t2 = np.sum(h, axis=0)
                                         h_1 = t2 * 2
                                         return h_1

Every statement remembers the user's line as ``stmt.origin`` for comments and errors.
"""

import operator

import gast
import numpy as np

from .. import runtime
from ..ir import clone

# array method -> numpy function taking the array first
METHODS = {name: getattr(np, name) for name in (
    "sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "cumprod", "dot", "clip",
    "squeeze", "ravel", "argmax", "argmin", "argsort", "any", "all", "round", "trace",
    "diagonal", "repeat", "swapaxes", "nonzero", "conj")}
METHODS.update(copy=np.copy, flatten=np.ravel, reshape=np.reshape, transpose=np.transpose,
               astype=runtime.astype, item=runtime.item)
VARARG_METHODS = {"reshape", "transpose"}   # x.reshape(2, 3) == np.reshape(x, (2, 3))
ATTRIBUTES = {"T": np.transpose, "shape": np.shape, "ndim": np.ndim, "size": np.size}


def resolved_name(obj, node=None):
    """A Name node that stands for the Python object ``obj``."""
    name = gast.Name(id=getattr(obj, "__name__", "obj"), ctx=gast.Load(), annotation=None,
                     type_comment=None)
    name.resolved = obj
    if node is not None:
        gast.copy_location(name, node)
    return name


def is_atom(node):
    """Names, constants, resolved globals, and tuples/lists/slices of atoms."""
    if isinstance(node, (gast.Name, gast.Constant)) or hasattr(node, "resolved"):
        return True
    if isinstance(node, (gast.Tuple, gast.List)):
        return all(is_atom(e) for e in node.elts)
    if isinstance(node, gast.Slice):
        return all(p is None or is_atom(p) for p in (node.lower, node.upper, node.step))
    return False


class Normalizer:
    def __init__(self, info, namer):
        self.info = info
        self.namer = namer
        self.current = {}       # user variable -> its current (renamed) name
        self.defined = set()
        self.body = []
        self.origin = None

    # --- statements -------------------------------------------------------------------------
    def run(self):
        tree = self.info.tree
        for arg in tree.args.args + tree.args.kwonlyargs + tree.args.posonlyargs:
            self.current[arg.id] = arg.id
            self.defined.add(arg.id)
        for stmt in tree.body:
            self.origin = stmt
            self.visit_stmt(stmt)
        new = gast.FunctionDef(name=tree.name, args=clone(tree.args), body=self.body,
                               decorator_list=[], returns=None, type_comment=None,
                               type_params=[])
        return gast.copy_location(new, tree)

    def emit(self, stmt):
        stmt.origin = self.origin
        gast.copy_location(stmt, self.origin)
        self.body.append(stmt)

    def visit_stmt(self, stmt):
        if isinstance(stmt, gast.Assign):
            value = self.expr(stmt.value)
            if len(stmt.targets) > 1:
                value = self.atom(value)
            for target in stmt.targets:
                self.assign(target, value)
        elif isinstance(stmt, gast.AnnAssign):
            if stmt.value is not None:
                self.assign(stmt.target, self.expr(stmt.value))
        elif isinstance(stmt, gast.AugAssign):
            target = clone(stmt.target)
            target.ctx = gast.Load()
            value = gast.BinOp(left=self.atom_of(target), op=stmt.op,
                               right=self.atom_of(stmt.value))
            self.assign(stmt.target, gast.copy_location(value, stmt))
        elif isinstance(stmt, gast.Return):
            value = self.atom_of(stmt.value) if stmt.value is not None \
                else gast.Constant(value=None, kind=None)
            self.emit(gast.Return(value=value))
        elif isinstance(stmt, gast.Expr):
            if isinstance(stmt.value, gast.Constant):
                return  # docstring or bare constant
            self.emit(gast.Expr(value=self.expr(stmt.value)))
        elif isinstance(stmt, gast.Pass):
            return
        else:
            raise self.info.error(f"`{type(stmt).__name__}` statements are not supported", stmt)

    def assign(self, target, value):
        if isinstance(target, gast.Name):
            self.emit(gast.Assign(targets=[self.store(target.id)], value=value,
                                  type_comment=None))
        elif isinstance(target, (gast.Tuple, gast.List)):
            if isinstance(value, (gast.Tuple, gast.List)) \
                    and len(value.elts) == len(target.elts):
                for elt_target, elt_value in zip(target.elts, value.elts):
                    self.assign(elt_target, elt_value)  # atoms: evaluated before any store
                return
            source = self.atom(value)
            names = []
            for elt in target.elts:
                if not isinstance(elt, gast.Name):
                    raise self.info.error("only names can be unpacked into", elt,
                                          hint="unpack into names, then use them")
                names.append(elt)
            stores = [self.store(n.id) for n in names]
            self.emit(gast.Assign(targets=[gast.Tuple(elts=stores, ctx=gast.Store())],
                                  value=source, type_comment=None))
        else:
            raise self.info.error("this assignment target is not supported", target)

    def store(self, name):
        """A Store Name for a new version of the user variable ``name``."""
        new = self.namer.unique(name) if name in self.defined else name
        self.defined.add(name)
        self.defined.add(new)
        self.current[name] = new
        return gast.Name(id=new, ctx=gast.Store(), annotation=None, type_comment=None)

    # --- expressions ------------------------------------------------------------------------
    def atom_of(self, node):
        return self.atom(self.expr(node))

    def atom(self, value):
        """``value`` if it is atomic, else a fresh temporary assigned to it."""
        if is_atom(value):
            return value
        name = self.namer.temp()
        self.emit(gast.Assign(targets=[gast.Name(id=name, ctx=gast.Store(), annotation=None,
                                                 type_comment=None)],
                              value=value, type_comment=None))
        return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)

    def expr(self, node):
        """``node`` as one primitive whose operands are atoms."""
        if hasattr(node, "resolved"):
            return node
        if isinstance(node, gast.Name):
            if node.id not in self.current:
                raise self.info.error(f"`{node.id}` is used before it is assigned", node)
            return gast.copy_location(gast.Name(id=self.current[node.id], ctx=gast.Load(),
                                                annotation=None, type_comment=None), node)
        if isinstance(node, gast.Constant):
            return node
        if isinstance(node, gast.BinOp):
            return gast.copy_location(gast.BinOp(left=self.atom_of(node.left), op=node.op,
                                                 right=self.atom_of(node.right)), node)
        if isinstance(node, gast.UnaryOp):
            operand = self.atom_of(node.operand)
            if isinstance(node.op, gast.USub) and isinstance(operand, gast.Constant) \
                    and isinstance(operand.value, (int, float)):
                return gast.Constant(value=-operand.value, kind=None)
            return gast.copy_location(gast.UnaryOp(op=node.op, operand=operand), node)
        if isinstance(node, gast.Compare):
            return gast.copy_location(gast.Compare(
                left=self.atom_of(node.left), ops=node.ops,
                comparators=[self.atom_of(c) for c in node.comparators]), node)
        if isinstance(node, gast.Call):
            return self.call(node)
        if isinstance(node, gast.Attribute):
            return self.attribute(node)
        if isinstance(node, gast.Subscript):
            return gast.copy_location(gast.Subscript(
                value=self.atom_of(node.value), slice=self.index(node.slice),
                ctx=gast.Load()), node)
        if isinstance(node, (gast.Tuple, gast.List)):
            return gast.copy_location(type(node)(elts=[self.atom_of(e) for e in node.elts],
                                                 ctx=gast.Load()), node)
        raise self.info.error(f"`{type(node).__name__}` expressions are not supported", node)

    def index(self, node):
        if isinstance(node, gast.Slice):
            parts = [None if p is None else self.atom_of(p)
                     for p in (node.lower, node.upper, node.step)]
            return gast.Slice(*parts)
        if isinstance(node, gast.Tuple):
            return gast.Tuple(elts=[self.index(e) for e in node.elts], ctx=gast.Load())
        return self.atom_of(node)

    def call(self, node):
        args = [self.arg(a) for a in node.args]
        keywords = [gast.keyword(arg=k.arg, value=self.arg(k.value)) for k in node.keywords]
        func = node.func
        if hasattr(func, "resolved"):
            return gast.copy_location(gast.Call(func=func, args=args, keywords=keywords), node)
        if isinstance(func, gast.Attribute):   # a method of a local value: x.sum(axis=0)
            method = METHODS.get(func.attr)
            if method is None:
                raise self.info.error(
                    f"the method `.{func.attr}()` is not supported", func,
                    hint="call the numpy function instead (np.<name>(x, ...))")
            receiver = self.atom_of(func.value)
            if func.attr in VARARG_METHODS and len(args) > 1:
                args = [gast.Tuple(elts=args, ctx=gast.Load())]
            return gast.copy_location(gast.Call(func=resolved_name(method, func),
                                                args=[receiver] + args, keywords=keywords),
                                      node)
        raise self.info.error("calling a local value is not supported", node,
                              hint="call functions by their global name")

    def arg(self, node):
        """Call arguments may stay tuples or lists of atoms (np.stack([a, b]))."""
        if isinstance(node, (gast.Tuple, gast.List)):
            return type(node)(elts=[self.atom_of(e) for e in node.elts], ctx=gast.Load())
        return self.atom_of(node)

    def attribute(self, node):
        function = ATTRIBUTES.get(node.attr)
        receiver = self.atom_of(node.value)
        if function is None:
            if node.attr == "dtype":
                return gast.copy_location(gast.Attribute(value=receiver, attr="dtype",
                                                         ctx=gast.Load()), node)
            raise self.info.error(f"the attribute `.{node.attr}` is not supported", node)
        return gast.copy_location(gast.Call(func=resolved_name(function, node),
                                            args=[receiver], keywords=[]), node)


def normalize(info, namer):
    """Return a new FunctionDef in A-normal form (see the module docstring)."""
    return Normalizer(info, namer).run()
