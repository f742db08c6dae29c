"""The bad-input catalogue through the graph: a fault-injecting source delivers each mutation to
its raw asset, the step fails naming dataset, column and rule, and nothing is stored."""

from __future__ import annotations

import dagster as dg
import pytest

from quant_assets.defs import build_definitions
from quant_assets.defs.resources import SyntheticMarketSource, build_resources
from quant_assets.market.feeds import RAW_FEEDS
from quant_assets_tests.market.bad_inputs import CATALOGUE

DEFS = build_definitions("tiny")
KEYS = DEFS.resolve_job_def("market_data_job").partitions_def.get_partition_keys()
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
ASSET_OF = {feed.dataset: feed.name for feed in RAW_FEEDS}
ASSET_CASES = sorted(name for name, case in CATALOGUE.items() if case.asset)


class _FaultySource(SyntheticMarketSource):
    """The synthetic market with one catalogue mutation applied to one dataset's delivery."""

    case: str

    def fetch(self, dataset, start, end):
        df = super().fetch(dataset, start, end)
        bad = CATALOGUE[self.case]
        # Only the delivery of the window under test is corrupted, not look-backs before it.
        if dataset == bad.dataset and str(start.date()) == KEYS[0] and len(df):
            df = bad.mutate(df.copy())
        return df


@pytest.fixture()
def data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANT_ASSETS_DATA", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("name", ASSET_CASES)
def test_bad_delivery_fails_its_raw_asset_and_stores_nothing(name, data_root):
    case = CATALOGUE[name]
    asset_name = ASSET_OF[case.dataset]
    last = KEYS[0] if case.dataset == "option_quotes" else KEYS[-1]
    assets = [a for a in DEFS.assets if a.key.to_user_string() == asset_name]
    result = dg.materialize(
        assets,
        resources={**build_resources("tiny"), "market_source": _FaultySource(profile="tiny", case=name)},
        tags={RANGE_TAGS[0]: KEYS[0], RANGE_TAGS[1]: last},
        raise_on_error=False,
    )
    failures = [e for e in result.all_events if e.is_step_failure]
    assert failures, f"{name}: stored without error"
    message = failures[0].event_specific_data.error.to_string()
    assert "BadVendorData" in message
    assert f"{case.dataset}: column '{case.field}' breaks rule '{case.rule}'" in message
    assert not list(data_root.rglob("*.parquet"))
