"""The rule table's functions, prepared for the tape.

The tape calls the very functions declared in ``transgrad/rules/``. Two preparations, both
made once per rule and cached, change how a rule runs, never what it computes:

* **Pruning.** When only some operands need a gradient, the tape calls a pruned copy of the
  rule: the same source with the other entries of the ``return`` dropped, and the statements
  only they needed removed. This is what the compiler does when it inlines a rule for an
  inactive operand (``x @ w`` with a constant ``x`` costs one matrix product backwards, not
  two). With every operand active the tape calls ``rule.vjp`` itself.
* **Recording copies.** For ``create_graph=True`` the backward pass must itself be recorded:
  the engine runs the same code object with ``np`` and ``tgr`` bound to Tensor-aware
  namespaces (``namespace.recording_copy``), so each operation of the rule becomes a tape node,
  and caches that copy in ``Spec.recording_fn``.

The analysis also says which parameters a rule reads, and how: a parameter it never reads is
not kept alive by the tape; one it reads only for its shape, dtype or size is kept but not
checked for in-place modification (in-place operations never change those).
"""

import ast
import inspect
import textwrap

from ..rules.registry import META_CALLS

# META_CALLS: the calls that read only the shape/dtype/size of one argument, as declared with
# ``meta=`` in transgrad/rules/: (namespace, function) -> position (``("np", "shape"): 0``)
_META_ATTRS = {"shape", "ndim", "dtype", "size"}


class RuleError(RuntimeError):
    """A rule cannot serve a Tensor operation (no derivative for an operand that needs one)."""


class Spec:
    """A rule prepared for one pattern of operands that need gradients.

    ``fn(g, ans, *args, **kwargs)`` returns a tuple with one cotangent per position in
    ``positions`` (the operand positions that need gradients, in order). ``saved``: positions
    whose values the rule reads; ``meta``: positions it reads only for shape/dtype/size;
    ``uses_ans``: whether it reads the output.
    """

    __slots__ = ("broadcasting", "count", "first", "flat", "fn", "frees", "keep", "keep_all",
                 "mask", "meta", "opaque", "positions", "recording_fn", "rule", "saved",
                 "single", "uses_ans")


class _RuleSource:
    """A rule's parsed source and what its parameters are."""

    def __init__(self, rule):
        fn = rule.vjp
        self.rule = rule
        self.fn = fn
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        self.g_name, self.ans_name = params[0].name, params[1].name
        self.positional = []
        self.vararg = False
        for p in params[2:]:
            if p.kind == p.VAR_POSITIONAL:
                self.vararg = True
                break
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                self.positional.append(p)
        self.tree = None
        self.returns = None
        if fn.__closure__ is None and not self.vararg:
            self.tree = _parse(fn)
        if self.tree is not None:
            body = self.tree.body
            if body and isinstance(body[-1], ast.Return) and body[-1].value is not None:
                value = body[-1].value
                if isinstance(value, ast.Tuple):
                    self.returns = list(value.elts)
                elif sum(p.default is inspect.Parameter.empty for p in self.positional) <= 1:
                    self.returns = [value]      # one cotangent, for the first parameter
        if self.returns is None:
            self.tree = None                    # opaque: call it whole, select at run time

    @property
    def count(self):
        """How many leading positional parameters can receive a cotangent."""
        if self.returns is not None:
            return len(self.returns)
        return len(self.positional) if not self.vararg else 1 << 30

    def none_at(self, i):
        if self.returns is None:
            return False
        node = self.returns[i]
        return isinstance(node, ast.Constant) and node.value is None


def _parse(fn):
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        filename = inspect.getsourcefile(fn) or "<rule>"
    except (OSError, TypeError):
        return None
    module = ast.parse(source)
    if not module.body or not isinstance(module.body[0], ast.FunctionDef):
        return None
    tree = module.body[0]
    tree.decorator_list = []
    ast.increment_lineno(module, fn.__code__.co_firstlineno - 1)
    tree.filename = filename
    return tree


_SOURCES = {}
_SPECS = {}


def _source(rule):
    entry = _SOURCES.get(id(rule))
    if entry is None or entry.rule is not rule:
        entry = _SOURCES[id(rule)] = _RuleSource(rule)
    return entry


def positions_count(rule):
    """How many leading positional operands of ``rule``'s primitive can get a cotangent."""
    return _source(rule).count


def prepare_rule(rule, mask):
    """The Spec of ``rule`` when the operands at ``mask``'s True positions need gradients."""
    key = (id(rule), mask)
    spec = _SPECS.get(key)
    if spec is not None and spec.rule is rule:
        return spec
    spec = _build(rule, mask)
    _SPECS[key] = spec
    return spec


def _build(rule, mask):
    spec = _build_spec(rule, mask)
    spec.first = spec.positions[0] if len(spec.positions) == 1 else None
    spec.broadcasting = rule.broadcasting
    spec.frees = bool(spec.saved or spec.uses_ans)   # backward can release what it saved
    return spec


def _build_spec(rule, mask):
    src = _source(rule)
    positions = tuple(i for i, m in enumerate(mask) if m)
    for i in positions:
        if i >= src.count or src.none_at(i):
            raise RuleError(f"the derivative rule `{rule.name}` gives no gradient for argument "
                            f"{i + 1}, but that argument requires grad")
    spec = Spec()
    spec.rule = rule
    spec.mask = mask
    spec.flat = tuple(mask[i] == 2 for i in positions) if 2 in mask else None
    spec.positions = positions
    spec.count = src.count
    spec.recording_fn = None     # ``fn`` recording on Tensors, made by the engine when needed
    nparams = len(src.positional)
    if src.tree is None:
        # opaque rule: call it whole and keep every operand
        spec.opaque = True
        spec.single = False
        spec.fn = Selecting(rule.vjp, positions, None if src.vararg else nparams)
        spec.saved = tuple(range(len(mask)))
        spec.meta = ()
        spec.uses_ans = True
        spec.keep = (True,) * len(mask)
        spec.keep_all = True
        return spec
    spec.opaque = False
    full = len(positions) == src.count
    if full:
        spec.fn = rule.vjp
        spec.single = not isinstance(src.tree.body[-1].value, ast.Tuple)
        tree = src.tree
    else:
        spec.single = False
        tree = _prune(src.tree, positions)
        spec.fn = _compile(tree, rule.vjp)
    names = [p.name for p in src.positional][:len(mask)]
    value_uses, meta_uses = _uses(tree)
    spec.saved = tuple(i for i, n in enumerate(names) if n in value_uses)
    spec.meta = tuple(i for i, n in enumerate(names) if n in meta_uses and n not in value_uses)
    spec.uses_ans = src.ans_name in value_uses
    spec.keep = tuple(i >= len(names) or names[i] in value_uses or names[i] in meta_uses
                      for i in range(len(mask)))
    spec.keep_all = all(spec.keep)
    return spec


class Selecting:
    """Call a rule whose return cannot be read statically; pick the needed cotangents.

    ``nparams`` is None for a rule with ``*args``: it returns a sequence with one cotangent
    per positional argument (possibly lazy, like einsum's: only the needed ones are computed).
    """

    def __init__(self, fn, positions, nparams):
        self.fn, self.positions, self.nparams = fn, positions, nparams

    def __call__(self, *args, **kwargs):
        result = self.fn(*args, **kwargs)
        if self.nparams is not None and (not isinstance(result, tuple) or self.nparams <= 1):
            result = (result,)
        n = len(result)
        return tuple(result[i] if i < n else None for i in self.positions)


class _Names(ast.NodeVisitor):
    def __init__(self):
        self.loads = set()
        self.stores = set()

    def visit_Name(self, node):
        (self.loads if isinstance(node.ctx, ast.Load) else self.stores).add(node.id)


def _names(node):
    v = _Names()
    v.visit(node)
    return v


def _prune(tree, positions):
    """A copy of the rule ``tree`` returning only ``positions``, without dead statements."""
    tree = _copy(tree)
    ret = tree.body[-1]
    elts = ret.value.elts if isinstance(ret.value, ast.Tuple) else [ret.value]
    ret.value = ast.Tuple(elts=[elts[i] for i in positions], ctx=ast.Load())
    body, _ = _prune_block(tree.body[:-1], set(_names(ret.value).loads))
    tree.body = body + [ret]
    tree.name = f"{tree.name}_pruned"
    return ast.fix_missing_locations(tree)


def _prune_block(stmts, live):
    """(statements of ``stmts`` that feed ``live``, names live before them); ``if`` branches
    are pruned too, so a rule that picks its formula by rank computes only what is needed."""
    live, kept = set(live), []
    for stmt in reversed(stmts):
        if isinstance(stmt, ast.If):
            body, live_body = _prune_block(stmt.body, live)
            orelse, live_else = _prune_block(stmt.orelse, live)
            if not body and not orelse:
                continue
            stmt.body, stmt.orelse = body or [ast.Pass()], orelse
            kept.append(stmt)
            live = live_body | live_else | _names(stmt.test).loads
            continue
        info = _names(stmt)
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and \
                not (info.stores & live):
            continue
        kept.append(stmt)
        live |= info.loads
    return kept[::-1], live


def _copy(tree):
    new = ast.parse(ast.unparse(tree)).body[0]      # a deep copy that keeps nothing shared
    for old, fresh in zip(ast.walk(tree), ast.walk(new)):
        if hasattr(old, "lineno") and hasattr(fresh, "lineno"):
            fresh.lineno, fresh.end_lineno = old.lineno, old.end_lineno
    new.filename = tree.filename
    return new


def _compile(tree, original):
    module = ast.Module(body=[tree], type_ignores=[])
    code = compile(module, tree.filename, "exec")
    namespace = {}
    exec(code, original.__globals__, namespace)  # noqa: S102  (the rule's own source, pruned)
    fn = namespace[tree.name]
    fn.__wrapped__ = original
    return fn


def _uses(tree):
    """(names read for their values, names read only for shape/dtype/size) in ``tree``."""
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    value, meta = set(), set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)):
            continue
        (meta if _is_meta(node, parents.get(node)) else value).add(node.id)
    return value, meta


def _is_meta(name, parent):
    if isinstance(parent, ast.Attribute) and parent.value is name:
        return parent.attr in _META_ATTRS
    if isinstance(parent, ast.Call) and name in parent.args:
        func = parent.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            positions = META_CALLS.get((func.value.id, func.attr))
            if positions is None:
                return False
            if isinstance(positions, int):
                positions = (positions,)
            return any(p < len(parent.args) and parent.args[p] is name for p in positions)
    return False
