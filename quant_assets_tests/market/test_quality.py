"""Option quote QC flags: crossed, locked and zero-bid quotes are data, kept flagged in the raw
layer and excluded downstream. (The bad-input catalogue is in ``test_bad_inputs``.)"""

from __future__ import annotations

import pytest

from quant_assets.market import (
    ParquetStore,
    flag_option_quotes,
    ingest_validated,
    usable_option_quotes,
    validate_feed,
)
from quant_assets_tests.market import frames

S = frames.SESSIONS


def test_crossed_and_locked_quotes_are_kept_flagged_and_excluded_downstream(tmp_path):
    quotes = frames.option_quotes()
    quotes.loc[1, ["bid", "ask"]] = [2.0, 1.9]  # crossed
    quotes.loc[4, ["bid", "ask"]] = [1.5, 1.5]  # locked
    quotes.loc[6, ["bid", "ask"]] = [0.0, 0.05]  # zero bid
    quotes["nbbo_mid"] = (quotes["bid"] + quotes["ask"]) / 2
    validate_feed("option_quotes", quotes, sessions=S[:1], known_symbols=frames.SYMBOLS)  # data, not errors
    flagged = flag_option_quotes(quotes)
    expected = ["ok"] * len(quotes)
    expected[1], expected[4], expected[6] = "crossed", "locked", "zero_bid"
    assert flagged["qc_flag"].tolist() == expected
    store = ParquetStore(tmp_path)
    ingest_validated(store, "option_quotes", frames.with_lineage(flagged), sessions=S[:1], known_symbols=frames.SYMBOLS)
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


def test_empty_event_days_are_stored_empty(tmp_path):
    store = ParquetStore(tmp_path)
    ingest_validated(
        store, "delistings", frames.with_lineage(frames.delistings()), sessions=S, known_symbols=frames.SYMBOLS
    )
    assert store.partitions("raw", "delistings") == list(S)
    counts = [store.read_window("raw", "delistings", d, d, expected=[d]).shape[0] for d in S]
    assert counts == [0, 0, 0, 0, 1]
