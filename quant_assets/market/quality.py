"""Boundary validation of vendor feeds and QC flags for option quotes.

One entry point, :func:`validate_feed`, checks a delivery against its data contract before
anything is stored; the raw assets (``quant_assets.market.feeds.ingest_feed``), the store-level
:func:`ingest_validated` and any other source call it. It raises
:class:`~quant_assets.market.errors.BadVendorData` naming the dataset, the column, the rule and
the first offending rows (with their values), in this order:

1. columns: every contract column present, no other column;
2. cell types: a stray string in a numeric column, a fractional count, a date delivered as text
   or tz-aware is reported at its row with its value;
3. the Pandera schema of the stored artifact (``quant_assets.schemas``, without lineage): ranges
   and plausibility bounds, uniqueness, and the row rules written there once (OHLC, VWAP in
   range, split ratios, option mid within the quote);
4. rules that need more than the frame: partition dates are sessions of the delivered window
   (and bars cover every one of them), symbols are in the symbol master, option timestamps are
   in delivery order and inside the quote's session, dividends are below
   :data:`~quant_assets.schemas.MAX_DIVIDEND_YIELD` of the previous close, and a split is never
   delivered twice (with a moved ex-date) within :data:`SPLIT_REDELIVERY_LOOKBACK`.

What is *not* rejected: a listed name missing on some sessions, zero volume with zero trades,
an outlier but internally consistent price (asset checks flag those), and crossed, locked or
zero-bid option quotes, which :func:`flag_option_quotes` labels in a ``qc_flag`` column kept in
the raw layer and :func:`usable_option_quotes` excludes downstream.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pandera.errors as pe

from quant_assets.calendars import session_table
from quant_assets.market.errors import BadVendorData
from quant_assets.market.lineage import LINEAGE_COLUMNS
from quant_assets.market.store import ParquetStore, WriteResult

__all__ = [
    "QC_FLAGS",
    "QUOTE_AFTER_CLOSE",
    "SPLIT_REDELIVERY_LOOKBACK",
    "flag_option_quotes",
    "ingest_validated",
    "usable_option_quotes",
    "validate_feed",
]

QC_FLAGS = ("ok", "crossed", "locked", "zero_bid")
"""Values of ``qc_flag``; only ``"ok"`` quotes are usable downstream."""

QUOTE_AFTER_CLOSE = pd.Timedelta(minutes=15)
"""Option snapshots are stamped between the session open and its close plus this (index and
ETF options trade until 16:15 New York); a ``ts_ns`` outside is a clock or date error."""

SPLIT_REDELIVERY_LOOKBACK = pd.Timedelta(days=365)
"""Stored corporate actions this far back are compared with a new delivery: the same split
(symbol, announce date, ratio) with another ex-date is a re-delivery, applied twice if stored."""

_SPLIT_KEY = ["symbol", "announce_date", "ratio"]
_STREAM_KEY = ["underlier", "expiry", "strike", "cp_flag"]


# ------------------------------------------------------------------------- helpers
def _reject(
    dataset: str,
    field: str,
    mask: Any,
    df: pd.DataFrame,
    problem: str,
    detail: str = "",
    values: pd.Series | None = None,
) -> None:
    """Raise BadVendorData for the rows of ``df`` where boolean ``mask`` is True."""
    mask = np.asarray(mask, dtype=bool)
    if mask.any():
        shown = values if values is not None else df[field] if field in df.columns else None
        vals = shown[mask].tolist() if shown is not None else ()
        raise BadVendorData(dataset, field, df.index[mask].tolist(), problem, detail, vals)


def _schemas():
    # Imported lazily: ``quant_assets.schemas`` imports this module for QC_FLAGS.
    from quant_assets import schemas

    return schemas


def _session_index(sessions: Iterable[Any]) -> pd.DatetimeIndex:
    out = pd.DatetimeIndex(pd.to_datetime(list(sessions)))
    if len(out) == 0:
        raise ValueError("sessions must name at least one session")
    if out.tz is not None or (out != out.normalize()).any():
        raise ValueError("sessions must be tz-naive midnight session dates")
    return out


# ------------------------------------------------------------ 1-3: frame against schema
def _check_columns(dataset: str, df: pd.DataFrame, schema) -> None:
    expected = list(schema.columns)
    for col in expected:
        if col not in df.columns:
            raise BadVendorData(dataset, col, [], "missing_column", f"column '{col}' is absent from the delivery")
    if schema.strict:
        extra = [c for c in df.columns if c not in schema.columns]
        if extra:
            raise BadVendorData(
                dataset, str(extra[0]), [], "unexpected_column", f"columns {extra} are not in the contract {expected}"
            )


def _first_bad_cell(dataset: str, df: pd.DataFrame, col: str, bad: pd.Series, problem: str, expected: str) -> None:
    _reject(dataset, col, bad.to_numpy(), df, problem, f"column dtype {df[col].dtype}, expected {expected}")


def _check_cells(dataset: str, df: pd.DataFrame, schema) -> None:
    """Dtype mismatches reported at the offending cells, before any range rule."""
    for col, column in schema.columns.items():
        expected = str(column.dtype)
        series = df[col]
        actual = series.dtype
        if str(actual) == expected:
            continue
        if expected.startswith(("int", "float")):
            if pd.api.types.is_bool_dtype(actual) or not (
                pd.api.types.is_numeric_dtype(actual) or pd.api.types.is_object_dtype(actual)
            ):
                raise BadVendorData(dataset, col, [], "dtype", f"dtype {actual}, expected {expected}")
            numbers = pd.to_numeric(series, errors="coerce")
            _first_bad_cell(dataset, df, col, numbers.isna() & series.notna(), "not_numeric", expected)
            if expected.startswith("int"):
                _first_bad_cell(dataset, df, col, numbers.isna(), "missing", expected)
                _first_bad_cell(dataset, df, col, numbers != np.floor(numbers), "not_integral", expected)
        elif expected.startswith("datetime64"):
            if isinstance(actual, pd.DatetimeTZDtype):
                raise BadVendorData(
                    dataset, col, [], "tz_aware", f"dtype {actual}: dates are tz-naive midnight timestamps"
                )
            is_text = series.map(lambda v: isinstance(v, str))
            _first_bad_cell(dataset, df, col, is_text, "not_datetime", expected)
        elif expected == "str" and not pd.api.types.is_object_dtype(actual):
            raise BadVendorData(dataset, col, [], "dtype", f"dtype {actual}, expected text")
        elif expected == "str":
            _first_bad_cell(
                dataset, df, col, series.notna() & ~series.map(lambda v: isinstance(v, str)), "not_text", expected
            )
        # Anything else (e.g. int32 for int64) is reported by the schema's dtype rule.


def _check_schema(dataset: str, df: pd.DataFrame, schema) -> None:
    """Run the Pandera schema; raise for the first failing rule.

    Column rules come first, in column order, then rules over several columns (uniqueness and
    the schema's dataframe checks, named by the columns they are about).
    """
    try:
        schema.validate(df, lazy=True)
    except pe.SchemaErrors as exc:
        frame_fields = _schemas().DATAFRAME_CHECK_FIELDS
        order = {c: i for i, c in enumerate(schema.columns)}
        failures: dict[tuple[str, str], list] = {}
        for column, check, row in exc.failure_cases[["column", "check", "index"]].itertuples(index=False):
            check = str(check)
            if check in frame_fields:
                field = frame_fields[check]
            elif check == "multiple_fields_uniqueness":
                field = ",".join(schema.unique or [])
            else:
                field = str(column)
            rows = failures.setdefault((field, check), [])
            if row is not None and not pd.isna(row) and row not in rows:
                rows.append(row)

        def rank(key: tuple[str, str]) -> tuple[int, int]:
            field = key[0]
            return ("," in field or key[1] in frame_fields, order.get(field.split(",")[0], len(order)))

        ranked = sorted(failures, key=rank)
        field, check = ranked[0]
        rows = failures[(field, check)]
        cols = field.split(",")
        values: list = []
        if rows and set(cols) <= set(df.columns):
            picked = df.loc[rows, cols]
            values = picked[cols[0]].tolist() if len(cols) == 1 else picked.to_dict("records")
        elif not rows:
            cases = exc.failure_cases
            values = cases.loc[(cases["check"].astype(str) == check), "failure_case"].tolist()
        others = [f"{f}:{c}" for f, c in ranked[1:6]]
        detail = f"schema {schema.name}" + (f"; also failing: {others}" if others else "")
        raise BadVendorData(dataset, field, rows, check, detail, values) from None


# --------------------------------------------------------------- 4: rules beyond the frame
def _check_window(dataset: str, df: pd.DataFrame, date_col: str, sessions: pd.DatetimeIndex) -> None:
    _reject(
        dataset,
        date_col,
        ~df[date_col].isin(sessions),
        df,
        "outside_window",
        f"partition dates must be sessions of the window {sessions[0].date()}..{sessions[-1].date()}",
    )
    if dataset == "bars":
        missing = sessions.difference(pd.DatetimeIndex(df[date_col].unique()))
        if len(missing):
            raise BadVendorData(
                dataset,
                date_col,
                [d.strftime("%Y-%m-%d") for d in missing],
                "missing_session",
                "expected sessions with no rows at all",
            )


def _check_symbols(dataset: str, df: pd.DataFrame, col: str | None, known_symbols: Collection[str] | None) -> None:
    if col is None or known_symbols is None:
        return
    _reject(
        dataset, col, ~df[col].isin(pd.Index(list(known_symbols))), df, "unknown_symbol", "not in the symbol master"
    )


def _check_option_times(dataset: str, df: pd.DataFrame) -> None:
    ts = df["ts_ns"]
    back = ts.groupby([df[c] for c in _STREAM_KEY], sort=False).diff() < 0
    _reject(
        dataset,
        "ts_ns",
        back,
        df,
        "out_of_order",
        "ts_ns decreases within a contract stream (underlier, expiry, strike, cp_flag)",
    )
    _reject(dataset, "ts_ns", ts.diff() < 0, df, "out_of_order", "ts_ns decreases in delivery order")
    if len(df) == 0:
        return
    table = session_table(df["date"].min(), df["date"].max()).set_index("date")
    opens = df["date"].map(table["open_utc"]).map(lambda t: t.value)
    closes = df["date"].map(table["close_utc"] + QUOTE_AFTER_CLOSE).map(lambda t: t.value)
    _reject(
        dataset,
        "ts_ns",
        (ts < opens) | (ts > closes),
        df,
        "outside_session",
        f"ts_ns must lie between the quote date's session open and close + {QUOTE_AFTER_CLOSE}",
    )


def _check_dividends(dataset: str, df: pd.DataFrame, closes: pd.DataFrame | None) -> None:
    cap = _schemas().MAX_DIVIDEND_YIELD
    if closes is None:
        raise ValueError(
            f"{dataset}: pass closes= (date, symbol, close of the bars up to the window) "
            "so dividends can be checked against the previous close"
        )
    div = df[df["event_type"] == "dividend"]
    if len(div) == 0:
        return
    prior = closes[["date", "symbol", "close"]].sort_values("date")
    asof = (
        pd.merge_asof(
            div[["ex_date", "symbol", "amount"]].reset_index().sort_values("ex_date"),
            prior,
            left_on="ex_date",
            right_on="date",
            by="symbol",
            allow_exact_matches=False,
        )
        .set_index("index")
        .reindex(df.index)
    )
    bad = (asof["amount"] >= cap * asof["close"]).fillna(False)
    _reject(
        dataset, "amount", bad, df, "dividend_above_cap", f"a dividend must be below {cap:.0%} of the previous close"
    )


def _check_split_redelivery(dataset: str, df: pd.DataFrame, history: pd.DataFrame | None) -> None:
    cols = [*_SPLIT_KEY, "ex_date"]
    splits = df[df["event_type"] == "split"]
    if len(splits) == 0:
        return
    seen = [splits[cols]]
    if history is not None and len(history):
        seen.append(history.loc[history["event_type"] == "split", cols])
    union = pd.concat(seen).drop_duplicates()
    twice = union[union.duplicated(_SPLIT_KEY, keep=False)]
    keys = pd.MultiIndex.from_frame(twice[_SPLIT_KEY])
    mask = pd.Series(False, index=df.index)
    mask[splits.index] = pd.MultiIndex.from_frame(splits[_SPLIT_KEY]).isin(keys)
    _reject(
        dataset,
        "ex_date",
        mask,
        df,
        "redelivered_split",
        "the same split (symbol, announce_date, ratio) is delivered with another ex_date",
    )


# ----------------------------------------------------------------------- entry point
def validate_feed(
    dataset: str,
    df: pd.DataFrame,
    *,
    sessions: Iterable[Any],
    known_symbols: Collection[str] | None = None,
    closes: pd.DataFrame | None = None,
    history: pd.DataFrame | None = None,
) -> None:
    """Reject a vendor delivery that breaks its data contract; return None if it is clean.

    Parameters
    ----------
    dataset : str
        Contract name, a key of ``quant_assets.schemas.DELIVERIES`` (``"bars"``,
        ``"corporate_actions"``, ``"delistings"``, ``"fundamentals"``, ``"earnings_calendar"``,
        ``"option_quotes"``, ``"symbols"``, ``"rates"``, ``"oracle"``, ``"option_oracle"``).
    df : pandas.DataFrame
        The delivery exactly as received: the contract's columns, no lineage, no ``qc_flag``.
    sessions : iterable of date-like
        The sessions of the delivered window; every partition date must be one of them (bars
        must also cover each of them).
    known_symbols : collection of str, optional
        The symbol master; required for every feed keyed by symbol or underlier (``None``
        skips the check, for the symbol master itself).
    closes : pandas.DataFrame, optional
        ``date``, ``symbol``, ``close`` of the bars up to the window's end, including the
        session before it. Required for ``"corporate_actions"`` (dividend plausibility).
    history : pandas.DataFrame, optional
        Corporate actions already stored (within :data:`SPLIT_REDELIVERY_LOOKBACK`), to catch a
        split delivered again with a moved ex-date.

    Raises
    ------
    BadVendorData
        At the first violated rule, naming dataset, column, rule, rows and values.

    Examples
    --------
    >>> bars = pd.DataFrame({"date": pd.to_datetime(["2024-01-02"]), "symbol": ["S0001"],
    ...     "open": [10.0], "high": [11.0], "low": [9.0], "close": [10.5], "vwap": [10.2],
    ...     "volume": [100], "nbbo_spread": [0.01], "trades": [5], "session_id": [0]})
    >>> validate_feed("bars", bars, sessions=["2024-01-02"], known_symbols={"S0001"})
    >>> validate_feed("bars", bars.assign(close=float("inf")), sessions=["2024-01-02"],
    ...               known_symbols={"S0001"})
    Traceback (most recent call last):
    ...
    quant_assets.market.errors.BadVendorData: bars: column 'close' breaks rule \
'less_than_or_equal_to(1000000.0)' at 1 row(s) [0], values [inf]: schema RawBars...
    """
    schemas = _schemas()
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{dataset}: expected a pandas DataFrame, got {type(df).__name__}")
    contract = schemas.DELIVERIES.get(dataset)
    if contract is None:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(schemas.DELIVERIES)}")
    window = _session_index(sessions)
    schema = schemas.delivery_schema(dataset)
    _check_columns(dataset, df, schema)
    _check_cells(dataset, df, schema)
    _check_schema(dataset, df, schema)
    _check_window(dataset, df, contract.date_col, window)
    _check_symbols(dataset, df, contract.symbol_col, known_symbols)
    if dataset == "option_quotes":
        _check_option_times(dataset, df)
    if dataset == "corporate_actions":
        _check_dividends(dataset, df, closes)
        _check_split_redelivery(dataset, df, history)


def _check_stored_extras(dataset: str, df: pd.DataFrame) -> pd.DataFrame:
    """Validate lineage (and an option ``qc_flag``); return the delivery columns."""
    lineage = [c for c in LINEAGE_COLUMNS if c in df.columns]
    missing = [c for c in LINEAGE_COLUMNS if c not in df.columns]
    if missing:
        raise BadVendorData(dataset, missing[0], [], "missing_column", "lineage columns are required")
    _check_schema(dataset, df[lineage], _schemas().Lineage.to_schema())
    extras = lineage
    if dataset == "option_quotes" and "qc_flag" in df.columns:
        _reject(
            dataset,
            "qc_flag",
            ~df["qc_flag"].isin(QC_FLAGS),
            df,
            "unknown_value",
            f"allowed values are {list(QC_FLAGS)}",
        )
        extras = [*lineage, "qc_flag"]
    return df.drop(columns=extras)


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
    bid = df["bid"].to_numpy(dtype=float)
    ask = df["ask"].to_numpy(dtype=float)
    flag = np.select([bid > ask, bid == ask, bid == 0.0], ["crossed", "locked", "zero_bid"], default="ok")
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
        raise ValueError(f"qc_flag has unknown values at rows {flagged.index[unknown].tolist()[:10]}")
    return flagged[flagged["qc_flag"] == "ok"]


# ----------------------------------------------------------------------------- ingest
def ingest_validated(
    store: ParquetStore,
    dataset: str,
    df: pd.DataFrame,
    *,
    sessions: Sequence[Any],
    known_symbols: Collection[str] | None = None,
    closes: pd.DataFrame | None = None,
    layer: str = "raw",
    immutable: bool = True,
    force: bool = False,
) -> list[WriteResult]:
    """Validate a delivery with :func:`validate_feed` and its lineage, then write its window.

    Nothing is written if validation fails. ``dataset`` is both the contract and the stored
    dataset name; the window's partitions are ``sessions`` (empty ones are written empty). For
    corporate actions the stored events within :data:`SPLIT_REDELIVERY_LOOKBACK` before the
    window are the ``history`` a re-delivered split is detected against.

    Parameters
    ----------
    store : ParquetStore
        Target store.
    dataset : str
        Contract and dataset name, e.g. ``"bars"``.
    df : pandas.DataFrame
        The delivery with lineage columns (see :func:`~quant_assets.market.lineage.add_lineage`)
        and, for option quotes, optionally the ``qc_flag`` of :func:`flag_option_quotes`.
    sessions, known_symbols, closes
        As in :func:`validate_feed`.
    layer : str, default "raw"
    immutable : bool, default True
    force : bool, default False
        As in :meth:`ParquetStore.write_window`.

    Returns
    -------
    list of WriteResult
    """
    window = _session_index(sessions)
    delivery = _check_stored_extras(dataset, df)
    history = None
    if dataset == "corporate_actions":
        history = store.read_window(
            layer, dataset, window[0] - SPLIT_REDELIVERY_LOOKBACK, window[-1], allow_missing=True
        )
    validate_feed(dataset, delivery, sessions=window, known_symbols=known_symbols, closes=closes, history=history)
    date_col = _schemas().DELIVERIES[dataset].date_col
    return store.write_window(layer, dataset, df, date_col, list(window), immutable=immutable, force=force)
