"""What the syntax of a statement tells the alias analysis (``aliasing.py``): the names a
target binds, whether an index gives an element or a view, and a loop range that takes a
step."""

import gast


def target_names(target):
    """The names a target binds (through tuples and lists)."""
    if isinstance(target, gast.Name):
        return [target.id]
    if isinstance(target, (gast.Tuple, gast.List)):
        return [n for e in target.elts for n in target_names(e)]
    return []


def integer_index(index):
    """An index of integers only (constants or names), which gives an element, not a view."""
    if isinstance(index, gast.Tuple):
        return all(integer_index(e) for e in index.elts)
    return isinstance(index, gast.Name) or (isinstance(index, gast.Constant)
                                            and type(index.value) is int)


def index_count(index):
    """The number of items in an index (``i, j``: 2)."""
    return len(index.elts) if isinstance(index, gast.Tuple) else 1


def basic_index(index):
    """An index that selects a view (not a list display, which is fancy indexing)."""
    if isinstance(index, gast.Tuple):
        return all(basic_index(e) for e in index.elts)
    return not isinstance(index, gast.List)


def range_with_steps(node):
    """Whether ``node`` is ``range(...)`` of int constants with at least one step."""
    if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name)
            and node.func.id == "range" and not node.keywords and 1 <= len(node.args) <= 3
            and node.func.__dict__.get("resolved", range) is range):
        return False
    bounds = [a.value if isinstance(a, gast.Constant) else None for a in node.args]
    if not all(type(b) is int for b in bounds) or bounds[-1:] == [0] and len(bounds) == 3:
        return False
    return len(range(*bounds)) > 0
