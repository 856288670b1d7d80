"""Every callable transgrad knows, with what each part of transgrad can do with it.

``python -m transgrad rules [--json] [--all]`` prints it. Each flag is read off the table that
decides it, so the listing cannot drift from the code; the only hand-written facts are Python's
(which special method a builtin or an operator calls on a Tensor, ``_BUILTIN_PROTOCOL``).

* ``reverse``: a VJP rule in the rule registry (``rules.lookup_vjp``): tg.grad / tg.vjp.
* ``forward``: forward mode has a tangent for it, explicit (``@jvp``) or derived from the
  reverse table (elementwise, multilinear, reduction); exactly when ``rules.forward``'s
  ``forward_kind`` is not None, which is what ``passes/forward.py`` asks before it raises
  "no forward-mode rule".
* ``jax``: the JAX backend prints it as a ``jax.numpy`` (or ``jax_runtime``) twin, a builtin or
  an operator (``backends/jax.py``: ``canonical`` and ``twin``, as its ``check_tree`` asks). A
  callable generated code binds as a global object runs its own Python, numpy code that
  ``jax.jit`` cannot trace (the ``nn`` helpers; ``numpy.fft`` or ``scipy``): false, unless it is
  nondifferentiable (``tg.stop_gradient``, ``np.mgrid``: constants, which trace). Everything is
  false when JAX is not installed.
* ``tensor``: calling it on an eager ``Tensor`` records it or, for a nondifferentiable one,
  accepts it: a numpy ufunc or ``__array_function__`` function with a rule (the Tensor's
  ``__array_ufunc__`` / ``__array_function__`` apply it), an operator or builtin the Tensor
  implements (``__mul__``, ``__abs__``...), one of the Tensor's own ops (declared with
  ``tensor=`` next to their rules: ``registry.TENSOR_OPS``), or an
  array method the Tensor has.
* ``nondifferentiable``: declared with ``rules.nondifferentiable``: its outputs are constants,
  so both modes accept it and give it a zero derivative (``reverse`` and ``forward`` are false:
  it has no rule, and needs none).

Names are the public qualified names (``numpy.linalg.solve``, ``math.exp``, ``builtins.sum``,
``operator.mul``); array methods are ``numpy.ndarray.<name>`` with the flags of the function
the compiler turns them into (``x.sum()`` is ``numpy.sum``). Other public names of the same
object are its ``aliases`` (``numpy.abs`` for ``numpy.absolute``). Helpers that only generated
code or the Tensor's own machinery call (``transgrad.runtime.*``, ``transgrad.rules.scatter.*``)
are left out unless ``internal=True`` (``--all``). Methods of random generators
(``rng.normal``) are nondifferentiable through their class and not listed one by one.
"""

import importlib
import json
import sys
import types
import warnings

import numpy as np

FLAGS = ("reverse", "forward", "jax", "tensor", "nondifferentiable")
INTERNAL_PREFIXES = ("transgrad.runtime.", "transgrad.rules.scatter.")

# the modules whose attribute names are the public names, searched in this order (scipy only
# once it is imported: it stays optional)
_PUBLIC = ("numpy", "numpy.linalg", "numpy.fft", "numpy.random", "math", "builtins", "operator",
           "scipy.special", "scipy.stats", "scipy.linalg", "scipy.signal", "scipy.integrate",
           "transgrad", "transgrad.rules.nn", "transgrad.runtime", "transgrad.rules.scatter")

# builtins that reach a Tensor through one of its special methods (None: on any object)
_BUILTIN_PROTOCOL = {"abs": "__abs__", "sum": "__add__", "max": "__gt__", "min": "__lt__",
                     "len": "__len__", "list": "__iter__", "tuple": "__iter__",
                     "int": "__int__", "bool": "__bool__", "round": "__round__",
                     "range": "__index__", "isinstance": None, "type": None, "slice": None}
# operator functions whose special method is not ``__<name>__``
_OPERATOR_PROTOCOL = {"truth": "__bool__", "not_": "__bool__", "contains": "__iter__",
                      "index": "__index__", "is_": None, "is_not": None}
# array methods whose Tensor version returns a Python number (as PyTorch's): the graph ends
_NUMBER_METHODS = {"item"}


def _modules():
    for name in _PUBLIC:
        module = sys.modules.get(name)
        if module is None and not name.startswith("scipy"):
            module = importlib.import_module(name)
        if module is not None:
            yield name, module


def _index():
    """``id(object) -> [public names]`` over the public modules, each module in order."""
    index = {}
    for module_name, module in _modules():
        for attr, value in vars(module).items():
            if not attr.startswith("_"):
                index.setdefault(id(value), []).append(f"{module_name}.{attr}")
    return index


def _names(obj, index):
    """Every public ``module.attr`` name of ``obj``, the first one spelled as its
    ``__name__``."""
    own = getattr(obj, "__name__", None)
    names = index.get(id(obj), [])
    names = sorted(names, key=lambda n: n.rpartition(".")[2] != own)   # stable: module order
    owner = getattr(obj, "__self__", None)    # a method of a module-level object
    if not names and owner is not None and not isinstance(owner, types.ModuleType):
        names = [f"{n}.{own}" for n in _names(owner, index)]
    if not names:
        qualname = getattr(obj, "__qualname__", own) or type(obj).__name__
        names = [f"{getattr(obj, '__module__', None) or type(obj).__module__}.{qualname}"]
    return names


def _jax_flag():
    """``flag(func)``: whether the JAX backend runs ``func`` (always False without JAX)."""
    try:
        from .backends.jax import JaxBackend
        from .backends.numpy import NumpyBackend
    except ImportError:     # JAX is an optional dependency
        return lambda func: False
    from .rules import is_nondifferentiable
    backend = JaxBackend()
    numpy_backend = NumpyBackend()

    def flag(func):
        if getattr(func, "__module__", None) in ("_operator", "operator"):
            return True     # printed as the operator (x * y), or a call that JAX arrays take
        with warnings.catch_warnings():     # getattr(np, "bytes") warns in numpy 2
            warnings.simplefilter("ignore")
            name = numpy_backend.canonical(func)
        if name is None:    # bound as a global object: its own Python runs, numpy code that
            # JAX cannot trace, unless it is a constant or has a declared twin (scipy's)
            return backend.canonical(func) is not None or is_nondifferentiable(func)
        if "." not in name or name.startswith("tgr."):
            return True     # a builtin, or a runtime helper re-bound onto jax.numpy
        return backend.twin(name) is not None
    return flag


def _tensor_flag(func, handled):
    """Whether a Tensor goes through ``func`` (``handled``: it has a rule or is constant)."""
    from .rules.registry import TENSOR_OPS
    from .tensor import Tensor
    from .tensor.ops import TENSOR_REFUSED
    if func in TENSOR_REFUSED:
        return False        # the Tensor refuses it, with its reason
    if any(op.func is func for op in TENSOR_OPS.values()):
        return True
    if handled and any(f is func for f in _torch_reachable()):
        return True         # transgrad.torch.fft / .special / .linalg apply it to Tensors
    if isinstance(func, np.ufunc) or hasattr(func, "_implementation"):
        return handled      # __array_ufunc__ / __array_function__ apply it by its rule
    module = getattr(func, "__module__", None)
    name = getattr(func, "__name__", "")
    if module in ("_operator", "operator"):
        special = _OPERATOR_PROTOCOL.get(name, f"__{name.rstrip('_')}__")
    elif module == "builtins":
        if name not in _BUILTIN_PROTOCOL:
            return False    # float(t): a Python number, the graph ends there
        special = _BUILTIN_PROTOCOL[name]
    else:
        return False        # math functions take Python numbers; helpers take arrays
    return handled and (special is None or hasattr(Tensor, special))


def _torch_reachable():
    from .tensor.torch_modules import reachable
    return reachable()


def _callables():
    """Every callable in the tables, each once: reverse, nondifferentiable, forward."""
    from .rules import NONDIFFERENTIABLE, all_rules
    from .rules import registry as tables
    found, seen = [], set()

    def add(obj):
        if id(obj) not in seen:
            seen.add(id(obj))
            found.append(obj)
    for rule in all_rules():
        for primitive in rule.primitives:
            add(primitive)
    for key in NONDIFFERENTIABLE:
        if not (isinstance(key, tuple) and key and key[0] == "id"):   # unhashable: unnamed
            add(key)
    for table in (tables.JVP_RULES, tables.MULTILINEAR, tables.LINEAR_IN,
                  tables.JOINTLY_LINEAR, tables.REDUCTIONS, tables.DIAGONAL):
        for func in table:
            add(func)
    return found


def _flags(func, jax_flag):
    from .rules import is_nondifferentiable, lookup_vjp
    from .rules.forward import forward_kind
    reverse = lookup_vjp(func) is not None
    nondiff = is_nondifferentiable(func)
    return {"reverse": reverse, "forward": forward_kind(func) is not None,
            "jax": bool(jax_flag(func)), "tensor": bool(_tensor_flag(func, reverse or nondiff)),
            "nondifferentiable": nondiff}


def entries(internal=False):
    """The listing: one dict per callable, sorted by name, with ``name``, the ``FLAGS`` as bools
    and ``aliases`` (its other public names). ``internal``: include the helpers of generated code
    and of the Tensor (``transgrad.runtime.*``, ``transgrad.rules.scatter.*``)."""
    from .rules.registry import METHODS
    from .tensor import Tensor
    jax_flag = _jax_flag()
    index = _index()
    out = []
    for func in _callables():
        names = _names(func, index)
        entry = {"name": names[0], **_flags(func, jax_flag), "aliases": names[1:]}
        out.append(entry)
    for method, func in METHODS.items():    # x.sum(): the compiler calls np.sum(x)
        flags = _flags(func, jax_flag)
        handled = flags["reverse"] or flags["nondifferentiable"]
        # the Tensor's own method, or numpy's namesake through Tensor.__getattr__
        has = callable(getattr(Tensor, method, None)) or (
            callable(getattr(np.ndarray, method, None)) and callable(getattr(np, method, None)))
        flags["tensor"] = handled and has and method not in _NUMBER_METHODS
        out.append({"name": f"numpy.ndarray.{method}", **flags, "aliases": []})
    if not internal:
        out = [e for e in out if not e["name"].startswith(INTERNAL_PREFIXES)]
    return sorted(out, key=lambda e: e["name"])


def counts(listing):
    """``{"callables": n, <flag>: how many entries have it}``."""
    return {"callables": len(listing), **{f: sum(e[f] for e in listing) for f in FLAGS}}


def format_table(listing):
    """The listing as a plain-text table, a summary line last."""
    width = max(len(e["name"]) for e in listing)
    header = f"{'name':<{width}}  " + "  ".join(FLAGS) + "  aliases"
    lines = [header, "-" * len(header)]
    for e in listing:
        marks = "  ".join(f"{'yes' if e[f] else '-':<{len(f)}}" for f in FLAGS)
        lines.append(f"{e['name']:<{width}}  {marks}  {', '.join(e['aliases'])}".rstrip())
    total = counts(listing)
    lines.append("")
    lines.append(f"{total['callables']} callables: " + ", ".join(
        f"{total[f]} {f}" for f in FLAGS))
    return "\n".join(lines) + "\n"


def format_markdown(listing):
    """The listing as a Markdown table (``docs/rules.md``), the summary line last."""
    lines = ["# The callables transgrad differentiates", "",
             "Generated by `python -m transgrad rules --markdown > docs/rules.md` (a test checks "
             "it is current): one row per callable, with what each part of transgrad does with "
             "it (`transgrad/listing.py` says what each column means).", "",
             "| name | " + " | ".join(FLAGS) + " | aliases |",
             "|---|" + "---|" * len(FLAGS) + "---|"]
    for e in listing:
        marks = " | ".join("yes" if e[f] else "" for f in FLAGS)
        aliases = ", ".join(f"`{a}`" for a in e["aliases"])
        lines.append(f"| `{e['name']}` | {marks} | {aliases} |")
    total = counts(listing)
    lines.append("")
    lines.append(f"{total['callables']} callables: " + ", ".join(
        f"{total[f]} {f}" for f in FLAGS) + ".")
    return "\n".join(lines) + "\n"


def main(as_json=False, internal=False, file=None, markdown=False):
    """Print the listing (``python -m transgrad rules``)."""
    listing = entries(internal=internal)
    file = file or sys.stdout
    if markdown:
        file.write(format_markdown(listing))
    elif as_json:
        # a JSON array, one entry a line (so it greps as well as it parses)
        file.write("[\n" + ",\n".join(json.dumps(e) for e in listing) + "\n]\n")
    else:
        file.write(format_table(listing))
    return 0
