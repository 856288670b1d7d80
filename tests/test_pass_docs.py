"""The passes' docstring examples run as tests (as pythran runs its pass docs): each pass
module shows a tiny function and what the pass makes of it, so the example cannot go stale."""

import doctest
import importlib
import pkgutil

import pytest

import transgrad.passes

# every pass module must carry an example; the others' examples run where they have them
WITH_EXAMPLES = ("fence", "resolve", "normalize", "activity", "shapes", "reverse", "forward",
                 "cond", "scan", "lowering", "functionalize", "show", "optimize", "exact",
                 "reverse_saves", "normalize_integrate")
MODULES = sorted(m.name for m in pkgutil.iter_modules(transgrad.passes.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_pass_docstring_examples(name):
    module = importlib.import_module(f"transgrad.passes.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) of passes/{name}.py fail"
    if name in WITH_EXAMPLES:
        assert result.attempted > 0, f"passes/{name}.py has no docstring example"


def test_every_listed_module_exists():
    assert set(WITH_EXAMPLES) <= set(MODULES)
