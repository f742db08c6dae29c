"""Every bad delivery of the catalogue is rejected before anything is stored, naming the
dataset, the column and the rule; legitimate dirt passes."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from quant_assets.market import BadVendorData, ParquetStore, ingest_validated, validate_feed
from quant_assets_tests.market import frames
from quant_assets_tests.market.bad_inputs import CATALOGUE, GOOD, LEGITIMATE, SESSIONS, S

KNOWN = frozenset(frames.SYMBOLS)


def _snapshot(root) -> dict[str, bytes]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name != ".lock":
                path = os.path.join(dirpath, name)
                with open(path, "rb") as handle:
                    out[os.path.relpath(path, root)] = handle.read()
    return out


def _ingest(store: ParquetStore, dataset: str, df: pd.DataFrame, **kwargs):
    extra = {"closes": frames.bars()} if dataset == "corporate_actions" else {}
    return ingest_validated(
        store, dataset, df, sessions=SESSIONS.get(dataset, S), known_symbols=KNOWN, **extra, **kwargs
    )


def _assert_names(err: BadVendorData, dataset: str, field: str, rule: str) -> None:
    assert (err.dataset, err.field, err.problem) == (dataset, field, rule), str(err)
    message = str(err)
    assert message.startswith(f"{dataset}: column '{field}' breaks rule '{rule}'"), message


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_bad_delivery_is_rejected_before_storing(name, tmp_path):
    case = CATALOGUE[name]
    store = ParquetStore(tmp_path)
    good = GOOD[case.dataset]()
    _ingest(store, case.dataset, frames.with_lineage(good))
    before = _snapshot(tmp_path)
    assert before, "the good delivery was stored"

    bad = case.mutate(good.copy())
    with pytest.raises(BadVendorData) as info:
        _ingest(store, case.dataset, frames.with_lineage(bad), force=True)
    _assert_names(info.value, case.dataset, case.field, case.rule)
    assert _snapshot(tmp_path) == before


def test_offending_rows_and_values_are_named():
    bad = CATALOGUE["bars_stray_string"].mutate(frames.bars())
    with pytest.raises(BadVendorData) as info:
        validate_feed("bars", bad, sessions=S, known_symbols=KNOWN)
    assert (info.value.rows, info.value.values) == ([2], ["12,5"])
    assert "at 1 row(s) [2], values ['12,5']" in str(info.value)
    with pytest.raises(BadVendorData, match=r"values \[inf\]") as info:
        validate_feed(
            "bars",
            frames.bars().assign(close=lambda d: d["close"].where(d.index != 7, np.inf)),
            sessions=S,
            known_symbols=KNOWN,
        )
    assert info.value.rows == [7]


def test_error_message_truncates_long_row_lists():
    df = frames.bars(symbols=[f"S{i:04d}" for i in range(1, 30)]).assign(close=-1.0)
    with pytest.raises(BadVendorData) as info:
        validate_feed("bars", df, sessions=S, known_symbols=set(df["symbol"]))
    assert len(info.value.rows) == len(df)
    assert f"{len(df) - 10} more" in str(info.value)


@pytest.mark.parametrize(
    ("name", "lineage", "field", "rule"),
    [
        ("empty_source_uri", {"source_uri": ""}, "source_uri", "str_length(1, None)"),
        (
            "naive_ingested_at",
            {"ingested_at": pd.Timestamp("2024-07-08 21:00")},
            "ingested_at",
            "dtype('datetime64[ns, UTC]')",
        ),
        ("missing_transform_id", {"transform_id": None}, "transform_id", "not_nullable"),
    ],
)
def test_bad_lineage_is_rejected(name, lineage, field, rule, tmp_path):
    store = ParquetStore(tmp_path)
    df = frames.with_lineage(frames.bars()).assign(**lineage)
    with pytest.raises(BadVendorData) as info:
        _ingest(store, "bars", df)
    _assert_names(info.value, "bars", field, rule)
    assert _snapshot(tmp_path) == {}


def test_delivery_without_lineage_is_rejected(tmp_path):
    with pytest.raises(BadVendorData, match="ingested_at"):
        _ingest(ParquetStore(tmp_path), "bars", frames.bars())
    assert _snapshot(tmp_path) == {}


@pytest.mark.parametrize("name", sorted(LEGITIMATE))
def test_legitimate_dirt_is_stored(name, tmp_path):
    dataset, mutate = LEGITIMATE[name]
    df = mutate(GOOD[dataset]())
    results = _ingest(ParquetStore(tmp_path), dataset, frames.with_lineage(df))
    assert sum(r.rows for r in results) == len(df)


def test_split_redelivered_in_the_next_window_with_a_moved_ex_date(tmp_path):
    store = ParquetStore(tmp_path)
    first = frames.corporate_actions().iloc[[0]]  # S0001 2-for-1, ex 2024-07-03
    ingest_validated(
        store,
        "corporate_actions",
        frames.with_lineage(first),
        sessions=S[:3],
        known_symbols=KNOWN,
        closes=frames.bars(),
    )
    before = _snapshot(tmp_path)
    again = first.iloc[[0]].assign(ex_date=S[3], record_date=S[4])
    with pytest.raises(BadVendorData) as info:
        ingest_validated(
            store,
            "corporate_actions",
            frames.with_lineage(again),
            sessions=S[3:],
            known_symbols=KNOWN,
            closes=frames.bars(),
        )
    _assert_names(info.value, "corporate_actions", "ex_date", "redelivered_split")
    assert _snapshot(tmp_path) == before
    # Re-ingesting the same window is not a re-delivery.
    ingest_validated(
        store,
        "corporate_actions",
        frames.with_lineage(first),
        sessions=S[:3],
        known_symbols=KNOWN,
        closes=frames.bars(),
    )


def test_corporate_actions_need_the_previous_closes():
    with pytest.raises(ValueError, match="closes"):
        validate_feed("corporate_actions", frames.corporate_actions(), sessions=S, known_symbols=KNOWN)


def test_dividend_cap_uses_the_close_before_the_ex_date():
    bars = frames.bars()
    ca = frames.corporate_actions()
    prev = bars[(bars["symbol"] == "S0002") & (bars["date"] == S[2])]["close"].iloc[0]
    ok = ca.assign(amount=[0.0, 0.49 * prev])
    validate_feed("corporate_actions", ok, sessions=S, known_symbols=KNOWN, closes=bars)
    with pytest.raises(BadVendorData, match="dividend_above_cap"):
        validate_feed(
            "corporate_actions", ca.assign(amount=[0.0, 0.5 * prev]), sessions=S, known_symbols=KNOWN, closes=bars
        )


def test_unknown_dataset_is_refused():
    with pytest.raises(ValueError, match="unknown dataset"):
        validate_feed("ticks", frames.bars(), sessions=S)
