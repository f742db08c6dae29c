"""Option structures as legs: straddles, strangles, verticals, calendars and diagonals.

A structure is a :class:`Legs` of arrays ``expiry, strike, is_call, ratio`` (contracts per unit
of the structure; negative: sold). Strikes are listed strikes: the US equity-option grid of
0.5 / 1 / 2.5 / 5 below 25 / 100 / 250 / above. Each template reads the slices of one session
and underlier (:meth:`SurfacePanel.day`: arrays by expiry).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.options.black_scholes import bs_greeks, bs_price
from quant_assets.options.svi import svi_total_variance

__all__ = [
    "Legs",
    "atm_vol",
    "calendar",
    "diagonal",
    "leg_values",
    "listed_strike",
    "pick_expiry",
    "straddle",
    "strangle",
    "vertical",
]

Slices = dict[str, np.ndarray]


@dataclass(frozen=True)
class Legs:
    """Legs of one structure (arrays of equal length)."""

    expiry: np.ndarray  # datetime64[ns]
    strike: np.ndarray
    is_call: np.ndarray
    ratio: np.ndarray

    @classmethod
    def of(cls, rows) -> Legs:
        """From ``(expiry, strike, is_call, ratio)`` tuples."""
        e, k, c, r = zip(*rows, strict=True)
        return cls(np.asarray(e, "datetime64[ns]"), np.asarray(k, float), np.asarray(c, bool), np.asarray(r, float))

    def records(self) -> list[dict]:
        """JSON-ready legs (expiry as YYYY-MM-DD)."""
        return [
            {"expiry": str(pd.Timestamp(e).date()), "strike": float(k), "is_call": bool(c), "ratio": float(r)}
            for e, k, c, r in zip(self.expiry, self.strike, self.is_call, self.ratio, strict=True)
        ]


def listed_strike(price: float, spot: float) -> float:
    """Nearest listed strike to ``price`` (grid by spot level).

    Examples
    --------
    >>> listed_strike(101.3, 101.0), listed_strike(23.3, 23.0)
    (102.5, 23.5)
    """
    inc = 0.5 if spot < 25 else 1.0 if spot < 100 else 2.5 if spot < 250 else 5.0
    return float(max(inc, round(price / inc) * inc))


def pick_expiry(slices: Slices, days: float, min_days: float = 0.0) -> int | None:
    """Index of the slice whose expiry is nearest ``days`` calendar days among those beyond ``min_days``."""
    d = slices["t_years"] * 365.0
    ok = d > min_days
    if not ok.any():
        return None
    return int(np.flatnonzero(ok)[np.argmin(np.abs(d[ok] - days))])


def _w(slices: Slices, i, k):
    return svi_total_variance(k, slices["a"][i], slices["b"][i], slices["rho"][i], slices["m"][i], slices["sigma"][i])


def atm_vol(slices: Slices, i: int) -> float:
    """Forward-ATM implied vol of slice ``i``."""
    return float(np.sqrt(max(float(_w(slices, i, 0.0)), 1e-12) / slices["t_years"][i]))


def _sd(slices: Slices, i: int) -> float:
    return float(np.sqrt(max(float(_w(slices, i, 0.0)), 1e-12)))


def straddle(slices: Slices, spot: float, days: float, min_days: float = 0.0) -> Legs | None:
    """Call and put at the listed strike nearest the forward of the expiry nearest ``days``."""
    i = pick_expiry(slices, days, min_days)
    if i is None:
        return None
    e, k = slices["expiry"][i], listed_strike(slices["forward"][i], spot)
    return Legs.of([(e, k, True, 1.0), (e, k, False, 1.0)])


def strangle(slices: Slices, spot: float, days: float, width_sd: float, min_days: float = 0.0) -> Legs | None:
    """Put and call at ``F exp(-+ width_sd sigma sqrt(T))`` (listed, distinct strikes)."""
    i = pick_expiry(slices, days, min_days)
    if i is None:
        return None
    f, sd, e = slices["forward"][i], _sd(slices, i), slices["expiry"][i]
    kc, kp = listed_strike(f * np.exp(width_sd * sd), spot), listed_strike(f * np.exp(-width_sd * sd), spot)
    if kc <= kp:
        return None
    return Legs.of([(e, kc, True, 1.0), (e, kp, False, 1.0)])


def vertical(
    slices: Slices, spot: float, days: float, direction: float, width_sd: float = 1.0, min_days: float = 0.0
) -> Legs | None:
    """Bull call spread (``direction > 0``: long ATM call, short call ``width_sd`` up) or bear put spread."""
    i = pick_expiry(slices, days, min_days)
    if i is None:
        return None
    f, sd, e = slices["forward"][i], _sd(slices, i), slices["expiry"][i]
    call = direction > 0
    k_long = listed_strike(f, spot)
    k_short = listed_strike(f * np.exp((1 if call else -1) * width_sd * sd), spot)
    if k_short == k_long:
        return None
    return Legs.of([(e, k_long, call, 1.0), (e, k_short, call, -1.0)])


def _near_far(slices: Slices, near_days: float, far_days: float, min_days: float):
    i, j = pick_expiry(slices, near_days, min_days), pick_expiry(slices, far_days, min_days)
    if i is None or j is None or slices["expiry"][j] <= slices["expiry"][i]:
        return None
    return i, j


def calendar(slices: Slices, spot: float, near_days: float, far_days: float, min_days: float = 0.0) -> Legs | None:
    """Sell the near ATM call, buy the far one (same strike); ``None`` unless two distinct expiries."""
    nf = _near_far(slices, near_days, far_days, min_days)
    if nf is None:
        return None
    i, j = nf
    k = listed_strike(slices["forward"][i], spot)
    return Legs.of([(slices["expiry"][i], k, True, -1.0), (slices["expiry"][j], k, True, 1.0)])


def diagonal(
    slices: Slices,
    spot: float,
    near_days: float,
    far_days: float,
    direction: float,
    width_sd: float = 1.0,
    min_days: float = 0.0,
) -> Legs | None:
    """Buy the far ATM option, sell the near one ``width_sd`` out of the money in ``direction``
    (calls when ``direction > 0``, puts otherwise)."""
    nf = _near_far(slices, near_days, far_days, min_days)
    if nf is None:
        return None
    i, j = nf
    call = direction > 0
    k_far = listed_strike(slices["forward"][j], spot)
    k_near = listed_strike(slices["forward"][i] * np.exp((1 if call else -1) * width_sd * _sd(slices, i)), spot)
    return Legs.of([(slices["expiry"][i], k_near, call, -1.0), (slices["expiry"][j], k_far, call, 1.0)])


def leg_values(legs: Legs, slices: Slices, spot: float) -> dict[str, np.ndarray]:
    """Per leg (per share): ``vol, t_years, rate, q, price, delta, gamma, vega, theta`` on the session of
    ``slices``; ``q`` is the dividend yield implied by the slice's parity forward."""
    i = np.searchsorted(slices["expiry"], legs.expiry)
    t, f, r = slices["t_years"][i], slices["forward"][i], slices["rate"][i]
    w = np.asarray(_w(slices, i, np.log(legs.strike / f)), float)
    vol = np.sqrt(np.maximum(w, 1e-12) / t)
    q = r - np.log(f / spot) / t
    args = (spot, legs.strike, t, r, q, vol, legs.is_call)
    g = bs_greeks(*args)
    return {
        "vol": vol,
        "t_years": t,
        "rate": r,
        "q": q,
        "price": np.asarray(bs_price(*args), float),
        **{name: np.asarray(getattr(g, name), float) for name in ("delta", "gamma", "vega", "theta")},
    }
