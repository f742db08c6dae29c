"""Per-session builder inputs and targets over a window of sessions (the frame work of ``target_portfolio``).

``session_inputs`` joins one session's scores with the symbols master (sector, hard-to-borrow,
borrow fee) and the trailing market statistics known at the close before (dollar ADV, daily
volatility, the returns window of the covariance); ``build_targets`` runs
:func:`quant_assets.portfolio.build` session after session, each from the previous session's
targets; ``decision_dated`` turns targets *for* a session into targets *decided at the close
before*, the convention of :func:`quant_assets.backtest.run_backtest`.
"""

from __future__ import annotations

import pandas as pd

from quant_assets.portfolio import RiskConfig, build

__all__ = ["TARGET_COLUMNS", "build_targets", "decision_dated", "empty_targets", "session_inputs", "trailing_returns"]

TARGET_COLUMNS = (
    "date",
    "symbol",
    "target_w",
    "prev_w",
    "expected_excess_return",
    "confidence",
    "edge",
    "horizon_days",
    "sector",
    "daily_vol",
    "bounds",
    "ex_ante_vol_ann",
    "kelly_fraction",
)
STAT_WINDOW = 20
"""Sessions of the trailing dollar ADV and daily volatility handed to the builder."""


def trailing_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Sessions x symbols total returns (``ret_total``) of curated prices."""
    if prices.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
    return prices.pivot(index="date", columns="symbol", values="ret_total").sort_index()


def session_inputs(
    scores: pd.DataFrame,
    symbols: pd.DataFrame,
    prices: pd.DataFrame,
    returns: pd.DataFrame,
    session: pd.Timestamp,
    window: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(scores with builder columns, returns window)`` of ``session`` from data before its open.

    ``adv_dollar`` is the mean ``close x volume`` and ``daily_vol`` the standard deviation of
    total returns over the :data:`STAT_WINDOW` sessions before ``session``; the covariance window
    is the last ``window`` sessions before it. Sector, ``htb`` and ``borrow_fee_bps`` come from the
    symbols master of the session (unknown names: no sector, not hard to borrow, fee unknown).
    """
    before = prices[prices["date"] < session]
    recent = before[before["date"] >= before["date"].drop_duplicates().nlargest(STAT_WINDOW).min()]
    adv = (recent["close"] * recent["volume"]).groupby(recent["symbol"]).mean()
    rets = returns[returns.index < session].tail(window)
    vol = rets.tail(STAT_WINDOW).std(ddof=1)
    master = symbols[symbols["date"] == session].drop_duplicates("symbol").set_index("symbol")
    s = scores.set_index("symbol", drop=False)
    out = s.assign(
        sector=master["sector"].reindex(s.index).astype(object),
        htb=master["htb"].reindex(s.index).fillna(False).astype(bool),
        borrow_fee_bps=master["borrow_fee_bps"].reindex(s.index).astype(float),
        adv_dollar=adv.reindex(s.index).astype(float),
        daily_vol=vol.reindex(s.index).astype(float),
    )
    return out.reset_index(drop=True), rets


def build_targets(
    scores: pd.DataFrame,
    symbols: pd.DataFrame,
    prices: pd.DataFrame,
    sessions: pd.DatetimeIndex,
    previous: pd.Series,
    risk: RiskConfig,
    window: int,
) -> tuple[pd.DataFrame, list[dict]]:
    """Targets of each scored session in ``sessions``, in order, each from the one before.

    ``previous`` holds the weights by symbol before the first session (the stored targets of the
    session before the window; empty at the start). A session without scores has no targets and
    leaves the previous weights in place. Returns the rows (:data:`TARGET_COLUMNS`) and one
    summary per built session (ex-ante volatility, Kelly fraction, gross, net, turnover, bounds hit).
    """
    returns = trailing_returns(prices)
    frames, summaries = [], []
    current = previous.astype(float)
    for session in sessions:
        day = scores[scores["asof"] == session]
        if day.empty:
            continue
        inputs, rets = session_inputs(day, symbols, prices, returns, session, window)
        hist = rets if len(rets) >= 2 else None
        if hist is None:  # no history yet: a diagonal risk model
            inputs = inputs.assign(daily_vol=inputs["daily_vol"].fillna(0.02))
        out = build(inputs, risk, returns=hist, current_weights=current)
        w = out["target_weights"]
        hits = out["constraints_applied"].groupby("symbol")["bound"].agg(lambda b: "; ".join(dict.fromkeys(b)))
        ins = inputs.set_index("symbol")
        frames.append(
            pd.DataFrame(
                {
                    "date": session,
                    "symbol": w.index.astype(str),
                    "target_w": w.to_numpy(),
                    "prev_w": current.reindex(w.index).fillna(0.0).to_numpy(),
                    "expected_excess_return": ins["expected_excess_return"].reindex(w.index).to_numpy(float),
                    "confidence": ins["confidence"].reindex(w.index).to_numpy(float),
                    "edge": out["edge"].reindex(w.index).to_numpy(float),
                    "horizon_days": int(risk.horizon_days),
                    "sector": ins["sector"].reindex(w.index).to_numpy(object),
                    "daily_vol": ins["daily_vol"].reindex(w.index).to_numpy(float),
                    "bounds": hits.reindex(w.index).fillna("").to_numpy(object),
                    "ex_ante_vol_ann": out["ex_ante_vol_ann"],
                    "kelly_fraction": out["kelly_fraction"],
                }
            )
        )
        summaries.append(
            {
                "date": session,
                "ex_ante_vol_ann": out["ex_ante_vol_ann"],
                "kelly_fraction": out["kelly_fraction"],
                "gross": out["gross"],
                "net": out["net"],
                "turnover": out["turnover"],
                "bounds_hit": len(out["constraints_applied"]),
            }
        )
        current = w
    if not frames:
        return empty_targets(), summaries
    return pd.concat(frames, ignore_index=True).loc[:, list(TARGET_COLUMNS)], summaries


def empty_targets() -> pd.DataFrame:
    """No targets, with the columns and dtypes of :data:`TARGET_COLUMNS`."""
    floats = (
        "target_w",
        "prev_w",
        "expected_excess_return",
        "confidence",
        "edge",
        "daily_vol",
        "ex_ante_vol_ann",
        "kelly_fraction",
    )
    return pd.DataFrame(
        {
            "date": pd.to_datetime([]),
            "symbol": pd.Series([], dtype=object),
            **{c: pd.Series([], dtype=float) for c in floats},
            "horizon_days": pd.Series([], dtype="int64"),
            "sector": pd.Series([], dtype=object),
            "bounds": pd.Series([], dtype=object),
        }
    ).loc[:, list(TARGET_COLUMNS)]


def decision_dated(targets: pd.DataFrame, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """``date, symbol, target_w`` with each session's targets dated at the session before.

    Scores of ``t`` use data through the close of ``t - 1``: the book is decided at that close
    and trades from the open of ``t`` (the backtester's latency 0). Targets of the first session
    of ``sessions`` have no session before and are dropped.
    """
    sessions = pd.DatetimeIndex(sessions).sort_values()
    pos = sessions.get_indexer(pd.DatetimeIndex(targets["date"]))
    keep = pos > 0
    out = targets.loc[keep, ["symbol", "target_w"]].assign(date=sessions[pos[keep] - 1])
    return out.loc[:, ["date", "symbol", "target_w"]].reset_index(drop=True)
