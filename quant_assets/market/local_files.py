"""Bring your own data: daily bars and reference feeds read from a directory of files.

Layout
------
A data directory holds one entry per dataset, either a single file ``<dataset>.csv`` or
``<dataset>.parquet``, or a directory ``<dataset>/`` of such files (e.g. one per symbol or
per year; their rows are concatenated)::

    my_data/
      bars/                    required: daily bars (AAA.csv, BBB.csv, ... any names)
      corporate_actions.csv    optional: splits and cash dividends
      delistings.csv           optional
      fundamentals.csv         optional
      earnings_calendar.csv    optional
      rates.csv                optional
      symbols.csv              optional: reference data, one row per symbol
      option_quotes.parquet    optional

Files whose names start with ``.`` are ignored; any other entry is an error. Headers are
matched after stripping blanks and lower-casing; a ``columns`` mapping renames other headers
(``{"ticker": "symbol"}``) or drops them (``{"adj close": None}``); any column left that is
not in the dataset's layout (:data:`quant_assets.market.local_layout.LAYOUTS`: columns,
kinds, defaults) is an error. Dates are ``YYYY-MM-DD`` (or Parquet date/timestamp columns at
midnight, without time zone). A column or an empty cell of an optional column takes its
documented default; a required value that is absent is an error. Dates that assign a row
to a session (``date``, ``ex_date``, ``announce_date``, ...) must be XNYS sessions.

What is checked here is the file layout and the cell types only: every error names the file,
the column, the line (CSV, header = line 1) or row (Parquet, 0-based) and what was expected.
The data contract of each feed (prices positive, OHLC consistent, known symbols, complete
sessions, ...) is enforced when the graph ingests a window (:mod:`quant_assets.market.feeds`),
exactly as for any other source.

Sessions come from the exchange calendar: a listed name without a bar on a session is a
gap, reported by :meth:`LocalFiles.missing_sessions` and a :class:`MissingSessionsWarning`,
never filled.

Example
-------
>>> from quant_assets.config import REPO_ROOT
>>> data = LocalFiles(REPO_ROOT / "examples" / "local_data", "2024-01-02", "2024-01-31")
>>> data.fetch("bars", "2024-01-02", "2024-01-02")[["symbol", "close"]].values.tolist()[:2]
[['AAA', 95.41], ['BBB', 51.53]]
>>> len(data.missing_sessions())  # names without a bar on a session they are listed on
0
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from quant_assets.calendars import sessions_in_range
from quant_assets.calendars.sessions import CALENDAR_END, CALENDAR_START
from quant_assets.market.local_layout import (
    DTYPES,
    LAYOUT_VERSION,
    LAYOUTS,
    MAX_SHOWN,
    SNAPSHOT_COLUMNS,
    SUFFIXES,
    Column,
    DatasetLayout,
    LayoutError,
    empty_frame,
)

__all__ = [
    "LAYOUTS",
    "LAYOUT_VERSION",
    "Column",
    "DatasetLayout",
    "LayoutError",
    "LocalFiles",
    "MissingSessionsWarning",
    "discover",
    "empty_frame",
    "read_dataset",
]

_EXPECTED = {
    "date": "a date YYYY-MM-DD",
    "str": "non-empty text",
    "float": "a finite number",
    "int": "a whole number",
    "bool": "true or false",
}
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class MissingSessionsWarning(UserWarning):
    """Listed names without a bar on some sessions (gaps are reported, never filled)."""


# --------------------------------------------------------------------------- discovery
def discover(root: Path | str) -> dict[str, list[Path]]:
    """The files of each dataset found in ``root``.

    Raises
    ------
    LayoutError
        ``root`` missing or empty, no ``bars``, an entry of an unknown kind or suffix, a
        dataset given both as a file and a directory, or a dataset directory without files.
    """
    root = Path(root)
    if not root.is_dir():
        raise LayoutError(root, "data directory does not exist")
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    if not entries:
        raise LayoutError(
            root, "data directory is empty", expected="bars/ or bars.csv (see quant_assets.market.local_files)"
        )
    found: dict[str, list[Path]] = {}
    for entry in entries:
        kind = entry.name if entry.is_dir() else entry.name.removesuffix(entry.suffix)
        if kind not in LAYOUTS:
            raise LayoutError(
                entry,
                f"unknown dataset {kind!r}",
                expected=f"one of {sorted(LAYOUTS)} as <dataset>.csv, <dataset>.parquet or a <dataset>/ directory",
            )
        if kind in found:
            raise LayoutError(
                entry,
                f"dataset {kind!r} is given twice ({found[kind][0].name} too)",
                expected="one file or one directory per dataset",
            )
        files = _dataset_files(entry) if entry.is_dir() else [_checked_suffix(entry)]
        found[kind] = files
    if "bars" not in found:
        raise LayoutError(root, "no bars", expected="bars/ or bars.csv or bars.parquet")
    return found


def _checked_suffix(path: Path) -> Path:
    if path.is_dir() or path.suffix.lower() not in SUFFIXES:
        raise LayoutError(path, "not a data file", expected=f"a file ending in {' or '.join(SUFFIXES)}")
    return path


def _dataset_files(directory: Path) -> list[Path]:
    files = [_checked_suffix(p) for p in sorted(directory.iterdir()) if not p.name.startswith(".")]
    if not files:
        raise LayoutError(
            directory, "dataset directory holds no files", expected=f"files ending in {' or '.join(SUFFIXES)}"
        )
    return files


# ----------------------------------------------------------------------------- parsing
def _read_file(path: Path) -> tuple[pd.DataFrame, str]:
    """The file's cells (CSV as text) and the name of its row unit."""
    if path.suffix.lower() == ".csv":
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise LayoutError(path, "empty file", expected="a header line naming the columns") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise LayoutError(path, f"not readable as CSV ({exc})") from None
        return df, "line"
    try:
        return pd.read_parquet(path), "row"
    except Exception as exc:  # pyarrow raises several types for foreign files
        raise LayoutError(path, f"not readable as Parquet ({type(exc).__name__}: {exc})") from None


def _where(index: pd.Index, unit: str) -> list[str]:
    offset = 2 if unit == "line" else 0  # CSV: header is line 1
    return [f"{unit} {int(i) + offset}" for i in index]


def _fail(path: Path, unit: str, column: str, bad: pd.Series, values: pd.Series, problem: str, expected: str) -> None:
    if bad.any():
        shown = values[bad].head(MAX_SHOWN).tolist()
        raise LayoutError(
            path,
            f"{problem} {shown!r}" if problem.endswith("got") else problem,
            column=column,
            where=_where(bad[bad].index, unit),
            expected=expected,
        )


def _is_text(values: pd.Series) -> bool:
    """Only strings (or missing cells): what every CSV column is."""
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def _as_text(values: pd.Series) -> pd.Series:
    """Strings stripped of surrounding blanks; other cells unchanged."""
    if _is_text(values):
        stripped = pc.utf8_trim_whitespace(pa.array(values, type=pa.string(), from_pandas=True))
        return pd.Series(stripped.to_numpy(zero_copy_only=False), index=values.index, dtype=object)
    return values.map(lambda v: v.strip() if isinstance(v, str) else v)


def _coerce(path: Path, unit: str, col: Column, values: pd.Series) -> pd.Series:
    """``values`` as the column's kind; unparsable cells are an error (missing cells stay missing)."""
    expected = _EXPECTED[col.kind]
    if col.kind == "date":
        if pd.api.types.is_datetime64_any_dtype(values):
            if getattr(values.dt, "tz", None) is not None:
                raise LayoutError(
                    path, f"time zone {values.dt.tz}", column=col.name, expected="dates without a time zone"
                )
            out = values.astype("datetime64[ns]")
        else:
            text = _as_text(values)
            if not _is_text(text):  # e.g. Parquet date32 columns: datetime.date objects
                text = text.map(lambda v: v.isoformat() if isinstance(v, _dt.date) else v)
            if _is_text(text):
                parsed = pc.strptime(
                    pa.array(text, type=pa.string(), from_pandas=True), "%Y-%m-%d", "ns", error_is_null=True
                )
                out = pd.Series(parsed.to_numpy(zero_copy_only=False), index=text.index).astype("datetime64[ns]")
            else:
                out = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
            _fail(path, unit, col.name, out.isna() & text.notna(), text, "got", expected)
        _fail(
            path, unit, col.name, out.notna() & (out != out.dt.normalize()), out, "got", "a date without a time of day"
        )
        return out
    if col.kind == "str":
        text = _as_text(values)
        if not _is_text(text):
            _fail(path, unit, col.name, text.notna() & ~text.map(lambda v: isinstance(v, str)), text, "got", expected)
        return text.where(text != "", None).astype(object)
    if col.kind == "bool":
        if pd.api.types.is_bool_dtype(values):
            return values.astype(object)
        text = _as_text(values).map(lambda v: str(v).lower() if v is not None and v == v else v)
        out = text.map(lambda v: True if v in _TRUE else False if v in _FALSE else None)
        _fail(path, unit, col.name, out.isna() & text.notna(), values, "got", expected)
        return out.astype(object)
    if pd.api.types.is_bool_dtype(values):
        raise LayoutError(path, "holds true/false values", column=col.name, expected=expected)
    text = values
    out = _to_float(text)
    _fail(path, unit, col.name, out.isna() & text.notna(), text, "got", expected)
    _fail(path, unit, col.name, np.isinf(out), text, "got", expected)
    if col.kind == "int":
        _fail(path, unit, col.name, out.notna() & (out != np.round(out)), text, "got", expected)
    return out


def _to_float(values: pd.Series) -> pd.Series:
    """Correctly rounded floats (``pd.to_numeric`` is not); unparsable cells become NaN."""
    try:
        if _is_text(values):
            parsed = pc.cast(pa.array(values, type=pa.string(), from_pandas=True), pa.float64())
            return pd.Series(parsed.to_numpy(zero_copy_only=False), index=values.index, dtype="float64")
        return values.astype("float64")
    except (TypeError, ValueError, pa.ArrowInvalid):

        def one(v):
            try:
                return float(v)
            except (TypeError, ValueError):
                return np.nan

        return values.map(one).astype("float64")


def _parse_file(path: Path, layout: DatasetLayout, rename: Mapping[str, str | None]) -> pd.DataFrame:
    df, unit = _read_file(path)
    names = [str(c).strip().lower() for c in df.columns]
    names = [rename.get(n, n) for n in names]
    keep = [n is not None for n in names]
    df = df.loc[:, keep].set_axis([n for n in names if n is not None], axis=1)
    dupes = sorted({n for n in df.columns if list(df.columns).count(n) > 1})
    if dupes:
        raise LayoutError(path, "column given twice (after renaming)", column=dupes[0], expected="one column per name")
    unknown = [c for c in df.columns if c not in layout.names]
    if unknown:
        raise LayoutError(
            path,
            "unknown column",
            column=unknown[0],
            expected=f"columns among {list(layout.names)} (rename or drop others with "
            "the profile's source.columns mapping)",
        )
    for col in layout.columns:
        if col.required and col.name not in df.columns:
            raise LayoutError(
                path,
                "missing column",
                column=col.name,
                expected=f"the required columns {[c.name for c in layout.columns if c.required]}",
            )
    df = df.reset_index(drop=True)
    out = pd.DataFrame(index=df.index)
    for col in layout.columns:
        if col.name in df.columns:
            out[col.name] = _coerce(path, unit, col, df[col.name])
        else:
            out[col.name] = pd.Series(
                pd.NaT if col.kind == "date" else None,
                index=df.index,
                dtype=DTYPES[col.kind] if col.kind == "date" else object,
            )
        missing = out[col.name].isna()
        if col.required:
            _fail(path, unit, col.name, missing, out[col.name], "missing value", "a value in every row")
        elif col.default is not None and missing.any():
            default = col.default(out) if callable(col.default) else col.default
            filled = pd.Series(default, index=out.index) if np.isscalar(default) else default
            out.loc[missing, col.name] = filled[missing]
            _fail(path, unit, col.name, out[col.name].isna(), out[col.name], "missing value", col.doc or "a value")
    out = out.astype({c.name: DTYPES[c.kind] for c in layout.columns})
    _check_sessions(path, unit, layout, out)
    out.attrs["where"] = (str(path), unit)
    return out


def _check_sessions(path: Path, unit: str, layout: DatasetLayout, df: pd.DataFrame) -> None:
    for name in layout.session_cols:
        dates = df[name]
        if not len(dates):
            continue
        lo = max(dates.min(), pd.Timestamp(CALENDAR_START))
        hi = min(dates.max(), pd.Timestamp(CALENDAR_END))
        valid = sessions_in_range(lo, hi) if lo <= hi else pd.DatetimeIndex([])
        bad = ~dates.isin(valid)
        if bad.any():
            first = dates[bad].iloc[0]
            raise LayoutError(
                path,
                f"{first.date()} ({first.day_name()}) is not an XNYS session",
                column=name,
                where=_where(bad[bad].index, unit),
                expected=f"XNYS sessions between {CALENDAR_START} and {CALENDAR_END}",
            )


def read_dataset(files: list[Path], dataset: str, rename: Mapping[str, str | None] | None = None) -> pd.DataFrame:
    """Parse and concatenate a dataset's files; duplicate keys across all files are an error.

    Returns a frame with the layout's columns in its order and their dtypes (``str`` as
    object), defaults filled, sorted by the layout's key.
    """
    layout = LAYOUTS[dataset]
    rename = {str(k).strip().lower(): v for k, v in (rename or {}).items()}
    parts = [_parse_file(Path(f), layout, rename) for f in files]
    origins = [p.attrs.pop("where") for p in parts]
    df = pd.concat(parts, ignore_index=True)
    dup = df.duplicated(list(layout.key), keep=False).to_numpy()
    if dup.any():
        first = df.loc[dup, list(layout.key)].iloc[0]
        same = np.flatnonzero((df[list(layout.key)] == first).all(axis=1).to_numpy())
        part = np.repeat(np.arange(len(parts)), [len(p) for p in parts])[same]
        row = same - np.concatenate([[0], np.cumsum([len(p) for p in parts])])[part]
        places = [f"{origins[k][0]} {_where([r], origins[k][1])[0]}" for k, r in zip(part, row)]
        raise LayoutError(
            origins[part[0]][0],
            f"duplicate {dict(first.astype(str))} at " + ", ".join(places),
            column=",".join(layout.key),
            expected="one row per key",
        )
    return df.sort_values(list(layout.key), kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------ reader
class LocalFiles:
    """A directory of daily data files, read for the sessions of ``[start, end]``.

    Parameters
    ----------
    root : path
        The data directory (layout in the module docstring).
    start, end : date-like
        The calendar range (the profile's); sessions come from the XNYS calendar.
    columns : mapping, optional
        Header renames applied to every file (``{"ticker": "symbol", "adj close": None}``).

    Files are listed at construction (layout errors surface at once) and parsed on first use.
    """

    def __init__(self, root: Path | str, start, end, columns: Mapping[str, str | None] | None = None):
        self.root = Path(root)
        self.sessions = sessions_in_range(start, end)
        self.columns = dict(columns or {})
        self.files = discover(self.root)
        self._frames: dict[str, pd.DataFrame] = {}

    def frame(self, dataset: str) -> pd.DataFrame:
        """Every row of a dataset's files (empty with its columns if the dataset is absent)."""
        if dataset not in LAYOUTS:
            raise ValueError(f"unknown dataset {dataset!r}; local files hold {sorted(LAYOUTS)}")
        if dataset not in self._frames:
            files = self.files.get(dataset)
            self._frames[dataset] = read_dataset(files, dataset, self.columns) if files else empty_frame(dataset)
        return self._frames[dataset]

    def _window(self, start, end, *, in_range: bool = False) -> pd.DatetimeIndex:
        """XNYS sessions in ``[start, end]`` (``in_range``: only those of the calendar range)."""
        a, b = pd.Timestamp(start), pd.Timestamp(end)
        if b < a:
            raise ValueError(f"window end {b.date()} is before its start {a.date()}")
        if in_range:
            return self.sessions[(self.sessions >= a) & (self.sessions <= b)]
        a, b = max(a, pd.Timestamp(CALENDAR_START)), min(b, pd.Timestamp(CALENDAR_END))
        return sessions_in_range(a, b) if a <= b else pd.DatetimeIndex([], name="date")

    def fetch(self, dataset: str, start, end) -> pd.DataFrame:
        """The rows of ``dataset`` whose session falls in ``[start, end]``, in the graph's columns.

        Bars gain ``session_id`` (sessions since the calendar range's first session) and warn
        (:class:`MissingSessionsWarning`) when a listed name lacks a session of the window;
        symbols are per-session snapshots of the names listed on each session.
        """
        window = self._window(start, end)
        if dataset == "symbols":
            return self._snapshots(window)
        df = self.frame(dataset)
        a, b = pd.Timestamp(start), pd.Timestamp(end)
        out = df[df[LAYOUTS[dataset].window_col].between(a, b)].reset_index(drop=True)
        if dataset == "bars":
            out["session_id"] = (
                _all_sessions().get_indexer(out["date"]) - _all_sessions().get_loc(self.sessions[0])
            ).astype("int64")
            gaps = self.missing_sessions(a, b)
            if len(gaps):
                warnings.warn(MissingSessionsWarning(_gap_summary(gaps)), stacklevel=2)
        return out

    def symbol_master(self) -> pd.DataFrame:
        """``symbol, sector, list_date, delist_date, delist_reason`` for every name.

        From ``symbols`` when given (``list_date`` defaulting to the first bar), else derived
        from the bars (listed from the first bar; ``sector`` unknown). Delistings come from
        ``delistings``.
        """
        bars = self.frame("bars")
        first_bar = bars.groupby("symbol")["date"].min()
        ref = self.frame("symbols")
        if len(ref):
            master = ref[["symbol", "sector", "list_date"]].copy()
            master["list_date"] = master["list_date"].fillna(master["symbol"].map(first_bar))
            orphan = master["list_date"].isna()
            if orphan.any():
                raise LayoutError(
                    self.files["symbols"][0],
                    "no list_date and no bars for the symbol",
                    column="list_date",
                    where=master.loc[orphan, "symbol"].tolist(),
                    expected="a list_date for symbols without bars",
                )
        else:
            master = pd.DataFrame(
                {"symbol": first_bar.index.astype(object), "sector": None, "list_date": first_bar.to_numpy()}
            )
        delist = self.frame("delistings").set_index("symbol")
        master["delist_date"] = master["symbol"].map(delist["delist_date"]).astype("datetime64[ns]")
        master["delist_reason"] = master["symbol"].map(delist["reason"]).astype(object)
        master["delist_reason"] = master["delist_reason"].where(master["delist_reason"].notna(), None)
        return master.sort_values("symbol").reset_index(drop=True)

    def missing_sessions(self, start=None, end=None) -> pd.DataFrame:
        """``symbol, date`` of every session a listed name has no bar on, within ``[start, end]``.

        A name is listed from its ``list_date`` to its delisting (inclusive), or to the last
        session any bar is delivered for; sessions before the calendar range are not counted.
        """
        window = self._window(start or self.sessions[0], end or self.sessions[-1], in_range=True)
        if not len(window):
            return pd.DataFrame({"symbol": pd.Series(dtype=object), "date": pd.Series(dtype="datetime64[ns]")})
        bars = self.frame("bars")
        master = self.symbol_master()
        data_end = bars["date"].max() if len(bars) else window[0] - pd.Timedelta(days=1)
        ends = master["delist_date"].fillna(data_end).clip(upper=data_end)
        lo = window.searchsorted(master["list_date"].to_numpy(), side="left")
        hi = window.searchsorted(ends.to_numpy(), side="right")
        counts = np.maximum(hi - lo, 0)
        idx = np.concatenate([np.arange(a, a + n) for a, n in zip(lo, counts)] or [np.array([], int)])
        expected = pd.DataFrame(
            {"symbol": np.repeat(master["symbol"].to_numpy(), counts), "date": window[idx.astype(int)]}
        )
        have = pd.MultiIndex.from_frame(bars[["symbol", "date"]])
        gaps = expected[~pd.MultiIndex.from_frame(expected).isin(have)]
        return gaps.reset_index(drop=True)

    def _snapshots(self, window: pd.DatetimeIndex) -> pd.DataFrame:
        ref = self.frame("symbols")
        if not len(ref):
            return empty_frame("symbols", fetched=True)
        master = self.symbol_master().set_index("symbol")
        if not len(window):
            return empty_frame("symbols", fetched=True)
        ref = ref.assign(
            list_date=ref["symbol"].map(master["list_date"]),
            _end=ref["symbol"].map(master["delist_date"]).fillna(window[-1]),
        )
        rows = ref.merge(pd.DataFrame({"date": window}), how="cross")
        rows = rows[(rows["list_date"] <= rows["date"]) & (rows["date"] <= rows["_end"])]
        out = rows.loc[:, list(SNAPSHOT_COLUMNS)].sort_values(["date", "symbol"])
        return out.astype({"htb": bool}).reset_index(drop=True)


@lru_cache(maxsize=1)
def _all_sessions() -> pd.DatetimeIndex:
    return sessions_in_range(CALENDAR_START, CALENDAR_END)


def _gap_summary(gaps: pd.DataFrame) -> str:
    per_symbol = gaps.groupby("symbol")["date"].agg(["count", "min"])
    shown = ", ".join(f"{s} ({n}, first {d.date()})" for s, (n, d) in per_symbol.head(MAX_SHOWN).iterrows())
    more = len(per_symbol) - MAX_SHOWN
    return (
        f"{len(gaps)} missing session(s) for {len(per_symbol)} listed name(s): {shown}"
        + (f" and {more} more" if more > 0 else "")
        + "; gaps are not filled"
    )
