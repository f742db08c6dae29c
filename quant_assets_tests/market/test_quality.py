"""Bad-input catalogue: each malformed delivery is rejected at the boundary, naming the field
and rows, and a store already holding good data stays byte-identical."""

from __future__ import annotations

import functools
import os

import numpy as np
import pandas as pd
import pytest

from quant_assets.market import (
    BadVendorData,
    ParquetStore,
    flag_option_quotes,
    ingest_validated,
    usable_option_quotes,
    validate_bars,
    validate_corporate_actions,
    validate_delistings,
    validate_fundamentals,
    validate_option_quotes,
    validate_rates,
)
from quant_assets_tests.market import frames

S = frames.SESSIONS


def _snapshot(root) -> dict[str, bytes]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name != ".lock":
                path = os.path.join(dirpath, name)
                with open(path, "rb") as handle:
                    out[os.path.relpath(path, root)] = handle.read()
    return out


# dataset -> (good frame factory, validator, date column)
FEEDS = {
    "bars": (frames.bars,
             functools.partial(validate_bars, known_symbols=frames.SYMBOLS,
                               expected_sessions=S), "date"),
    "corporate_actions": (frames.corporate_actions,
                          functools.partial(validate_corporate_actions,
                                            known_symbols=frames.SYMBOLS), "ex_date"),
    "delistings": (frames.delistings,
                   functools.partial(validate_delistings, known_symbols=frames.SYMBOLS),
                   "delist_date"),
    "rates": (frames.rates, validate_rates, "date"),
    "option_quotes": (frames.option_quotes, validate_option_quotes, "date"),
}


def _partitions(dataset: str, df: pd.DataFrame, date_col: str) -> list[pd.Timestamp]:
    return sorted(set(S) | set(pd.DatetimeIndex(df[date_col])))


def _b(row: int, col: str, value):
    df = frames.bars()
    df[col] = df[col].astype(float) if isinstance(value, float) and np.isnan(value) else df[col]
    df.loc[row, col] = value
    return df


def _dup_bars():
    df = frames.bars()
    return pd.concat([df, df.iloc[[4]]], ignore_index=True)


def _missing_session():
    df = frames.bars()
    return df[df["date"] != S[2]].reset_index(drop=True)


def _foreign_session():
    df = frames.bars()
    df.loc[df["date"] == S[3], "date"] = pd.Timestamp("2024-07-04")  # Independence Day
    return df


def _ohlc(col: str, value: float):
    df = frames.bars()
    df.loc[7, col] = value
    return df


def _ca(row: int, **values):
    df = frames.corporate_actions()
    for col, value in values.items():
        df.loc[row, col] = value
    return df


def _ca_dup():
    df = frames.corporate_actions()
    return pd.concat([df, df.iloc[[1]]], ignore_index=True)


def _quotes(row: int, col: str, value):
    df = frames.option_quotes()
    df.loc[row, col] = value
    return df


def _stream_out_of_order():
    df = frames.option_quotes()
    # contract rows 0 and 1 are different streams; add a second snapshot of contract 0 that
    # is older than its first one, delivered last
    extra = df.iloc[[0]].assign(ts_ns=df["ts_ns"].iloc[0] - 5)
    return pd.concat([df, extra], ignore_index=True)


def _global_out_of_order():
    df = frames.option_quotes()
    # each contract stream stays ordered, but the delivery order goes back in time at row 5
    df.loc[5, "ts_ns"] = df.loc[0, "ts_ns"] - 1
    return df


# id -> (dataset, bad frame factory, field, rows, problem)
CATALOGUE = {
    "bars_nan_close": ("bars", lambda: _b(3, "close", np.nan), "close", [3], "nan"),
    "bars_negative_open": ("bars", lambda: _b(5, "open", -1.0), "open", [5], "non_positive"),
    "bars_zero_vwap": ("bars", lambda: _b(2, "vwap", 0.0), "vwap", [2], "non_positive"),
    "bars_negative_volume": ("bars", lambda: _b(6, "volume", -10), "volume", [6], "negative"),
    "bars_negative_trades": ("bars", lambda: _b(9, "trades", -1), "trades", [9], "negative"),
    "bars_duplicate_rows": ("bars", _dup_bars, "date,symbol", [4, 15], "duplicate"),
    "bars_unknown_symbol": ("bars", lambda: _b(8, "symbol", "ZZZZ"), "symbol", [8],
                            "unknown_symbol"),
    "bars_missing_session": ("bars", _missing_session, "date", ["2024-07-03"],
                             "missing_session"),
    "bars_unexpected_session": ("bars", _foreign_session, "date", [9, 10, 11],
                                "unexpected_session"),
    "bars_high_below_close": ("bars", lambda: _ohlc("high", 1.0), "high", [7],
                              "ohlc_inconsistent"),
    "bars_low_above_open": ("bars", lambda: _ohlc("low", 1e6), "low", [7],
                            "ohlc_inconsistent"),
    "bars_missing_column": ("bars", lambda: frames.bars().drop(columns="vwap"), "vwap", [],
                            "missing_column"),
    "ca_zero_split_ratio": ("corporate_actions", lambda: _ca(0, ratio=0.0), "ratio", [0],
                            "non_positive"),
    "ca_negative_split_ratio": ("corporate_actions", lambda: _ca(0, ratio=-2.0), "ratio", [0],
                                "non_positive"),
    "ca_nan_split_ratio": ("corporate_actions", lambda: _ca(0, ratio=np.nan), "ratio", [0],
                           "nan"),
    "ca_negative_dividend": ("corporate_actions", lambda: _ca(1, amount=-0.5), "amount", [1],
                             "negative"),
    "ca_announced_after_ex": ("corporate_actions",
                              lambda: _ca(1, announce_date=pd.Timestamp("2024-07-08")),
                              "announce_date", [1], "after_ex_date"),
    "ca_unknown_symbol": ("corporate_actions", lambda: _ca(1, symbol="NOPE"), "symbol", [1],
                          "unknown_symbol"),
    "ca_unknown_event": ("corporate_actions", lambda: _ca(0, event_type="spinoff"),
                         "event_type", [0], "unknown_value"),
    "ca_duplicates": ("corporate_actions", _ca_dup, "symbol,event_type,ex_date", [1, 2],
                      "duplicate"),
    "oq_stream_out_of_order": ("option_quotes", _stream_out_of_order, "ts_ns", [8],
                               "out_of_order"),
    "oq_global_out_of_order": ("option_quotes", _global_out_of_order, "ts_ns", [5],
                               "out_of_order"),
    "oq_negative_bid": ("option_quotes", lambda: _quotes(2, "bid", -0.1), "bid", [2],
                        "negative"),
    "oq_negative_ask_size": ("option_quotes", lambda: _quotes(6, "ask_size", -1),
                             "ask_size", [6], "negative"),
    "oq_nan_mid": ("option_quotes", lambda: _quotes(3, "nbbo_mid", np.nan), "nbbo_mid",
                   [3], "nan"),
    "oq_unknown_cp_flag": ("option_quotes", lambda: _quotes(1, "cp_flag", "X"),
                           "cp_flag", [1], "unknown_value"),
    "delist_nan_return": ("delistings",
                          lambda: frames.delistings().assign(delisting_return=np.nan),
                          "delisting_return", [0], "nan"),
    "delist_below_minus_one": ("delistings",
                               lambda: frames.delistings().assign(delisting_return=-1.5),
                               "delisting_return", [0], "below_minus_one"),
    "delist_unknown_reason": ("delistings", lambda: frames.delistings().assign(reason="whim"),
                              "reason", [0], "unknown_value"),
    "rates_nan": ("rates", lambda: frames.rates().assign(
        rate=lambda d: d["rate"].where(d.index != 7)), "rate", [7], "nan"),
    "rates_zero_tenor": ("rates", lambda: frames.rates().assign(
        tenor_days=lambda d: d["tenor_days"].where(d.index != 2, 0)), "tenor_days", [2],
        "non_positive"),
}


@pytest.mark.parametrize("case", sorted(CATALOGUE))
def test_bad_delivery_is_rejected_and_store_is_unchanged(case, tmp_path):
    dataset, make_bad, field, rows, problem = CATALOGUE[case]
    make_good, validator, date_col = FEEDS[dataset]
    store = ParquetStore(tmp_path)
    good = frames.with_lineage(make_good())
    ingest_validated(store, dataset, good, validator=validator, date_col=date_col,
                     partitions=_partitions(dataset, good, date_col))
    before = _snapshot(tmp_path)
    assert before, "the good delivery was stored"

    bad = frames.with_lineage(make_bad())
    with pytest.raises(BadVendorData) as info:
        ingest_validated(store, dataset, bad, validator=validator, date_col=date_col,
                         partitions=sorted(set(S)), force=True)
    err = info.value
    assert (err.dataset, err.field, err.rows, err.problem) == (dataset, field, rows, problem)
    assert f"'{field}'" in str(err)
    for row in rows:
        assert str(row) in str(err)
    assert _snapshot(tmp_path) == before


def test_fundamentals_catalogue():
    good = frames.fundamentals()
    validate_fundamentals(good, known_symbols=frames.SYMBOLS)
    bad = good.assign(shares_outstanding=[1e8, np.nan])
    with pytest.raises(BadVendorData) as info:
        validate_fundamentals(bad, known_symbols=frames.SYMBOLS)
    assert (info.value.field, info.value.rows, info.value.problem) == (
        "shares_outstanding", [1], "nan")
    early = good.assign(report_date=pd.to_datetime(["2024-05-02", "2024-03-01"]))
    with pytest.raises(BadVendorData) as info:
        validate_fundamentals(early, known_symbols=frames.SYMBOLS)
    assert (info.value.field, info.value.rows) == ("report_date", [1])


def test_good_feeds_pass_and_empty_event_days_are_stored_empty(tmp_path):
    store = ParquetStore(tmp_path)
    for dataset, (make, validator, date_col) in FEEDS.items():
        good = frames.with_lineage(make())
        res = ingest_validated(store, dataset, good, validator=validator, date_col=date_col,
                               partitions=_partitions(dataset, good, date_col))
        assert sum(r.rows for r in res) == len(good)
    assert store.partitions("raw", "delistings") == list(S)
    counts = [pd.read_parquet(store.partition_path("raw", "delistings", d)).shape[0] for d in S]
    assert counts == [0, 0, 0, 0, 1]


def test_ingest_requires_lineage(tmp_path):
    store = ParquetStore(tmp_path)
    make, validator, date_col = FEEDS["bars"]
    with pytest.raises(ValueError, match="lineage"):
        ingest_validated(store, "bars", make(), validator=validator, date_col=date_col,
                         partitions=S)
    assert _snapshot(tmp_path) == {}


def test_crossed_and_locked_quotes_are_kept_flagged_and_excluded_downstream(tmp_path):
    quotes = frames.option_quotes()
    quotes.loc[1, ["bid", "ask"]] = [2.0, 1.9]     # crossed
    quotes.loc[4, ["bid", "ask"]] = [1.5, 1.5]     # locked
    quotes.loc[6, ["bid", "ask"]] = [0.0, 0.05]    # zero bid
    quotes["nbbo_mid"] = (quotes["bid"] + quotes["ask"]) / 2
    validate_option_quotes(quotes)                 # data, not errors
    flagged = flag_option_quotes(quotes)
    expected = ["ok"] * len(quotes)
    expected[1], expected[4], expected[6] = "crossed", "locked", "zero_bid"
    assert flagged["qc_flag"].tolist() == expected
    store = ParquetStore(tmp_path)
    ingest_validated(store, "option_quotes", frames.with_lineage(flagged),
                     validator=validate_option_quotes, date_col="date", partitions=S[:1])
    raw = store.read_window("raw", "option_quotes", S[0], S[0], expected=S[:1])
    assert len(raw) == len(quotes)
    assert raw["qc_flag"].tolist() == expected
    usable = usable_option_quotes(raw)
    assert usable.index.tolist() == [i for i, f in enumerate(expected) if f == "ok"]
    assert (usable["bid"] < usable["ask"]).all()


def test_usable_quotes_rejects_unknown_flags():
    quotes = flag_option_quotes(frames.option_quotes()).assign(qc_flag="maybe")
    with pytest.raises(ValueError, match="qc_flag"):
        usable_option_quotes(quotes)


def test_error_message_truncates_long_row_lists():
    df = frames.bars(symbols=[f"S{i:04d}" for i in range(1, 30)])
    df["close"] = -1.0
    with pytest.raises(BadVendorData) as info:
        validate_bars(df, known_symbols=set(df["symbol"]), expected_sessions=S)
    assert len(info.value.rows) == len(df)
    assert f"{len(df) - 10} more" in str(info.value)
