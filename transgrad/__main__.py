"""Command line.

``python -m transgrad show FILE.py:FUNC [--wrt 0,1] [--mode vjp] [--backend jax]`` prints the
generated derivative source of FUNC, as ``tg.grad(FUNC).source`` would (``--html OUT.html``
writes FUNC and its derivative side by side as a page, ``--shapes 8x32,32x1`` calls it on
arrays of those shapes first); ``python -m transgrad export
FILE.py:FUNC -o out.py`` writes it as a standalone module (see ``transgrad.export``);
``python -m transgrad rules [--json | --markdown] [--all]`` lists every callable transgrad knows,
with its reverse, forward, JAX, Tensor and nondifferentiable flags (see ``transgrad.listing``).
"""

import argparse
import importlib.util
import pathlib
import sys

from . import api
from .errors import TransformError


def load_function(spec):
    """``FILE.py:FUNC`` -> the function object (FUNC may be dotted: ``Model.loss``)."""
    path, sep, name = spec.rpartition(":")
    if not sep or not path or not name:
        raise SystemExit(f"expected FILE.py:FUNC, got {spec!r}")
    file = pathlib.Path(path)
    if not file.is_file():
        raise SystemExit(f"no such file: {path}")
    sys.path.insert(0, str(file.parent.resolve()))
    module_spec = importlib.util.spec_from_file_location(file.stem, file)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[file.stem] = module
    module_spec.loader.exec_module(module)
    obj = module
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SystemExit(f"{path} has no function {name!r}") from None
    return getattr(obj, "__wrapped__", obj) if isinstance(obj, api.GradientFunction) else obj


def parse_wrt(text):
    """``"0"`` -> 0, ``"0,1"`` -> (0, 1); argparse reports anything else as a usage error."""
    try:
        parts = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        parts = []
    if not parts:
        raise argparse.ArgumentTypeError(
            f"expected argument indices such as 0 or 0,1, got {text!r}")
    return parts[0] if len(parts) == 1 and "," not in text else tuple(parts)


def parse_shapes(text):
    """``"8x32,,4"`` -> [(8, 32), None, (4,)] (None: a float); a usage error otherwise."""
    try:
        return [tuple(int(n) for n in item.strip().split("x")) if item.strip() else None
                for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected shapes such as 8x32,32x1 (an empty item for a float), got {text!r}"
        ) from None


def call_on_shapes(derivative, func, shapes):
    """Call ``derivative`` on random float64 arguments of these shapes (None: a float)."""
    import numpy as np
    rng = np.random.default_rng(0)
    args = [float(rng.normal()) if s is None else rng.normal(size=s) for s in shapes]
    try:
        if derivative.mode == "vjp":
            out = func(*args)
            args.append(tuple(np.ones_like(o) for o in out) if isinstance(out, tuple)
                        else np.ones_like(out))
        derivative(*args)
    except (TypeError, ValueError) as exc:
        raise SystemExit(f"transgrad: calling {func.__name__} on arrays of the shapes given "
                         f"with --shapes failed: {exc}") from None


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m transgrad",
                                     description="transgrad: derivatives as Python source")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="print the generated derivative of FILE.py:FUNC")
    show.add_argument("target", metavar="FILE.py:FUNC")
    show.add_argument("--wrt", default=0, type=parse_wrt,
                      help="argument indices, e.g. 0 or 0,1")
    show.add_argument("--mode", default="grad", choices=["grad", "value_and_grad", "vjp"])
    show.add_argument("--backend", default="numpy", choices=["numpy", "jax"],
                      help="the array namespace of the generated code")
    show.add_argument("--html", metavar="OUT.html", help="write the function and its derivative "
                      "side by side as a standalone page (see transgrad.view) instead of printing")
    show.add_argument("--shapes", type=parse_shapes, help="call the derivative once on random float64 arrays of "
                      "these shapes first, so it shows the code for them: e.g. 8x32,32x1 "
                      "(an empty item is a float)")
    export = commands.add_parser("export", help="write the derivative of FILE.py:FUNC as a "
                                                "standalone module")
    export.add_argument("target", metavar="FILE.py:FUNC")
    export.add_argument("-o", "--output", required=True, help="the .py file to write")
    export.add_argument("--wrt", default=0, type=parse_wrt,
                        help="argument indices, e.g. 0 or 0,1")
    export.add_argument("--mode", default="grad", choices=["grad", "value_and_grad", "vjp"])
    rules = commands.add_parser("rules", help="list every callable transgrad knows and what "
                                              "each mode and backend can do with it")
    rules.add_argument("--json", action="store_true", help="one JSON object per callable")
    rules.add_argument("--markdown", action="store_true", help="a Markdown table (docs/rules.md)")
    rules.add_argument("--all", action="store_true", help="include the helpers only generated "
                       "code calls (transgrad.runtime.*, transgrad.rules.scatter.*)")
    args = parser.parse_args(argv)
    if args.command == "rules":
        from . import listing
        return listing.main(as_json=args.json, internal=args.all, markdown=args.markdown)
    func = load_function(args.target)
    entry = {"grad": api.grad, "value_and_grad": api.value_and_grad, "vjp": api.vjp}[args.mode]
    try:
        if args.command == "export":
            from .export import export as write_module
            path = write_module(func, args.output, wrt=args.wrt, mode=args.mode)
            print(f"wrote {path} and {path.parent / 'transgrad_runtime.py'}")
        else:
            derivative = entry(func, wrt=args.wrt, backend=args.backend)
            if args.shapes is not None:
                call_on_shapes(derivative, func, args.shapes)
            if args.html:
                from .view import write
                print(f"wrote {write(derivative, args.html)}")
            else:
                print(derivative.source, end="")
    except TransformError as exc:
        print(f"transgrad: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
