"""A corrupted stored input fails the downstream step with an error naming the file."""

from __future__ import annotations

import dagster as dg

from quant_assets.defs import build_definitions
from quant_assets.defs.resources import build_resources

DEFS = build_definitions("tiny")
KEYS = DEFS.resolve_job_def("market_data_job").partitions_def.get_partition_keys()
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def _run(selection=None, raise_on_error=True):
    return dg.materialize(
        list(DEFS.assets),
        selection=selection,
        resources=build_resources("tiny"),
        raise_on_error=raise_on_error,
        tags={RANGE_TAGS[0]: KEYS[0], RANGE_TAGS[1]: KEYS[2]},
    )


def test_flipped_byte_in_raw_bars_fails_adjusted_prices_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANT_ASSETS_DATA", str(tmp_path))
    assert _run().success
    part = tmp_path / "tiny" / "store" / "raw" / "raw_bars" / f"date={KEYS[1]}" / "part.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x10
    part.write_bytes(bytes(data))
    result = _run(["adjusted_prices"], raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.event_specific_data.error.to_string()
    assert "StoreIntegrityError" in message and str(part) in message
