"""The shrinker: reduce a failing program to a minimal one with the same failure.

Delta debugging over the program's tree: delete chunks of statements (halves, quarters, ...,
single statements, whole helper functions), replace a compound statement by one of its bodies,
drop an ``else``, and replace an expression by one of its sub-expressions or by ``1.0``. An
edit is kept when the program still runs in numpy, returns a finite float, and fails in the
same mode with the same class (and, for a crash, the same exception type and place). The
result is saved as a regression file that tests/test_fuzz.py replays.
"""

import ast
import copy
import hashlib
import json
import os
import re
import time

from . import check as C

REGRESSIONS = os.path.join(os.path.dirname(__file__), "regressions")


def failure_key(mr):
    """What must stay the same while shrinking: the class, and for a crash the exception
    type and where it was raised."""
    if mr.cls == "crash":
        return "crash:" + mr.detail.split(":")[0]
    return mr.cls


def _still_fails(source, spec, seed, mode, key, twin):
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    r = C.check_source(source, spec, seed, modes=(mode,), twin=twin)
    mr = r.modes.get(mode)
    return mr is not None and failure_key(mr) == key


def _bodies(tree):
    """(node, field) for every statement list in the tree, in a fixed order."""
    out = []
    for node in ast.walk(tree):
        for fld in ("body", "orelse"):
            if isinstance(getattr(node, fld, None), list) and not isinstance(node, ast.IfExp):
                out.append((node, fld))
    return out


def _fix_empty(node, fld, stmts):
    if not stmts and fld == "body" and not isinstance(node, ast.Module):
        stmts = [ast.Pass()]
    setattr(node, fld, stmts)


def _edits_statements(tree):
    """Candidate trees: chunks of statements deleted, compound statements flattened."""
    n_bodies = len(_bodies(tree))
    for b in range(n_bodies):
        node, fld = _bodies(tree)[b]
        n = len(getattr(node, fld))
        size = max(n // 2, 1)
        while size >= 1:
            for start in range(0, n, size):
                t = copy.deepcopy(tree)
                tn, tf = _bodies(t)[b]
                stmts = getattr(tn, tf)
                kept = stmts[:start] + stmts[start + size:]
                gone = stmts[start:start + size]
                if any(isinstance(s, (ast.Import, ast.ImportFrom)) for s in gone):
                    continue
                if isinstance(tn, ast.Module) and not any(
                        isinstance(s, ast.FunctionDef) and s.name == "f" for s in kept):
                    continue
                _fix_empty(tn, tf, kept)
                yield t
            size //= 2
    # flatten if/for/while into their body; drop else branches
    for b in range(n_bodies):
        node, fld = _bodies(tree)[b]
        for i, s in enumerate(getattr(node, fld)):
            if not isinstance(s, (ast.If, ast.For, ast.While)):
                continue
            for part in ("body", "orelse"):
                t = copy.deepcopy(tree)
                tn, tf = _bodies(t)[b]
                stmts = getattr(tn, tf)
                repl = getattr(stmts[i], part)
                if not repl:
                    continue
                if isinstance(stmts[i], ast.For) and part == "body":
                    # keep the loop variable bound: one iteration's worth
                    continue
                setattr(tn, tf, stmts[:i] + repl + stmts[i + 1:])
                yield t
            if s.orelse:
                t = copy.deepcopy(tree)
                tn, tf = _bodies(t)[b]
                getattr(tn, tf)[i].orelse = []
                yield t


def _expr_slots(tree):
    """(parent, field, index or None) for every expression in a Load position."""
    out = []
    for node in ast.walk(tree):
        for fld, val in ast.iter_fields(node):
            if fld in ("func", "targets", "target", "ctx", "decorator_list", "annotation",
                       "returns", "args") and not isinstance(node, ast.Call):
                continue
            if isinstance(node, ast.Call) and fld == "func":
                continue
            if isinstance(val, ast.expr) and not isinstance(getattr(val, "ctx", None),
                                                            (ast.Store, ast.Del)):
                out.append((node, fld, None))
            elif isinstance(val, list):
                for i, v in enumerate(val):
                    if isinstance(v, ast.expr) and not isinstance(
                            getattr(v, "ctx", None), (ast.Store, ast.Del)):
                        out.append((node, fld, i))
    return out


def _children(expr):
    out = []
    for fld, val in ast.iter_fields(expr):
        if fld in ("func", "ctx", "keywords"):
            continue
        if isinstance(val, ast.expr):
            out.append(val)
        elif isinstance(val, list):
            out += [v for v in val if isinstance(v, ast.expr)]
    return out


def _edits_expressions(tree):
    n = len(_expr_slots(tree))
    for k in range(n):
        parent, fld, i = _expr_slots(tree)[k]
        cur = getattr(parent, fld) if i is None else getattr(parent, fld)[i]
        if isinstance(cur, (ast.Name, ast.Constant)):
            continue
        repls = [copy.deepcopy(c) for c in _children(cur)] + [ast.Constant(1.0)]
        for r in repls:
            t = copy.deepcopy(tree)
            tp, tf, ti = _expr_slots(t)[k]
            if ti is None:
                setattr(tp, tf, r)
            else:
                getattr(tp, tf)[ti] = r
            yield t


def shrink(source, spec, seed, mode, mr, budget_s=90.0, twin=True, log=None):
    """The smallest program found within ``budget_s`` that fails like ``mr`` in ``mode``."""
    if mr.cls not in C.FAILURES:
        return source
    key = failure_key(mr)
    start = time.time()
    tree = ast.parse(source)
    best = ast.unparse(tree)
    if not _still_fails(best, spec, seed, mode, key, twin):
        return source
    progress = True
    tries = 0
    while progress and time.time() - start < budget_s:
        progress = False
        for gen in (_edits_statements, _edits_expressions):
            restart = True
            while restart and time.time() - start < budget_s:
                restart = False
                for cand in gen(tree):
                    if time.time() - start > budget_s:
                        break
                    src = ast.unparse(cand)
                    if len(src) >= len(best):
                        continue
                    tries += 1
                    if _still_fails(src, spec, seed, mode, key, twin):
                        tree, best = cand, src
                        progress = restart = True
                        break
    if log:
        log(f"shrunk {len(source)} -> {len(best)} chars in {tries} tries, "
            f"{time.time() - start:.1f} s")
    return best + "\n"


def save_regression(source, spec, seed, mode, mr, directory=REGRESSIONS, xfail=None,
                    expect=None):
    """Write a regression file; returns its path. ``expect: ok`` in the file (for a false
    refusal) makes a TransformError fail the replay too."""
    os.makedirs(directory, exist_ok=True)
    h = hashlib.sha1(source.encode()).hexdigest()[:8]
    path = os.path.join(directory, f"{mode}_{mr.cls}_{h}.py")
    header = [
        "# transgrad fuzz regression: tests/test_fuzz.py replays it; it must give `ok` (or a",
        "# TransformError refusal) in the mode below.",
        f"# mode: {mode}",
        f"# found: {mr.cls}: {mr.detail[:80]}",
        f"# args: {json.dumps(spec)}",
        f"# seed: {seed}",
    ]
    if expect:
        header.append(f"# expect: {expect}")
    if xfail:
        header.append(f"# xfail: {xfail}")
    with open(path, "w") as fh:
        fh.write("\n".join(header) + "\n" + source)
    return path


_META = re.compile(r"^# (mode|found|args|seed|xfail|expect): (.*)$", re.M)


def read_regression(path):
    with open(path) as fh:
        text = fh.read()
    meta = dict(_META.findall(text))
    meta["args"] = json.loads(meta["args"])
    meta["seed"] = int(meta["seed"])
    meta["source"] = text
    return meta
