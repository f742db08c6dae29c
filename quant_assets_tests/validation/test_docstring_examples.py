"""The docstring examples of the validation package run and print what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["sharpe", "pbo", "cpcv", "fold_diagram", "run"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"quant_assets.validation.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
