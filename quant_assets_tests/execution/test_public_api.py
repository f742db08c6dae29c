"""The execution package exports what it lists."""

from __future__ import annotations


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
