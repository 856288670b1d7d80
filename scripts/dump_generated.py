"""Write the generated source of every corpus function to a folder, one file per function.

Run before and after a change to the compiler and compare the folders with ``diff -r``: it shows
every place where the generated code changed. Per function it writes the general reverse code
(``tg.grad``, or ``tg.vjp`` for vector outputs), the variant a call with the sample arguments
runs (exact shapes), the forward code (``tg.jvp``) and, where the function runs on JAX, the JAX
backend's reverse code.

    python scripts/dump_generated.py OUT_DIR [--no-jax]
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import transgrad as tg  # noqa: E402
from tests.checks import random_cotangent  # noqa: E402
from tests.corpus import CORPUS  # noqa: E402

NO_JVP = {"calls.custom_rule", "calls.custom_rule_uses_answer", "calls.custom_rule_in_loop"}


def _tangents(entry, args):
    tangents = tuple(np.ones_like(args[i]) if isinstance(args[i], np.ndarray) else 1.0
                     for i in entry.wrt_indices)
    return tangents[0] if isinstance(entry.wrt, int) else tangents


def _sources(entry, with_jax):
    """(label, source) pairs of the derivatives of one corpus function."""
    args = entry.sample()
    reverse = tg.vjp(entry.func, wrt=entry.wrt) if entry.vector_output \
        else tg.grad(entry.func, wrt=entry.wrt)
    yield "reverse, general", reverse.source
    if entry.vector_output:
        reverse(*args, random_cotangent(entry.func(*args)))
    else:
        reverse(*args)
    yield "reverse, as called", reverse.source
    if entry.name not in NO_JVP:
        forward = tg.jvp(entry.func, wrt=entry.wrt)
        yield "forward, general", forward.source
        forward(*args, _tangents(entry, args))
        yield "forward, as called", forward.source
    if with_jax and entry.jax and not entry.vector_output:
        yield "reverse, jax", tg.grad(entry.func, wrt=entry.wrt, backend="jax").source


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--no-jax", action="store_true")
    options = parser.parse_args()
    os.makedirs(options.out, exist_ok=True)
    failed = 0
    for entry in CORPUS:
        parts = []
        try:
            for label, text in _sources(entry, not options.no_jax):
                parts.append(f"# ---- {label}\n{text}")
        except Exception as error:  # noqa: BLE001  (recorded in the dump, compared like code)
            failed += 1
            parts.append(f"# ---- failed: {type(error).__name__}: {error}")
        with open(os.path.join(options.out, entry.name + ".py"), "w") as out:
            out.write("\n".join(parts))
    print(f"{len(CORPUS)} corpus functions written to {options.out} ({failed} failed)")


if __name__ == "__main__":
    main()
