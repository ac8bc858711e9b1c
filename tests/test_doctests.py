"""Every docstring example in the package runs, module by module (those marked ``+SKIP`` need a device or files).

The modules are found by walking the installed package, so ``edgevision.converters`` and
``edgevision.targets`` (folders mapped into the namespace) are covered like the rest.
"""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import edgevision


def _modules() -> list[str]:
    names = ["edgevision"]
    for info in pkgutil.walk_packages(edgevision.__path__, "edgevision."):
        names.append(info.name)
    for package in ("edgevision.converters", "edgevision.targets"):
        module = importlib.import_module(package)
        names += [package] + [i.name for i in pkgutil.walk_packages(module.__path__, package + ".")]
    return sorted({n for n in names if n != "edgevision.__main__"})


MODULES = _modules()


def test_the_walk_finds_the_mapped_packages():
    assert {"edgevision.converters.convert", "edgevision.targets.catalogue", "edgevision.bench.runner"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, globs={"np": __import__("numpy"), **vars(module)}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {name}"
