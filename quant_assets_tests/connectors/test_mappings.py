"""Exact mappings of the fixture pages onto the delivery columns (values checked by hand)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from quant_assets.connectors import ClientOptions
from quant_assets.connectors.edgar import Edgar
from quant_assets.connectors.fred import cmt_to_continuous
from quant_assets_tests.connectors.conftest import FAST
from quant_assets_tests.connectors.test_vendors import serve
from quant_assets_tests.connectors.vendors import (
    ALPACA,
    ALPHAVANTAGE,
    ALPHAVANTAGE_LISTINGS,
    EDGAR,
    FINNHUB,
    FMP,
    FRED,
    TREASURY,
)

OPT = ClientOptions(retry=FAST, rate=(1000, 1.0))


def run(httpserver, driver):
    serve(httpserver, driver)
    return driver.call(httpserver.url_for("/"), OPT)


def test_alpaca_daily_bars_on_new_york_dates_across_pages(httpserver):
    df = run(httpserver, ALPACA)
    assert df[["symbol", "date", "close", "trades"]].values.tolist() == [
        ["AAA", pd.Timestamp("2024-01-02"), 101.0, 1500],
        ["AAA", pd.Timestamp("2024-01-03"), 98.5, 1800],
        ["BBB", pd.Timestamp("2024-01-02"), 50.5, 900],
        ["BBB", pd.Timestamp("2024-01-03"), 51.75, 950],
    ]


def test_fred_curve_is_continuously_compounded_and_skips_missing_values(httpserver):
    df = run(httpserver, FRED)
    assert df[["date", "tenor_days"]].values.tolist() == [
        [pd.Timestamp("2024-01-02"), 91],
        [pd.Timestamp("2024-01-02"), 3652],
        [pd.Timestamp("2024-01-03"), 91],
    ]
    assert df["rate"].iloc[0] == pytest.approx(2 * math.log(1 + 0.0546 / 2))


def test_treasury_average_rates_read_every_page(httpserver):
    df = run(httpserver, TREASURY)
    assert df["tenor_days"].tolist() == [182, 1826, 7305]
    assert df["rate"].iloc[2] == pytest.approx(cmt_to_continuous(3.088))


def test_edgar_fundamentals_dated_by_the_filing(httpserver):
    df = run(httpserver, EDGAR)
    assert df.to_dict("records") == [
        {
            "symbol": "AAA",
            "period_end": pd.Timestamp("2023-09-30"),
            "report_date": pd.Timestamp("2023-10-27"),
            "book_equity": 50e6,
            "shares_outstanding": 1e6,
            "eps": 0.66,
        },  # the quarter, not the nine months
        {
            "symbol": "AAA",
            "period_end": pd.Timestamp("2023-12-31"),
            "report_date": pd.Timestamp("2024-02-01"),
            "book_equity": 52e6,
            "shares_outstanding": 1.01e6,
            "eps": 2.61,
        },
    ]


def test_edgar_requires_a_descriptive_user_agent():
    with pytest.raises(ValueError, match="User-Agent"):
        Edgar("python-requests")


def test_alphavantage_splits_and_dividends(httpserver):
    df = run(httpserver, ALPHAVANTAGE)
    rows = df[["event_type", "announce_date", "ex_date", "record_date", "pay_date", "ratio", "amount"]]
    assert rows.values.tolist() == [
        ["dividend", *map(pd.Timestamp, ["2023-10-02"] * 4), 1.0, 0.24],  # unknown dates take the ex-date
        ["dividend", *map(pd.Timestamp, ["2023-12-15", "2024-01-02", "2024-01-03", "2024-01-20"]), 1.0, 0.25],
        ["split", *map(pd.Timestamp, ["2024-01-03"] * 4), 2.0, 0.0],
    ]


def test_alphavantage_listing_status_csv(httpserver):
    df = run(httpserver, ALPHAVANTAGE_LISTINGS)
    assert df[["symbol", "delistingDate"]].values.tolist() == [["CCC", "2024-01-03"], ["DDD", "2024-01-02"]]


def test_alphavantage_throttle_message_with_status_200_is_an_error(httpserver):
    httpserver.expect_request("/query").respond_with_json({"Note": "Thank you for using Alpha Vantage! limit"})
    with pytest.raises(Exception, match=r"alphavantage query: field 'Note': SPLITS AAA: Thank you"):
        ALPHAVANTAGE.call(httpserver.url_for("/"), OPT)


def test_fmp_pages_until_the_empty_page(httpserver):
    df = run(httpserver, FMP)
    assert df[["symbol", "delist_date"]].values.tolist() == [
        ["EEE", pd.Timestamp("2023-12-29")],
        ["DDD", pd.Timestamp("2024-01-02")],
        ["CCC", pd.Timestamp("2024-01-03")],
    ]
    assert [r.args["page"] for r, _ in httpserver.log] == ["0", "1", "2"]


def test_finnhub_chain_as_option_quotes(httpserver):
    df = run(httpserver, FINNHUB)
    assert df[["expiry", "strike", "cp_flag", "bid", "ask", "nbbo_mid", "open_interest"]].values.tolist() == [
        [pd.Timestamp("2024-01-19"), 100.0, "C", 2.5, 2.7, 2.6, 1500],
        [pd.Timestamp("2024-01-19"), 100.0, "P", 1.45, 1.6, 1.525, 900],
        [pd.Timestamp("2024-02-16"), 105.0, "C", 1.0, 1.2, 1.1, 200],
    ]
    assert (df["ts_ns"] == pd.Timestamp("2024-01-02 21:00", tz="UTC").value).all()
