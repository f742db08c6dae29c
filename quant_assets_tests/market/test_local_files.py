"""Bring your own data: the local-files reader (layout, types, defaults, symbol master, gaps)."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets import schemas
from quant_assets.calendars import sessions_in_range
from quant_assets.config import REPO_ROOT
from quant_assets.market.feeds import RAW_FEEDS, ingest_feed
from quant_assets.market.lineage import LINEAGE_COLUMNS
from quant_assets.market.local_files import (
    LAYOUTS,
    LayoutError,
    LocalFiles,
    MissingSessionsWarning,
    discover,
    empty_frame,
)

EXAMPLE = REPO_ROOT / "examples" / "local_data"
START, END = "2024-01-02", "2024-01-31"
SESSIONS = sessions_in_range(START, END)
HEADER = "date,symbol,open,high,low,close,volume\n"


def _write(root, files: dict[str, str]):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _bars(symbol: str, dates, close: float = 10.0) -> str:
    return "".join(f"{pd.Timestamp(d).date()},{symbol},{close},{close + 1},{close - 1},{close},100\n" for d in dates)


def _reader(root, **kwargs) -> LocalFiles:
    return LocalFiles(root, START, END, **kwargs)


def _fetch_quietly(data: LocalFiles, dataset: str, start=START, end=END) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingSessionsWarning)
        return data.fetch(dataset, start, end)


# ---------------------------------------------------------------------- example directory
class _Source:
    """The reader behind the ingestion's source interface (what ``LocalFilesSource`` does)."""

    def __init__(self, files: LocalFiles):
        self.files = files

    def fetch(self, dataset, start, end):
        return _fetch_quietly(self.files, dataset, start, end)

    def source_uri(self, dataset):
        return f"local_files://test/{dataset}"

    def fingerprint(self):
        return "test"

    def symbol_master(self):
        return self.files.symbol_master()


@pytest.mark.parametrize("feed", [f for f in RAW_FEEDS if f.group != "oracle"], ids=lambda f: f.name)
def test_example_feeds_pass_the_boundary_validation_and_their_schema(feed):
    out = ingest_feed(feed, _Source(_reader(EXAMPLE)), SESSIONS)
    feed.schema.validate(out)
    assert len(out) > 0 or feed.dataset in ("earnings_calendar", "option_quotes")


def test_example_directory_holds_five_names():
    data = _reader(EXAMPLE)
    assert sorted(data.files) == ["bars", "corporate_actions", "delistings", "fundamentals", "rates", "symbols"]
    bars = _fetch_quietly(data, "bars")
    assert sorted(bars["symbol"].unique()) == ["AAA", "BBB", "CCC", "DDD", "EEE"]
    assert bars["session_id"].tolist() == SESSIONS.get_indexer(bars["date"]).tolist()


def _with_gap(tmp_path):
    """The example directory with DDD's bar of 2024-01-10 removed."""
    shutil.copytree(EXAMPLE, tmp_path / "data")
    ddd = tmp_path / "data" / "bars" / "DDD.csv"
    ddd.write_text(
        "".join(line for line in ddd.read_text().splitlines(keepends=True) if not line.startswith("2024-01-10"))
    )
    return tmp_path / "data"


def test_example_symbol_master_and_no_gap():
    data = _reader(EXAMPLE)
    master = data.symbol_master().set_index("symbol")
    assert master.loc["EEE", "list_date"] == pd.Timestamp("2024-01-08")  # first bar: no list_date given
    assert master.loc["CCC", "delist_date"] == pd.Timestamp("2024-01-24")
    assert master.loc["CCC", "delist_reason"] == "merger"
    assert master["delist_date"].notna().sum() == 1
    assert data.missing_sessions().empty  # a name listed later or delisted is not a gap


def test_a_missing_bar_is_reported_and_not_invented(tmp_path):
    data = _reader(_with_gap(tmp_path))
    gaps = data.missing_sessions()
    assert gaps.values.tolist() == [["DDD", pd.Timestamp("2024-01-10")]]
    with pytest.warns(MissingSessionsWarning, match=r"1 missing session\(s\) for 1 listed name\(s\): DDD"):
        bars = data.fetch("bars", "2024-01-09", "2024-01-11")
    assert len(bars) == 3 * 5 - 1 and not ((bars["symbol"] == "DDD") & (bars["date"] == "2024-01-10")).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingSessionsWarning)
        data.fetch("bars", "2024-01-11", "2024-01-12")  # no gap in this window: no warning


def test_example_corporate_action_defaults():
    ca = _fetch_quietly(_reader(EXAMPLE), "corporate_actions").set_index("event_type")
    split, dividend = ca.loc["split"], ca.loc["dividend"]
    assert (split["ratio"], split["amount"]) == (2.0, 0.0)
    assert split["record_date"] == split["pay_date"] == split["ex_date"] == pd.Timestamp("2024-01-17")
    assert (dividend["ratio"], dividend["amount"]) == (1.0, 0.5)


def test_symbols_snapshots_cover_listed_sessions_only():
    snaps = _fetch_quietly(_reader(EXAMPLE), "symbols")
    per_symbol = snaps.groupby("symbol")["date"].agg(["min", "max", "count"])
    assert per_symbol.loc["EEE", "min"] == pd.Timestamp("2024-01-08")
    assert per_symbol.loc["CCC", "max"] == pd.Timestamp("2024-01-24")
    assert per_symbol.loc["AAA", "count"] == len(SESSIONS)
    assert snaps["htb"].dtype == bool and (snaps["borrow_fee_bps"] == 25.0).all()


# ------------------------------------------------------------------- absent datasets
@pytest.mark.parametrize(
    "dataset, schema",
    [
        ("earnings_calendar", schemas.EarningsCalendar),
        ("option_quotes", schemas.RawOptionQuotes),
        ("fundamentals", schemas.Fundamentals),
        ("rates", schemas.Rates),
        ("corporate_actions", schemas.CorporateActions),
        ("delistings", schemas.Delistings),
        ("symbols", schemas.Symbols),
    ],
)
def test_absent_optional_dataset_is_empty_with_the_schema_columns(tmp_path, dataset, schema):
    data = _reader(_write(tmp_path, {"bars.csv": HEADER + _bars("AAA", SESSIONS)}))
    out = data.fetch(dataset, START, END)
    expected = set(schema.to_schema().columns) - set(LINEAGE_COLUMNS) - {"qc_flag"}
    assert len(out) == 0 and set(out.columns) == expected


def test_without_symbols_file_the_master_comes_from_the_bars(tmp_path):
    root = _write(tmp_path, {"bars.csv": HEADER + _bars("AAA", SESSIONS) + _bars("BBB", SESSIONS[5:])})
    master = _reader(root).symbol_master()
    assert master["symbol"].tolist() == ["AAA", "BBB"]
    assert master["list_date"].tolist() == [SESSIONS[0], SESSIONS[5]]
    assert master["delist_date"].isna().all()


# ------------------------------------------------------------------------- bar defaults
def test_optional_bar_columns_take_documented_defaults_cell_by_cell(tmp_path):
    text = (
        "date,symbol,open,high,low,close,volume,vwap,trades\n"
        "2024-01-02,AAA,10,12,9,11,100,,\n"
        "2024-01-03,AAA,10,12,9,11,100,10.5,7\n"
    )
    bars = _fetch_quietly(_reader(_write(tmp_path, {"bars.csv": text})), "bars", START, "2024-01-03")
    assert bars["vwap"].tolist() == [pytest.approx((12 + 9 + 11) / 3), 10.5]
    assert bars["trades"].tolist() == [0, 7]
    assert bars["nbbo_spread"].tolist() == [0.01, 0.01]
    assert bars["volume"].dtype == np.int64 and bars["trades"].dtype == np.int64


@settings(max_examples=60, deadline=None)
@given(price=st.floats(1e-3, 1e5), spread=st.floats(0, 0.5), weights=st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_default_vwap_lies_within_low_and_high(tmp_path_factory, price, spread, weights):
    low, high = price, price * (1 + spread)
    o, c = (low + w * (high - low) for w in weights)
    o, c = min(max(o, low), high), min(max(c, low), high)
    root = _write(
        tmp_path_factory.mktemp("vwap"), {"bars.csv": HEADER + f"2024-01-02,AAA,{o!r},{high!r},{low!r},{c!r},1\n"}
    )
    bars = _fetch_quietly(_reader(root), "bars", START, START)
    assert low <= bars["vwap"].iloc[0] <= high


def test_column_mapping_renames_and_drops_headers(tmp_path):
    text = "Date,Ticker,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,AAA,10,12,9,11,10.9,100\n"
    root = _write(tmp_path, {"bars.csv": text})
    with pytest.raises(LayoutError, match="bars.csv: column 'ticker': unknown column"):
        _reader(root).frame("bars")
    bars = _reader(root, columns={"Ticker": "symbol", "adj close": None}).frame("bars")
    assert bars[["symbol", "close"]].values.tolist() == [["AAA", 11.0]]


def test_parquet_and_csv_read_the_same(tmp_path):
    csv = _reader(EXAMPLE).frame("bars")
    raw = pd.read_csv(EXAMPLE / "bars" / "AAA.csv", parse_dates=["date"])
    (tmp_path / "bars").mkdir()
    raw.to_parquet(tmp_path / "bars" / "AAA.parquet")
    pq = _reader(tmp_path).frame("bars")
    pd.testing.assert_frame_equal(pq, csv[csv["symbol"] == "AAA"].reset_index(drop=True))


# ---------------------------------------------------------------------------- bad layouts
BAD_LAYOUTS = {
    "missing required column": (
        {"bars/AAA.csv": "date,symbol,open,high,low,volume\n2024-01-02,AAA,1,2,1,5\n"},
        r"bars/AAA.csv: column 'close': missing column",
    ),
    "unparsable date": (
        {"bars/AAA.csv": HEADER + "2024-01-02,AAA,1,2,1,1,5\n01/03/2024,AAA,1,2,1,1,5\n"},
        r"bars/AAA.csv: column 'date': line 3: got \['01/03/2024'\]; expected a date YYYY-MM-DD",
    ),
    "weekend date": (
        {"bars/AAA.csv": HEADER + "2024-01-06,AAA,1,2,1,1,5\n"},
        r"bars/AAA.csv: column 'date': line 2: 2024-01-06 \(Saturday\) is not an XNYS session",
    ),
    "holiday date": (
        {"rates.csv": "date,tenor_days,rate\n2024-01-15,30,0.05\n", "bars.csv": HEADER},
        r"rates.csv: column 'date': line 2: 2024-01-15 \(Monday\) is not an XNYS session",
    ),
    "duplicate across files": (
        {
            "bars/a.csv": HEADER + "2024-01-02,AAA,1,2,1,1,5\n",
            "bars/b.csv": HEADER + "2024-01-03,AAA,1,2,1,1,5\n2024-01-02,AAA,1,2,1,1,6\n",
        },
        r"bars/a.csv: column 'date,symbol': duplicate .* at .*bars/a.csv line 2, .*bars/b.csv line 3",
    ),
    "unknown kind": (
        {"bars.csv": HEADER, "prices.csv": HEADER},
        r"prices.csv: unknown dataset 'prices'",
    ),
    "unsupported file type": (
        {"bars/AAA.xlsx": ""},
        r"bars/AAA.xlsx: not a data file; expected a file ending in .csv or .parquet",
    ),
    "no bars": (
        {"rates.csv": "date,tenor_days,rate\n"},
        r"local: no bars",
    ),
    "dataset twice": (
        {"bars.csv": HEADER, "bars/AAA.csv": HEADER},
        r"dataset 'bars' is given twice",
    ),
    "empty file": (
        {"bars/AAA.csv": ""},
        r"bars/AAA.csv: empty file; expected a header line",
    ),
    "fractional volume": (
        {"bars.csv": HEADER + "2024-01-02,AAA,1,2,1,1,5.5\n"},
        r"bars.csv: column 'volume': line 2: got \['5.5'\]; expected a whole number",
    ),
    "text in a price": (
        {"bars.csv": HEADER + "2024-01-02,AAA,1,2,1,n/a,5\n"},
        r"bars.csv: column 'close': line 2: got \['n/a'\]; expected a finite number",
    ),
    "infinite price": (
        {"bars.csv": HEADER + "2024-01-02,AAA,1,inf,1,1,5\n"},
        r"bars.csv: column 'high': line 2: got \['inf'\]; expected a finite number",
    ),
    "missing required cell": (
        {"bars.csv": HEADER + "2024-01-02,,1,2,1,1,5\n"},
        r"bars.csv: column 'symbol': line 2: missing value",
    ),
    "split without ratio": (
        {"bars.csv": HEADER, "corporate_actions.csv": "symbol,event_type,ex_date\nAAA,split,2024-01-03\n"},
        r"corporate_actions.csv: column 'ratio': line 2: missing value; expected new shares per old share",
    ),
    "unknown column": (
        {"bars.csv": "date,symbol,open,high,low,close,volume,adj_close\n"},
        r"bars.csv: column 'adj_close': unknown column; expected columns among",
    ),
    "time of day": (
        {"bars.csv": HEADER + "2024-01-02 10:30,AAA,1,2,1,1,5\n"},
        r"bars.csv: column 'date': line 2: got \['2024-01-02 10:30'\]",
    ),
}


@pytest.mark.parametrize("files, message", BAD_LAYOUTS.values(), ids=BAD_LAYOUTS.keys())
def test_bad_layout_is_an_error_naming_file_column_and_line(tmp_path, files, message):
    root = _write(tmp_path / "local", files)
    with pytest.raises(LayoutError, match=message):
        data = _reader(root)
        for dataset in data.files:
            data.frame(dataset)


def test_empty_or_missing_directory_is_an_error_naming_it(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".DS_Store").write_text("")  # hidden files are ignored
    with pytest.raises(LayoutError, match=r"empty: data directory is empty; expected bars/"):
        discover(tmp_path / "empty")
    with pytest.raises(LayoutError, match=r"nowhere: data directory does not exist"):
        discover(tmp_path / "nowhere")


def test_tz_aware_parquet_dates_are_rejected(tmp_path):
    bars = pd.read_csv(EXAMPLE / "bars" / "AAA.csv", parse_dates=["date"])
    bars["date"] = bars["date"].dt.tz_localize("America/New_York")
    bars.to_parquet(tmp_path / "bars.parquet")
    with pytest.raises(LayoutError, match=r"bars.parquet: column 'date': time zone America/New_York"):
        _reader(tmp_path).frame("bars")


def test_window_before_the_calendar_range_returns_what_the_files_hold(tmp_path):
    """Ingestion looks back (previous closes, earlier corporate actions) before the range."""
    root = _write(tmp_path, {"bars.csv": HEADER + _bars("AAA", ["2023-12-29", *SESSIONS[:2]])})
    bars = _fetch_quietly(_reader(root), "bars", "2023-12-29", SESSIONS[1])
    assert bars["session_id"].tolist() == [-1, 0, 1]
    assert len(_reader(root).fetch("corporate_actions", "2023-01-01", "2023-12-31")) == 0
    assert len(_reader(root).missing_sessions("2023-01-01", "2023-12-31")) == 0


def test_every_layout_column_set_matches_its_schema():
    for dataset, layout in LAYOUTS.items():
        fetched = set(empty_frame(dataset, fetched=True).columns)
        assert fetched >= set(layout.names) - ({"list_date"} if dataset == "symbols" else set())


# --------------------------------------------------------------------------------- gaps
@settings(max_examples=40, deadline=None)
@given(st.data())
def test_missing_sessions_are_exactly_the_removed_bars(tmp_path_factory, data):
    """Gaps are the listed (symbol, session) cells without a bar: nothing more, nothing less."""
    symbols = ["AAA", "BBB", "CCC"]
    cells = [(s, d) for s in symbols for d in SESSIONS]
    removed = set(data.draw(st.sets(st.sampled_from(cells[len(SESSIONS) :]), max_size=15)))
    # AAA keeps every bar (the data runs to the last session); listings come from symbols.csv.
    text = HEADER + "".join(_bars(s, [d]) for s, d in cells if (s, d) not in removed)
    ref = "symbol,sector,shares_outstanding,list_date\n" + "".join(f"{s},Energy,1e6,{START}\n" for s in symbols)
    root = _write(tmp_path_factory.mktemp("gaps"), {"bars.csv": text, "symbols.csv": ref})
    gaps = _reader(root).missing_sessions()
    assert set(map(tuple, gaps.values.tolist())) == removed


def test_no_gap_after_delisting_but_trailing_gap_without_one(tmp_path):
    root = _write(
        tmp_path,
        {
            "bars.csv": HEADER + _bars("AAA", SESSIONS) + _bars("BBB", SESSIONS[:10]) + _bars("CCC", SESSIONS[:10]),
            "delistings.csv": f"symbol,delist_date,reason,delisting_return\nBBB,{SESSIONS[9].date()},merger,0.1\n",
        },
    )
    gaps = _reader(root).missing_sessions()
    assert set(gaps["symbol"]) == {"CCC"} and gaps["date"].tolist() == list(SESSIONS[10:])
