"""The examples in the public docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "quant_assets.execution.impact",
    "quant_assets.execution.cost_model",
    "quant_assets.execution.almgren_chriss",
    "quant_assets.execution.avellaneda_stoikov",
    "quant_assets.execution.simulator",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_public_api():
    import quant_assets.execution as ex

    for name in ex.__all__:
        assert hasattr(ex, name)
    assert {
        "square_root_impact",
        "CostModel",
        "almgren_chriss",
        "almgren_chriss_frontier",
        "simulate_avellaneda_stoikov",
        "simulate",
    } <= set(ex.__all__)
