"""One Pandera schema per stored artifact.

Every schema is strict (no unexpected columns), and every stored artifact carries the
lineage columns ``ingested_at`` (UTC), ``source_uri`` and ``transform_id``. The schemas are
used as Dagster types at every asset boundary (see ``quant_assets.defs.types``).
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from quant_assets.market.quality import QC_FLAGS
from quant_assets.market.sectors import SECTORS

UtcTimestamp = Annotated[pd.DatetimeTZDtype, "ns", "UTC"]
NyTimestamp = Annotated[pd.DatetimeTZDtype, "ns", "America/New_York"]



class Lineage(pa.DataFrameModel):
    """Lineage carried by every stored row (blueprint §17)."""

    ingested_at: Series[UtcTimestamp]
    source_uri: Series[str] = pa.Field(str_length={"min_value": 1})
    transform_id: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = True
        ordered = False


class Sessions(Lineage):
    """XNYS sessions: open/close in UTC and New York time, early-close flag."""

    date: Series[pd.Timestamp]
    session_id: Series[int] = pa.Field(ge=0)
    open_utc: Series[UtcTimestamp]
    close_utc: Series[UtcTimestamp]
    open_local: Series[NyTimestamp]
    close_local: Series[NyTimestamp]
    is_early_close: Series[bool]
    minutes: Series[int] = pa.Field(gt=0, le=390)

    class Config:
        unique = ["date"]

    @pa.dataframe_check
    def open_before_close(cls, df: pd.DataFrame) -> Series[bool]:
        return df["open_utc"] < df["close_utc"]


class DailyOHLC(Lineage):
    """Daily OHLCV of one name: prices positive, low <= open, close <= high, VWAP in range."""

    date: Series[pd.Timestamp]
    symbol: Series[str]
    open: Series[float] = pa.Field(gt=0)
    high: Series[float] = pa.Field(gt=0)
    low: Series[float] = pa.Field(gt=0)
    close: Series[float] = pa.Field(gt=0)
    vwap: Series[float] = pa.Field(gt=0)
    volume: Series[int] = pa.Field(ge=0)

    class Config:
        unique = ["date", "symbol"]

    @pa.dataframe_check
    def ohlc_consistent(cls, df: pd.DataFrame) -> Series[bool]:
        lo = df[["open", "close"]].min(axis=1)
        hi = df[["open", "close"]].max(axis=1)
        return (df["low"] <= lo) & (hi <= df["high"])

    @pa.dataframe_check
    def vwap_within_range(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["low"] <= df["vwap"]) & (df["vwap"] <= df["high"])


class RawBars(DailyOHLC):
    """Unadjusted daily bars exactly as delivered (blueprint §3.1)."""

    nbbo_spread: Series[float] = pa.Field(ge=0)
    trades: Series[int] = pa.Field(ge=0)
    session_id: Series[int] = pa.Field(ge=0)


class CorporateActions(Lineage):
    """Splits and cash dividends, partitioned by ex-date (blueprint §3.2)."""

    symbol: Series[str]
    event_type: Series[str] = pa.Field(isin=["split", "dividend"])
    announce_date: Series[pd.Timestamp]
    ex_date: Series[pd.Timestamp]
    record_date: Series[pd.Timestamp]
    pay_date: Series[pd.Timestamp]
    ratio: Series[float] = pa.Field(gt=0)
    amount: Series[float] = pa.Field(ge=0)

    class Config:
        unique = ["symbol", "event_type", "ex_date"]

    @pa.dataframe_check
    def announced_before_ex(cls, df: pd.DataFrame) -> Series[bool]:
        return df["announce_date"] <= df["ex_date"]


class Delistings(Lineage):
    """Delisting events with the delisting return (blueprint §3.2)."""

    symbol: Series[str]
    delist_date: Series[pd.Timestamp]
    reason: Series[str] = pa.Field(isin=["bankruptcy", "merger", "exchange_move"])
    delisting_return: Series[float] = pa.Field(ge=-1.0)

    class Config:
        unique = ["symbol"]


class Fundamentals(Lineage):
    """Quarterly fundamentals keyed by their arrival (report) date."""

    symbol: Series[str]
    period_end: Series[pd.Timestamp]
    report_date: Series[pd.Timestamp]
    book_equity: Series[float]
    shares_outstanding: Series[float] = pa.Field(gt=0)
    eps: Series[float]

    class Config:
        unique = ["symbol", "period_end"]

    @pa.dataframe_check
    def arrives_after_period_end(cls, df: pd.DataFrame) -> Series[bool]:
        return df["report_date"] > df["period_end"]


class EarningsCalendar(Lineage):
    """Announced earnings dates, keyed by the announcement date."""

    symbol: Series[str]
    announce_date: Series[pd.Timestamp]
    earnings_date: Series[pd.Timestamp]

    class Config:
        unique = ["symbol", "announce_date", "earnings_date"]

    @pa.dataframe_check
    def announced_ahead(cls, df: pd.DataFrame) -> Series[bool]:
        return df["announce_date"] <= df["earnings_date"]


class Symbols(Lineage):
    """Point-in-time symbol master: names listed on each session, with reference data."""

    date: Series[pd.Timestamp]
    symbol: Series[str]
    sector: Series[str] = pa.Field(isin=list(SECTORS))
    list_date: Series[pd.Timestamp]
    tick_size: Series[float] = pa.Field(gt=0)
    borrow_fee_bps: Series[float] = pa.Field(ge=0)
    htb: Series[bool]
    shares_outstanding: Series[float] = pa.Field(gt=0)

    class Config:
        unique = ["date", "symbol"]

    @pa.dataframe_check
    def listed_by_date(cls, df: pd.DataFrame) -> Series[bool]:
        return df["list_date"] <= df["date"]


class Rates(Lineage):
    """Risk-free zero curve per session (continuously compounded)."""

    date: Series[pd.Timestamp]
    tenor_days: Series[int] = pa.Field(gt=0)
    rate: Series[float] = pa.Field(ge=-0.05, le=0.5)

    class Config:
        unique = ["date", "tenor_days"]


class RawOptionQuotes(Lineage):
    """Option NBBO snapshots (blueprint §3.3) with the ingestion QC flag."""

    date: Series[pd.Timestamp]
    ts_ns: Series[int]
    underlier: Series[str]
    expiry: Series[pd.Timestamp]
    strike: Series[float] = pa.Field(gt=0)
    cp_flag: Series[str] = pa.Field(isin=["C", "P"])
    bid: Series[float] = pa.Field(ge=0)
    ask: Series[float] = pa.Field(ge=0)
    bid_size: Series[int] = pa.Field(ge=0)
    ask_size: Series[int] = pa.Field(ge=0)
    nbbo_mid: Series[float] = pa.Field(ge=0)
    exchs_bitmap: Series[int] = pa.Field(ge=0)
    volume: Series[int] = pa.Field(ge=0)
    open_interest: Series[int] = pa.Field(ge=0)
    qc_flag: Series[str] = pa.Field(isin=list(QC_FLAGS))

    class Config:
        unique = ["date", "underlier", "expiry", "strike", "cp_flag"]

    @pa.dataframe_check
    def expiry_after_date(cls, df: pd.DataFrame) -> Series[bool]:
        return df["expiry"] >= df["date"]


class OptionQuotes(RawOptionQuotes):
    """Curated option quotes: only rows whose QC flag is ``ok``."""

    qc_flag: Series[str] = pa.Field(isin=["ok"])

    @pa.dataframe_check
    def bid_below_ask(cls, df: pd.DataFrame) -> Series[bool]:
        return df["bid"] < df["ask"]


class AdjustedPrices(DailyOHLC):
    """Curated daily prices: raw OHLCV plus the day's adjustment events and returns.

    ``ret_price`` is the split-adjusted close-to-close return, ``ret_total`` adds cash
    dividends and the delisting return; back-adjusted series as of any date follow from
    them (``quant_assets.market.adjustments.pit_adjusted_history``).
    """

    split_ratio: Series[float] = pa.Field(gt=0)
    dividend: Series[float] = pa.Field(ge=0)
    ret_price: Series[float] = pa.Field(nullable=True, ge=-1.0)
    ret_total: Series[float] = pa.Field(nullable=True, ge=-1.0)
    is_delisting: Series[bool]


class OracleExpectedReturns(Lineage):
    """Planted truth of the synthetic market. No research asset may read it."""

    date: Series[pd.Timestamp]
    symbol: Series[str]
    expected_return: Series[float]
    true_vol: Series[float] = pa.Field(gt=0)
    momentum_signal: Series[float] = pa.Field(nullable=True)
    value_signal: Series[float] = pa.Field(nullable=True)
    reversal_signal: Series[float] = pa.Field(nullable=True)

    class Config:
        unique = ["date", "symbol"]


class OracleOptionSurface(Lineage):
    """Planted SSVI state per underlier and session. No research asset may read it."""

    date: Series[pd.Timestamp]
    underlier: Series[str]

    class Config:
        strict = False
        unique = ["date", "underlier"]
