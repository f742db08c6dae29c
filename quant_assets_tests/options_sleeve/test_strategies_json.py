"""The §10.2 options-strategies document: the blueprint's example validates, malformed ones do not."""

from __future__ import annotations

import copy
import json

import jsonschema
import pandas as pd
import pytest

from quant_assets.options.strategies_json import (
    MAX_STRATEGIES,
    STRATEGIES_JSON_SCHEMA,
    strategies_document,
    validate_strategies_document,
)

BLUEPRINT_EXAMPLE = {
    "asof": "2024-02-01",
    "strategies": [
        {
            "underlier": "AAPL",
            "type": "delta_hedged_straddle",
            "expiry": "2024-03-15",
            "qty": 10,
            "target_vega": 5000,
            "expected_pnl_bps": 40,
            "conf": 0.58,
            "hedge_rules": {"rebalance": "daily", "delta_threshold": 0.2},
        }
    ],
    "risk": {"net_vega": 0, "vega_cap": 0.2, "gamma_cap": 0.1},
}


def test_the_blueprint_example_validates_and_the_schema_is_valid():
    jsonschema.Draft202012Validator.check_schema(STRATEGIES_JSON_SCHEMA)
    validate_strategies_document(BLUEPRINT_EXAMPLE)
    json.dumps(STRATEGIES_JSON_SCHEMA)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("risk"),
        lambda d: d["strategies"][0].pop("hedge_rules"),
        lambda d: d["strategies"][0].update(conf=1.5),
        lambda d: d["strategies"][0].update(type="iron_condor"),
        lambda d: d["strategies"][0].update(expiry="15/03/2024"),
        lambda d: d["strategies"][0].update(qty=2.5),
        lambda d: d["strategies"][0].update(extra=1),
        lambda d: d["risk"].pop("gamma_cap"),
        lambda d: d["strategies"].extend([copy.deepcopy(d["strategies"][0])] * MAX_STRATEGIES),
    ],
)
def test_malformed_documents_are_rejected(mutate):
    doc = copy.deepcopy(BLUEPRINT_EXAMPLE)
    mutate(doc)
    with pytest.raises(jsonschema.ValidationError):
        validate_strategies_document(doc)


def test_the_builder_keeps_the_top_ten_and_optional_fields():
    row = {
        **BLUEPRINT_EXAMPLE["strategies"][0],
        "net_greeks": {"delta": 0.0, "gamma": 1.0, "vega": 50.0, "theta": -3.0},
        "worst_case_slippage_bps": 12.0,
    }
    rows = pd.DataFrame([{**row, "underlier": f"S{i:02d}", "expected_pnl_bps": 50 - i} for i in range(14)])
    doc = strategies_document("2024-02-01", rows, BLUEPRINT_EXAMPLE["risk"])
    assert [s["underlier"] for s in doc["strategies"]] == [f"S{i:02d}" for i in range(10)]
    assert doc["strategies"][0]["net_greeks"]["vega"] == 50.0
    assert json.loads(json.dumps(doc)) == doc
