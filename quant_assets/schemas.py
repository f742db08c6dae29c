"""One Pandera schema per stored artifact.

Every schema is strict (no unexpected columns), and every stored artifact carries the
lineage columns ``ingested_at`` (UTC), ``source_uri`` and ``transform_id``. The schemas are
used as Dagster types at every asset boundary (see ``quant_assets.defs.types``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from quant_assets.market.lineage import LINEAGE_COLUMNS
from quant_assets.market.quality import QC_FLAGS
from quant_assets.market.sectors import SECTORS

UtcTimestamp = Annotated[pd.DatetimeTZDtype, "ns", "UTC"]
NyTimestamp = Annotated[pd.DatetimeTZDtype, "ns", "America/New_York"]

# ------------------------------------------------------------------ plausibility bounds
# Bounds a correct US equity/option delivery never reaches. They are deliberately loose: an
# outlier that is internally consistent (a bad print, a halt, a zero-volume day) is data and is
# flagged by asset checks downstream; these bounds only catch values no market produces
# (infinities, overflowed integers, unit or decimal-point errors).
MAX_PRICE = 1e6
"""USD per share or per option contract unit. The highest US share price ever quoted
(Berkshire Hathaway class A, ~$0.75M in 2024) stays below it; 1e300 or inf never does."""
MAX_SHARES = 1e12
"""Shares (daily volume, trades, option sizes, open interest, shares outstanding). The whole
US equity market trades ~1e10 shares a day and the largest share count is ~1.5e10 (Apple);
2**62 is an overflowed counter."""
MAX_BOOK_EQUITY = 1e13
"""USD, absolute: ten times the largest book equity of any listed company (~$1T)."""
MAX_EPS = MAX_PRICE
"""USD per share, absolute: earnings per share cannot sensibly exceed the price ceiling."""
SPLIT_RATIO_BOUNDS = (1 / 100, 100.0)
"""New shares per old share. Forward splits above 50-for-1 and reverse splits beyond
1-for-100 are practically unknown on US exchanges; 1e12 is a unit or decimal error."""
MAX_DIVIDEND_YIELD = 0.5
"""A cash dividend is below this fraction of the previous close. Regular dividends are a few
percent; the largest special dividends are a third of the price. A $1,000 dividend on a $38
stock would make the curated total return +2,600%."""
MAX_DELISTING_RETURN = 10.0
"""Delisting return (fraction): at most +1,000%; the largest takeover premiums are ~+300%."""
RATE_BOUNDS = (-0.05, 0.25)
"""Continuously compounded risk-free rate: the most negative policy rates were -0.75% (SNB)
and the highest US Treasury yields ~16% (1981); 5.0 is a percent delivered as a fraction."""
MID_TOLERANCE = 0.005
"""USD: an option NBBO mid lies within [min(bid, ask), max(bid, ask)] up to half a cent of
rounding."""


def _between(series: pd.Series, lo: float, hi: float) -> pd.Series:
    return (series >= lo) & (series <= hi)


DATAFRAME_CHECK_FIELDS: dict[str, str] = {}
"""Columns each dataframe-level check is about, so errors name them (check name -> columns)."""


def frame_rule(*columns: str):
    """``pa.dataframe_check`` that records which ``columns`` the rule is about."""

    def decorator(fn):
        DATAFRAME_CHECK_FIELDS[fn.__name__] = ",".join(columns)
        return pa.dataframe_check(fn)

    return decorator


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

    @frame_rule("open_utc", "close_utc")
    def open_before_close(cls, df: pd.DataFrame) -> Series[bool]:
        return df["open_utc"] < df["close_utc"]


class DailyOHLC(Lineage):
    """Daily OHLCV of one name: prices in (0, MAX_PRICE], low <= open, close <= high, VWAP in range.

    This is the one place the OHLC rule is written (``ohlc_consistent``).
    """

    date: Series[pd.Timestamp]
    symbol: Series[str]
    open: Series[float] = pa.Field(gt=0, le=MAX_PRICE)
    high: Series[float] = pa.Field(gt=0, le=MAX_PRICE)
    low: Series[float] = pa.Field(gt=0, le=MAX_PRICE)
    close: Series[float] = pa.Field(gt=0, le=MAX_PRICE)
    vwap: Series[float] = pa.Field(gt=0, le=MAX_PRICE)
    volume: Series[int] = pa.Field(ge=0, lt=MAX_SHARES)

    class Config:
        unique = ["date", "symbol"]

    @frame_rule("open", "high", "low", "close")
    def ohlc_consistent(cls, df: pd.DataFrame) -> Series[bool]:
        lo = df[["open", "close"]].min(axis=1)
        hi = df[["open", "close"]].max(axis=1)
        return (df["low"] <= lo) & (hi <= df["high"])

    @frame_rule("vwap")
    def vwap_within_range(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["low"] <= df["vwap"]) & (df["vwap"] <= df["high"])


class RawBars(DailyOHLC):
    """Unadjusted daily bars exactly as delivered (blueprint §3.1)."""

    nbbo_spread: Series[float] = pa.Field(ge=0, le=MAX_PRICE)
    trades: Series[int] = pa.Field(ge=0, lt=MAX_SHARES)
    session_id: Series[int] = pa.Field(ge=0)

    @frame_rule("nbbo_spread")
    def spread_below_high(cls, df: pd.DataFrame) -> Series[bool]:
        return df["nbbo_spread"] <= df["high"]


class CorporateActions(Lineage):
    """Splits and cash dividends, partitioned by ex-date (blueprint §3.2)."""

    symbol: Series[str]
    event_type: Series[str] = pa.Field(isin=["split", "dividend"])
    announce_date: Series[pd.Timestamp]
    ex_date: Series[pd.Timestamp]
    record_date: Series[pd.Timestamp]
    pay_date: Series[pd.Timestamp]
    ratio: Series[float] = pa.Field(gt=0, le=SPLIT_RATIO_BOUNDS[1])
    amount: Series[float] = pa.Field(ge=0, le=MAX_PRICE)

    class Config:
        unique = ["symbol", "event_type", "ex_date"]

    @frame_rule("announce_date")
    def announced_before_ex(cls, df: pd.DataFrame) -> Series[bool]:
        return df["announce_date"] <= df["ex_date"]

    @frame_rule("record_date")
    def record_on_or_after_ex(cls, df: pd.DataFrame) -> Series[bool]:
        return df["record_date"] >= df["ex_date"]

    @frame_rule("pay_date")
    def paid_on_or_after_record(cls, df: pd.DataFrame) -> Series[bool]:
        return df["pay_date"] >= df["record_date"]

    @frame_rule("ratio")
    def split_ratio_plausible(cls, df: pd.DataFrame) -> Series[bool]:
        """Split rows: ratio within SPLIT_RATIO_BOUNDS; dividend rows: ratio exactly 1."""
        split = df["event_type"] == "split"
        return (split & _between(df["ratio"], *SPLIT_RATIO_BOUNDS)) | (~split & (df["ratio"] == 1.0))

    @frame_rule("amount")
    def splits_pay_no_cash(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["event_type"] != "split") | (df["amount"] == 0.0)


class Delistings(Lineage):
    """Delisting events with the delisting return (blueprint §3.2)."""

    symbol: Series[str]
    delist_date: Series[pd.Timestamp]
    reason: Series[str] = pa.Field(isin=["bankruptcy", "merger", "exchange_move"])
    delisting_return: Series[float] = pa.Field(ge=-1.0, le=MAX_DELISTING_RETURN)

    class Config:
        unique = ["symbol"]


class Fundamentals(Lineage):
    """Quarterly fundamentals keyed by their arrival (report) date."""

    symbol: Series[str]
    period_end: Series[pd.Timestamp]
    report_date: Series[pd.Timestamp]
    book_equity: Series[float] = pa.Field(ge=-MAX_BOOK_EQUITY, le=MAX_BOOK_EQUITY)
    shares_outstanding: Series[float] = pa.Field(gt=0, le=MAX_SHARES)
    eps: Series[float] = pa.Field(ge=-MAX_EPS, le=MAX_EPS)

    class Config:
        unique = ["symbol", "period_end"]

    @frame_rule("report_date")
    def arrives_after_period_end(cls, df: pd.DataFrame) -> Series[bool]:
        return df["report_date"] > df["period_end"]


class EarningsCalendar(Lineage):
    """Announced earnings dates, keyed by the announcement date."""

    symbol: Series[str]
    announce_date: Series[pd.Timestamp]
    earnings_date: Series[pd.Timestamp]

    class Config:
        unique = ["symbol", "announce_date", "earnings_date"]

    @frame_rule("announce_date")
    def announced_ahead(cls, df: pd.DataFrame) -> Series[bool]:
        return df["announce_date"] <= df["earnings_date"]


class Symbols(Lineage):
    """Point-in-time symbol master: names listed on each session, with reference data."""

    date: Series[pd.Timestamp]
    symbol: Series[str]
    sector: Series[str] = pa.Field(isin=list(SECTORS))
    list_date: Series[pd.Timestamp]
    tick_size: Series[float] = pa.Field(gt=0, le=MAX_PRICE)
    borrow_fee_bps: Series[float] = pa.Field(ge=0, le=1e5)
    htb: Series[bool]
    shares_outstanding: Series[float] = pa.Field(gt=0, le=MAX_SHARES)

    class Config:
        unique = ["date", "symbol"]

    @frame_rule("list_date")
    def listed_by_date(cls, df: pd.DataFrame) -> Series[bool]:
        return df["list_date"] <= df["date"]


class Rates(Lineage):
    """Risk-free zero curve per session (continuously compounded)."""

    date: Series[pd.Timestamp]
    tenor_days: Series[int] = pa.Field(gt=0, le=36_500)
    rate: Series[float] = pa.Field(ge=RATE_BOUNDS[0], le=RATE_BOUNDS[1])

    class Config:
        unique = ["date", "tenor_days"]


class RawOptionQuotes(Lineage):
    """Option NBBO snapshots (blueprint §3.3) with the ingestion QC flag."""

    date: Series[pd.Timestamp]
    ts_ns: Series[int]
    underlier: Series[str]
    expiry: Series[pd.Timestamp]
    strike: Series[float] = pa.Field(gt=0, le=MAX_PRICE)
    cp_flag: Series[str] = pa.Field(isin=["C", "P"])
    bid: Series[float] = pa.Field(ge=0, le=MAX_PRICE)
    ask: Series[float] = pa.Field(ge=0, le=MAX_PRICE)
    bid_size: Series[int] = pa.Field(ge=0, lt=MAX_SHARES)
    ask_size: Series[int] = pa.Field(ge=0, lt=MAX_SHARES)
    nbbo_mid: Series[float] = pa.Field(ge=0, le=MAX_PRICE)
    exchs_bitmap: Series[int] = pa.Field(ge=0)
    volume: Series[int] = pa.Field(ge=0, lt=MAX_SHARES)
    open_interest: Series[int] = pa.Field(ge=0, lt=MAX_SHARES)
    qc_flag: Series[str] = pa.Field(isin=list(QC_FLAGS))

    class Config:
        unique = ["date", "underlier", "expiry", "strike", "cp_flag"]

    @frame_rule("expiry")
    def expiry_after_date(cls, df: pd.DataFrame) -> Series[bool]:
        return df["expiry"] >= df["date"]

    @frame_rule("nbbo_mid")
    def mid_within_quote(cls, df: pd.DataFrame) -> Series[bool]:
        """Mid within [min(bid, ask), max(bid, ask)] +/- MID_TOLERANCE (crossed quotes are flagged, not rejected)."""
        lo = np.minimum(df["bid"], df["ask"]) - MID_TOLERANCE
        hi = np.maximum(df["bid"], df["ask"]) + MID_TOLERANCE
        return (df["nbbo_mid"] >= lo) & (df["nbbo_mid"] <= hi)


class OptionQuotes(RawOptionQuotes):
    """Curated option quotes: only rows whose QC flag is ``ok``."""

    qc_flag: Series[str] = pa.Field(isin=["ok"])

    @frame_rule("bid", "ask")
    def bid_below_ask(cls, df: pd.DataFrame) -> Series[bool]:
        return df["bid"] < df["ask"]


class AdjustedPrices(DailyOHLC):
    """Curated daily prices: raw OHLCV plus the day's adjustment events and returns.

    ``ret_price`` is the split-adjusted close-to-close return, ``ret_total`` adds cash
    dividends and the delisting return; back-adjusted series as of any date follow from
    them (``quant_assets.market.adjustments.pit_adjusted_history``).
    """

    split_ratio: Series[float] = pa.Field(ge=SPLIT_RATIO_BOUNDS[0], le=SPLIT_RATIO_BOUNDS[1])
    dividend: Series[float] = pa.Field(ge=0, le=MAX_PRICE)
    ret_price: Series[float] = pa.Field(nullable=True, ge=-1.0, le=MAX_PRICE)
    ret_total: Series[float] = pa.Field(nullable=True, ge=-1.0, le=MAX_PRICE)
    is_delisting: Series[bool]


class OracleExpectedReturns(Lineage):
    """Planted truth of the synthetic market. No research asset may read it."""

    date: Series[pd.Timestamp]
    symbol: Series[str]
    expected_return: Series[float]
    true_vol: Series[float] = pa.Field(gt=0, le=100.0)
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


# ----------------------------------------------------------------- vendor deliveries
@dataclass(frozen=True)
class Delivery:
    """The data contract of one vendor feed.

    ``schema`` is the stored artifact's model; a delivery is validated against it without the
    lineage columns and the QC flag (added at ingestion). ``date_col`` is the partition column:
    every value is a session of the delivered window. ``symbol_col`` names the column checked
    against the symbol master (None: the feed is the master).
    """

    schema: type
    date_col: str
    symbol_col: str | None = "symbol"


DELIVERIES: dict[str, Delivery] = {
    "bars": Delivery(RawBars, "date"),
    "corporate_actions": Delivery(CorporateActions, "ex_date"),
    "delistings": Delivery(Delistings, "delist_date"),
    "fundamentals": Delivery(Fundamentals, "report_date"),
    "earnings_calendar": Delivery(EarningsCalendar, "announce_date"),
    "option_quotes": Delivery(RawOptionQuotes, "date", "underlier"),
    "symbols": Delivery(Symbols, "date", None),
    "rates": Delivery(Rates, "date", None),
    "oracle": Delivery(OracleExpectedReturns, "date"),
    "option_oracle": Delivery(OracleOptionSurface, "date", "underlier"),
}
"""Vendor dataset name -> its contract."""

_ADDED_AT_INGESTION = (*LINEAGE_COLUMNS, "qc_flag")


@lru_cache(maxsize=None)
def delivery_schema(dataset: str) -> pa.DataFrameSchema:
    """The Pandera schema a raw delivery of ``dataset`` must satisfy (no lineage, no QC flag)."""
    if dataset not in DELIVERIES:
        raise KeyError(f"unknown dataset {dataset!r}; expected one of {sorted(DELIVERIES)}")
    schema = DELIVERIES[dataset].schema.to_schema()
    return schema.remove_columns([c for c in _ADDED_AT_INGESTION if c in schema.columns])


# ================================================================== research (equities sleeve)
# Point-in-time universe, features and labels (quant_assets.research, .features, .labels).


class Universe(Lineage):
    """Top-N names by 60-session average dollar volume, ranked on data through the session before."""

    date: Series[pd.Timestamp] = pa.Field(description="Session the universe is for (ranked at the close before)")
    symbol: Series[str] = pa.Field(description="Member")
    rank: Series[int] = pa.Field(ge=1, description="1 = highest average dollar volume")
    adv_60: Series[float] = pa.Field(gt=0, description="Mean raw close x volume over the 60 sessions to t-1, USD")

    class Config:
        unique = ["date", "symbol"]


class EquityFeatures(Lineage):
    """Equity features of session ``asof`` from data known at the close before (quant_assets.features).

    Cross-sectional features are winsorized z-scores (|z| <= 3); NaN where undefined, with a
    ``feature_<name>_missing`` flag (1.0 / 0.0).
    """

    asof: Series[pd.Timestamp] = pa.Field(description="Session scored; data through the session before")
    symbol: Series[str] = pa.Field(description="Universe member of asof")
    feature: Series[float] = pa.Field(
        alias="^feature_",
        regex=True,
        nullable=True,
        ge=-4.0,
        le=4.0,
        description="Standardized feature value or missing flag",
    )

    class Config:
        unique = ["asof", "symbol"]


class EquityLabels(Lineage):
    """Triple-barrier labels and 5/20-session (excess) returns from the open of ``entry_date``.

    Stored in the partition of ``known_date``: the session by whose close every target of the
    row is known, so no partition holds a label before its exit.
    """

    entry_date: Series[pd.Timestamp] = pa.Field(description="Entry session; filled at its open")
    symbol: Series[str]
    exit_date: Series[pd.Timestamp] = pa.Field(description="Barrier touch, delisting or vertical barrier session")
    label: Series[int] = pa.Field(isin=[-1, 0, 1], description="1 take-profit, -1 stop, 0 neither")
    outcome: Series[str] = pa.Field(isin=["tp", "sl", "vertical", "delisted"])
    ret_fwd_5: Series[float] = pa.Field(ge=-1.0, description="Total return open(t) -> close(t+4), fraction")
    ret_fwd_20: Series[float] = pa.Field(ge=-1.0, description="Total return open(t) -> close(t+19), fraction")
    xret_5: Series[float] = pa.Field(description="ret_fwd_5 minus the universe mean at entry")
    xret_20: Series[float] = pa.Field(description="ret_fwd_20 minus the universe mean at entry")
    exit_date_5: Series[pd.Timestamp] = pa.Field(description="Session t+4 (5-session target known)")
    exit_date_20: Series[pd.Timestamp] = pa.Field(description="Session t+19 (20-session target known)")
    known_date: Series[pd.Timestamp] = pa.Field(description="Latest of the exits: the partition")

    class Config:
        unique = ["entry_date", "symbol"]

    @frame_rule("exit_date")
    def exit_after_entry(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["exit_date"] >= df["entry_date"]) & (df["exit_date"] <= df["known_date"])

    @frame_rule("known_date")
    def known_after_horizons(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["known_date"] >= df["exit_date_5"]) & (df["known_date"] >= df["exit_date_20"])


# ================================================================== models (equities sleeve)
# Model selection, the multiplicity log, the champion reference and the daily scores
# (quant_assets.models, quant_assets.defs.models).


class ModelSelection(Lineage):
    """One row per candidate of a selection run: CPCV metrics out of sample, net of costs.

    Selection-level numbers (PBO, DSR, expected maximum Sharpe, the gate verdict, the MLflow
    run) repeat on every row of the run. Sharpe ratios are of the net decile long/short book.
    """

    as_of: Series[pd.Timestamp] = pa.Field(description="Training as of: only labels with every exit before it")
    candidate: Series[str] = pa.Field(description="Candidate name (quant_assets.models.build_candidates)")
    selected: Series[bool] = pa.Field(description="True for the candidate with the best mean path Sharpe")
    sharpe_obs: Series[float] = pa.Field(nullable=True, description="Mean CPCV path Sharpe, per observation")
    sharpe_ann: Series[float] = pa.Field(nullable=True, description="sharpe_obs annualized (sqrt(252 / horizon))")
    sharpe_ann_min_path: Series[float] = pa.Field(nullable=True, description="Worst path's annualized Sharpe")
    max_drawdown: Series[float] = pa.Field(nullable=True, ge=0.0, description="Median path max drawdown, fraction")
    mean_return: Series[float] = pa.Field(nullable=True, description="Mean net tranche return per session, fraction")
    rank_ic: Series[float] = pa.Field(nullable=True, ge=-1.0, le=1.0, description="Mean OOS Spearman IC per fold")
    ic: Series[float] = pa.Field(nullable=True, ge=-1.0, le=1.0, description="Mean OOS Pearson IC per fold")
    n_features: Series[int] = pa.Field(ge=0, description="Feature columns the candidate reads")
    pbo: Series[float] = pa.Field(nullable=True, ge=0.0, le=1.0, description="PBO across the run's candidates")
    dsr: Series[float] = pa.Field(nullable=True, ge=0.0, le=1.0, description="DSR probability of the selected one")
    expected_max_sharpe_obs: Series[float] = pa.Field(
        nullable=True, description="Expected max Sharpe per observation of all logged trials (the DSR benchmark)"
    )
    n_trials: Series[int] = pa.Field(ge=1, description="Trials in the multiplicity log, this run included")
    gate_passed: Series[bool] = pa.Field(description="The go/no-go gate's verdict on the selected candidate")
    gate_reasons: Series[str] = pa.Field(description="Failed gate checks, '; '-separated ('' if passed)")
    mlflow_run_id: Series[str] = pa.Field(description="MLflow run of the selection")
    model_version: Series[str] = pa.Field(description="Registered version of the selected scorer")
    data_hash: Series[str] = pa.Field(description="sha256 of the training panel (features and target)")

    class Config:
        unique = ["as_of", "candidate"]


class TrialsLog(Lineage):
    """The multiplicity log: every candidate, feature set and hyper-parameter ever evaluated.

    Append-only (quant_assets.models.TrialsLog); ``ingested_at`` is when the trial was recorded.
    """

    trial_id: Series[int] = pa.Field(ge=0, description="0, 1, 2, ... in recording order")
    run_id: Series[str] = pa.Field(description="Run that evaluated the trial (Dagster run id)")
    candidate: Series[str] = pa.Field(description="Candidate name")
    feature_set: Series[str] = pa.Field(description="'all' or the family an ablation dropped")
    n_features: Series[int] = pa.Field(ge=0, description="Feature columns read")
    params: Series[str] = pa.Field(description="Hyper-parameters, JSON")
    data_hash: Series[str] = pa.Field(description="sha256 of the training panel")
    sharpe_obs: Series[float] = pa.Field(nullable=True, description="Mean CPCV path Sharpe, per observation")
    sharpe_ann: Series[float] = pa.Field(nullable=True, description="Annualized sharpe_obs")
    max_drawdown: Series[float] = pa.Field(nullable=True, ge=0.0, description="Median path max drawdown, fraction")
    rank_ic: Series[float] = pa.Field(nullable=True, ge=-1.0, le=1.0, description="Mean OOS Spearman IC")
    selected: Series[bool] = pa.Field(description="Selected in its run")

    class Config:
        unique = ["trial_id"]


class ChampionModel(Lineage):
    """The registered scorer the daily scores use: the champion, else the challenger (one row).

    ``alias`` is ``none`` (and the model columns empty) when no model was ever registered.
    """

    as_of: Series[pd.Timestamp] = pa.Field(nullable=True, description="Training as of of the referenced model")
    model_name: Series[str] = pa.Field(description="MLflow registered model name")
    model_version: Series[str] = pa.Field(nullable=True, description="Registered version")
    alias: Series[str] = pa.Field(isin=["champion", "challenger", "none"], description="Alias the scores use")
    model_uri: Series[str] = pa.Field(nullable=True, description="models:/<name>/<version>")
    mlflow_run_id: Series[str] = pa.Field(nullable=True, description="MLflow run that logged the version")
    candidate: Series[str] = pa.Field(nullable=True, description="Selected candidate of that run")
    gate_passed: Series[bool] = pa.Field(description="Whether that run's selection passed the gate")
    gate_reasons: Series[str] = pa.Field(description="Why not, '; '-separated ('' if passed)")

    @frame_rule("alias", "gate_passed")
    def champion_only_through_the_gate(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["alias"] != "champion") | df["gate_passed"]


class EquityScores(Lineage):
    """Expected excess return per universe name, formed before the open of ``asof``.

    From the features of ``asof`` (data through the close before) and a model trained as of
    ``model_as_of <= asof``: sessions before a model's training date are not scored.
    """

    asof: Series[pd.Timestamp] = pa.Field(description="Session scored (before its open)")
    symbol: Series[str] = pa.Field(description="Universe member of asof")
    expected_excess_return: Series[float] = pa.Field(
        description="Expected return over the universe mean from the open of asof, fraction, over horizon_sessions"
    )
    horizon_sessions: Series[int] = pa.Field(ge=1, description="Holding period of the expectation, sessions")
    confidence: Series[float] = pa.Field(ge=0.0, le=1.0, description="|2u - 1|, u = cross-sectional percentile")
    rationale: Series[str] = pa.Field(description="JSON list of the top feature contributions to the score")
    model: Series[str] = pa.Field(description="Candidate the scorer was selected as")
    model_version: Series[str] = pa.Field(description="Registered version of the scorer")
    model_alias: Series[str] = pa.Field(isin=["champion", "challenger"], description="Alias it was used under")
    model_as_of: Series[pd.Timestamp] = pa.Field(description="The scorer's training as of")

    class Config:
        unique = ["asof", "symbol"]

    @frame_rule("model_as_of", "asof")
    def model_trained_before_scoring(cls, df: pd.DataFrame) -> Series[bool]:
        return df["model_as_of"] <= df["asof"]


# ================================================================== options (vol surfaces)
# Daily implied-volatility surfaces and their quote QC table (quant_assets.options.surfaces).


class VolSurfaceQuotes(Lineage):
    """Every curated option quote of the session with its QC reason: the points of the surface fits.

    Nothing is dropped silently: ``reason`` is ``used`` or the first QC rule that dropped the quote
    (``quant_assets.options.surfaces.REASONS``).
    """

    date: Series[pd.Timestamp] = pa.Field(description="Session of the quote snapshot")
    underlier: Series[str]
    expiry: Series[pd.Timestamp]
    strike: Series[float] = pa.Field(gt=0, le=MAX_PRICE, description="USD")
    cp_flag: Series[str] = pa.Field(isin=["C", "P"])
    bid: Series[float] = pa.Field(ge=0, le=MAX_PRICE, description="USD per share of the contract")
    ask: Series[float] = pa.Field(ge=0, le=MAX_PRICE, description="USD per share of the contract")
    mid: Series[float] = pa.Field(ge=0, le=MAX_PRICE, description="(bid + ask) / 2, USD")
    t_years: Series[float] = pa.Field(ge=0, description="Calendar days to expiry / 365")
    rate: Series[float] = pa.Field(
        ge=RATE_BOUNDS[0],
        le=RATE_BOUNDS[1],
        description="Zero rate of the session at the expiry, continuously compounded",
    )
    forward: Series[float] = pa.Field(nullable=True, gt=0, description="Put-call parity forward of the expiry, USD")
    k: Series[float] = pa.Field(nullable=True, description="Log-moneyness ln(strike / forward)")
    iv: Series[float] = pa.Field(nullable=True, gt=0, le=20.0, description="Implied volatility of the mid, fraction")
    weight: Series[float] = pa.Field(ge=0, description="Fit weight: 1 / spread^2 in total-variance units (0: unused)")
    reason: Series[str] = pa.Field(description="'used' or the QC rule that dropped the quote")

    class Config:
        unique = ["date", "underlier", "expiry", "strike", "cp_flag"]

    @frame_rule("reason", "iv")
    def used_points_have_iv(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["reason"] != "used") | (df["iv"].notna() & (df["weight"] > 0))


class VolSurfaces(Lineage):
    """Raw SVI slice per underlier x expiry and session, with no-arbitrage flags and fit QC (blueprint §3.4)."""

    date: Series[pd.Timestamp] = pa.Field(description="Session of the quotes")
    underlier: Series[str]
    expiry: Series[pd.Timestamp]
    t_years: Series[float] = pa.Field(gt=0, description="Calendar days to expiry / 365")
    forward: Series[float] = pa.Field(gt=0, description="Put-call parity forward, USD")
    rate: Series[float] = pa.Field(ge=RATE_BOUNDS[0], le=RATE_BOUNDS[1], description="Zero rate at the expiry")
    a: Series[float] = pa.Field(description="Raw SVI level (total variance)")
    b: Series[float] = pa.Field(ge=0, description="Raw SVI wing slope")
    rho: Series[float] = pa.Field(ge=-1, le=1, description="Raw SVI skew")
    m: Series[float] = pa.Field(description="Raw SVI shift (log-moneyness)")
    sigma: Series[float] = pa.Field(gt=0, description="Raw SVI ATM curvature (log-moneyness)")
    atm_vol: Series[float] = pa.Field(ge=0, le=20.0, description="sqrt(w(0) / T): forward-ATM implied vol, fraction")
    source: Series[str] = pa.Field(isin=["svi", "ssvi"], description="svi slice, or SSVI fallback of the surface")
    butterfly_arbitrage: Series[bool] = pa.Field(description="Durrleman g < 0, w <= 0 or Lee's bound broken")
    calendar_arbitrage: Series[bool] = pa.Field(description="Total variance decreases to a neighbouring expiry")
    vertical_arbitrage: Series[bool] = pa.Field(description="Call slope outside [-exp(-rT), 0] on quoted strikes")
    calendar_conflict: Series[bool] = pa.Field(description="The independent SVI slices conflicted (fallback used)")
    rmse_vol_pts: Series[float] = pa.Field(ge=0, description="Fit RMSE over used quotes, vol points")
    max_error_vol_pts: Series[float] = pa.Field(ge=0, description="Largest fit error over used quotes, vol points")
    quotes_used: Series[int] = pa.Field(ge=5, description="Out-of-the-money quotes fitted")
    quotes_dropped: Series[int] = pa.Field(ge=0, description="Quotes of the expiry dropped by QC (any reason)")
    k_min: Series[float] = pa.Field(description="Smallest quoted log-moneyness fitted")
    k_max: Series[float] = pa.Field(description="Largest quoted log-moneyness fitted")

    class Config:
        unique = ["date", "underlier", "expiry"]


class VolFeatures(Lineage):
    """Vol features of session ``asof`` per underlier from data known at the close before
    (``quant_assets.options.vol_features``); NaN where undefined (see its NaN rules)."""

    asof: Series[pd.Timestamp] = pa.Field(description="Session the features are for; data through the session before")
    underlier: Series[str]
    feature: Series[float] = pa.Field(
        alias="^feature_", regex=True, nullable=True, description="Raw (unstandardized) vol feature"
    )

    class Config:
        unique = ["asof", "underlier"]


class VolLabels(Lineage):
    """ATM IV change, realized VRP and delta-hedged straddle PnL from the close of ``entry_date``.

    Stored in the partition of ``known_date`` (the last exit): no partition holds a label before
    every target of the row is known (``quant_assets.options.vol_labels``).
    """

    entry_date: Series[pd.Timestamp] = pa.Field(description="Entry session; positions opened at its close")
    underlier: Series[str]
    atm_iv: Series[float] = pa.Field(gt=0, description="ATM implied vol at the label tenor on entry, fraction")
    iv_change: Series[float] = pa.Field(
        alias=r"^iv_change_\d+$", regex=True, nullable=True, description="ATM IV change over h sessions, vol points"
    )
    rvrp: Series[float] = pa.Field(
        alias=r"^rvrp_\d+$", regex=True, nullable=True, description="Entry IV^2 minus realized variance over h"
    )
    straddle_pnl_bps: Series[float] = pa.Field(
        alias=r"^straddle_pnl_bps_\d+$",
        regex=True,
        nullable=True,
        description="Delta-hedged ATM straddle PnL over h sessions, bps of the entry premium",
    )
    exit_date: Series[pd.Timestamp] = pa.Field(alias=r"^exit_date_\d+$", regex=True, description="Session t+h")
    known_date: Series[pd.Timestamp] = pa.Field(description="Latest exit: the partition")

    class Config:
        unique = ["entry_date", "underlier"]

    @frame_rule("known_date", "entry_date")
    def known_after_entry(cls, df: pd.DataFrame) -> Series[bool]:
        return df["known_date"] > df["entry_date"]


class VolModel(Lineage):
    """One row per (forecast, candidate) of a vol selection run: CPCV out of sample, net of costs.

    Selection-level figures (PBO, DSR, trial count, gate, MLflow run and model) repeat on every
    row of a forecast. Sharpe ratios are of the ``sign(forecast)`` delta-hedged straddle book.
    """

    forecast: Series[str] = pa.Field(isin=["straddle_pnl", "iv_change"])
    candidate: Series[str]
    as_of: Series[pd.Timestamp] = pa.Field(description="Trained on labels known before this session")
    horizon: Series[int] = pa.Field(ge=1, description="Forecast horizon, sessions")
    sharpe_ann: Series[float] = pa.Field(nullable=True)
    max_drawdown: Series[float] = pa.Field(nullable=True, ge=0)
    rank_ic: Series[float] = pa.Field(nullable=True, ge=-1, le=1)
    selected: Series[bool]
    pbo: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    dsr: Series[float] = pa.Field(nullable=True, ge=0, le=1)
    n_trials: Series[int] = pa.Field(ge=1, description="Trials in the multiplicity log, this run included")
    gate_passed: Series[bool]
    gate_reasons: Series[str]
    mlflow_run_id: Series[str]
    model_uri: Series[str] = pa.Field(description="Registered forecaster of the forecast (models:/name/version)")

    class Config:
        unique = ["forecast", "candidate"]


class VolForecasts(Lineage):
    """Forecasts per underlier for session ``asof`` (before its open) over ``horizon`` sessions.

    From the vol features of ``asof`` (data through the close before) and forecasters trained on
    labels known before ``model_as_of <= asof``; sessions before it are not forecast.
    """

    underlier: Series[str]
    asof: Series[pd.Timestamp] = pa.Field(description="Session forecast (before its open)")
    horizon: Series[int] = pa.Field(ge=1, description="Horizon of both forecasts, sessions")
    forecast_iv_change: Series[float] = pa.Field(description="Expected ATM IV change over the horizon, vol points")
    forecast_straddle_pnl_bps: Series[float] = pa.Field(
        description="Expected delta-hedged ATM straddle PnL over the horizon, bps of premium (long straddle)"
    )
    conf: Series[float] = pa.Field(ge=0.0, le=1.0, description="2 Phi(|PnL forecast| / residual sd) - 1")
    model_pnl: Series[str] = pa.Field(description="Candidate selected for the PnL forecast")
    model_iv: Series[str] = pa.Field(description="Candidate selected for the IV-change forecast")
    model_version: Series[str] = pa.Field(description="Registered versions, 'pnl/iv'")
    model_as_of: Series[pd.Timestamp] = pa.Field(description="The forecasters' training as of")

    class Config:
        unique = ["asof", "underlier"]

    @frame_rule("model_as_of", "asof")
    def model_trained_before_forecast(cls, df: pd.DataFrame) -> Series[bool]:
        return df["model_as_of"] <= df["asof"]


VolForecastSchema = VolForecasts
"""The name the options strategies know the ``vol_forecasts`` schema by."""


class OptionsStrategies(Lineage):
    """The day's top options strategies (blueprint §10.2 rows), best first, with net Greeks and costs.

    Greeks in USD units: ``net_delta`` shares, ``net_gamma`` shares per USD, ``net_vega`` and
    ``target_vega`` USD per 1.00 of vol, ``net_theta`` USD per calendar day. ``book_net_vega``,
    ``vega_cap`` and ``gamma_cap`` (fractions of the book) repeat the document's ``risk`` block.
    """

    asof: Series[pd.Timestamp] = pa.Field(description="Session: forecasts before its open, surfaces at its close")
    rank: Series[int] = pa.Field(ge=1, le=10)
    sleeve: Series[str] = pa.Field(isin=["vol", "spread"])
    underlier: Series[str]
    type: Series[str] = pa.Field(
        isin=["delta_hedged_straddle", "delta_hedged_strangle", "vertical", "calendar", "diagonal"]
    )
    expiry: Series[pd.Timestamp] = pa.Field(description="Nearest leg's expiry")
    qty: Series[int] = pa.Field(description="Units of the structure, contracts per leg ratio (negative: sold)")
    target_vega: Series[float]
    expected_pnl_bps: Series[float] = pa.Field(description="Expected PnL after round-trip costs, bps of premium")
    expected_pnl_usd: Series[float] = pa.Field(gt=0)
    conf: Series[float] = pa.Field(ge=0.0, le=1.0)
    hedge_rebalance: Series[str] = pa.Field(isin=["daily", "threshold", "daily_or_threshold"])
    hedge_delta_threshold: Series[float] = pa.Field(ge=0)
    net_delta: Series[float]
    net_gamma: Series[float]
    net_vega: Series[float]
    net_theta: Series[float]
    worst_case_slippage_bps: Series[float] = pa.Field(ge=0, description="Round-trip costs, bps of premium")
    assignment_risk: Series[bool] = pa.Field(description="A short call may be assigned before an ex-dividend date")
    legs: Series[str] = pa.Field(description="JSON list of legs: expiry, strike, is_call, ratio")
    book_net_vega: Series[float]
    vega_cap: Series[float] = pa.Field(ge=0)
    gamma_cap: Series[float] = pa.Field(ge=0)

    class Config:
        unique = ["asof", "rank"]


class OptionsBacktest(Lineage):
    """Daily PnL of each options sleeve, USD, with its Greeks attribution (buckets sum to ``total``)."""

    date: Series[pd.Timestamp]
    sleeve: Series[str] = pa.Field(isin=["vol", "spread"])
    total: Series[float] = pa.Field(description="Gross PnL: delta + gamma + theta + vega + residual")
    delta: Series[float]
    gamma: Series[float]
    theta: Series[float]
    vega: Series[float]
    residual: Series[float]
    costs: Series[float] = pa.Field(ge=0, description="Option fills, fees, impact and hedge trading")
    net: Series[float] = pa.Field(description="total - costs")
    net_vega: Series[float] = pa.Field(description="Net vega held from the close, USD per 1.00 of vol")
    net_gamma: Series[float]
    positions: Series[float] = pa.Field(ge=0)

    class Config:
        unique = ["date", "sleeve"]

    @frame_rule("delta", "gamma", "theta", "vega", "residual", "total")
    def buckets_sum_to_total(cls, df: pd.DataFrame) -> Series[bool]:
        parts = df[["delta", "gamma", "theta", "vega", "residual"]].sum(axis=1)
        return (parts - df["total"]).abs() <= 1e-6 * (1.0 + df["total"].abs())


# ================================================================== portfolio (equities sleeve)
# Daily targets, the backtest of the stored targets and the daily blotter
# (quant_assets.portfolio, quant_assets.backtest, quant_assets.reporting, quant_assets.defs.portfolio).


class TargetPortfolio(Lineage):
    """Target weights of session ``date`` built from its scores (data through the close before).

    One row per scored name; ``target_w = 0`` where the builder holds nothing. Session-level
    figures (ex-ante volatility, Kelly fraction used) repeat on every row of the session.
    """

    date: Series[pd.Timestamp] = pa.Field(description="Session the targets are for (traded from its open)")
    symbol: Series[str]
    target_w: Series[float] = pa.Field(ge=-1.0, le=1.0, description="Target weight, fraction of book equity")
    prev_w: Series[float] = pa.Field(ge=-1.0, le=1.0, description="Target of the session before (0 if none)")
    expected_excess_return: Series[float] = pa.Field(description="The score: expected excess return over horizon")
    confidence: Series[float] = pa.Field(ge=0.0, le=1.0)
    edge: Series[float] = pa.Field(description="Conservative edge: shrunk by uncertainty, net of borrow, haircut")
    horizon_days: Series[int] = pa.Field(ge=1, description="Sessions the expected return refers to")
    sector: Series[str] = pa.Field(nullable=True, description="Sector of the symbols master (caps)")
    daily_vol: Series[float] = pa.Field(nullable=True, ge=0.0, description="Daily vol, 20 sessions before")
    bounds: Series[str] = pa.Field(description="Caps that moved the weight, '; '-separated ('' none)")
    ex_ante_vol_ann: Series[float] = pa.Field(ge=0.0, description="Ex-ante annualized volatility of the sleeve")
    kelly_fraction: Series[float] = pa.Field(ge=0.0, le=0.25, description="Fraction of full Kelly used")

    class Config:
        unique = ["date", "symbol"]


class BacktestEquities(Lineage):
    """Daily equity curve of the backtest of the stored targets, net of every cost (currency)."""

    date: Series[pd.Timestamp] = pa.Field(description="Session, marked at its close")
    nav: Series[float] = pa.Field(description="Net asset value")
    cash: Series[float]
    long_value: Series[float] = pa.Field(ge=0.0)
    short_value: Series[float] = pa.Field(le=0.0)
    net_pnl: Series[float] = pa.Field(description="NAV change over the session")
    fee: Series[float] = pa.Field(ge=0.0)
    spread: Series[float] = pa.Field(ge=0.0, description="Half-spread paid")
    impact: Series[float] = pa.Field(ge=0.0, description="Square-root impact paid (model)")
    impact_realized: Series[float] = pa.Field(description="Impact measured from fill prices")
    borrow: Series[float] = pa.Field(ge=0.0, description="Borrow fees on shorts")
    dividends: Series[float] = pa.Field(description="Dividends credited (longs) and debited (shorts)")
    traded_notional: Series[float] = pa.Field(ge=0.0)
    requested_notional: Series[float] = pa.Field(ge=0.0, description="Notional of the session's orders")
    filled_notional: Series[float] = pa.Field(ge=0.0, description="Notional filled")
    modeled_impact: Series[float] = pa.Field(ge=0.0, description="Ex-ante impact of the orders as if filled at once")
    drawdown: Series[float] = pa.Field(le=0.0, description="NAV over its running peak minus 1")
    run_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="hash(data snapshot + configuration)")

    class Config:
        unique = ["date"]


class DailyBlotter(Lineage):
    """The positions of the daily blotter (blueprint §10.1), one row per non-zero target."""

    asof: Series[pd.Timestamp] = pa.Field(description="Session the targets are for")
    symbol: Series[str]
    target_w: Series[float] = pa.Field(ge=-1.0, le=1.0)
    horizon_days: Series[int] = pa.Field(ge=1)
    expected_alpha_bps: Series[float]
    conf: Series[float] = pa.Field(ge=0.0, le=1.0)
    tp_bps: Series[float] = pa.Field(ge=0.0, description="Take-profit move in the position's favour, bps")
    sl_bps: Series[float] = pa.Field(le=0.0, description="Stop-loss move against the position, bps")

    class Config:
        unique = ["asof", "symbol"]


# ---- the daily paper book (quant_assets.portfolio.book): orders, fills, positions, pnl


class Orders(Lineage):
    """Orders sent at the open of ``date``: target shares minus the position after corporate actions.

    What does not fill is not carried: the next session's targets replace it (the fills say what filled).
    """

    date: Series[pd.Timestamp] = pa.Field(description="Session the order is sent at the open of")
    order_id: Series[str] = pa.Field(str_length={"min_value": 1}, description="'<yyyymmdd>:<symbol>'")
    symbol: Series[str]
    side: Series[str] = pa.Field(isin=["buy", "sell"])
    type: Series[str] = pa.Field(isin=["MKT", "LMT"])
    limit_price: Series[float] = pa.Field(nullable=True, description="LMT price (NaN for MKT), currency")
    requested: Series[float] = pa.Field(gt=0.0, description="Shares ordered")
    target_shares: Series[float] = pa.Field(description="Target position in shares (negative: short)")
    modeled_impact: Series[float] = pa.Field(ge=0.0, description="Ex-ante square-root impact as if filled at once")
    requested_notional: Series[float] = pa.Field(ge=0.0, description="Shares ordered x open, currency")

    class Config:
        unique = ["date", "symbol"]


class Fills(Lineage):
    """Fills of the session's orders by the execution simulator (fees, half-spread, impact)."""

    date: Series[pd.Timestamp] = pa.Field(description="Session filled at the open of")
    order_id: Series[str]
    symbol: Series[str]
    side: Series[str] = pa.Field(isin=["buy", "sell"])
    bar_time: Series[pd.Timestamp] = pa.Field(description="Bar the fill happened in")
    quantity: Series[float] = pa.Field(gt=0.0, description="Shares filled")
    price: Series[float] = pa.Field(gt=0.0, description="Fill price incl. half-spread and impact, currency")
    reference_price: Series[float] = pa.Field(gt=0.0, description="Open (arrival price), currency")
    fee: Series[float] = pa.Field(ge=0.0)
    spread_cost: Series[float] = pa.Field(ge=0.0, description="Half-spread paid, currency")
    impact_cost: Series[float] = pa.Field(ge=0.0, description="Square-root impact paid, currency")


class Positions(Lineage):
    """The book after the close of ``date``: one row per held name and one '$CASH' row (NAV = sum of values)."""

    date: Series[pd.Timestamp] = pa.Field(description="Session, marked at its close")
    symbol: Series[str] = pa.Field(description="Ticker, or '$CASH' for the cash row")
    shares: Series[float] = pa.Field(description="Shares held (negative: short); the cash amount on '$CASH'")
    close: Series[float] = pa.Field(gt=0.0, description="Mark: the close (last close without a bar); 1 for cash")
    market_value: Series[float] = pa.Field(description="shares x close, currency")
    weight: Series[float] = pa.Field(description="market_value / NAV")
    cost_basis: Series[float] = pa.Field(description="Sum of open FIFO lots' quantity x price, currency")
    lots: Series[str] = pa.Field(description="Open FIFO lots as JSON [[quantity, price], ...], oldest first")

    class Config:
        unique = ["date", "symbol"]


class Pnl(Lineage):
    """PnL of the book over session ``date`` (currency): gross, costs by kind, borrow, net, and the cash flows."""

    date: Series[pd.Timestamp]
    nav_prev: Series[float] = pa.Field(description="NAV at the previous close")
    nav: Series[float] = pa.Field(description="NAV at the close")
    net_pnl: Series[float] = pa.Field(description="nav - nav_prev")
    gross_pnl: Series[float] = pa.Field(description="net_pnl + fee + spread + impact + borrow")
    fee: Series[float] = pa.Field(ge=0.0)
    spread: Series[float] = pa.Field(ge=0.0, description="Half-spread paid")
    impact: Series[float] = pa.Field(ge=0.0, description="Square-root impact paid (model)")
    impact_realized: Series[float] = pa.Field(description="Impact measured from fill prices")
    borrow: Series[float] = pa.Field(ge=0.0, description="Borrow fees on shorts (actual/360)")
    dividends: Series[float] = pa.Field(description="Dividends credited (longs) and debited (shorts)")
    cash_prev: Series[float]
    cash: Series[float] = pa.Field(description="cash_prev + trade_cash_flow + dividends + delisting_proceeds - borrow")
    trade_cash_flow: Series[float] = pa.Field(description="-(sum of signed shares x fill price) - fees")
    delisting_proceeds: Series[float] = pa.Field(description="Shares x close x (1 + delisting return)")
    realized_pnl: Series[float] = pa.Field(description="FIFO realized PnL of fills and delistings")
    traded_notional: Series[float] = pa.Field(ge=0.0, description="Shares filled x open")
    turnover: Series[float] = pa.Field(ge=0.0, description="traded_notional / nav_prev")

    class Config:
        unique = ["date"]


class Tripwires(Lineage):
    """Tripwires at the close of each session: drawdown, de-risk band, slippage against the model, the kill."""

    date: Series[pd.Timestamp] = pa.Field(description="Session, at its close")
    nav: Series[float] = pa.Field(description="NAV of the monitored book")
    drawdown: Series[float] = pa.Field(ge=0.0, description="Drawdown from the peak since the start or last clearance")
    gross_scale: Series[float] = pa.Field(ge=0.0, le=1.0, description="De-risk band's gross multiplier")
    slippage_ratio: Series[float] = pa.Field(nullable=True, description="Realized / modeled impact (NaN: no trade)")
    slippage_breach_days: Series[int] = pa.Field(ge=0, description="Consecutive sessions above the slippage bar")
    kill: Series[bool] = pa.Field(description="A tripwire demands the kill at this close")
    reason: Series[str] = pa.Field(description="The rule and its numbers on the session the kill fired")
    killed: Series[bool] = pa.Field(description="The kill switch on disk after this session's evaluation")

    class Config:
        unique = ["date"]


class GoNoGo(Lineage):
    """The Go/No-Go scorecard: one row per sleeve and session, out of sample and net of costs and impact."""

    asof: Series[pd.Timestamp] = pa.Field(description="Session the verdict is made at (figures through its close)")
    sleeve: Series[str] = pa.Field(isin=["equities", "options_vol", "options_spread"])
    passed: Series[bool] = pa.Field(description="GO when every bar holds")
    sharpe: Series[float] = pa.Field(nullable=True, description="Annualized net Sharpe")
    max_drawdown: Series[float] = pa.Field(nullable=True, ge=0.0, description="Maximum drawdown, fraction")
    dsr: Series[float] = pa.Field(nullable=True, ge=0.0, le=1.0, description="Deflated Sharpe ratio probability")
    pbo: Series[float] = pa.Field(nullable=True, ge=0.0, le=1.0, description="Probability of backtest overfitting")
    n_trials: Series[float] = pa.Field(nullable=True, ge=0.0, description="Trials behind the DSR")
    max_net_vega: Series[float] = pa.Field(nullable=True, description="Largest |net vega| / book (options)")
    vega_cap: Series[float] = pa.Field(nullable=True, description="Policy cap on |net vega| / book (options)")
    vega_within_policy: Series[str] = pa.Field(isin=["yes", "no", "n/a"])
    reasons: Series[str] = pa.Field(description="Failed bars, '; '-separated ('' when GO)")
    source: Series[str] = pa.Field(description="Asset the figures come from")

    class Config:
        unique = ["asof", "sleeve"]


class ShadowPositions(Lineage):
    """Paper positions of the champion's and the challenger's books (decile long/short, weights of the tranche)."""

    asof: Series[pd.Timestamp] = pa.Field(description="Session the tranche is entered at the open of")
    book: Series[str] = pa.Field(isin=["champion", "challenger"])
    model_version: Series[str] = pa.Field(description="Registered version scoring the book")
    symbol: Series[str]
    score: Series[float] = pa.Field(description="The model's expected excess return")
    weight: Series[float] = pa.Field(ge=-1.0, le=1.0, description="Tranche weight (gross 1, dollar neutral)")

    class Config:
        unique = ["asof", "book", "symbol"]


class ShadowPnl(Lineage):
    """Realized paper PnL of each book: the tranche entered at ``asof`` over its horizon, net of costs."""

    asof: Series[pd.Timestamp] = pa.Field(description="Entry session of the tranche")
    known_date: Series[pd.Timestamp] = pa.Field(description="Session the tranche's return is known at")
    book: Series[str] = pa.Field(isin=["champion", "challenger"])
    model_version: Series[str]
    gross_return: Series[float] = pa.Field(description="Book equity move before costs, fraction")
    cost: Series[float] = pa.Field(ge=0.0, description="Fee, half-spread and impact, fraction of the book")
    net_return: Series[float] = pa.Field(description="gross_return - cost")

    class Config:
        unique = ["asof", "book"]


class PromotionDecisions(Lineage):
    """Every champion-challenger decision, promoted or blocked, with why (append-only log)."""

    decided_at: Series[UtcTimestamp]
    period: Series[str] = pa.Field(description="Training date of the challenger")
    challenger: Series[str] = pa.Field(description="Selected trial of the challenger search")
    challenger_version: Series[str]
    champion_version: Series[str] = pa.Field(description="Champion at the time ('' when none)")
    promoted: Series[bool]
    reasons: Series[str] = pa.Field(description="Failed checks, '; '-separated ('' when promoted)")
    shadow_sessions: Series[float] = pa.Field(nullable=True, ge=0.0)
    challenger_net: Series[float] = pa.Field(nullable=True, description="Cumulative shadow net PnL, fraction")
    champion_net: Series[float] = pa.Field(nullable=True)
    challenger_gross: Series[float] = pa.Field(nullable=True)
    champion_gross: Series[float] = pa.Field(nullable=True)
    n_trials: Series[float] = pa.Field(nullable=True, ge=0.0, description="Trials behind the challenger's DSR")
    pbo: Series[float] = pa.Field(nullable=True)
    dsr: Series[float] = pa.Field(nullable=True)


# ================================================================== operations (runbook, drift)
# The 07:00 data-freshness verification and the daily drift/health metrics (quant_assets.monitoring).


class DataFreshness(Lineage):
    """One row per feed and session: was the feed's previous session stored when the day started?"""

    date: Series[pd.Timestamp] = pa.Field(description="Session whose morning run verified the feeds")
    feed: Series[str] = pa.Field(description="Asset key of the feed")
    expected: Series[pd.Timestamp] = pa.Field(nullable=True, description="Session that must be stored (NaT: none)")
    last_stored: Series[pd.Timestamp] = pa.Field(nullable=True, description="Latest stored session up to date")
    fresh: Series[bool]

    class Config:
        unique = ["date", "feed"]


class DriftMetrics(Lineage):
    """Drift and health of the live system after the close of ``date`` (blueprint §11)."""

    date: Series[pd.Timestamp] = pa.Field(description="Session, after its close")
    n_features: Series[int] = pa.Field(ge=0, description="Features compared with the reference window")
    psi_mean: Series[float] = pa.Field(nullable=True, ge=0.0, description="Mean PSI over the features")
    psi_median: Series[float] = pa.Field(nullable=True, ge=0.0, description="Median PSI: the drift threshold's test")
    psi_max: Series[float] = pa.Field(nullable=True, ge=0.0)
    psi_max_feature: Series[str] = pa.Field(description="Feature with the largest PSI ('' when none)")
    kl_mean: Series[float] = pa.Field(nullable=True, ge=0.0, description="Mean KL(live || reference), nats")
    brier: Series[float] = pa.Field(nullable=True, ge=0.0, le=1.0, description="Scores whose targets became known")
    log_loss: Series[float] = pa.Field(nullable=True, ge=0.0, description="Nats")
    n_calibration: Series[int] = pa.Field(ge=0)
    ir_month: Series[float] = pa.Field(nullable=True, description="Annualised IR of the month to date")
    tuw_current: Series[int] = pa.Field(ge=0, description="Sessions under water now")
    tuw_longest: Series[int] = pa.Field(ge=0, description="Longest spell under water in the window, sessions")
    beta_market: Series[float] = pa.Field(nullable=True, description="OLS beta of book returns on the EW market")
    net_delta: Series[float] = pa.Field(nullable=True, description="Options book, per 1 underlier move")
    net_gamma: Series[float] = pa.Field(nullable=True)
    net_vega: Series[float] = pa.Field(nullable=True, description="Per vol point")
    net_theta: Series[float] = pa.Field(nullable=True, description="Per day")
    impact_ratio: Series[float] = pa.Field(nullable=True, description="Realized / modeled impact of the day")
    impact_residual_bps: Series[float] = pa.Field(nullable=True, description="Mean (realized - modeled) per notional")
    change_points: Series[int] = pa.Field(ge=0, description="Change points in the live net PnL window")
    last_change_point: Series[pd.Timestamp] = pa.Field(nullable=True)
    breach: Series[bool] = pa.Field(description="A configured threshold is crossed")
    breach_reason: Series[str] = pa.Field(description="Why, '; '-separated ('' when none)")

    class Config:
        unique = ["date"]
