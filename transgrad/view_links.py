"""Which lines of generated code compute which line of the original (for ``transgrad.view``).

The adjoint blocks are linked by their ``# grad of line N`` comments (``view_html``); the rest
is linked here: the forward sweep of reverse-mode code by the line numbers of the tree a build
keeps, exact-shape and JAX code by lines of the same text, and forward-mode code (which keeps
neither) by the reverse build of the same function for the same kinds.
"""

import ast

from . import view_html
from .ir import Comment


def primal_lines(variant, like=None):
    """{0-based line: original line} for the forward sweep of generated code (its lines before
    the first ``# grad of line`` comment): from the tree a build kept (``exact_tree``), whose
    statements carry the user's line numbers; else, with ``like`` = (a source, its map), the
    lines of the same text (``jnp.`` read as ``np.``), for exact-shape and JAX code. Empty
    where neither is known (forward mode, called functions)."""
    fn, source = variant
    lines = source.split("\n")
    mapping = _tree_lines(getattr(fn, "__dict__", {}).get("exact_tree"), source)
    if mapping is None:
        texts, targets = {}, {}
        if like is not None:
            other = like[0].split("\n")
            for k, n in like[1].items():
                texts.setdefault(_same(other[k]), set()).add(n)
                if _target(other[k]) is not None:
                    targets.setdefault(_target(other[k]), set()).add(n)
        mapping = {}
        for k, line in enumerate(lines):
            # the same text, else the same name assigned (exact code may spell the value
            # another way: `t4 = t3.mean()` for `t4 = np.mean(t3)`)
            same = texts.get(_same(line)) or targets.get(_target(line), ())
            if len(same) == 1:
                mapping[k] = next(iter(same))
    found = {}
    for k, line in enumerate(lines):
        if view_html.GRAD_COMMENT.match(line):
            break
        if k in mapping:
            found[k] = mapping[k]
    return found


def forward_lines(d, key, source):
    """{line: original line} for forward-mode code, from the reverse build for the same kinds
    (mode "vjp"): statements of the same text as its forward sweep's, and each tangent
    statement ``d<name> = ...`` by the line of ``<name>``. Empty where that build fails."""
    from .api import build
    pattern, classes, param_ranks = key
    scalars = () if pattern is None else tuple(i for i, s in enumerate(pattern) if s)
    try:
        variant = build(d.func, d.wrt_indices, d.single, "vjp", scalars, classes, param_ranks,
                        d.backend, d.loops)
    except Exception:   # noqa: BLE001  (no reverse build: no links, nothing else lost)
        return {}
    reverse_lines = variant[1].split("\n")
    texts, names = {}, {}
    for k, n in primal_lines(variant).items():
        texts.setdefault(_same(reverse_lines[k]), set()).add(n)
        for name in _targets(reverse_lines[k]):
            names.setdefault(name, set()).add(n)
    found, latest = {}, {}   # latest: the line of each name's last assignment so far
    for k, line in enumerate(source.split("\n")[1:], 1):
        targets = _targets(line)
        lines = set(texts.get(_same(line), ()))
        if not lines:
            for name in targets:
                base = name[1:] if name.startswith("d") and (
                    name[1:] in latest or name[1:] in names) else name
                lines |= {latest[base]} if base in latest else names.get(base, set())
        if len(lines) == 1:
            found[k] = lines.pop()
            latest.update(dict.fromkeys(targets, found[k]))
    return found


def _targets(line):
    """The names an assignment line stores ([] for other lines)."""
    try:
        node = ast.parse(line.strip()).body[0]
    except (SyntaxError, IndexError):
        return []
    targets = node.targets if isinstance(node, ast.Assign) else \
        [node.target] if isinstance(node, ast.AugAssign) else []
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def _same(line):
    return line.strip().replace("jnp.", "np.")


def _target(line):
    """The names ``line`` assigns (``t4`` of ``t4 = t3.mean()``), or None."""
    head, equals, _ = line.strip().partition(" = ")
    return head if equals and head.replace(", ", "").replace("_", "").isalnum() else None


def _tree_lines(tree, source):
    """{0-based line of ``source``: user line} for the statements of ``tree`` (the gast
    FunctionDef ``source`` was printed from) that carry a line number; None without a tree
    or where the two do not line up."""
    if tree is None:
        return None

    def order(body, out, skip):
        for stmt in body:
            if skip and isinstance(stmt, Comment):
                continue
            out.append(stmt)
            for field in ("body", "orelse", "finalbody"):
                order(getattr(stmt, field, None) or [], out, skip)
        return out

    try:
        printed = order(ast.parse(source).body[0].body, [], False)
    except SyntaxError:
        return None
    built = order(tree.body, [], True)
    if len(printed) != len(built) or any(
            type(p).__name__ != type(b).__name__ for p, b in zip(printed, built)):
        return None
    return {p.lineno - 1: b.lineno for p, b in zip(printed, built)
            if getattr(b, "lineno", None) is not None}
