"""Boundary validation of vendor feeds and QC flags for option quotes.

Each ``validate_*`` function checks one feed against the data contract and raises
:class:`~quant_assets.market.errors.BadVendorData` naming the dataset, the field, the reason
and the offending rows (index labels of the delivered frame) at the first violated rule. They
run before anything is written: :func:`ingest_validated` validates, then writes, so a rejected
delivery leaves the store byte-identical.

Crossed (bid > ask), locked (bid == ask) and zero-bid option quotes are *data*, not errors:
:func:`flag_option_quotes` labels them in a ``qc_flag`` column kept in the raw layer and
:func:`usable_option_quotes` excludes them downstream.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from quant_assets.market.errors import BadVendorData
from quant_assets.market.lineage import validate_lineage
from quant_assets.market.store import ParquetStore, WriteResult

__all__ = [
    "BAR_COLUMNS",
    "CORPORATE_ACTION_COLUMNS",
    "DELISTING_COLUMNS",
    "FUNDAMENTAL_COLUMNS",
    "OPTION_QUOTE_COLUMNS",
    "QC_FLAGS",
    "RATE_COLUMNS",
    "flag_option_quotes",
    "ingest_validated",
    "usable_option_quotes",
    "validate_bars",
    "validate_corporate_actions",
    "validate_delistings",
    "validate_fundamentals",
    "validate_option_quotes",
    "validate_rates",
]

BAR_COLUMNS = ("date", "symbol", "open", "high", "low", "close", "vwap", "volume",
               "nbbo_spread", "trades", "session_id")
CORPORATE_ACTION_COLUMNS = ("symbol", "event_type", "announce_date", "ex_date", "record_date",
                            "pay_date", "ratio", "amount")
DELISTING_COLUMNS = ("symbol", "delist_date", "reason", "delisting_return")
FUNDAMENTAL_COLUMNS = ("symbol", "period_end", "report_date", "book_equity",
                       "shares_outstanding", "eps")
RATE_COLUMNS = ("date", "tenor_days", "rate")
OPTION_QUOTE_COLUMNS = ("date", "ts_ns", "underlier", "expiry", "strike", "cp_flag", "bid",
                        "ask", "bid_size", "ask_size", "nbbo_mid", "exchs_bitmap", "volume",
                        "open_interest")
QC_FLAGS = ("ok", "crossed", "locked", "zero_bid")
"""Values of ``qc_flag``; only ``"ok"`` quotes are usable downstream."""

_PRICE_FIELDS = ("open", "high", "low", "close", "vwap")
_EVENT_TYPES = ("split", "dividend")
_DELIST_REASONS = ("bankruptcy", "merger", "exchange_move")
_CP_FLAGS = ("C", "P")
_STREAM_KEY = ["underlier", "expiry", "strike", "cp_flag"]


# --------------------------------------------------------------------------- helpers
def _reject(dataset: str, field: str, mask: Any, df: pd.DataFrame, problem: str,
            detail: str = "") -> None:
    """Raise BadVendorData for the rows of ``df`` where boolean ``mask`` is True."""
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        raise BadVendorData(dataset, field, df.index[mask].tolist(), problem, detail)


def _require_columns(dataset: str, df: pd.DataFrame, columns: Iterable[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{dataset}: expected a pandas DataFrame, got {type(df).__name__}")
    for col in columns:
        if col not in df.columns:
            raise BadVendorData(dataset, col, [], "missing_column",
                                f"column '{col}' is absent from the delivery")


def _numeric(dataset: str, df: pd.DataFrame, col: str) -> np.ndarray:
    if len(df) == 0:
        return np.empty(0, dtype=float)
    if not pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
        raise BadVendorData(dataset, col, [], "not_numeric", f"dtype is {df[col].dtype}")
    return df[col].to_numpy(dtype=float, na_value=np.nan)


def _dates(dataset: str, df: pd.DataFrame, col: str) -> pd.Series:
    """The column as session dates; rejects non-datetime, tz-aware, NaT or non-midnight."""
    if len(df) == 0:
        return pd.Series(pd.DatetimeIndex([]), index=df.index, dtype="datetime64[ns]")
    if not pd.api.types.is_datetime64_any_dtype(df[col]):
        raise BadVendorData(dataset, col, [], "not_datetime", f"dtype is {df[col].dtype}")
    values = df[col]
    if getattr(values.dt, "tz", None) is not None:
        raise BadVendorData(dataset, col, [], "tz_aware",
                            "session dates must be tz-naive midnight timestamps")
    _reject(dataset, col, values.isna(), df, "missing")
    _reject(dataset, col, values != values.dt.normalize(), df, "not_midnight")
    return values


def _no_nan(dataset: str, df: pd.DataFrame, cols: Iterable[str]) -> None:
    for col in cols:
        _reject(dataset, col, df[col].isna(), df, "nan")


def _positive(dataset: str, df: pd.DataFrame, cols: Iterable[str]) -> None:
    for col in cols:
        values = _numeric(dataset, df, col)
        _reject(dataset, col, np.isnan(values), df, "nan")
        _reject(dataset, col, values <= 0, df, "non_positive")


def _non_negative(dataset: str, df: pd.DataFrame, cols: Iterable[str]) -> None:
    for col in cols:
        values = _numeric(dataset, df, col)
        _reject(dataset, col, np.isnan(values), df, "nan")
        _reject(dataset, col, values < 0, df, "negative")


def _unique(dataset: str, df: pd.DataFrame, key: Sequence[str]) -> None:
    _reject(dataset, ",".join(key), df.duplicated(list(key), keep=False), df, "duplicate")


def _known(dataset: str, df: pd.DataFrame, col: str,
           known_symbols: Collection[str] | None) -> None:
    if known_symbols is None:
        return
    known = pd.Index(list(known_symbols))
    _reject(dataset, col, ~df[col].isin(known), df, "unknown_symbol")


def _allowed(dataset: str, df: pd.DataFrame, col: str, values: Sequence[str]) -> None:
    _reject(dataset, col, ~df[col].isin(values), df, "unknown_value",
            f"allowed values are {list(values)}")


def _session_index(expected_sessions: Iterable[Any]) -> pd.DatetimeIndex:
    sessions = pd.DatetimeIndex(pd.to_datetime(list(expected_sessions)))
    if sessions.tz is not None or (sessions != sessions.normalize()).any():
        raise ValueError("expected_sessions must be tz-naive midnight session dates")
    return sessions


# ------------------------------------------------------------------------ validators
def validate_bars(
    df: pd.DataFrame,
    *,
    known_symbols: Collection[str],
    expected_sessions: Iterable[Any],
) -> None:
    """Reject a daily-bar delivery that breaks the contract.

    Rules, checked in order: required columns; prices (open, high, low, close, vwap) not NaN
    and > 0; volume, trades and nbbo_spread not NaN and >= 0; no duplicate (date, symbol);
    symbols known; every date one of ``expected_sessions`` and every expected session present
    (a session with no rows at all means the delivery is incomplete); OHLC consistent:
    ``low <= min(open, close)`` and ``max(open, close) <= high``.

    Parameters
    ----------
    df : pandas.DataFrame
        Raw bars (columns of :data:`BAR_COLUMNS`).
    known_symbols : collection of str
        Symbols of the reference master.
    expected_sessions : iterable of date-like
        Sessions the delivery must cover exactly.

    Raises
    ------
    BadVendorData
        At the first violated rule, naming the field and rows.

    Examples
    --------
    >>> bars = pd.DataFrame({"date": pd.to_datetime(["2024-01-02"]), "symbol": ["S0001"],
    ...     "open": [10.0], "high": [11.0], "low": [9.0], "close": [10.5], "vwap": [10.2],
    ...     "volume": [100], "nbbo_spread": [0.01], "trades": [5], "session_id": [0]})
    >>> validate_bars(bars, known_symbols={"S0001"}, expected_sessions=["2024-01-02"])
    >>> validate_bars(bars.assign(close=-1.0), known_symbols={"S0001"},
    ...               expected_sessions=["2024-01-02"])
    Traceback (most recent call last):
    ...
    quant_assets.market.errors.BadVendorData: bars: field 'close' has 1 bad row(s) \
(non_positive) at rows [0]
    """
    name = "bars"
    sessions = _session_index(expected_sessions)
    _require_columns(name, df, BAR_COLUMNS)
    dates = _dates(name, df, "date")
    _no_nan(name, df, ["symbol"])
    _positive(name, df, _PRICE_FIELDS)
    _non_negative(name, df, ["volume", "trades", "nbbo_spread"])
    _unique(name, df, ["date", "symbol"])
    _known(name, df, "symbol", known_symbols)
    _reject(name, "date", ~dates.isin(sessions), df, "unexpected_session",
            f"dates must be among the {len(sessions)} expected sessions")
    missing = sessions.difference(pd.DatetimeIndex(dates.unique()))
    if len(missing):
        raise BadVendorData(name, "date", [d.strftime("%Y-%m-%d") for d in missing],
                            "missing_session", "expected sessions with no rows at all")
    o, h, lo, c = (df[col].to_numpy(dtype=float) for col in ("open", "high", "low", "close"))
    _reject(name, "high", h < np.maximum(o, c), df, "ohlc_inconsistent",
            "high is below open or close")
    _reject(name, "low", lo > np.minimum(o, c), df, "ohlc_inconsistent",
            "low is above open or close")


def validate_corporate_actions(
    df: pd.DataFrame, *, known_symbols: Collection[str] | None
) -> None:
    """Reject a corporate-action delivery that breaks the contract.

    Rules: required columns; dates present and midnight; ``event_type`` in
    {"split", "dividend"}; split ``ratio`` not NaN and > 0; dividend ``amount`` not NaN and
    >= 0 (and ``ratio == 1`` on dividend rows); ``announce_date <= ex_date <= record_date <=
    pay_date``; symbols known; no duplicate (symbol, event_type, ex_date).

    Examples
    --------
    >>> ca = pd.DataFrame({"symbol": ["S0001"], "event_type": ["split"],
    ...     "announce_date": pd.to_datetime(["2024-01-02"]),
    ...     "ex_date": pd.to_datetime(["2024-01-10"]),
    ...     "record_date": pd.to_datetime(["2024-01-11"]),
    ...     "pay_date": pd.to_datetime(["2024-01-31"]), "ratio": [0.0], "amount": [0.0]})
    >>> validate_corporate_actions(ca, known_symbols={"S0001"})
    Traceback (most recent call last):
    ...
    quant_assets.market.errors.BadVendorData: corporate_actions: field 'ratio' has 1 bad \
row(s) (non_positive) at rows [0]: split ratio must be > 0
    """
    name = "corporate_actions"
    _require_columns(name, df, CORPORATE_ACTION_COLUMNS)
    dates = {col: _dates(name, df, col)
             for col in ("announce_date", "ex_date", "record_date", "pay_date")}
    _no_nan(name, df, ["symbol"])
    _allowed(name, df, "event_type", _EVENT_TYPES)
    ratio = _numeric(name, df, "ratio")
    amount = _numeric(name, df, "amount")
    split = (df["event_type"] == "split").to_numpy()
    _reject(name, "ratio", np.isnan(ratio), df, "nan")
    _reject(name, "ratio", split & (ratio <= 0), df, "non_positive", "split ratio must be > 0")
    _reject(name, "amount", np.isnan(amount), df, "nan")
    _reject(name, "amount", amount < 0, df, "negative", "dividend amount must be >= 0")
    _reject(name, "ratio", ~split & (ratio != 1.0), df, "not_one",
            "dividend rows carry ratio 1.0")
    _reject(name, "announce_date", dates["announce_date"] > dates["ex_date"], df,
            "after_ex_date", "an event cannot be announced after it goes ex")
    _reject(name, "record_date", dates["record_date"] < dates["ex_date"], df,
            "before_ex_date")
    _reject(name, "pay_date", dates["pay_date"] < dates["record_date"], df,
            "before_record_date")
    _known(name, df, "symbol", known_symbols)
    _unique(name, df, ["symbol", "event_type", "ex_date"])


def validate_delistings(df: pd.DataFrame, *, known_symbols: Collection[str] | None) -> None:
    """Reject a delisting delivery that breaks the contract.

    Rules: required columns; ``delist_date`` present and midnight; ``reason`` in
    {"bankruptcy", "merger", "exchange_move"}; ``delisting_return`` not NaN and >= -1
    (a holder cannot lose more than everything); symbols known; one delisting per symbol.

    Examples
    --------
    >>> d = pd.DataFrame({"symbol": ["S0001"], "delist_date": pd.to_datetime(["2024-03-01"]),
    ...                   "reason": ["bankruptcy"], "delisting_return": [-0.6]})
    >>> validate_delistings(d, known_symbols={"S0001"})
    """
    name = "delistings"
    _require_columns(name, df, DELISTING_COLUMNS)
    _dates(name, df, "delist_date")
    _no_nan(name, df, ["symbol"])
    _allowed(name, df, "reason", _DELIST_REASONS)
    dlret = _numeric(name, df, "delisting_return")
    _reject(name, "delisting_return", np.isnan(dlret), df, "nan")
    _reject(name, "delisting_return", dlret < -1.0, df, "below_minus_one")
    _known(name, df, "symbol", known_symbols)
    _unique(name, df, ["symbol"])


def validate_rates(df: pd.DataFrame) -> None:
    """Reject a rate-curve delivery: NaN rates, ``tenor_days <= 0``, duplicate (date, tenor).

    Examples
    --------
    >>> r = pd.DataFrame({"date": pd.to_datetime(["2024-01-02"]), "tenor_days": [0],
    ...                   "rate": [0.05]})
    >>> validate_rates(r)
    Traceback (most recent call last):
    ...
    quant_assets.market.errors.BadVendorData: rates: field 'tenor_days' has 1 bad row(s) \
(non_positive) at rows [0]
    """
    name = "rates"
    _require_columns(name, df, RATE_COLUMNS)
    _dates(name, df, "date")
    _positive(name, df, ["tenor_days"])
    rate = _numeric(name, df, "rate")
    _reject(name, "rate", ~np.isfinite(rate), df, "nan")
    _unique(name, df, ["date", "tenor_days"])


def validate_fundamentals(
    df: pd.DataFrame, *, known_symbols: Collection[str] | None = None
) -> None:
    """Reject a fundamentals delivery.

    Rules: required columns; dates present and midnight; ``shares_outstanding`` not NaN and
    > 0; ``book_equity`` not NaN (it may be negative); ``report_date > period_end`` (a report
    cannot arrive before, or on, the last day of its own period); symbols known; no duplicate
    (symbol, period_end, report_date).

    Examples
    --------
    >>> f = pd.DataFrame({"symbol": ["S0001"], "period_end": pd.to_datetime(["2024-03-29"]),
    ...     "report_date": pd.to_datetime(["2024-05-01"]), "book_equity": [1e9],
    ...     "shares_outstanding": [1e8], "eps": [0.4]})
    >>> validate_fundamentals(f, known_symbols={"S0001"})
    """
    name = "fundamentals"
    _require_columns(name, df, FUNDAMENTAL_COLUMNS)
    period_end = _dates(name, df, "period_end")
    report = _dates(name, df, "report_date")
    _no_nan(name, df, ["symbol"])
    _positive(name, df, ["shares_outstanding"])
    _reject(name, "book_equity", np.isnan(_numeric(name, df, "book_equity")), df, "nan")
    _reject(name, "report_date", report <= period_end, df, "not_after_period_end",
            "report_date must be after period_end")
    _known(name, df, "symbol", known_symbols)
    _unique(name, df, ["symbol", "period_end", "report_date"])


def validate_option_quotes(df: pd.DataFrame) -> None:
    """Reject an option-quote delivery that breaks the contract.

    Rules: required columns; ``cp_flag`` in {"C", "P"}; strike > 0; bid, ask not NaN and
    >= 0; sizes, volume, open interest >= 0; ``nbbo_mid`` not NaN; ``expiry >= date``;
    timestamps in delivery order: ``ts_ns`` never decreases within a contract stream
    (underlier, expiry, strike, cp_flag) nor across the whole file; no duplicate
    (contract, ts_ns). Crossed and locked quotes are *not* errors (see
    :func:`flag_option_quotes`).

    Examples
    --------
    >>> q = pd.DataFrame({"date": pd.to_datetime(["2024-01-02"] * 2),
    ...     "ts_ns": [2, 1], "underlier": ["S0001"] * 2,
    ...     "expiry": pd.to_datetime(["2024-01-19"] * 2), "strike": [100.0, 105.0],
    ...     "cp_flag": ["C", "C"], "bid": [1.0, 0.5], "ask": [1.1, 0.6], "bid_size": [1, 1],
    ...     "ask_size": [1, 1], "nbbo_mid": [1.05, 0.55], "exchs_bitmap": [3, 3],
    ...     "volume": [0, 0], "open_interest": [10, 10]})
    >>> validate_option_quotes(q)
    Traceback (most recent call last):
    ...
    quant_assets.market.errors.BadVendorData: option_quotes: field 'ts_ns' has 1 bad row(s) \
(out_of_order) at rows [1]: ts_ns decreases in delivery order
    """
    name = "option_quotes"
    _require_columns(name, df, OPTION_QUOTE_COLUMNS)
    dates = _dates(name, df, "date")
    _no_nan(name, df, ["underlier", "expiry"])
    _allowed(name, df, "cp_flag", _CP_FLAGS)
    _positive(name, df, ["strike"])
    _non_negative(name, df, ["bid", "ask", "bid_size", "ask_size", "volume", "open_interest"])
    _reject(name, "nbbo_mid", df["nbbo_mid"].isna(), df, "nan")
    _reject(name, "expiry", df["expiry"] < dates, df, "expired", "expiry before quote date")
    ts = _numeric(name, df, "ts_ns")
    _reject(name, "ts_ns", np.isnan(ts), df, "nan")
    ts_int = df["ts_ns"].astype("int64")
    stream_back = ts_int.groupby([df[c] for c in _STREAM_KEY], sort=False).diff() < 0
    _reject(name, "ts_ns", stream_back, df, "out_of_order",
            "ts_ns decreases within a contract stream (underlier, expiry, strike, cp_flag)")
    _reject(name, "ts_ns", ts_int.diff() < 0, df, "out_of_order",
            "ts_ns decreases in delivery order")
    _unique(name, df, [*_STREAM_KEY, "ts_ns"])


# ---------------------------------------------------------------------- option QC flags
def flag_option_quotes(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``df`` with a ``qc_flag`` column.

    ``"crossed"`` if bid > ask, else ``"locked"`` if bid == ask, else ``"zero_bid"`` if
    bid == 0, else ``"ok"``. Flagged quotes stay in the raw layer; downstream code keeps
    only ``"ok"`` rows via :func:`usable_option_quotes`.

    Examples
    --------
    >>> q = pd.DataFrame({"bid": [1.0, 1.2, 1.0, 0.0], "ask": [1.1, 1.1, 1.0, 0.05]})
    >>> flag_option_quotes(q)["qc_flag"].tolist()
    ['ok', 'crossed', 'locked', 'zero_bid']
    """
    _require_columns("option_quotes", df, ["bid", "ask"])
    bid = _numeric("option_quotes", df, "bid")
    ask = _numeric("option_quotes", df, "ask")
    flag = np.select([bid > ask, bid == ask, bid == 0.0], ["crossed", "locked", "zero_bid"],
                     default="ok")
    out = df.copy()
    out["qc_flag"] = pd.Series(flag, index=df.index, dtype=object)
    return out


def usable_option_quotes(df: pd.DataFrame) -> pd.DataFrame:
    """Rows whose ``qc_flag`` is ``"ok"`` (flags are computed if the column is absent).

    Raises ``ValueError`` if an existing ``qc_flag`` holds values outside :data:`QC_FLAGS`.

    Examples
    --------
    >>> q = pd.DataFrame({"bid": [1.0, 1.2], "ask": [1.1, 1.1]})
    >>> usable_option_quotes(q)["bid"].tolist()
    [1.0]
    """
    flagged = df if "qc_flag" in df.columns else flag_option_quotes(df)
    unknown = ~flagged["qc_flag"].isin(QC_FLAGS)
    if unknown.any():
        raise ValueError(
            f"qc_flag has unknown values at rows {flagged.index[unknown].tolist()[:10]}"
        )
    return flagged[flagged["qc_flag"] == "ok"]


# ----------------------------------------------------------------------------- ingest
def ingest_validated(
    store: ParquetStore,
    dataset: str,
    df: pd.DataFrame,
    *,
    validator: Callable[[pd.DataFrame], None],
    date_col: str,
    partitions: Sequence[Any],
    layer: str = "raw",
    immutable: bool = True,
    force: bool = False,
) -> list[WriteResult]:
    """Validate a delivery, then write it; nothing is written if validation fails.

    Parameters
    ----------
    store : ParquetStore
        Target store.
    dataset : str
        Dataset name, e.g. ``"bars"``.
    df : pandas.DataFrame
        The delivery with lineage columns (see :func:`~quant_assets.market.lineage.add_lineage`).
    validator : callable
        ``validator(df)`` raising :class:`BadVendorData` on bad input, e.g.
        ``functools.partial(validate_bars, known_symbols=..., expected_sessions=...)``.
    date_col : str
        Partitioning column.
    partitions : sequence of date-like
        Partitions the delivery covers (empty ones are written empty).
    layer : str, default "raw"
    immutable : bool, default True
    force : bool, default False
        As in :meth:`ParquetStore.write_window`.

    Returns
    -------
    list of WriteResult
    """
    validator(df)
    validate_lineage(df)
    return store.write_window(layer, dataset, df, date_col, partitions,
                              immutable=immutable, force=force)
