"""What a data directory of your own files must look like: datasets, columns, defaults.

One :class:`DatasetLayout` per dataset (:data:`LAYOUTS`): its columns with their kind
(``date``, ``str``, ``float``, ``int``, ``bool``), whether each is required or the default it
takes when the column or a cell is absent, its unique key and the date columns that must be
XNYS sessions. :mod:`quant_assets.market.local_files` reads directories against it.

Example
-------
>>> [c.name for c in LAYOUTS["bars"].columns if c.required]
['date', 'symbol', 'open', 'high', 'low', 'close', 'volume']
>>> list(empty_frame("rates").columns)
['date', 'tenor_days', 'rate']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DTYPES",
    "LAYOUTS",
    "LAYOUT_VERSION",
    "REQUIRED",
    "SNAPSHOT_COLUMNS",
    "SUFFIXES",
    "Column",
    "DatasetLayout",
    "LayoutError",
    "empty_frame",
]

LAYOUT_VERSION = "1"
"""Bumped when a default or a parsing rule changes (part of the source's fingerprint)."""

SUFFIXES = (".csv", ".parquet")
MAX_SHOWN = 5


class LayoutError(ValueError):
    """A file does not follow the documented layout.

    Attributes ``file``, ``column`` (``None`` for file-level problems), ``where`` (lines or
    rows) and ``expected`` say what is wrong and where.
    """

    def __init__(
        self,
        file: Path | str,
        problem: str,
        *,
        column: str | None = None,
        where: list[str] | None = None,
        expected: str = "",
    ) -> None:
        self.file, self.column, self.where, self.expected = str(file), column, where or [], expected
        parts = [self.file]
        if column is not None:
            parts.append(f"column {column!r}")
        if self.where:
            more = len(self.where) - MAX_SHOWN
            parts.append(", ".join(self.where[:MAX_SHOWN]) + (f" (+{more} more)" if more > 0 else ""))
        msg = ": ".join(parts) + f": {problem}"
        super().__init__(msg + (f"; expected {expected}" if expected else ""))


@dataclass(frozen=True)
class Column:
    """One column of a dataset's files.

    ``kind`` is ``date``, ``str``, ``float``, ``int`` or ``bool``. ``default`` is
    :data:`REQUIRED`, a value, a function of the parsed frame returning the defaults per
    row, or ``None`` (left missing, completed by the reader from another dataset).
    """

    name: str
    kind: str
    default: Any
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


REQUIRED = object()
"""Marks a column every file must have, with a value in every row."""


@dataclass(frozen=True)
class DatasetLayout:
    """The files of one dataset: columns, unique key and the columns holding sessions."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    session_cols: tuple[str, ...] = ()
    window_col: str | None = None
    doc: str = ""
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(c.name for c in self.columns))


def _req(name: str, kind: str, doc: str = "") -> Column:
    return Column(name, kind, REQUIRED, doc)


def _typical_price(df: pd.DataFrame) -> pd.Series:
    # (h + l + c) / 3 can round just outside [low, high] when they are equal.
    return ((df["high"] + df["low"] + df["close"]) / 3.0).clip(lower=df["low"], upper=df["high"])


def _split_ratio_default(df: pd.DataFrame) -> pd.Series:
    return pd.Series(np.where(df["event_type"] == "dividend", 1.0, np.nan), index=df.index)


def _dividend_amount_default(df: pd.DataFrame) -> pd.Series:
    return pd.Series(np.where(df["event_type"] == "split", 0.0, np.nan), index=df.index)


def _same_as(col: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: df[col]


_SYMBOL = _req("symbol", "str", "ticker as used across all files")

LAYOUTS: dict[str, DatasetLayout] = {
    layout.name: layout
    for layout in (
        DatasetLayout(
            "bars",
            (
                _req("date", "date", "session"),
                _SYMBOL,
                _req("open", "float", "unadjusted, currency units"),
                _req("high", "float"),
                _req("low", "float"),
                _req("close", "float"),
                _req("volume", "int", "shares traded, unadjusted"),
                Column("vwap", "float", _typical_price, "default: typical price (high + low + close) / 3"),
                Column(
                    "nbbo_spread",
                    "float",
                    0.01,
                    "closing quoted spread; default 0.01, the one-cent minimum tick (a lower bound)",
                ),
                Column("trades", "int", 0, "number of trades; default 0 (not delivered)"),
            ),
            key=("date", "symbol"),
            session_cols=("date",),
            window_col="date",
            doc="daily unadjusted bars, one row per (date, symbol)",
        ),
        DatasetLayout(
            "corporate_actions",
            (
                _SYMBOL,
                _req("event_type", "str", "split or dividend"),
                _req("ex_date", "date", "session"),
                Column(
                    "announce_date",
                    "date",
                    _same_as("ex_date"),
                    "session the event became known; default ex_date (the latest possible)",
                ),
                Column("record_date", "date", _same_as("ex_date"), "default ex_date"),
                Column("pay_date", "date", _same_as("record_date"), "default record_date"),
                Column(
                    "ratio",
                    "float",
                    _split_ratio_default,
                    "new shares per old share (2.0 for a 2-for-1 split); required on split rows, 1.0 on dividends",
                ),
                Column(
                    "amount",
                    "float",
                    _dividend_amount_default,
                    "cash per share; required on dividend rows, 0.0 on splits",
                ),
            ),
            key=("symbol", "event_type", "ex_date"),
            session_cols=("ex_date", "announce_date"),
            window_col="ex_date",
            doc="splits and cash dividends",
        ),
        DatasetLayout(
            "delistings",
            (
                _SYMBOL,
                _req("delist_date", "date", "last session with a bar"),
                _req("reason", "str", "bankruptcy, merger or exchange_move"),
                _req("delisting_return", "float", "return from the last close to the delisting value"),
            ),
            key=("symbol",),
            session_cols=("delist_date",),
            window_col="delist_date",
            doc="one row per delisted symbol",
        ),
        DatasetLayout(
            "fundamentals",
            (
                _SYMBOL,
                _req("period_end", "date"),
                _req("report_date", "date", "session the report became known"),
                _req("book_equity", "float"),
                _req("shares_outstanding", "float"),
                _req("eps", "float"),
            ),
            key=("symbol", "period_end"),
            session_cols=("report_date",),
            window_col="report_date",
            doc="quarterly fundamentals keyed by their arrival",
        ),
        DatasetLayout(
            "earnings_calendar",
            (_SYMBOL, _req("announce_date", "date", "session"), _req("earnings_date", "date")),
            key=("symbol", "announce_date", "earnings_date"),
            session_cols=("announce_date",),
            window_col="announce_date",
            doc="announced earnings dates",
        ),
        DatasetLayout(
            "rates",
            (
                _req("date", "date", "session"),
                _req("tenor_days", "int", "calendar days"),
                _req("rate", "float", "continuously compounded zero rate, fraction per year"),
            ),
            key=("date", "tenor_days"),
            session_cols=("date",),
            window_col="date",
            doc="risk-free zero curve per session",
        ),
        DatasetLayout(
            "symbols",
            (
                _SYMBOL,
                _req("sector", "str", "one of quant_assets.market.sectors.SECTORS"),
                _req("shares_outstanding", "float"),
                Column("list_date", "date", None, "default: the symbol's first bar"),
                Column("tick_size", "float", 0.01, "default 0.01"),
                Column(
                    "borrow_fee_bps",
                    "float",
                    25.0,
                    "default 25 bp/yr, the value-weighted average fee of D'Avolio (2002)",
                ),
                Column("htb", "bool", False, "hard to borrow; default false"),
            ),
            key=("symbol",),
            doc="reference data, one row per symbol; the graph's per-session snapshots are built from it",
        ),
        DatasetLayout(
            "option_quotes",
            (
                _req("date", "date", "session"),
                _req("ts_ns", "int", "snapshot time, ns since the epoch (UTC)"),
                _req("underlier", "str"),
                _req("expiry", "date"),
                _req("strike", "float"),
                _req("cp_flag", "str", "C or P"),
                _req("bid", "float"),
                _req("ask", "float"),
                _req("bid_size", "int"),
                _req("ask_size", "int"),
                _req("nbbo_mid", "float"),
                _req("exchs_bitmap", "int"),
                _req("volume", "int"),
                _req("open_interest", "int"),
            ),
            key=("date", "underlier", "expiry", "strike", "cp_flag"),
            session_cols=("date",),
            window_col="date",
            doc="option NBBO snapshots",
        ),
    )
}
"""The layout of every dataset a data directory may hold (only ``bars`` is required)."""

DTYPES = {"date": "datetime64[ns]", "str": object, "float": "float64", "int": "int64", "bool": bool}
# Columns the graph's frames carry beyond the files' columns.
_DERIVED = {"bars": {"session_id": "int64"}}
SNAPSHOT_COLUMNS = ("date", "symbol", "sector", "list_date", "tick_size", "borrow_fee_bps", "htb", "shares_outstanding")


def empty_frame(dataset: str, *, fetched: bool = False) -> pd.DataFrame:
    """No rows, the dataset's file columns and dtypes (``fetched``: the columns ``fetch`` returns)."""
    cols = {c.name: pd.Series(dtype=DTYPES[c.kind]) for c in LAYOUTS[dataset].columns}
    if fetched and dataset == "symbols":
        cols = {"date": pd.Series(dtype="datetime64[ns]"), **cols}
        cols = {name: cols[name] for name in SNAPSHOT_COLUMNS}
    if fetched:
        cols.update({name: pd.Series(dtype=dtype) for name, dtype in _DERIVED.get(dataset, {}).items()})
    return pd.DataFrame(cols)
