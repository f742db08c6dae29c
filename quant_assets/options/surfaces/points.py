r"""Quotes to implied-volatility points: quote QC, parity forwards, out-of-the-money IVs.

Every quote of the session leaves with a ``reason``: ``"used"`` or the first rule that
dropped it, so the QC table accounts for every quote (nothing is dropped silently):

``crossed``, ``locked``, ``zero_bid``
    :func:`quant_assets.market.flag_option_quotes` (the curated ``option_quotes`` hold none;
    raw quotes passed here are screened the same way).
``stale``
    Stamped earlier than the session close minus ``SurfaceConfig.stale_after``.
``short_expiry``
    Fewer than ``SurfaceConfig.min_days`` calendar days to expiry.
``wide_spread``
    ``(ask - bid) / mid > SurfaceConfig.max_rel_spread``.
``no_forward``
    No strike of the expiry with both a usable call and put: the forward is unknown.
``in_the_money``
    The in-the-money side of a strike (used for the forward only; the out-of-the-money side
    carries the same volatility under put-call parity and is quoted tighter).
``iv_<reason>``
    The mid has no implied volatility, :class:`~quant_assets.options.IVReason` lower-cased
    (e.g. ``iv_below_intrinsic``).
``thin_expiry``
    The expiry keeps fewer than ``SurfaceConfig.min_quotes`` usable quotes.

Forward and dividend yield. The forward of each expiry is implied by put-call parity,
:math:`F = K + e^{rT}(C - P)`, averaged over the ``forward_strikes`` strikes with the smallest
:math:`|C - P|` with weights :math:`1/(s_C + s_P)^2` (spreads) — the method of the Cboe VIX
white paper (2019, §"Determine the forward index level"). The discount rate :math:`r` is the
session's zero curve interpolated linearly in tenor days (flat beyond its ends). No dividend
yield is assumed: the parity forward carries it (with a spot :math:`S`, the implied yield is
:math:`q_T = r_T - \ln(F_T/S)/T`; discrete dividends before the expiry are priced in too).
Implied volatilities are those of :func:`~quant_assets.options.implied_vol`
with spot :math:`F`, :math:`q = r` (so its forward is :math:`F`), on the out-of-the-money mid.

Fit weights are the inverse squared bid-ask spread in total-variance units,
:math:`s_w = 2\sigma T (a - b)/\mathcal V`: a quote counts by how precisely it pins the smile.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.calendars import session_close_utc
from quant_assets.market.quality import flag_option_quotes
from quant_assets.options.black_scholes import bs_greeks
from quant_assets.options.implied_volatility import IVReason, implied_vol
from quant_assets.options.surfaces.config import DAYS_PER_YEAR, SurfaceConfig

__all__ = ["POINT_COLUMNS", "REASONS", "curve_rate", "surface_points"]

REASONS: tuple[str, ...] = (
    "used",
    "crossed",
    "locked",
    "zero_bid",
    "stale",
    "short_expiry",
    "wide_spread",
    "no_forward",
    "in_the_money",
    *(f"iv_{r.name.lower()}" for r in IVReason if r != IVReason.OK),
    "thin_expiry",
)
"""Every value of the ``reason`` column."""

POINT_COLUMNS = (
    "date",
    "underlier",
    "expiry",
    "strike",
    "cp_flag",
    "bid",
    "ask",
    "mid",
    "t_years",
    "rate",
    "forward",
    "k",
    "iv",
    "weight",
    "reason",
)


def curve_rate(rates: pd.DataFrame, date: pd.Timestamp, days: np.ndarray) -> np.ndarray:
    """Zero rate of session ``date`` at ``days`` (linear in tenor days, flat beyond the ends).

    Examples
    --------
    >>> r = pd.DataFrame({"date": pd.Timestamp("2024-01-02"), "tenor_days": [30, 90], "rate": [0.03, 0.05]})
    >>> curve_rate(r, pd.Timestamp("2024-01-02"), np.array([10.0, 60.0, 400.0])).round(4).tolist()
    [0.03, 0.04, 0.05]
    """
    curve = rates[pd.DatetimeIndex(rates["date"]) == date].sort_values("tenor_days")
    if curve.empty:
        raise ValueError(f"rates: no zero curve for {date.date()}")
    return np.interp(np.asarray(days, float), curve["tenor_days"].to_numpy(float), curve["rate"].to_numpy(float))


def _forwards(q: pd.DataFrame, ok: np.ndarray, n_strikes: int) -> pd.Series:
    """Parity forward per (underlier, expiry) from the usable call/put pairs (see module notes)."""
    key = ["underlier", "expiry", "strike"]
    u = q[ok]
    calls = u[u["cp_flag"] == "C"].set_index(key)
    puts = u[u["cp_flag"] == "P"].set_index(key)
    pairs = calls[["mid", "spread", "rate", "t_years"]].join(puts[["mid", "spread"]], rsuffix="_p", how="inner")
    if pairs.empty:
        return pd.Series(dtype=float, index=pd.MultiIndex.from_tuples([], names=key[:2]))
    pairs = pairs.reset_index()
    diff = (pairs["mid"] - pairs["mid_p"]).to_numpy()
    pairs["fwd"] = pairs["strike"] + np.exp(pairs["rate"] * pairs["t_years"]) * diff
    pairs["wt"] = 1.0 / (pairs["spread"] + pairs["spread_p"]) ** 2
    pairs["absdiff"] = np.abs(diff)
    pairs = pairs.sort_values(["underlier", "expiry", "absdiff"], kind="stable")
    near = pairs[pairs.groupby(["underlier", "expiry"], sort=False).cumcount() < n_strikes]
    num = (near["fwd"] * near["wt"]).groupby([near["underlier"], near["expiry"]]).sum()
    return num / near.groupby(["underlier", "expiry"])["wt"].sum()


def surface_points(
    quotes: pd.DataFrame, rates: pd.DataFrame, date, config: SurfaceConfig | None = None
) -> pd.DataFrame:
    """Every option quote of session ``date`` with its QC reason, forward, log-moneyness and IV.

    Parameters
    ----------
    quotes : DataFrame
        Option quotes (``schemas.OptionQuotes`` or raw quotes); rows of other dates are ignored.
    rates : DataFrame
        Zero curves ``date, tenor_days, rate`` (``schemas.Rates``); the curve of ``date`` is used.
    date : date-like
        The session.
    config : SurfaceConfig, optional

    Returns
    -------
    DataFrame
        :data:`POINT_COLUMNS`, one row per quote: ``mid``, ``t_years`` (calendar days / 365),
        ``rate``, ``forward``, ``k = ln(K/F)`` and ``iv`` (NaN where undefined), ``weight``
        (the fit weight of used points, 0 otherwise), ``reason`` (``"used"`` or why dropped).
    """
    cfg = config or SurfaceConfig()
    date = pd.Timestamp(date)
    q = quotes[pd.DatetimeIndex(quotes["date"]) == date]
    q = flag_option_quotes(q) if "qc_flag" not in q.columns else q
    q = q.reset_index(drop=True)
    n = len(q)
    reason = np.where(q["qc_flag"].to_numpy() == "ok", "", q["qc_flag"].to_numpy()).astype(object)
    bid, ask = q["bid"].to_numpy(float), q["ask"].to_numpy(float)
    mid = 0.5 * (bid + ask)
    days = (pd.DatetimeIndex(q["expiry"]) - date).days.to_numpy(float)
    if n:
        cutoff = (session_close_utc(date) - cfg.stale_after).value
        _first(reason, q["ts_ns"].to_numpy() < cutoff, "stale")
    _first(reason, days < cfg.min_days, "short_expiry")
    with np.errstate(divide="ignore", invalid="ignore"):
        _first(reason, ~((ask - bid) <= cfg.max_rel_spread * mid), "wide_spread")
    t = days / DAYS_PER_YEAR
    rate = curve_rate(rates, date, days) if n else np.zeros(0)
    out = pd.DataFrame(
        {
            "date": date,
            "underlier": q["underlier"].astype(object),
            "expiry": q["expiry"],
            "strike": q["strike"].to_numpy(float),
            "cp_flag": q["cp_flag"].astype(object),
            "bid": bid,
            "ask": ask,
            "mid": mid,
            "t_years": t,
            "rate": rate,
        }
    )
    out["spread"] = ask - bid
    fwd = _forwards(out, reason == "", cfg.forward_strikes)
    idx = pd.MultiIndex.from_arrays([out["underlier"], out["expiry"]])
    out["forward"] = fwd.reindex(idx).to_numpy(float) if len(fwd) else np.nan
    forward = out["forward"].to_numpy()
    _first(reason, ~np.isfinite(forward), "no_forward")
    is_call = out["cp_flag"].to_numpy() == "C"
    strike = out["strike"].to_numpy()
    with np.errstate(invalid="ignore"):
        itm = np.where(is_call, strike < forward, strike >= forward)
    _first(reason, itm, "in_the_money")
    out["k"] = np.log(strike / forward)
    iv = np.full(n, np.nan)
    weight = np.zeros(n)
    live = np.flatnonzero(reason == "")
    if live.size:
        f, k_, tt, rr = forward[live], strike[live], t[live], rate[live]
        vol, code = implied_vol(mid[live], f, k_, tt, rr, rr, is_call[live], return_reason=True)
        bad = code != IVReason.OK
        names = np.array([f"iv_{r.name.lower()}" for r in IVReason], dtype=object)
        reason[live[bad]] = names[code[bad]]
        good = live[~bad]
        iv[good] = vol[~bad]
        vega = np.asarray(
            bs_greeks(f[~bad], k_[~bad], tt[~bad], rr[~bad], rr[~bad], vol[~bad], is_call[good]).vega, float
        )
        spread_w = 2.0 * vol[~bad] * tt[~bad] * (ask[good] - bid[good]) / vega
        weight[good] = 1.0 / np.maximum(spread_w, 1e-12) ** 2
    out["iv"] = iv
    usable = pd.Series(reason == "")
    counts = usable.groupby([out["underlier"], out["expiry"]]).transform("sum").to_numpy()
    _first(reason, counts < cfg.min_quotes, "thin_expiry")
    reason[reason == ""] = "used"
    out["weight"] = np.where(reason == "used", weight, 0.0)
    out["reason"] = reason
    return out[list(POINT_COLUMNS)]


def _first(reason: np.ndarray, mask: np.ndarray, code: str) -> None:
    """Set ``code`` where ``mask`` holds and no earlier rule dropped the quote."""
    reason[np.asarray(mask, bool) & (reason == "")] = code
