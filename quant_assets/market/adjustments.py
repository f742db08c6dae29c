r"""Corporate-action adjustments by our proportional method, computed point in time.

Method
------
Raw bars are stored unadjusted. Curation turns them into returns that are immune to splits
and include cash distributions; adjusted price histories are then *derived* from those
returns as known at a date, never stored back-adjusted (a split announced later would
otherwise rewrite history that research already saw).

For symbol :math:`i` on session :math:`t` with raw close :math:`P_t`, previous raw close
:math:`P_{t-1}`, split ratio :math:`k_t` (new shares per old share going ex on :math:`t`, 1
otherwise) and cash dividend :math:`D_t` per pre-ex share going ex on :math:`t` (0 otherwise):

.. math::

    r^{price}_t = \frac{k_t P_t}{P_{t-1}} - 1, \qquad
    r^{total}_t = r^{price}_t + \frac{D_t}{P_{t-1}}
                = \frac{k_t P_t + D_t}{P_{t-1}} - 1 .

On a delisting session the delisting return :math:`\delta` (last close to the value finally
received, Shumway 1997) is compounded into the total return:
:math:`r^{total}_t \leftarrow (1 + r^{total}_t)(1 + \delta) - 1`. A name's first bar has no
previous close and gets NaN returns.

The adjusted history as known at ``asof`` uses only sessions :math:`\le` ``asof`` and is
anchored at the last raw close :math:`P_T`, :math:`T = \min(\text{asof}, \text{last bar})`:

.. math::

    \tilde P_t = P_T \Big/ \prod_{s \in (t, T]} (1 + r_s)
               = P_t \Big/ \prod_{s \in (t, T]} m_s ,
    \qquad m_s = k_s \;\; \text{(price)}, \quad m_s = k_s + D_s / P_s \;\; \text{(total)},

so the adjusted series' close-to-close returns reproduce :math:`r^{price}` (or
:math:`r^{total}` excluding the delisting return, which happens after the last close and is not
a price) exactly, with no jump on ex-dates. The multiplier :math:`1/\prod m_s` is applied to
open, high, low, close and VWAP; volume is multiplied by :math:`\prod k_s` (splits only).
The dividend factor :math:`1/(1 + D_s/(k_s P_s))` reinvests the dividend at the ex-date close
(the total-return convention of the CRSP holding-period return, which likewise compounds
splits via the price factor, *CRSP US Stock Database Guide*, "Returns"); it differs slightly
from the :math:`1 - D_s/P_{s-1}` factor some price vendors use. Because the history only ever
reads sessions up to ``asof``, nothing after ``asof`` (including later splits) can change it.

References
----------
Shumway, T. (1997). The delisting bias in CRSP data. *Journal of Finance* 52(1), 327-340.
Center for Research in Security Prices. *CRSP US Stock & Index Databases: Data Descriptions
Guide*, sections "Returns" and "Cumulative Factor to Adjust Prices".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quant_assets.market.errors import BadVendorData

__all__ = [
    "ADJUSTED_COLUMNS",
    "CURATED_COLUMNS",
    "curate_prices",
    "pit_adjusted_history",
]

CURATED_COLUMNS = (
    "date",
    "symbol",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "vwap",
    "split_ratio",
    "dividend",
    "ret_price",
    "ret_total",
    "is_delisting",
)
"""Columns of :func:`curate_prices` output, in order."""

ADJUSTED_COLUMNS = (
    "date",
    "symbol",
    "adj_open",
    "adj_high",
    "adj_low",
    "adj_close",
    "adj_vwap",
    "adj_volume",
    "adj_factor",
    "volume_factor",
)
"""Columns of :func:`pit_adjusted_history` output, in order."""

_RAW_COPY = ("open", "high", "low", "close", "volume", "vwap")


def _require(name: str, df: pd.DataFrame, columns: tuple[str, ...]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {missing}")


_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class _Panel:
    """Rows of a (date, symbol) panel keyed by integers, in (date, symbol) order.

    ``order`` maps panel position to input position; ``codes`` index ``symbols`` (sorted
    lexicographically); ``key = day * n_symbols + code`` is strictly increasing.
    """

    order: np.ndarray
    is_identity: bool
    symbols: pd.Index
    codes: np.ndarray
    day: np.ndarray
    key: np.ndarray

    def locate(self, symbols: Any, dates: Any) -> np.ndarray:
        """Panel positions of (symbol, date) pairs; -1 where there is no such row."""
        codes = self.symbols.get_indexer(pd.Index(symbols, dtype=object))
        day = pd.DatetimeIndex(dates).asi8 // _NS_PER_DAY
        key = day * len(self.symbols) + codes
        pos = np.searchsorted(self.key, key)
        pos_ok = np.minimum(pos, len(self.key) - 1)
        found = (codes >= 0) & (pos < len(self.key)) & (self.key[pos_ok] == key)
        return np.where(found, pos, -1)


def _panel(df: pd.DataFrame, name: str, asof: pd.Timestamp | None = None) -> _Panel:
    """Index the rows of ``df`` (those dated on or before ``asof`` if given) as a panel."""
    dates = pd.DatetimeIndex(df["date"])
    if dates.tz is not None or dates.hasnans or (dates.asi8 % _NS_PER_DAY != 0).any():
        raise ValueError(f"{name}.date must be tz-naive midnight dates without NaT")
    symbols_in = df["symbol"].to_numpy(dtype=object)
    day = dates.asi8 // _NS_PER_DAY
    rows = None
    if asof is not None:
        keep = dates.asi8 <= asof.value
        if not keep.all():
            rows = np.flatnonzero(keep)
            symbols_in, day = symbols_in[rows], day[rows]
    if pd.isna(symbols_in).any():
        raise ValueError(f"{name}.symbol has missing values")
    codes, symbols = pd.factorize(symbols_in, sort=True)
    key = day * max(len(symbols), 1) + codes
    order = np.arange(len(key))
    is_identity = rows is None
    if len(key) > 1 and not (np.diff(key) > 0).all():
        order = np.argsort(key, kind="stable")
        key = key[order]
        dup = np.flatnonzero(np.diff(key) == 0)
        if len(dup):
            pos = order[np.unique(np.r_[dup, dup + 1])]
            bad = df.index[pos if rows is None else rows[pos]].tolist()
            raise BadVendorData(name, "date,symbol", bad, "duplicate")
        codes, day = codes[order], day[order]
        is_identity = False
    if rows is not None:
        order = rows[order]
    return _Panel(order, is_identity, pd.Index(symbols, dtype=object), codes, day, key)


def _take(df: pd.DataFrame, col: str, panel: _Panel, dtype: Any = None) -> np.ndarray:
    """Column ``col`` of ``df`` in panel order."""
    values = df[col].to_numpy(dtype=dtype)
    return values if panel.is_identity else values[panel.order]


def _event_values(
    panel: _Panel,
    events: pd.DataFrame,
    value: str,
    how: str,
    dataset: str,
    date_col: str,
    default: float,
) -> np.ndarray:
    """Aggregate ``events[value]`` per (symbol, date_col) and align to the panel rows."""
    out = np.full(len(panel.key), default, dtype=float)
    if events.empty:
        return out
    pos = panel.locate(events["symbol"].to_numpy(dtype=object), events[date_col])
    if (pos < 0).any():
        raise BadVendorData(
            dataset,
            date_col,
            events.index[pos < 0].tolist(),
            "no_bar",
            f"no bar for the symbol on its {date_col} in the window",
        )
    agg = pd.Series(events[value].to_numpy(dtype=float), index=pos).groupby(level=0).agg(how)
    out[agg.index.to_numpy()] = agg.to_numpy()
    return out


def curate_prices(
    bars_window: pd.DataFrame,
    prev_close: pd.DataFrame,
    corporate_actions: pd.DataFrame,
    delistings: pd.DataFrame,
) -> pd.DataFrame:
    r"""Split- and distribution-aware returns for a window of raw bars.

    Implements :math:`r^{price}_t = k_t P_t / P_{t-1} - 1` and
    :math:`r^{total}_t = r^{price}_t + D_t / P_{t-1}`, compounded with the delisting return
    on a delisting session (see the module docstring). Each row depends only on its own bar,
    the previous raw close and that day's events, so curating one session at a time gives the
    same result as curating a window.

    Parameters
    ----------
    bars_window : pandas.DataFrame
        Raw bars for sessions ``[a, b]`` (at least date, symbol, open, high, low, close,
        volume, vwap).
    prev_close : pandas.DataFrame
        ``symbol, close``: raw closes at the session before ``a`` (empty at the first session).
    corporate_actions : pandas.DataFrame
        Events (symbol, event_type, ex_date, ratio, amount) with ``ex_date`` in ``[a, b]``.
    delistings : pandas.DataFrame
        ``symbol, delist_date, delisting_return`` with ``delist_date`` in ``[a, b]``.

    Returns
    -------
    pandas.DataFrame
        :data:`CURATED_COLUMNS`, one row per bar, sorted by (date, symbol).

    Examples
    --------
    >>> bars = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03"]),
    ...     "symbol": ["S0001"] * 2, "open": [100.0, 50.0], "high": [101.0, 52.0],
    ...     "low": [99.0, 49.0], "close": [100.0, 51.0], "volume": [10, 20],
    ...     "vwap": [100.0, 50.5]})
    >>> ca = pd.DataFrame({"symbol": ["S0001"], "event_type": ["split"],
    ...     "ex_date": pd.to_datetime(["2024-01-03"]), "ratio": [2.0], "amount": [0.0]})
    >>> no_delist = pd.DataFrame({"symbol": [], "delist_date": pd.to_datetime([]),
    ...                           "delisting_return": []})
    >>> out = curate_prices(bars, pd.DataFrame({"symbol": [], "close": []}), ca, no_delist)
    >>> out["ret_price"].round(6).tolist()
    [nan, 0.02]
    """
    _require("bars_window", bars_window, ("date", "symbol", *_RAW_COPY))
    _require("prev_close", prev_close, ("symbol", "close"))
    _require("corporate_actions", corporate_actions, ("symbol", "event_type", "ex_date", "ratio", "amount"))
    _require("delistings", delistings, ("symbol", "delist_date", "delisting_return"))
    panel = _panel(bars_window, "bars_window")
    n = len(panel.key)
    close = _take(bars_window, "close", panel, float)

    if prev_close["symbol"].duplicated().any():
        raise ValueError("prev_close has duplicate symbols")
    by_symbol = pd.Series(close).groupby(panel.codes, sort=False)
    prev = by_symbol.shift(1).to_numpy()
    first = by_symbol.cumcount().to_numpy() == 0
    if len(prev_close) and first.any():
        prev_map = pd.Series(
            prev_close["close"].to_numpy(dtype=float), index=pd.Index(prev_close["symbol"], dtype=object)
        )
        known = prev_map.reindex(panel.symbols).to_numpy(dtype=float)
        prev[first] = known[panel.codes[first]]

    lo, hi = (panel.day.min(), panel.day.max()) if n else (0, -1)
    for col, events, name in (
        ("ex_date", corporate_actions, "corporate_actions"),
        ("delist_date", delistings, "delistings"),
    ):
        ev = pd.DatetimeIndex(events[col]).asi8 // _NS_PER_DAY
        outside = (ev < lo) | (ev > hi)
        if outside.any():
            raise ValueError(f"{name}.{col} outside the bars window at rows {events.index[outside].tolist()[:10]}")
    ca = corporate_actions
    unknown = ~ca["event_type"].isin(["split", "dividend"])
    if unknown.any():
        raise BadVendorData("corporate_actions", "event_type", ca.index[unknown].tolist(), "unknown_value")
    split_ratio = _event_values(
        panel, ca[ca["event_type"] == "split"], "ratio", "prod", "corporate_actions", "ex_date", 1.0
    )
    dividend = _event_values(
        panel, ca[ca["event_type"] == "dividend"], "amount", "sum", "corporate_actions", "ex_date", 0.0
    )
    dlret = _event_values(panel, delistings, "delisting_return", "sum", "delistings", "delist_date", np.nan)
    is_delisting = ~np.isnan(dlret)
    if is_delisting.any():
        # a delisting must be the symbol's last bar in the window
        last_day = pd.Series(panel.day).groupby(panel.codes, sort=False).transform("max")
        after = is_delisting & (panel.day < last_day.to_numpy())
        if after.any():
            raise BadVendorData(
                "bars",
                "date",
                bars_window.index[panel.order[after]].tolist(),
                "after_delisting",
                "bars after the symbol's delist_date",
            )

    ret_price = close * split_ratio / prev - 1.0
    ret_total = ret_price + dividend / prev
    ret_total = np.where(is_delisting, (1.0 + ret_total) * (1.0 + dlret) - 1.0, ret_total)

    columns: dict[str, Any] = {
        "date": (panel.day * _NS_PER_DAY).astype("datetime64[ns]"),
        "symbol": panel.symbols.to_numpy()[panel.codes],
    }
    for col in _RAW_COPY:
        values = close if col == "close" else _take(bars_window, col, panel)
        columns[col] = values.copy() if panel.is_identity else values  # never alias the input
    columns |= {
        "split_ratio": split_ratio,
        "dividend": dividend,
        "ret_price": ret_price,
        "ret_total": ret_total,
        "is_delisting": is_delisting,
    }
    return pd.DataFrame(columns, copy=False)


def pit_adjusted_history(curated: pd.DataFrame, asof: Any, *, total_return: bool = False) -> pd.DataFrame:
    r"""Back-adjusted prices and volumes as known at ``asof``.

    :math:`\tilde X_t = X_t / \prod_{s \in (t, T]} m_s` for X in open, high, low, close,
    VWAP, with :math:`m_s = k_s` (price) or :math:`k_s + D_s / P_s` (total return), and
    adjusted volume :math:`V_t \prod_{s \in (t, T]} k_s`; :math:`T` is the symbol's last
    session on or before ``asof`` (its last close anchors the series). Only rows with
    ``date <= asof`` are read.

    Parameters
    ----------
    curated : pandas.DataFrame
        Output of :func:`curate_prices` (any number of sessions, any order).
    asof : date-like
        The knowledge date.
    total_return : bool, default False
        Also adjust for cash dividends (reinvested at the ex-date close).

    Returns
    -------
    pandas.DataFrame
        :data:`ADJUSTED_COLUMNS` sorted by (date, symbol); ``adj_factor`` is the multiplier
        applied to raw prices and ``volume_factor`` the one applied to raw volume.

    Examples
    --------
    >>> cur = pd.DataFrame({"date": pd.to_datetime(["2024-01-02", "2024-01-03"]),
    ...     "symbol": ["S0001"] * 2, "open": [100.0, 50.0], "high": [101.0, 52.0],
    ...     "low": [99.0, 49.0], "close": [100.0, 51.0], "volume": [10, 20],
    ...     "vwap": [100.0, 50.5], "split_ratio": [1.0, 2.0], "dividend": [0.0, 0.0]})
    >>> pit_adjusted_history(cur, "2024-01-03")["adj_close"].tolist()
    [50.0, 51.0]
    >>> pit_adjusted_history(cur, "2024-01-02")["adj_close"].tolist()
    [100.0]
    """
    _require("curated", curated, ("date", "symbol", *_RAW_COPY, "split_ratio", "dividend"))
    stamp = pd.Timestamp(asof)
    if pd.isna(stamp) or stamp.tzinfo is not None:
        raise ValueError(f"asof must be a tz-naive date, got {asof!r}")
    panel = _panel(curated, "curated", asof=stamp)
    close = _take(curated, "close", panel, float)
    ratio = _take(curated, "split_ratio", panel, float)
    bad = ~(ratio > 0)
    if bad.any():
        raise ValueError(
            f"curated.split_ratio must be > 0, bad at rows {curated.index[panel.order[bad]].tolist()[:10]}"
        )
    if total_return:
        mult = ratio + _take(curated, "dividend", panel, float) / close
        volume_factor = _later_product(panel.codes, ratio)
    else:
        mult = ratio
    price_factor = _later_product(panel.codes, mult)
    if not total_return:
        volume_factor = price_factor
    adj_factor = 1.0 / price_factor
    columns: dict[str, Any] = {
        "date": (panel.day * _NS_PER_DAY).astype("datetime64[ns]"),
        "symbol": panel.symbols.to_numpy()[panel.codes],
    }
    for col in ("open", "high", "low", "close", "vwap"):
        raw = close if col == "close" else _take(curated, col, panel, float)
        columns[f"adj_{col}"] = raw * adj_factor  # a new array: never aliases the input
    columns["adj_volume"] = _take(curated, "volume", panel, float) * volume_factor
    columns["adj_factor"] = adj_factor
    columns["volume_factor"] = volume_factor
    return pd.DataFrame(columns, copy=False)


def _later_product(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``prod(values[s] for later rows s of the same code)`` for rows in date order."""
    if len(values) == 0:
        return np.empty(0, dtype=float)
    following = pd.Series(values).groupby(codes, sort=False).shift(-1, fill_value=1.0)
    reversed_cum = pd.Series(following.to_numpy()[::-1]).groupby(codes[::-1], sort=False).cumprod()
    return reversed_cum.to_numpy()[::-1]
