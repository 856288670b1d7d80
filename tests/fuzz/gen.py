"""A generator of random, valid numpy programs, as source text.

``generate(seed)`` returns a :class:`Program`: the source of a module (``import math``,
``import numpy as np``, helper functions, then ``def f(...)`` returning a float), the
arguments' specification and the set of features the program uses. The same seed gives the
same program (the generator draws from its own ``random.Random(seed)``).

Programs are built type-directed: every expression is made for a known shape (``()``, ``(3,)``,
``(2, 3)``, ``(3, 3)``), and every value stays in a safe domain (``np.log(1.0 + a ** 2)``,
``np.sqrt(1.0 + a ** 2)``, ``np.exp`` of bounded values, division by ``1.0 + b ** 2``), so a
program always runs in numpy. Expressions are written fully parenthesised and printed back
through ``ast.unparse``: the source has Python's minimal parentheses, which is where printing
traps are (``-1.5 ** k`` is ``-(1.5 ** k)``, ``(-1.5) ** k`` is not).

Every construct belongs to a named feature (``FEATURES``); ``generate(seed, features=...)``
switches the others off, and each program records the features it used (so outcomes can be
counted per feature).
"""

import ast
import random
from dataclasses import dataclass, field

# feature name -> what it covers
FEATURES = {
    "neg_const": "negative constants (-1.5, (-2.0) * a)",
    "unary_chain": "unary chains (-(-a), +a, a - -b)",
    "pow_int": "a ** 2, a ** 3, (-1.5) ** k with int k (negative bases)",
    "pow_real": "(1.0 + a ** 2) ** 0.75, 2.0 ** tanh(a)",
    "divide": "a / (1.0 + b ** 2)",
    "ufunc": "np.tanh, np.sin, np.cos, np.exp(bounded), np.log(1 + a**2), np.sqrt(1 + a**2)",
    "minmax": "np.maximum, np.minimum, np.abs, np.where",
    "reduce": "np.sum, np.mean, .sum(), np.max, np.min",
    "reduce_axis": "reductions with axis=",
    "keepdims": "reductions with keepdims=True, broadcast back",
    "matmul": "@ and np.dot",
    "transpose": ".T, np.transpose",
    "reshape": ".reshape, np.reshape",
    "index_int": "v[1], m[-1], m[0, 2]",
    "index_slice": "v[1:], m[:, 0], m[:2]",
    "index_negstep": "v[::-1], m[::-1, 0]",
    "index_fancy": "v[[2, 0, 0]] (repeats), m[:, [2, 0, 1]]",
    "index_mask": "np.sum(v[v > 0.0])",
    "stack": "np.stack, np.concatenate",
    "store": "y = np.zeros(...); y[i] = ..., y[1:] += ...",
    "store_repeat": "y[[0, 0]] = ..., y[[0, 0]] += ... (repeated indices)",
    "loop_matmul": "a recurrence through a matrix read every step, h = np.tanh(m @ h + e) or "
                   "h @ m, up to 70 steps (the weight's adjoint products, summed, deferred), "
                   "some with an input row per step, m @ xs[i] or xs[i] @ m (the rows' "
                   "projections batched), some writing into a later row",
    "store_in_block": "stores inside a for loop or an if below their array, some storing a "
                      "plain name defined before the block (y[0] = a)",
    "augassign": "a += ..., a *= ..., a -= ...",
    "tuple_unpack": "a, b = e1, e2",
    "if_data": "if np.sum(a) > c: ... elif ...: ... else: ...",
    "if_int": "if n > 1:, if i % 2 == 0:",
    "for_range": "for i in range(k) / range(n)",
    "for_iter": "for row in m, enumerate, zip",
    "while": "while loops on ints and on data",
    "break": "break in loops",
    "continue": "continue in loops",
    "early_return": "return inside if / loops",
    "helper": "calls to helper functions (keywords, defaults)",
    "helper_tuple": "helpers returning tuples",
    "default_global": "a helper's keyword default naming a module constant rebound after the "
                      "def (K = 0.5; def h(a, *, k=K): ...; K = 1.7: the default stays 0.5)",
    "recursion": "recursive helpers with an int depth",
    "closure": "nested def capturing a local",
    "lambda": "lambda bound to a name",
    "list_append": "lists appended in loops, then np.stack / sum",
    "list_index": "states kept in a list and read back by index in the loop that appends "
                  "them (h = hs[i], hs[-1]) and after it (hs[k // 2])",
    "module_index": "module-level int constants as indices and slice bounds "
                    "(ROW = 1; m[ROW], m[LO:LO + 2], as GradBench ba's cam[F_IDX])",
    "float_acc": "Python-float accumulators (acc = 0.0; acc += ...)",
    "math": "math.* on scalars",
    "int_param": "an int parameter (loop bounds, conditions)",
    "cross": "np.cross of two 3-vectors (exact code runs it by components, as GradBench "
             "ba's rotation)",
    "np_matmul": "np.matmul of matrices, vectors, and of a (1, 3) row and a (3, 1) column; "
                 "a reduction's axis by position (np.sum(m, 1)); new axes (v[:, None] * w)",
    "int_shape": "the int parameter as an array's length (np.ones((n, 3)) * e summed over n: "
                 "exact code made for its value, and its guard, as GradBench ht's nbones)",
    "ifexp": "a if cond else b, abs() of scalars",
    "trap_names": "user variables named like generated code's names (tgr, stack, bx, t1, ...)",
    "checkpoint": "for i in tg.checkpoint(range(k), snapshots=2): (binomial checkpointing), "
                  "while tg.checkpoint(cond, snapshots=2, max_steps=k): (online)",
    "comprehension": "[e for i in range(k) if i != 1], nested for, sum(e for i in ...)",
    "unpack_target": "y[0], y[-1] = e1, e2; u, (w, z) = e1, (e2, e3); a, *rest = v",
    "starred": "np.reshape(v, (*v.shape, 1)), np.stack([*hs, e])",
    "function_value": "apply(fn, a) given a closure, lambda or np.tanh; make(c)(a) of a "
                      "closure factory",
    "callable_object": "a module-level instance of a class with __call__, called as obj(a)",
}

# names that generated code uses for itself (runtime alias, stack, adjoints, temporaries,
# tangents): a user variable with one of these names must not break anything
TRAP_NAMES = ["tgr", "stack", "bx", "bw", "bv", "t1", "t2", "t3", "b_parts1", "full_1",
              "steps1", "tape1", "g2", "dx", "dw", "jnp", "tx", "bt1", "result2"]

ALL_FEATURES = frozenset(FEATURES)

SHAPES = [(), (3,), (2, 3), (3, 3)]
HEADER = "import math\nimport numpy as np\n"


@dataclass
class Program:
    seed: int
    source: str                      # the whole module, HEADER included
    args: list                       # per parameter: a shape list (float64 array) or an int
    features: frozenset = field(default_factory=frozenset)
    stores: bool = False             # subscript stores: no jax.numpy twin

    @property
    def wrt(self):
        idx = tuple(i for i, a in enumerate(self.args) if isinstance(a, list))
        return idx[0] if len(idx) == 1 else idx


class _Scope:
    def __init__(self, parent=None):
        self.vars = dict(parent.vars) if parent else {}     # name -> shape (floats)
        self.ints = dict(parent.ints) if parent else {}     # name -> max value (>= 0)
        self.lists = dict(parent.lists) if parent else {}   # name -> item shape
        self.funcs = dict(parent.funcs) if parent else {}   # name -> (shape, kind)
        self.loop_depth = parent.loop_depth if parent else 0
        self.in_loop_var = set(parent.in_loop_var) if parent else set()


class Generator:
    def __init__(self, seed, features=ALL_FEATURES):
        self.seed = seed
        self.rng = random.Random(seed)
        self.features = frozenset(features)
        self.used = set()
        self.n = 0
        self.helpers = []          # source of module-level helpers
        self.module_ints = set()   # the module-level int constants defined (module_index)
        self.helper_sigs = {}      # shape -> list of (name, kind)
        self.stmts = 0
        self.stores = False
        self.taken = set()         # trap names already used

    # -- small utilities ---------------------------------------------------------------------
    def on(self, feat, p=1.0):
        """Whether to use feature ``feat`` now (with probability p); records its use."""
        if feat not in self.features or self.rng.random() >= p:
            return False
        self.used.add(feat)
        return True

    def fresh(self, prefix):
        self.n += 1
        return f"{prefix}{self.n}"

    def choice(self, seq):
        return self.rng.choice(list(seq))

    def const(self, lo=0.25, hi=2.0):
        c = round(self.rng.uniform(lo, hi), 2)
        if self.on("neg_const", 0.3):
            return f"(-{c})"
        return repr(c)

    # -- expressions --------------------------------------------------------------------------
    def leaf(self, scope, shape):
        names = [n for n, s in scope.vars.items() if s == shape]
        if names and shape != () and self.on("starred", 0.01):
            name = self.choice(sorted(names))
            return f"np.sum(np.reshape({name}, (*{name}.shape, 1)), axis=-1)"
        if names and self.rng.random() < 0.85:
            return self.choice(names)
        if shape == ():
            if scope.vars and self.rng.random() < 0.7:
                name, s = self.choice(sorted(scope.vars.items()))
                return self.reduce_to_scalar(name, s)
            if scope.ints and self.rng.random() < 0.3:
                return f"({self.choice(sorted(scope.ints))} * {self.const()})"
            return self.const()
        # convert some other variable to this shape
        cands = sorted(n for n, s in scope.vars.items() if s != ())
        if not cands:
            return f"(np.ones({shape!r}) * {self.const()})"
        name = self.choice(cands)
        return self.convert(name, scope.vars[name], shape)

    def reduce_to_scalar(self, e, s):
        if s == ():
            return e
        opts = [f"np.sum({e})", f"np.mean({e})", f"{e}.sum()"]
        if self.on("reduce", 0.3):
            opts += [f"np.max({e})", f"np.min({e})", f"{e}.mean()"]
        if s == (3,) and self.on("index_int", 0.3):
            opts.append(f"{e}[{self.choice([0, 1, 2, -1])}]")
        if len(s) == 2 and self.on("index_int", 0.3):
            opts.append(f"{e}[{self.choice([0, 1, -1])}, {self.choice([0, 2, -1])}]")
        return self.choice(opts)

    def module_int(self, value):
        """The name of a module-level int constant holding ``value`` (defined once)."""
        name = f"IDX{value}"
        if name not in self.module_ints:
            self.module_ints.add(name)
            self.helpers.append(f"{name} = {value}")
        return name

    def convert(self, e, src, dst):
        """An expression of shape dst made from the variable ``e`` of shape src (not ())."""
        if src == dst:
            return e
        if dst == ():
            return self.reduce_to_scalar(e, src)
        if dst == (3,):
            if len(src) == 2:
                opts = [f"{e}[-1]"]
                if self.on("module_index", 0.3):
                    opts.append(f"{e}[{self.module_int(self.rng.randint(0, 1))}]")
                if self.on("index_slice", 0.7):
                    opts += [f"{e}[0, :]"] + ([f"{e}[:, 1]"] if src == (3, 3) else [])
                if self.on("reduce_axis", 0.7):
                    opts += [f"np.sum({e}, axis=0)", f"{e}.mean(axis=0)"]
                    if src == (3, 3):
                        opts += [f"np.max({e}, axis=1)"]
                return self.choice(opts)
        if dst == (2, 3):
            if src == (3,):
                if self.on("stack", 0.8):
                    return f"np.stack([{e}, {e}[::-1]])"
                return f"({e} * np.ones((2, 3)))"
            if src == (3, 3):
                if self.on("module_index", 0.3):
                    low = self.module_int(self.rng.randint(0, 1))
                    return f"{e}[{low}:{low} + 2]"
                if self.on("index_slice", 0.8):
                    return self.choice([f"{e}[:2]", f"{e}[1:]", f"{e}[::2]"])
                return f"{e}[[0, 2]]"
        if dst == (3, 3):
            if src == (3,):
                opts = [f"({e}[:, None] * {e})"]
                if self.on("stack", 0.5):
                    opts.append(f"np.stack([{e}, {e} ** 2, {e}])")
                return self.choice(opts)
            if src == (2, 3):
                if self.on("matmul", 0.7):
                    return f"({e}.T @ {e})"
                return f"np.concatenate([{e}, {e}[:1]])"
        raise AssertionError((src, dst))

    def expr(self, scope, shape, depth):
        if depth <= 0 or self.rng.random() < 0.2:
            return self.leaf(scope, shape)
        d = depth - 1
        kinds = ["binop", "binop", "unary", "ufunc", "pow", "shape_op", "call"]
        kind = self.choice(kinds)
        if kind == "binop":
            op = self.choice(["+", "-", "*", "*", "/"])
            a = self.expr(scope, shape, d)
            if "n" in scope.ints and self.on("int_shape", 0.2):
                dims = ", ".join(["n"] + [str(k) for k in shape])
                return f"((np.ones(({dims},)) * {a}).sum(axis=0) / n)"
            bshape = shape if self.rng.random() < 0.6 else ()
            if self.on("keepdims", 0.15) and len(shape) == 2:
                src = self.expr(scope, shape, d - 1)
                fn = self.choice(["np.sum", "np.mean", "np.max"])
                b = f"{fn}({src}, axis={self.choice([0, 1, -1])}, keepdims=True)"
                return f"({a} {self.choice(['+', '-', '*'])} {b})"
            b = self.expr(scope, bshape, d)
            if op == "/":
                if not self.on("divide"):
                    op = "*"
                else:
                    den = self.choice([f"(1.0 + {b} ** 2)", f"(2.0 + np.cos({b}))",
                                       f"(1.5 + np.tanh({b}))"])
                    return f"({a} / {den})"
            if self.on("unary_chain", 0.15):
                b = self.choice([f"(-{b})", f"(-(-{b}))", f"(+{b})"])
            return f"({a} {op} {b})"
        if kind == "unary" and self.on("ifexp", 0.2):
            a, b = self.expr(scope, shape, d), self.expr(scope, shape, d)
            if shape == () and self.rng.random() < 0.4:
                return f"abs({a})"
            return f"({a} if {self.cond(scope)} else {b})"
        if kind == "unary":
            if not self.on("unary_chain"):
                return f"(-{self.expr(scope, shape, d)})"
            return self.choice(["(-{})", "(+{})", "(-(-{}))", "(-(+{}))"]).format(
                self.expr(scope, shape, d))
        if kind == "ufunc" and shape == () and self.on("math", 0.4):
            a = self.expr(scope, (), d)
            return self.choice(["math.sin({})", "math.cos({})", "math.tanh({})",
                                "math.exp(math.tanh({}))", "math.sqrt(1.0 + {} ** 2)",
                                "math.log(1.0 + {} ** 2)", "math.atan({})",
                                "float({})"]).format(a)
        if kind == "ufunc" and self.on("ufunc"):
            a = self.expr(scope, shape, d)
            if self.on("minmax", 0.25):
                b = self.expr(scope, shape if self.rng.random() < 0.5 else (), d)
                if shape == () and self.rng.random() < 0.5:
                    return f"{self.choice(['max', 'min'])}({a}, {b})"
                return self.choice([f"np.maximum({a}, {b})", f"np.minimum({a}, {b})",
                                    f"np.abs({a})", f"np.where({a} > {b}, {a}, {b} * 0.5)"])
            return self.choice([
                "np.tanh({})", "np.sin({})", "np.cos({})", "np.exp(np.tanh({}))",
                "np.exp(-{} ** 2)", "np.log(1.0 + {} ** 2)", "np.sqrt(1.0 + {} ** 2)",
                "np.exp(np.sin({}))"]).format(a)
        if kind == "pow":
            a = self.expr(scope, shape, d)
            opts = []
            if self.on("pow_int", 0.8):
                opts += [f"({a} ** 2)", f"({a} ** 3)", f"(-{a} ** 2)"]
                k = self.choice(sorted(scope.ints)) if scope.ints and self.rng.random() < 0.6 \
                    else str(self.rng.randint(0, 3))
                opts += [f"({a} * (-1.5) ** {k})", f"((-1) ** {k} * {a})",
                         f"({a} * -1.5 ** {k})"]
            if self.on("pow_real", 0.5):
                opts += [f"((1.0 + {a} ** 2) ** 0.75)", f"(2.0 ** np.tanh({a}))",
                         f"((np.abs({a}) + 0.5) ** 1.5)"]
            if opts:
                return self.choice(opts)
            return f"({a} * {a})"
        if kind == "shape_op":
            r = self.shape_op(scope, shape, d)
            if r is not None:
                return r
        if kind == "call":
            r = self.call(scope, shape, d)
            if r is not None:
                return r
        if shape == () and self.on("math", 0.5):
            a = self.expr(scope, (), d)
            return self.choice(["math.sin({})", "math.cos({})", "math.tanh({})",
                                "math.exp(math.tanh({}))", "math.sqrt(1.0 + {} ** 2)",
                                "math.log(1.0 + {} ** 2)", "math.atan({})"]).format(a)
        return self.leaf(scope, shape)

    def shape_op(self, scope, shape, d):
        opts = []
        if shape == ():
            if self.on("reduce", 0.8):
                s = self.choice([(3,), (2, 3), (3, 3)])
                e = self.expr(scope, s, d)
                opts.append(self.choice([f"np.sum({e})", f"np.mean({e})", f"{e}.sum()",
                                         f"np.max({e})", f"np.min({e})", f"np.sum({e} ** 2)"]))
            if self.on("matmul", 0.5):
                opts.append(f"({self.expr(scope, (3,), d)} @ {self.expr(scope, (3,), d)})")
                opts.append(f"np.dot({self.expr(scope, (3,), d)}, {self.leaf(scope, (3,))})")
            if self.on("index_mask", 0.2):
                e = self.leaf(scope, self.choice([(3,), (3, 3)]))
                opts.append(f"np.sum({e}[{e} > 0.0])")
            if self.on("index_int", 0.3):
                opts.append(self.reduce_to_scalar(self.leaf(scope, (3,)), (3,)))
            if self.on("np_matmul", 0.3):
                opts.append(f"np.matmul(np.reshape({self.expr(scope, (3,), d)}, (1, 3)), "
                            f"np.reshape({self.leaf(scope, (3,))}, (3, 1)))[0, 0]")
        elif shape == (3,):
            v = self.leaf(scope, (3,))
            if self.on("index_negstep", 0.5):
                opts.append(f"{self.expr(scope, (3,), d)}[::-1]")
            if self.on("index_fancy", 0.5):
                opts.append(f"{v}[{self.choice(['[2, 0, 1]', '[0, 0, 2]', '[1, 1, 1]'])}]")
            if self.on("matmul", 0.5):
                opts.append(f"({self.leaf(scope, (3, 3))} @ {self.expr(scope, (3,), d)})")
                opts.append(f"({self.expr(scope, (3,), d)} @ {self.leaf(scope, (3, 3))})")
            if self.on("reduce_axis", 0.4):
                m = self.expr(scope, self.choice([(2, 3), (3, 3)]), d)
                opts.append(f"np.sum({m}, axis=0)")
            if self.on("keepdims", 0.2):
                e = self.expr(scope, (3,), d)
                opts.append(f"({e} - np.mean({e}, keepdims=True))")
            if self.on("reshape", 0.3):
                opts.append(f"{self.leaf(scope, (3,))}.reshape(1, 3)[0]")
                opts.append(f"np.reshape({self.leaf(scope, (3, 3))}, (9,))[::3]")
            if self.on("index_slice", 0.3):
                m = self.leaf(scope, (3, 3))
                opts.append(self.choice([f"{m}[:, 0]", f"{m}[1]", f"{m}[::-1, 2]"]))
            if self.on("stack", 0.3):
                opts.append(f"np.concatenate([{v}[:1], {self.expr(scope, (3,), d)}[1:]])")
            if self.on("cross", 0.3):
                opts.append(f"np.cross({self.expr(scope, (3,), d)}, {self.leaf(scope, (3,))})")
            if self.on("np_matmul", 0.3):
                opts.append(f"np.matmul({self.leaf(scope, (3, 3))}, {self.expr(scope, (3,), d)})")
                opts.append(f"np.sum({self.expr(scope, (3, 3), d)}, 1)")
        elif shape == (2, 3):
            m = self.leaf(scope, (3, 3))
            if self.on("matmul", 0.5):
                opts.append(f"({self.expr(scope, (2, 3), d)} @ {m})")
            if self.on("reshape", 0.4):
                e = self.leaf(scope, (2, 3))
                opts.append(self.choice([f"{e}.reshape(3, 2).T", f"np.reshape({e}, (6,))"
                                         f".reshape(2, 3)", f"{e}.reshape(-1).reshape(2, 3)"]))
            if self.on("transpose", 0.3):
                opts.append(f"np.transpose({self.leaf(scope, (2, 3))}.T)")
            if self.on("index_slice", 0.4):
                opts.append(self.choice([f"{m}[:2]", f"{m}[1:]", f"{m}[:, ::-1][1:]"]))
            if self.on("index_fancy", 0.3):
                opts.append(f"{m}[[0, 2]]")
            if self.on("stack", 0.4):
                opts.append(f"np.stack([{self.expr(scope, (3,), d)}, {self.leaf(scope, (3,))}])")
        elif shape == (3, 3):
            m = self.expr(scope, (3, 3), d)
            if self.on("transpose", 0.5):
                opts.append(self.choice([f"{m}.T", f"np.transpose({m})"]))
            if self.on("matmul", 0.5):
                opts.append(f"({m} @ {self.leaf(scope, (3, 3))})")
                opts.append(f"({self.leaf(scope, (2, 3))}.T @ {self.leaf(scope, (2, 3))})")
            if self.on("index_negstep", 0.3):
                opts.append(f"{m}[::-1]")
            if self.on("index_fancy", 0.3):
                opts.append(f"{m}[:, [2, 0, 1]]")
                opts.append(f"{m}[[1, 1, 0]]")
            if self.on("stack", 0.3):
                v = self.leaf(scope, (3,))
                opts.append(f"np.stack([{v}, {self.expr(scope, (3,), d)}, {v} * 0.5])")
            if self.on("reshape", 0.2):
                opts.append(f"np.reshape({m}, (9,)).reshape(3, 3)")
            if self.on("np_matmul", 0.3):
                opts.append(f"np.matmul({m}, {self.leaf(scope, (3, 3))})")
                opts.append(f"({self.expr(scope, (3,), d)}[:, None] * {self.leaf(scope, (3,))})")
        if not opts:
            return None
        return self.choice(opts)

    def call(self, scope, shape, d):
        """A call to a local function (closure, lambda) or a module-level helper."""
        if self.on("function_value", 0.2):
            return self.function_value_call(scope, shape, d)
        if self.on("callable_object", 0.1):
            return self.callable_object_call(scope, shape, d)
        local = [(n, k) for n, (s, k) in scope.funcs.items() if s == shape]
        if local and self.rng.random() < 0.6:
            name, kind = self.choice(sorted(local))
            a = self.expr(scope, shape, d)
            if kind == "closure_kw" and self.rng.random() < 0.5:
                return f"{name}({a}, k={self.const()})"
            return f"{name}({a})"
        feats = [f for f in ("helper", "helper_tuple", "recursion") if f in self.features]
        if not feats:
            return None
        feat = self.choice(feats)
        self.used.add(feat)
        existing = [n for n, k in self.helper_sigs.get(shape, []) if k == feat]
        if existing and self.rng.random() < 0.5:
            name = self.choice(existing)
        else:
            name = self.make_helper(shape, feat)
        a = self.expr(scope, shape, d)
        if feat == "helper":
            b = self.expr(scope, shape, d - 1)
            form = self.rng.randint(0, 3)
            if form == 0:
                return f"{name}({a}, {b})"
            if form == 1:
                return f"{name}({a}, {b}, scale={self.const()})"
            if form == 2:
                return f"{name}({a}, b={b})"
            return f"{name}(b={b}, a={a}, scale=0.5)"
        if feat == "helper_tuple":
            # the scalar part, or the array part, of a tuple result
            if self.rng.random() < 0.5:
                return f"{name}({a})[0]"
            return f"({name}({a}, k={self.const()})[1] * {self.leaf(scope, shape)})"
        depth = self.choice(sorted(scope.ints)) if scope.ints and self.rng.random() < 0.4 \
            else str(self.rng.randint(0, 3))
        return f"{name}({a}, {depth})"

    def function_value_call(self, scope, shape, d):
        """A function as a value: given to a helper that calls it, or made by a factory."""
        a = self.expr(scope, shape, d)
        if self.rng.random() < 0.5:
            name = self.fresh("apply")
            self.helpers.append(f"def {name}(fn, a):\n"
                                f"    return fn(fn(a) * {self.const(0.3, 0.9)}) + fn(a)")
            local = sorted(n for n, (s, k) in scope.funcs.items()
                           if s == shape and k != "closure_kw")
            options = ["np.tanh", "np.sin", f"lambda u: u * {self.leaf(scope, shape)}"]
            fn = self.choice(local + options)
            return f"{name}({fn}, {a})"
        name = self.fresh("make")
        self.helpers.append(f"def {name}(c):\n    def g(u):\n"
                            f"        return np.tanh(u * c) + c * {self.const()}\n    return g")
        return f"{name}({self.expr(scope, shape, d - 1)})({a})"

    def callable_object_call(self, scope, shape, d):
        """A module-level object called as a function: ``scale3(a)`` runs its ``__call__``,
        which reads the object's own parameter."""
        cls, obj = self.fresh("Scale"), self.fresh("scale")
        self.helpers.append(f"class {cls}:\n    def __init__(self, k):\n        self.k = k\n\n"
                            f"    def __call__(self, u):\n"
                            f"        return np.tanh(u * self.k) + u * {self.const()}\n\n\n"
                            f"{obj} = {cls}({self.const()})")
        return f"{obj}({self.expr(scope, shape, d)})"

    def make_helper(self, shape, feat):
        name = self.fresh("h")
        sc = _Scope()
        sc.vars = {"a": shape}
        if feat == "helper":
            sc.vars["b"] = shape
            body = [f"def {name}(a, b, scale=1.0):"]
            if self.on("if_data", 0.3):
                body += [f"    if np.sum(a) > {self.const(-0.5, 0.5)}:",
                         f"        return {self.expr(sc, shape, 2)} * scale",
                         f"    return {self.expr(sc, shape, 2)} + b"]
            else:
                t = self.fresh("t")
                body += [f"    {t} = {self.expr(sc, shape, 2)}"]
                sc.vars[t] = shape
                body += [f"    return {self.expr(sc, shape, 2)} * scale + b"]
        elif feat == "helper_tuple":
            default, rebound = "0.5", []
            if self.on("default_global", 0.3):   # Python evaluated the default at the def
                default = self.fresh("K")
                body = [f"{default} = 0.5"]
                rebound = [f"{default} = {self.const(1.0, 2.0)}"]
            else:
                body = []
            body += [f"def {name}(a, *, k={default}):", f"    t = {self.expr(sc, shape, 2)}"]
            sc.vars["t"] = shape
            # [0] has the argument's shape, [1] is a scalar (call() relies on it)
            body += [f"    return {self.expr(sc, shape, 1)} * k, "
                     f"{self.reduce_to_scalar('t', shape)}"] + rebound
        else:
            body = [f"def {name}(a, n):", "    if n <= 0:", "        return a",
                    f"    return {name}({self.choice(['np.sin', 'np.tanh', 'np.cos'])}(a) * "
                    f"{self.const(0.5, 1.0)} + {self.const(-0.5, 0.5)}, n - 1)"]
        self.helpers.append("\n".join(body))
        self.helper_sigs.setdefault(shape, []).append((name, feat))
        return name

    def cond(self, scope):
        """A condition on data (or on an int)."""
        if scope.ints and self.on("if_int", 0.4):
            i = self.choice(sorted(scope.ints))
            return self.choice([f"{i} % 2 == 0", f"{i} > 0", f"{i} == 1", f"{i} < 2"])
        s = self.choice(sorted(scope.vars.items()))
        e = self.reduce_to_scalar(*s)
        c = self.const(-1.0, 1.0)
        cond = f"{e} > {c}" if self.rng.random() < 0.6 else f"{e} < {c}"
        if self.rng.random() < 0.15:
            s2 = self.choice(sorted(scope.vars.items()))
            cond = f"{cond} {self.choice(['and', 'or'])} {self.reduce_to_scalar(*s2)} > 0.0"
        return cond

    # -- statements ---------------------------------------------------------------------------
    def block(self, scope, indent, n, depth):
        lines = []
        for _ in range(n):
            lines += self.stmt(scope, indent, depth)
        if not lines:
            lines = [" " * indent + "pass"]
        return lines

    def assign_new(self, scope, ind, shape=None):
        shape = shape if shape is not None else self.choice(SHAPES)
        name = self.fresh(self.choice("abcdeghpqrsuz"))
        free = [n for n in TRAP_NAMES if n not in self.taken]
        if free and self.on("trap_names", 0.1):
            name = self.choice(free)
            self.taken.add(name)
        line = f"{ind}{name} = {self.expr(scope, shape, self.rng.randint(1, 3))}"
        scope.vars[name] = shape
        return [line]

    def stmt(self, scope, indent, depth):
        self.stmts += 1
        ind = " " * indent
        r = self.rng.random()
        nested = depth < 2 and self.stmts < 22
        # compound statements
        if nested and r < 0.35:
            kind = self.choice(["if", "for", "for", "while", "list", "store", "closure",
                                "recurrence"])
            out = getattr(self, "stmt_" + kind)(scope, indent, depth)
            if out:
                return out
        if r < 0.45 and scope.vars and self.on("augassign"):
            name, shape = self.choice(sorted(scope.vars.items()))
            op = self.choice(["+=", "-=", "*=", "/="])
            rhs = self.expr(scope, shape if self.rng.random() < 0.5 else (), 2)
            if op == "/=":
                rhs = f"(1.0 + {rhs} ** 2)"
            elif op == "*=":
                rhs = f"np.tanh({rhs})" if "ufunc" in self.features else f"0.5"
            return [f"{ind}{name} {op} {rhs}"]
        if r < 0.55 and self.on("unpack_target", 0.3):
            return self.stmt_unpack_target(scope, ind)
        if r < 0.55 and self.on("tuple_unpack"):
            s1, s2 = self.choice(SHAPES), self.choice(SHAPES)
            n1, n2 = self.fresh("u"), self.fresh("w")
            line = f"{ind}{n1}, {n2} = {self.expr(scope, s1, 2)}, {self.expr(scope, s2, 2)}"
            if s1 != () and self.on("helper_tuple", 0.3):
                s2 = ()
                name = self.make_helper(s1, "helper_tuple")
                line = f"{ind}{n1}, {n2} = {name}({self.expr(scope, s1, 2)})"
            scope.vars[n1], scope.vars[n2] = s1, s2
            if s1 == s2 and self.rng.random() < 0.3:
                line += f"\n{ind}{n1}, {n2} = {n2}, {n1}"
            return [line]
        if r < 0.62 and scope.vars:
            # update an existing variable from itself
            name, shape = self.choice(sorted(scope.vars.items()))
            return [f"{ind}{name} = {self.expr(scope, shape, 2)}"]
        if r < 0.66 and self.on("early_return", 0.5) and depth < 2:
            return [f"{ind}if {self.cond(scope)}:",
                    f"{ind}    return {self.expr(scope, (), 2)}"]
        return self.assign_new(scope, ind)

    def stmt_if(self, scope, indent, depth):
        if not scope.vars or not (("if_data" in self.features) or scope.ints):
            return None
        self.on("if_data")
        ind = " " * indent
        lines = [f"{ind}if {self.cond(scope)}:"]
        lines += self.block(_Scope(scope), indent + 4, self.rng.randint(1, 2), depth + 1)
        if self.rng.random() < 0.4:
            lines += [f"{ind}elif {self.cond(scope)}:"]
            lines += self.block(_Scope(scope), indent + 4, 1, depth + 1)
        if self.rng.random() < 0.6:
            lines += [f"{ind}else:"]
            lines += self.block(_Scope(scope), indent + 4, self.rng.randint(1, 2), depth + 1)
        return lines

    def loop_body(self, scope, indent, depth):
        inner = _Scope(scope)
        inner.loop_depth += 1
        lines = []
        ind = " " * indent
        if self.on("break", 0.2):
            lines += [f"{ind}if {self.cond(inner)}:", f"{ind}    break"]
        if self.on("continue", 0.2):
            lines += [f"{ind}if {self.cond(inner)}:", f"{ind}    continue"]
        lines += self.block(inner, indent, self.rng.randint(1, 3), depth + 1)
        if self.on("early_return", 0.1):
            lines += [f"{ind}if {self.cond(inner)}:", f"{ind}    return {self.expr(inner, (), 2)}"]
        return lines

    def stmt_for(self, scope, indent, depth):
        ind = " " * indent
        if self.on("for_iter", 0.4) and scope.vars:
            mats = sorted(n for n, s in scope.vars.items() if len(s) == 2)
            vecs = sorted(n for n, s in scope.vars.items() if s == (3,))
            if mats and self.rng.random() < 0.6:
                m = self.choice(mats)
                row = self.fresh("row")
                inner = _Scope(scope)
                inner.vars[row] = (3,)
                if self.rng.random() < 0.4:
                    i = self.fresh("j")
                    inner.ints[i] = 2
                    head = f"{ind}for {i}, {row} in enumerate({m}):"
                else:
                    head = f"{ind}for {row} in {m}:"
                return [head] + self.loop_body(inner, indent + 4, depth)
            if vecs:
                v = self.choice(vecs)
                a, b = self.fresh("s"), self.fresh("t")
                inner = _Scope(scope)
                inner.vars[a] = inner.vars[b] = ()
                w = self.choice(vecs)
                return [f"{ind}for {a}, {b} in zip({v}, {w}[::-1]):"] + \
                    self.loop_body(inner, indent + 4, depth)
        if not self.on("for_range"):
            return None
        i = self.fresh("i")
        inner = _Scope(scope)
        if "n" in scope.ints and self.rng.random() < 0.5:
            rng_s = "range(n)"
            inner.ints[i] = 3
        else:
            k = self.rng.randint(1, 3)
            rng_s = self.choice([f"range({k})", f"range(1, {k + 1})"])
            inner.ints[i] = k
        if self.on("checkpoint", 0.3):
            rng_s = f"tg.checkpoint({rng_s}, snapshots=2)"
        return [f"{ind}for {i} in {rng_s}:"] + self.loop_body(inner, indent + 4, depth)

    def stmt_recurrence(self, scope, indent, depth):
        """``h = np.tanh(m @ h + e)`` over k steps, m (3, 3) fixed before the loop: the
        adjoint adds one product per step into m's adjoint (deferred at exact shapes, in
        chunks of 64 steps, hence up to 70 steps). ``e`` may be a row of an input matrix
        projected by m (``m @ xs[i]``; batched per 64 steps at exact shapes), a later row
        of which the loop may write into."""
        if not self.on("loop_matmul"):
            return None
        ind = " " * indent
        m, h, i = self.fresh("m"), self.fresh("h"), self.fresh("i")
        mats = sorted(n for n, s in scope.vars.items() if s == (3, 3))
        use_mat = mats and self.rng.random() < 0.5
        weight = self.choice(mats) if use_mat else self.expr(scope, (3, 3), 2)
        lines = [f"{ind}{m} = 0.4 * np.tanh({weight})"]
        shape = self.choice([(3,), (2, 3)])
        lines.append(f"{ind}{h} = {self.expr(scope, shape, 2)}")
        steps = self.choice([1, 2, 3, 70])
        rows = self.fresh("xs") if self.rng.random() < 0.5 else None
        if rows:   # an input row per step, projected by the weight (batched per 64 steps)
            lines.append(f"{ind}{rows} = np.outer(np.cos(0.3 * np.arange({steps})), "
                         f"{self.expr(scope, (3,), 1)}) + {self.expr(scope, (3,), 1)}")
        lines.append(f"{ind}for {i} in range({steps}):")
        if shape == (3,):
            term = f"{m} @ {rows}[{i}]" if rows else self.expr(scope, (3,), 1)
            lines.append(f"{ind}    {h} = np.tanh({m} @ {h} + {term})")
        else:
            term = f"({rows}[{i}] @ {m})" if rows else self.expr(scope, (2, 3), 1)
            lines.append(f"{ind}    {h} = np.tanh({h} @ {m}) + 0.1 * {term}")
        if rows and self.on("store", 0.3):   # a later row written: not batched
            self.stores = True
            lines.append(f"{ind}    {rows}[({i} + 1) % {steps}] += 0.1 * np.sum({h})")
        if rows and steps == 3:
            scope.vars[rows] = (3, 3)
        scope.vars[h] = shape
        scope.vars[m] = (3, 3)
        return lines

    def stmt_while(self, scope, indent, depth):
        if not self.on("while"):
            return None
        ind = " " * indent
        k = self.fresh("k")
        lim = self.rng.randint(1, 3)
        cond = f"{k} < {lim}"
        if scope.vars and self.rng.random() < 0.4:
            name, s = self.choice(sorted(scope.vars.items()))
            cond += f" and {self.reduce_to_scalar(name, s)} < {self.const(0.5, 3.0)}"
        inner = _Scope(scope)
        inner.ints[k] = lim
        body = self.block(inner, indent + 4, self.rng.randint(1, 2), depth + 1)
        if self.on("break", 0.2):
            body += [f"{ind}    if {self.cond(inner)}:", f"{ind}        break"]
        elif self.on("checkpoint", 0.3):   # checkpointed online: the steps counted as they run
            cond = f"tg.checkpoint({cond}, snapshots=2, max_steps={lim})"
        return [f"{ind}{k} = 0", f"{ind}while {cond}:"] + body + [f"{ind}    {k} += 1"]

    def stmt_unpack_target(self, scope, ind):
        """Nested or starred targets."""
        vecs = sorted(n for n, s in scope.vars.items() if s == (3,))
        a, b, c = self.fresh("u"), self.fresh("w"), self.fresh("z")
        if vecs and self.rng.random() < 0.5:
            rest = self.fresh("rest")
            scope.vars[a], scope.vars[b] = (), ()
            return [f"{ind}{a}, *{rest} = {self.choice(vecs)}", f"{ind}{b} = sum({rest})"]
        s1, s2 = self.choice(SHAPES), self.choice(SHAPES)
        line = (f"{ind}{a}, ({b}, {c}) = {self.expr(scope, s1, 2)}, "
                f"({self.expr(scope, s2, 2)}, {self.expr(scope, (), 1)})")
        scope.vars[a], scope.vars[b], scope.vars[c] = s1, s2, ()
        return [line]

    def stmt_comprehension(self, scope, indent):
        ind = " " * indent
        lst, i, out = self.fresh("hs"), self.fresh("i"), self.fresh("o")
        shape = self.choice([(), (3,)])
        k = self.rng.randint(1, 3)
        inner = _Scope(scope)
        inner.ints[i] = k
        loops = f"for {i} in range({k})"
        if k >= 2 and self.rng.random() < 0.4:
            loops += f" if {i} != 1"
        if self.rng.random() < 0.3:
            j = self.fresh("j")
            inner.ints[j] = 1
            loops += f" for {j} in range(2)"
        e = self.expr(inner, shape, 2)
        scope.vars[out] = shape
        if shape == () and self.rng.random() < 0.5:
            return [f"{ind}{out} = sum({e} {loops})"]
        lines = [f"{ind}{lst} = [{e} {loops}]"]
        if shape == ():
            return lines + [f"{ind}{out} = sum({lst})"]
        return lines + [f"{ind}{out} = np.sum(np.stack({lst}), axis=0)"]

    def stmt_list(self, scope, indent, depth):
        if self.on("comprehension", 0.4):
            return self.stmt_comprehension(scope, indent)
        if not self.on("list_append"):
            return None
        if self.on("list_index", 0.4):
            return self.stmt_list_states(scope, indent, depth)
        ind = " " * indent
        lst, i, out = self.fresh("hs"), self.fresh("i"), self.fresh("o")
        shape = self.choice([(), (3,), (3,)])
        k = self.rng.randint(1, 3)
        inner = _Scope(scope)
        inner.ints[i] = k
        inner.loop_depth += 1
        lines = [f"{ind}{lst} = []", f"{ind}for {i} in range({k}):"]
        lines += self.block(inner, indent + 4, self.rng.randint(0, 1), depth + 1)
        lines += [f"{ind}    {lst}.append({self.expr(inner, shape, 2)})"]
        if shape == () or self.rng.random() < 0.4:
            lines += [f"{ind}{out} = sum({lst})"]
        else:
            last = f"{ind}{out} = np.stack({lst})[-1]"
            if self.on("starred", 0.3):
                last = f"{ind}{out} = np.stack([*{lst}, {self.expr(scope, shape, 1)}])[-1]"
            lines += [f"{ind}{out} = np.sum(np.stack({lst}), axis=0)" if self.rng.random() < 0.5
                      else last]
        scope.vars[out] = shape
        return lines

    def stmt_list_states(self, scope, indent, depth):
        """A recurrence whose states are kept in a list and read back by index."""
        ind = " " * indent
        lst, i, h, out = self.fresh("hs"), self.fresh("i"), self.fresh("h"), self.fresh("o")
        shape = self.choice([(), (3,), (3,), (2, 3)])
        k = self.rng.randint(1, 4)
        inner = _Scope(scope)
        inner.ints[i] = k
        inner.loop_depth += 1
        read = self.choice([f"{lst}[{i}]", f"{lst}[-1]", f"{lst}[len({lst}) - 1]"])
        lines = [f"{ind}{lst} = [{self.expr(scope, shape, 1)}]",
                 f"{ind}for {i} in range({k}):", f"{ind}    {h} = {read}"]
        inner.vars[h] = shape
        lines += self.block(inner, indent + 4, self.rng.randint(0, 1), depth + 1)
        lines += [f"{ind}    {lst}.append({self.expr(inner, shape, 2)} * 0.5 + {h})"]
        lines += [self.choice([f"{ind}{out} = {lst}[{k // 2}] + {lst}[-1]",
                               f"{ind}{out} = np.sum(np.stack({lst}), axis=0)"])]
        scope.vars[out] = shape
        return lines

    def stmt_store(self, scope, indent, depth):
        if not self.on("store"):
            return None
        self.stores = True
        ind = " " * indent
        y = self.fresh("y")
        shape = self.choice([(3,), (3,), (2, 3), (3, 3)])
        same = [n for n, s in scope.vars.items() if s == shape]
        if same and self.rng.random() < 0.3:
            lines = [f"{ind}{y} = {self.choice(sorted(same))}.copy()"]
        else:
            lines = [f"{ind}{y} = np.zeros({shape!r})"]
        block = self.on("store_in_block", 0.3)
        if block:
            if self.rng.random() < 0.5:
                lines.append(f"{ind}for {self.fresh('i')} in range({self.rng.randint(1, 3)}):")
            else:
                lines.append(f"{ind}if {self.cond(scope)}:")
            ind += "    "
        for _ in range(self.rng.randint(1, 3)):
            op = self.choice(["=", "=", "+=", "-=", "*="])
            if shape == (3,):
                idx, s = self.choice([("0", ()), ("-1", ()), ("1:", (2,)), ("::-1", (3,)),
                                      (":2", (2,))])
                if self.on("store_repeat", 0.3):
                    idx, s = self.choice([("[0, 0]", (2,)), ("[2, 0, 2]", (3,))])
            else:
                idx, s = self.choice([("0", (3,)), ("-1", (3,)), (":, 1", (shape[0],)),
                                      ("1, 2", ()), ("1:", (shape[0] - 1, 3))])
                if self.on("store_repeat", 0.2):
                    idx, s = ("[0, 0]", (2, 3))
            if s == (2,):
                rhs = f"{self.expr(scope, (3,), 2)}[:2]"
            elif s == (2, 3) or s == (1, 3):
                rhs = f"{self.expr(scope, (3,), 2)}"   # broadcasts over rows
            else:
                rhs = self.expr(scope, s, 2)
            plain = sorted(n for n, shp in scope.vars.items() if shp == s)
            if block and plain and self.rng.random() < 0.5:
                rhs = self.choice(plain)   # a name from before the block, stored as it is
            if op == "*=":
                rhs = f"np.tanh({rhs})"
            lines.append(f"{ind}{y}[{idx}] {op} {rhs}")
        scope.vars[y] = shape
        return lines

    def stmt_closure(self, scope, indent, depth):
        ind = " " * indent
        shape = self.choice([(), (3,), (3,), (2, 3)])
        caps = sorted(n for n, s in scope.vars.items() if s in (shape, ()))
        if not caps:
            return None
        cap = self.choice(caps)
        if self.on("lambda", 0.5):
            name = self.fresh("lam")
            body = self.choice([f"z * z - {cap}", f"np.tanh(z) * {cap}",
                                f"np.sin(z + {cap})"])
            scope.funcs[name] = (shape, "lambda")
            return [f"{ind}{name} = lambda z: {body}"]
        if not self.on("closure"):
            return None
        name = self.fresh("inner")
        sc = _Scope()
        sc.vars = {"z": shape, cap: scope.vars[cap]}
        scope.funcs[name] = (shape, "closure_kw")
        return [f"{ind}def {name}(z, k=0.5):",
                f"{ind}    return {self.expr(sc, shape, 2)} * k + {cap}"]

    # -- the program --------------------------------------------------------------------------
    def program(self):
        rng = self.rng
        shapes = [self.choice([(3,), (2, 3), (3, 3), (3,)])]
        if rng.random() < 0.6:
            shapes.append(self.choice([(3,), (2, 3), (3, 3)]))
        params = ["x", "w", "v"][:len(shapes)]
        scope = _Scope()
        for p, s in zip(params, shapes):
            scope.vars[p] = s
        args = [list(s) for s in shapes]
        if self.on("int_param", 0.3):
            params.append("n")
            args.append(rng.randint(1, 3))
            scope.ints["n"] = 3
        body = []
        if self.on("float_acc", 0.4):
            body.append("    acc = 0.0")
            scope.vars["acc"] = ()
        target = rng.randint(4, 20)
        while self.stmts < target:
            body += self.stmt(scope, 4, 0)
        # the result: a weighted sum of a few live values, so most of the program matters
        live = sorted(scope.vars.items())
        rng.shuffle(live)
        terms = [self.reduce_to_scalar(n, s) if s != () else n for n, s in live[:3]]
        terms = [t if i == 0 else f"{self.const()} * {t}" for i, t in enumerate(terms)]
        body.append(f"    return {' + '.join(terms)}")
        src = "\n\n\n".join(self.helpers + [f"def f({', '.join(params)}):\n" + "\n".join(body)])
        tree = ast.parse(src)
        text = HEADER + ("import transgrad as tg\n" if "checkpoint" in self.used else "") \
            + "\n\n" + ast.unparse(tree) + "\n"
        return Program(self.seed, text, args, frozenset(self.used), self.stores)


def generate(seed, features=ALL_FEATURES):
    """The program of this seed (the same program for the same seed and features)."""
    return Generator(seed, features).program()
