"""Option chains and NBBO quotes for one session, priced off the known SSVI surface.

For each underlier: expiries are the next four Fridays (weeklies) and the third Fridays of the
next six months (monthlies), each moved to the previous session when the Friday is a holiday.
Strikes are multiples of 0.5 / 1 / 2.5 / 5 (spot below 25 / 100 / 250 / above) covering
log-moneyness ``k = ln(K/F)`` within +-2.5 ATM standard deviations ``sqrt(theta_T)`` (at least
three strikes either side of the forward). The fair value is
``bs_price(S, K, T, r, q, sqrt(w(k, T) / T))`` with ``w`` the SSVI total variance, ``T`` in
years of 365 days, ``r`` the zero rate interpolated linearly in tenor days, ``q`` the
underlier's dividend yield.

Quotes: spread ``max(0.01, 0.02 + 0.03 V) * (1 + 0.5 |k| / sqrt(theta_T)) * (2 if T < 10d)``
rounded up to the tick (0.01 below $3, 0.05 from $3); the noisy mid is the fair value plus at
most 0.4 spreads, bid/ask are ``mid -+ spread / 2`` rounded outwards to the tick of their own
price level, so the fair value lies strictly inside ``[bid, ask]``; bid floors at 0. A
fraction of quotes is made locked (bid == ask) or crossed (bid > ask) for QC to catch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.calendars import session_close_utc
from quant_assets.market.synthetic.liquidity import ceil_to_tick, floor_to_tick
from quant_assets.market.synthetic.option_surface import (
    SurfaceState,
    atm_total_variance,
    phi_power_law,
)
from quant_assets.market.synthetic.rates import interpolate_zero_rate
from quant_assets.market.synthetic.seeding import stream
from quant_assets.options import bs_price, ssvi_total_variance

__all__ = [
    "N_EXCHANGES",
    "QUOTE_COLUMNS",
    "empty_option_quotes",
    "option_expiries",
    "option_tick",
    "session_option_quotes",
    "strike_grid",
    "strike_increment",
]

QUOTE_COLUMNS = (
    "date",
    "ts_ns",
    "underlier",
    "expiry",
    "strike",
    "cp_flag",
    "bid",
    "ask",
    "bid_size",
    "ask_size",
    "nbbo_mid",
    "exchs_bitmap",
    "volume",
    "open_interest",
)
N_EXCHANGES = 17
STRIKE_SDS = 2.5
MAX_STRIKES = 81
_QUOTE_LEAD = pd.Timedelta(minutes=1)  # snapshot one minute before the session's close


def option_expiries(date: pd.Timestamp, ext_sessions: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Weekly (next 4 Fridays) and monthly (3rd Friday, next 6) expiries after ``date``.

    A Friday that is not a session moves to the previous session.

    Examples
    --------
    >>> s = pd.bdate_range("2024-03-01", "2024-12-31").drop(pd.Timestamp("2024-03-29"))
    >>> option_expiries(pd.Timestamp("2024-03-20"), s)[:3].strftime("%m-%d").tolist()
    ['03-22', '03-28', '04-05']
    """
    date = pd.Timestamp(date)
    first_fri = date + pd.Timedelta(days=(4 - date.weekday()) % 7 or 7)
    weekly = [first_fri + pd.Timedelta(weeks=k) for k in range(4)]
    monthly = []
    month = pd.Timestamp(year=date.year, month=date.month, day=1)
    while len(monthly) < 6:
        third = month + pd.Timedelta(days=(4 - month.weekday()) % 7 + 14)
        if third > date:
            monthly.append(third)
        month = month + pd.DateOffset(months=1)
    fridays = pd.DatetimeIndex(sorted(set(weekly + monthly)))
    pos = ext_sessions.searchsorted(fridays, side="right") - 1
    inside = (fridays <= ext_sessions[-1]) & (pos >= 0)
    adj = np.where(inside, ext_sessions.values[np.clip(pos, 0, None)], fridays.values)
    out = pd.DatetimeIndex(np.unique(adj))
    return out[out > date]


def strike_increment(spot: float) -> float:
    """Listed strike spacing for a given spot.

    Examples
    --------
    >>> [strike_increment(s) for s in (10, 50, 200, 900)]
    [0.5, 1.0, 2.5, 5.0]
    """
    return 0.5 if spot < 25 else 1.0 if spot < 100 else 2.5 if spot < 250 else 5.0


def strike_grid(forward: float, atm_sd: float, spot: float) -> np.ndarray:
    """Strikes covering ``|ln(K/F)| <= 2.5 atm_sd`` (>= 3 per side; spacing widened if > 81)."""
    inc = strike_increment(spot)
    lo = forward * np.exp(-STRIKE_SDS * atm_sd)
    hi = forward * np.exp(STRIKE_SDS * atm_sd)
    while True:
        k_lo = min(np.ceil(lo / inc), np.floor(forward / inc) - 2)
        k_hi = max(np.floor(hi / inc), np.ceil(forward / inc) + 2)
        k_lo = max(k_lo, 1.0)
        if k_hi - k_lo + 1 <= MAX_STRIKES:
            break
        inc *= 2.0
    return np.round(np.arange(k_lo, k_hi + 1) * inc, 4)


def option_tick(price: np.ndarray) -> np.ndarray:
    """Minimum price variation: 0.01 below $3, 0.05 at or above.

    Examples
    --------
    >>> option_tick(np.array([2.99, 3.0])).tolist()
    [0.01, 0.05]
    """
    return np.where(np.asarray(price) < 3.0, 0.01, 0.05)


def session_option_quotes(
    seed: int,
    t: int,
    date: pd.Timestamp,
    state: SurfaceState,
    curve: np.ndarray,
    ext_sessions: pd.DatetimeIndex,
    symbols: np.ndarray,
    crossed_fraction: float,
) -> pd.DataFrame:
    """All option quotes of session ``t`` (row ``t`` of ``state``), sorted by
    (underlier, expiry, strike, cp_flag).

    ``curve`` holds the session's zero rates at :data:`.rates.TENORS_DAYS`. Each underlier's
    quotes come from the random stream ``(seed, "option_quotes", t, u)``.
    """
    date = pd.Timestamp(date)
    expiries = option_expiries(date, ext_sessions)
    days = np.asarray((expiries - date).days, dtype=float)
    tau = days / 365.0
    rates = interpolate_zero_rate(curve, days)
    ts_ns = int((session_close_utc(date) - _QUOTE_LEAD).value)
    frames = []
    for u in range(len(state.underliers)):
        spot = float(state.spot[t, u])
        if not np.isfinite(spot):
            continue
        q = float(state.div_yield[u])
        theta = atm_total_variance(tau, state.v_short[t, u], state.v_long[u], state.term_decay)
        phi = phi_power_law(theta, state.eta[t, u], state.gamma)
        fwd = spot * np.exp((rates - q) * tau)
        parts = [strike_grid(fwd[j], np.sqrt(theta[j]), spot) for j in range(len(tau))]
        n_k = np.array([len(p) for p in parts])
        j_of = np.repeat(np.arange(len(tau)), n_k)
        strike = np.concatenate(parts)
        k = np.log(strike / fwd[j_of])
        w = ssvi_total_variance(k, theta[j_of], state.rho[t, u], phi[j_of])
        vol = np.sqrt(w / tau[j_of])
        # calls and puts interleaved per strike: C before P
        j2 = np.repeat(j_of, 2)
        strike2, k2, vol2 = np.repeat(strike, 2), np.repeat(k, 2), np.repeat(vol, 2)
        is_call = np.tile([True, False], len(strike))
        fair = np.asarray(bs_price(spot, strike2, tau[j2], rates[j2], q, vol2, is_call), float)
        rng = stream(seed, "option_quotes", t, u)
        cols = _quote_rows(rng, fair, k2 / np.sqrt(theta[j2]), days[j2], crossed_fraction)
        cols.update(
            underlier=np.full(len(fair), symbols[state.underliers[u]], dtype=object),
            expiry=expiries.values[j2],
            strike=strike2,
            cp_flag=np.where(is_call, "C", "P").astype(object),
        )
        frames.append(cols)
    if not frames:
        return empty_option_quotes()
    out = {c: np.concatenate([f[c] for f in frames]) for c in QUOTE_COLUMNS[2:]}
    n_rows = len(out["strike"])
    return pd.DataFrame(
        {"date": np.full(n_rows, date.to_datetime64()), "ts_ns": np.full(n_rows, ts_ns, dtype=np.int64), **out}
    )


def _quote_rows(
    rng: np.random.Generator, fair: np.ndarray, k_sd: np.ndarray, days: np.ndarray, crossed_fraction: float
) -> dict[str, np.ndarray]:
    m = len(fair)
    spread = np.maximum(0.01, 0.02 + 0.03 * fair) * (1.0 + 0.5 * np.abs(k_sd)) * np.where(days < 10, 2.0, 1.0)
    spread = ceil_to_tick(spread, option_tick(fair))
    mid = fair + spread * np.clip(0.15 * rng.standard_normal(m), -0.4, 0.4)
    lo, hi = mid - spread / 2.0, mid + spread / 2.0
    bid = np.maximum(floor_to_tick(lo, option_tick(lo)), 0.0)
    ask = ceil_to_tick(hi, option_tick(hi))
    bad = rng.random(m) < crossed_fraction
    crossed = bad & (rng.random(m) < 0.5)
    bid = np.where(bad, ask, bid)
    bid = np.where(crossed, np.round(ask + option_tick(ask), 4), bid)
    liq = np.exp(-0.5 * k_sd**2)
    size_scale = 10.0 + 200.0 * liq
    bid_size = np.where(bid > 0, np.maximum(1, rng.poisson(size_scale)), 0).astype(np.int64)
    ask_size = np.maximum(1, rng.poisson(size_scale)).astype(np.int64)
    n_ex = 1 + rng.binomial(N_EXCHANGES - 1, 0.1 + 0.5 * liq)
    ranks = rng.random((m, N_EXCHANGES)).argsort(axis=1).argsort(axis=1)
    bits = (ranks < n_ex[:, None]).astype(np.int64)
    bitmap = bits @ (np.int64(1) << np.arange(N_EXCHANGES, dtype=np.int64))
    activity = 400.0 * liq / (1.0 + days / 30.0)
    volume = rng.poisson(activity).astype(np.int64)
    open_interest = np.round(25.0 * activity * (1.0 + days / 30.0) * np.exp(0.3 * rng.standard_normal(m))).astype(
        np.int64
    )
    return {
        "bid": bid,
        "ask": ask,
        "bid_size": bid_size,
        "ask_size": ask_size,
        "nbbo_mid": np.round((bid + ask) / 2.0, 4),
        "exchs_bitmap": bitmap,
        "volume": volume,
        "open_interest": open_interest,
    }


def empty_option_quotes() -> pd.DataFrame:
    """An option-quotes frame with no rows and the feed's columns and dtypes."""
    return pd.DataFrame(
        {
            "date": pd.Series([], dtype="datetime64[ns]"),
            "ts_ns": pd.Series([], dtype=np.int64),
            "underlier": pd.Series([], dtype=object),
            "expiry": pd.Series([], dtype="datetime64[ns]"),
            "strike": pd.Series([], dtype=float),
            "cp_flag": pd.Series([], dtype=object),
            "bid": pd.Series([], dtype=float),
            "ask": pd.Series([], dtype=float),
            "bid_size": pd.Series([], dtype=np.int64),
            "ask_size": pd.Series([], dtype=np.int64),
            "nbbo_mid": pd.Series([], dtype=float),
            "exchs_bitmap": pd.Series([], dtype=np.int64),
            "volume": pd.Series([], dtype=np.int64),
            "open_interest": pd.Series([], dtype=np.int64),
        }
    )
