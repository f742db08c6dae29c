"""Lineage columns and transform ids."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.market import (
    LINEAGE_COLUMNS,
    add_lineage,
    config_fingerprint,
    transform_id_for,
    validate_lineage,
)


def test_lineage_columns_are_appended_in_utc():
    close_ny = datetime(2024, 7, 3, 13, 0, tzinfo=ZoneInfo("America/New_York"))  # early close
    arrival = pd.Timestamp(close_ny) + pd.Timedelta(hours=1)
    df = pd.DataFrame({"symbol": ["S0001", "S0002"], "close": [1.0, 2.0]}, index=[5, 9])
    out = add_lineage(df, arrival, "synthetic://bars", "abc")
    assert list(out.columns) == ["symbol", "close", *LINEAGE_COLUMNS]
    assert str(out["ingested_at"].dtype) == "datetime64[ns, UTC]"
    # 13:00 EDT = 17:00 UTC, plus one hour
    assert (out["ingested_at"] == pd.Timestamp("2024-07-03 18:00", tz="UTC")).all()
    assert out["source_uri"].tolist() == ["synthetic://bars"] * 2
    assert out.index.tolist() == [5, 9]
    assert "ingested_at" not in df.columns  # input untouched
    validate_lineage(out)


def test_per_row_ingestion_times():
    df = pd.DataFrame({"x": [1, 2]})
    times = pd.DatetimeIndex(["2024-01-02 22:00", "2024-01-03 22:00"], tz="UTC")
    out = add_lineage(df, times.tz_convert("Asia/Tokyo"), "s://x", "t")
    assert out["ingested_at"].tolist() == list(times)
    with pytest.raises(ValueError, match="2 rows"):
        add_lineage(pd.DataFrame({"x": [1, 2]}), times[:1], "s://x", "t")


def test_empty_frame_gets_typed_lineage_columns():
    out = add_lineage(
        pd.DataFrame({"x": pd.Series([], dtype=float)}), pd.Timestamp("2024-01-02", tz="UTC"), "s://x", "t"
    )
    assert len(out) == 0 and str(out["ingested_at"].dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ingested_at": pd.Timestamp("2024-01-02 21:00")}, "timezone-aware"),
        ({"ingested_at": pd.NaT}, "NaT"),
        ({"source_uri": ""}, "source_uri"),
        ({"transform_id": ""}, "transform_id"),
    ],
)
def test_bad_lineage_arguments_are_named(kwargs, match):
    args = {
        "ingested_at": pd.Timestamp("2024-01-02 21:00", tz="UTC"),
        "source_uri": "s://x",
        "transform_id": "t",
    } | kwargs
    with pytest.raises(ValueError, match=match):
        add_lineage(pd.DataFrame({"x": [1]}), **args)


def test_lineage_cannot_be_added_twice():
    out = add_lineage(pd.DataFrame({"x": [1]}), pd.Timestamp(0, tz="UTC"), "s://x", "t")
    with pytest.raises(ValueError, match="already"):
        add_lineage(out, pd.Timestamp(0, tz="UTC"), "s://x", "t")


def test_validate_lineage_rejects_incomplete_lineage():
    out = add_lineage(pd.DataFrame({"x": [1, 2]}), pd.Timestamp(0, tz="UTC"), "s://x", "t")
    with pytest.raises(ValueError, match="missing"):
        validate_lineage(out.drop(columns="transform_id"))
    with pytest.raises(ValueError, match="UTC"):
        validate_lineage(out.assign(ingested_at=out["ingested_at"].dt.tz_localize(None)))
    with pytest.raises(ValueError, match="source_uri"):
        validate_lineage(out.assign(source_uri=[None, "s://x"]))


_names = st.text(min_size=1, max_size=12)


@settings(max_examples=100, deadline=None)
@given(_names, _names, _names, _names, _names, _names)
def test_transform_id_is_short_deterministic_and_injective_in_practice(n1, v1, f1, n2, v2, f2):
    a = transform_id_for(n1, v1, f1)
    assert a == transform_id_for(n1, v1, f1)
    assert len(a) == 16 and set(a) <= set("0123456789abcdef")
    if (n1, v1, f1) != (n2, v2, f2):
        assert a != transform_id_for(n2, v2, f2)


def test_transform_id_does_not_depend_on_the_interpreter_session():
    code = (
        "from quant_assets.market import transform_id_for, config_fingerprint;"
        "print(transform_id_for('bars', '1', config_fingerprint({'seed': 7, 'n': [1, 2]})))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | {"PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert outs == {transform_id_for("bars", "1", config_fingerprint({"n": [1, 2], "seed": 7}))}


def test_transform_id_names_bad_arguments():
    with pytest.raises(ValueError, match="config_fingerprint"):
        transform_id_for("bars", "1", "")
