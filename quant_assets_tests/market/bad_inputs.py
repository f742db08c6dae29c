"""The bad-input catalogue: each case a small named mutation of a valid delivery.

A case names the dataset, the mutation (a function of the good frame, so it applies to the
hand-built frames of :mod:`frames` and to a synthetic delivery alike), and the column and rule
the rejection must name. ``asset=False`` marks mutations tied to the hand-built frames (their
symbols, dates or window) that a fault-injecting source cannot reproduce generically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets_tests.market import frames

S = frames.SESSIONS
FUNDAMENTAL_SESSIONS = pd.DatetimeIndex(["2024-05-02", "2024-05-20"])
HUGE_COUNT = 2**62


def earnings_calendar() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": ["S0001", "S0002"],
            "announce_date": pd.to_datetime(["2024-07-01", "2024-07-05"]),
            "earnings_date": pd.to_datetime(["2024-07-25", "2024-07-30"]),
        }
    )


GOOD = {
    "bars": frames.bars,
    "corporate_actions": frames.corporate_actions,
    "delistings": frames.delistings,
    "fundamentals": frames.fundamentals,
    "earnings_calendar": earnings_calendar,
    "rates": frames.rates,
    "option_quotes": frames.option_quotes,
}
SESSIONS = {"fundamentals": FUNDAMENTAL_SESSIONS}


@dataclass(frozen=True)
class Case:
    dataset: str
    mutate: Callable[[pd.DataFrame], pd.DataFrame]
    field: str
    rule: str
    asset: bool = True


def cell(col: str, value, row: int = 0) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Set one cell (positional row), upcasting the column when the value needs it."""

    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        if isinstance(value, str) and not pd.api.types.is_object_dtype(df[col]):
            df[col] = df[col].astype(object)
        elif isinstance(value, float) and pd.api.types.is_integer_dtype(df[col]):
            df[col] = df[col].astype(float)
        df.loc[df.index[row], col] = value
        return df

    return mutate


def column(col: str, fn: Callable[[pd.Series], pd.Series]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda df: df.assign(**{col: fn(df[col])})


def extra_column(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(vendor_note="x")


def duplicate_row(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[0]]], ignore_index=True)


def _ohlc_high_below_close(df):
    df = df.copy()
    df.loc[df.index[0], "high"] = df["close"].iloc[0] - 0.01
    return df


def _low_above_open(df):
    df = df.copy()
    i = df.index[0]
    df.loc[i, "low"] = min(df.loc[i, "high"], max(df.loc[i, "open"], df.loc[i, "close"]) + 0.01)
    return df


def _vwap(offset_col: str, sign: float):
    def mutate(df):
        df = df.copy()
        df.loc[df.index[0], "vwap"] = df[offset_col].iloc[0] + sign
        return df

    return mutate


def _spread_above_high(df):
    df = df.copy()
    df.loc[df.index[0], "nbbo_spread"] = df["high"].iloc[0] * 2
    return df


def _missing_session(df):
    return df[df["date"] != S[2]].reset_index(drop=True)


def _split_twice_in_one_delivery(df):
    again = df[df["event_type"] == "split"].assign(ex_date=S[4], record_date=S[4])
    return pd.concat([df, again], ignore_index=True)


def _first_row_of(event: str, **values):
    """Change the first ``event`` row (the first row made into one if the delivery has none)."""

    def mutate(df):
        df = df.copy()
        rows = df.index[df["event_type"] == event]
        i = rows[0] if len(rows) else df.index[0]
        if not len(rows):
            df.loc[i, ["event_type", "ratio", "amount"]] = (event, 2.0, 0.0) if event == "split" else (event, 1.0, 0.1)
        for col, value in values.items():
            df.loc[i, col] = value
        return df

    return mutate


def _ts_shift(delta_ns: int):
    return column("ts_ns", lambda s: s + delta_ns)


def _mid_far_outside(df):
    df = df.copy()
    df.loc[df.index[0], "nbbo_mid"] = df["ask"].iloc[0] * 10 + 1
    return df


def _global_out_of_order(df):
    df = df.copy()
    df.loc[df.index[-1], "ts_ns"] = df["ts_ns"].iloc[0] - 1
    return df


def _expiry_before_date(df):
    df = df.copy()
    df.loc[df.index[0], "expiry"] = df["date"].iloc[0] - pd.Timedelta(days=1)
    return df


def _earnings_before_announce(df):
    df = df.copy()
    df.loc[df.index[0], "earnings_date"] = df["announce_date"].iloc[0] - pd.Timedelta(days=1)
    return df


def _report_before_period_end(df):
    df = df.copy()
    df.loc[df.index[0], "period_end"] = df["report_date"].iloc[0] + pd.Timedelta(days=1)
    return df


def _duplicate_rate(df):
    return pd.concat([df, df.iloc[[0]].assign(rate=df["rate"].iloc[0] + 0.001)], ignore_index=True)


def _text_dates(col):
    return column(col, lambda s: s.dt.strftime("%Y-%m-%d"))


def _tz_dates(col):
    return column(col, lambda s: s.dt.tz_localize("UTC"))


INF = np.inf
LE_PRICE = "less_than_or_equal_to(1000000.0)"
LT_SHARES = "less_than(1000000000000.0)"
UNIQUE = "multiple_fields_uniqueness"

CATALOGUE: dict[str, Case] = {
    # ----------------------------------------------------------------------- bars
    "bars_close_inf": Case("bars", cell("close", INF), "close", LE_PRICE),
    "bars_open_nan": Case("bars", cell("open", np.nan), "open", "not_nullable"),
    "bars_close_1e300": Case("bars", cell("close", 1e300), "close", LE_PRICE),
    "bars_high_negative": Case("bars", cell("high", -1.0), "high", "greater_than(0)"),
    "bars_vwap_zero": Case("bars", cell("vwap", 0.0), "vwap", "greater_than(0)"),
    "bars_vwap_above_high": Case("bars", _vwap("high", 1.0), "vwap", "vwap_within_range"),
    "bars_vwap_below_low": Case("bars", _vwap("low", -0.5), "vwap", "vwap_within_range"),
    "bars_high_below_close": Case("bars", _ohlc_high_below_close, "open,high,low,close", "ohlc_consistent"),
    "bars_low_above_open": Case("bars", _low_above_open, "open,high,low,close", "ohlc_consistent"),
    "bars_volume_2_62": Case("bars", cell("volume", HUGE_COUNT), "volume", LT_SHARES),
    "bars_volume_negative": Case("bars", cell("volume", -10), "volume", "greater_than_or_equal_to(0)"),
    "bars_volume_fractional": Case("bars", cell("volume", 10.5), "volume", "not_integral"),
    "bars_volume_as_float": Case("bars", column("volume", lambda s: s.astype(float)), "volume", "dtype('int64')"),
    "bars_spread_inf": Case("bars", cell("nbbo_spread", INF), "nbbo_spread", LE_PRICE),
    "bars_spread_negative": Case("bars", cell("nbbo_spread", -0.01), "nbbo_spread", "greater_than_or_equal_to(0)"),
    "bars_spread_above_high": Case("bars", _spread_above_high, "nbbo_spread", "spread_below_high"),
    "bars_trades_negative": Case("bars", cell("trades", -1), "trades", "greater_than_or_equal_to(0)"),
    "bars_session_id_negative": Case("bars", cell("session_id", -1), "session_id", "greater_than_or_equal_to(0)"),
    "bars_stray_string": Case("bars", cell("close", "12,5", row=2), "close", "not_numeric"),
    "bars_date_text": Case("bars", _text_dates("date"), "date", "not_datetime"),
    "bars_date_tz_aware": Case("bars", _tz_dates("date"), "date", "tz_aware"),
    "bars_extra_column": Case("bars", extra_column, "vendor_note", "unexpected_column"),
    "bars_missing_column": Case("bars", lambda df: df.drop(columns="vwap"), "vwap", "missing_column"),
    "bars_duplicate_row": Case("bars", duplicate_row, "date,symbol", UNIQUE),
    "bars_symbol_missing": Case("bars", cell("symbol", None), "symbol", "not_nullable"),
    "bars_unknown_symbol": Case("bars", cell("symbol", "ZZZZ"), "symbol", "unknown_symbol"),
    "bars_missing_session": Case("bars", _missing_session, "date", "missing_session", asset=False),
    "bars_holiday": Case("bars", cell("date", pd.Timestamp("2024-07-04")), "date", "outside_window", asset=False),
    "bars_weekend": Case("bars", cell("date", pd.Timestamp("2024-07-06")), "date", "outside_window", asset=False),
    "bars_after_window": Case("bars", cell("date", pd.Timestamp("2024-07-09")), "date", "outside_window", asset=False),
    # ---------------------------------------------------------- corporate actions
    "ca_split_ratio_inf": Case(
        "corporate_actions", _first_row_of("split", ratio=INF), "ratio", "less_than_or_equal_to(100.0)"
    ),
    "ca_split_ratio_1e12": Case(
        "corporate_actions", _first_row_of("split", ratio=1e12), "ratio", "less_than_or_equal_to(100.0)"
    ),
    "ca_split_ratio_tiny": Case(
        "corporate_actions", _first_row_of("split", ratio=1e-3), "ratio", "split_ratio_plausible"
    ),
    "ca_split_ratio_zero": Case("corporate_actions", _first_row_of("split", ratio=0.0), "ratio", "greater_than(0)"),
    "ca_split_ratio_nan": Case("corporate_actions", _first_row_of("split", ratio=np.nan), "ratio", "not_nullable"),
    "ca_dividend_ratio_two": Case(
        "corporate_actions", _first_row_of("dividend", ratio=2.0), "ratio", "split_ratio_plausible"
    ),
    "ca_dividend_inf": Case("corporate_actions", _first_row_of("dividend", amount=INF), "amount", LE_PRICE),
    "ca_dividend_negative": Case(
        "corporate_actions", _first_row_of("dividend", amount=-0.5), "amount", "greater_than_or_equal_to(0)"
    ),
    "ca_dividend_1000": Case(
        "corporate_actions", _first_row_of("dividend", amount=1000.0), "amount", "dividend_above_cap"
    ),
    "ca_split_pays_cash": Case("corporate_actions", _first_row_of("split", amount=1.0), "amount", "splits_pay_no_cash"),
    "ca_announced_after_ex": Case(
        "corporate_actions",
        column("announce_date", lambda s: s + pd.Timedelta(days=30)),
        "announce_date",
        "announced_before_ex",
    ),
    "ca_record_before_ex": Case(
        "corporate_actions",
        column("record_date", lambda s: s - pd.Timedelta(days=30)),
        "record_date",
        "record_on_or_after_ex",
    ),
    "ca_paid_before_record": Case(
        "corporate_actions",
        column("pay_date", lambda s: s - pd.Timedelta(days=60)),
        "pay_date",
        "paid_on_or_after_record",
    ),
    "ca_unknown_event": Case(
        "corporate_actions", cell("event_type", "spinoff"), "event_type", "isin(['split', 'dividend'])"
    ),
    "ca_unknown_symbol": Case("corporate_actions", cell("symbol", "NOPE"), "symbol", "unknown_symbol"),
    "ca_duplicate_row": Case("corporate_actions", duplicate_row, "symbol,event_type,ex_date", UNIQUE),
    "ca_ex_date_holiday": Case(
        "corporate_actions",
        _first_row_of("split", ex_date=pd.Timestamp("2024-07-04")),
        "ex_date",
        "outside_window",
        asset=False,
    ),
    "ca_split_twice_moved_ex_date": Case(
        "corporate_actions", _split_twice_in_one_delivery, "ex_date", "redelivered_split", asset=False
    ),
    "ca_ex_date_text": Case("corporate_actions", _text_dates("ex_date"), "ex_date", "not_datetime"),
    # ------------------------------------------------------------------ delistings
    "delist_return_inf": Case(
        "delistings", cell("delisting_return", INF), "delisting_return", "less_than_or_equal_to(10.0)", asset=False
    ),
    "delist_return_below_minus_one": Case(
        "delistings", cell("delisting_return", -1.5), "delisting_return", "greater_than_or_equal_to(-1.0)", asset=False
    ),
    "delist_return_nan": Case(
        "delistings", cell("delisting_return", np.nan), "delisting_return", "not_nullable", asset=False
    ),
    "delist_unknown_reason": Case(
        "delistings", cell("reason", "whim"), "reason", "isin(['bankruptcy', 'merger', 'exchange_move'])", asset=False
    ),
    "delist_unknown_symbol": Case("delistings", cell("symbol", "NOPE"), "symbol", "unknown_symbol", asset=False),
    "delist_outside_window": Case(
        "delistings", cell("delist_date", pd.Timestamp("2024-08-01")), "delist_date", "outside_window", asset=False
    ),
    # ---------------------------------------------------------------- fundamentals
    "fund_book_equity_inf": Case(
        "fundamentals", cell("book_equity", INF), "book_equity", "less_than_or_equal_to(10000000000000.0)"
    ),
    "fund_book_equity_nan": Case("fundamentals", cell("book_equity", np.nan), "book_equity", "not_nullable"),
    "fund_shares_zero": Case("fundamentals", cell("shares_outstanding", 0.0), "shares_outstanding", "greater_than(0)"),
    "fund_shares_2_62": Case(
        "fundamentals",
        cell("shares_outstanding", float(HUGE_COUNT)),
        "shares_outstanding",
        "less_than_or_equal_to(1000000000000.0)",
    ),
    "fund_eps_inf": Case("fundamentals", cell("eps", INF), "eps", LE_PRICE),
    "fund_report_before_period_end": Case(
        "fundamentals", _report_before_period_end, "report_date", "arrives_after_period_end"
    ),
    "fund_unknown_symbol": Case("fundamentals", cell("symbol", "NOPE"), "symbol", "unknown_symbol"),
    "fund_report_on_weekend": Case(
        "fundamentals", cell("report_date", pd.Timestamp("2024-05-04")), "report_date", "outside_window", asset=False
    ),
    # ------------------------------------------------------------ earnings calendar
    "earn_unknown_symbol": Case("earnings_calendar", cell("symbol", "NOPE"), "symbol", "unknown_symbol"),
    "earn_before_announce": Case("earnings_calendar", _earnings_before_announce, "announce_date", "announced_ahead"),
    "earn_date_text": Case("earnings_calendar", _text_dates("earnings_date"), "earnings_date", "not_datetime"),
    # ----------------------------------------------------------------------- rates
    "rates_500_percent": Case("rates", cell("rate", 5.0), "rate", "less_than_or_equal_to(0.25)"),
    "rates_inf": Case("rates", cell("rate", INF), "rate", "less_than_or_equal_to(0.25)"),
    "rates_nan": Case("rates", cell("rate", np.nan), "rate", "not_nullable"),
    "rates_minus_50_percent": Case("rates", cell("rate", -0.5), "rate", "greater_than_or_equal_to(-0.05)"),
    "rates_zero_tenor": Case("rates", cell("tenor_days", 0), "tenor_days", "greater_than(0)"),
    "rates_fractional_tenor": Case("rates", cell("tenor_days", 30.5), "tenor_days", "not_integral"),
    "rates_duplicate_tenor": Case("rates", _duplicate_rate, "date,tenor_days", UNIQUE),
    # --------------------------------------------------------------- option quotes
    "oq_ask_inf": Case("option_quotes", cell("ask", INF), "ask", LE_PRICE),
    "oq_bid_negative": Case("option_quotes", cell("bid", -0.1), "bid", "greater_than_or_equal_to(0)"),
    "oq_mid_far_outside": Case("option_quotes", _mid_far_outside, "nbbo_mid", "mid_within_quote"),
    "oq_mid_nan": Case("option_quotes", cell("nbbo_mid", np.nan), "nbbo_mid", "not_nullable"),
    "oq_ts_year_off": Case("option_quotes", _ts_shift(-365 * 86_400 * 10**9), "ts_ns", "outside_session"),
    "oq_ts_next_morning": Case("option_quotes", _ts_shift(12 * 3_600 * 10**9), "ts_ns", "outside_session"),
    "oq_ts_out_of_order": Case("option_quotes", _global_out_of_order, "ts_ns", "out_of_order"),
    "oq_expiry_text": Case("option_quotes", _text_dates("expiry"), "expiry", "not_datetime"),
    "oq_expiry_tz_aware": Case("option_quotes", _tz_dates("expiry"), "expiry", "tz_aware"),
    "oq_expiry_before_date": Case("option_quotes", _expiry_before_date, "expiry", "expiry_after_date"),
    "oq_unknown_underlier": Case("option_quotes", cell("underlier", "NOPE"), "underlier", "unknown_symbol"),
    "oq_unknown_cp_flag": Case("option_quotes", cell("cp_flag", "X"), "cp_flag", "isin(['C', 'P'])"),
    "oq_strike_zero": Case("option_quotes", cell("strike", 0.0), "strike", "greater_than(0)"),
    "oq_strike_inf": Case("option_quotes", cell("strike", INF), "strike", LE_PRICE),
    "oq_volume_2_62": Case("option_quotes", cell("volume", HUGE_COUNT), "volume", LT_SHARES),
    "oq_open_interest_negative": Case(
        "option_quotes", cell("open_interest", -1), "open_interest", "greater_than_or_equal_to(0)"
    ),
    "oq_bid_size_fractional": Case("option_quotes", cell("bid_size", 2.5), "bid_size", "not_integral"),
    "oq_duplicate_contract": Case("option_quotes", duplicate_row, "date,underlier,expiry,strike,cp_flag", UNIQUE),
    "oq_stray_string_ask": Case("option_quotes", cell("ask", "n/a", row=1), "ask", "not_numeric"),
}

LEGITIMATE: dict[str, tuple[str, Callable[[pd.DataFrame], pd.DataFrame]]] = {
    "zero_volume_zero_trades": ("bars", lambda df: cell("trades", 0)(cell("volume", 0)(df))),
    "missing_bar_for_a_listed_name": ("bars", lambda df: df.drop(index=df.index[4]).reset_index(drop=True)),
    "outlier_but_consistent_print": (
        "bars",
        lambda df: df.assign(
            **{c: df[c].where(df.index != df.index[0], df[c] * 8) for c in ("open", "high", "low", "close", "vwap")}
        ),
    ),
    "crossed_and_locked_quotes": (
        "option_quotes",
        lambda df: df.assign(
            bid=df["bid"].where(df.index != df.index[0], df["ask"] + 0.05),
            nbbo_mid=df["nbbo_mid"].where(df.index != df.index[0], df["ask"] + 0.025),
        ),
    ),
    "negative_book_equity": ("fundamentals", cell("book_equity", -5e8)),
    "negative_rate": ("rates", cell("rate", -0.0075)),
}
