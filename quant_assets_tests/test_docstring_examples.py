"""The runnable examples in the package's docstrings are part of the test suite.

pytest collects them from every module of ``quant_assets`` (``--doctest-modules`` with
``quant_assets`` in ``testpaths``, see ``setup.cfg``); this test keeps that wiring and the
examples of the core modules from silently disappearing.
"""

from __future__ import annotations

import configparser
import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Modules whose public functions carry worked examples: each must keep at least one.
WITH_EXAMPLES = [
    "quant_assets.execution.impact",
    "quant_assets.execution.cost_model",
    "quant_assets.execution.almgren_chriss",
    "quant_assets.execution.avellaneda_stoikov",
    "quant_assets.execution.simulator",
    "quant_assets.market.adjustments",
    "quant_assets.market.errors",
    "quant_assets.market.lineage",
    "quant_assets.market.quality",
    "quant_assets.market.store",
    "quant_assets.validation.sharpe",
    "quant_assets.validation.pbo",
    "quant_assets.validation.cpcv",
    "quant_assets.validation.fold_diagram",
    "quant_assets.validation.run",
]


def test_pytest_collects_docstring_examples_of_the_package():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    section = cfg["tool:pytest"]
    assert "--doctest-modules" in section["addopts"].split()
    assert "quant_assets" in section["testpaths"].split()


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_module_keeps_its_examples(name):
    finder = doctest.DocTestFinder()
    examples = sum(len(t.examples) for t in finder.find(importlib.import_module(name)))
    assert examples > 0, f"{name} lost its docstring examples"
