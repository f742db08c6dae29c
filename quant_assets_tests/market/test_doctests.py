"""The runnable examples in the market modules' docstrings hold."""

from __future__ import annotations

import doctest

import pytest

from quant_assets.market import adjustments, errors, lineage, quality, store


@pytest.mark.parametrize("module", [adjustments, errors, lineage, quality, store],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
