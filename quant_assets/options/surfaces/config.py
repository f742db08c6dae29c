"""Tunables of the daily surface pipeline (quote QC, forwards, fits, arbitrage checks)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["DAYS_PER_YEAR", "SurfaceConfig"]

DAYS_PER_YEAR = 365.0
"""Time to expiry is ``(expiry - date).days / 365`` years (calendar days, as the listed
chains and the zero curve's tenors are quoted)."""


@dataclass(frozen=True)
class SurfaceConfig:
    """Thresholds of :func:`~quant_assets.options.surfaces.surface_points` and the fits.

    Attributes
    ----------
    max_rel_spread : float
        A quote whose spread ``ask - bid`` exceeds this fraction of its mid is dropped
        (``wide_spread``): its mid carries no volatility information.
    stale_after : pandas.Timedelta
        A quote stamped earlier than the session close minus this is dropped (``stale``).
    min_days : int
        Expiries fewer than this many calendar days away are dropped (``short_expiry``).
    min_quotes : int
        A slice needs this many usable out-of-the-money quotes (>= 5, SVI has five
        parameters), else its quotes are dropped (``thin_expiry``). The default 8 leaves three
        degrees of freedom: on the synthetic chains, unconstrained fits of 5-7 quotes spanning
        a few hundredths of log-moneyness extrapolate to Lee's bound and need the slow
        arbitrage-free re-fit (half the fitting time) for expiries no strategy would trade.
    forward_strikes : int
        Put-call pairs (those with the smallest ``|C - P|``) averaged into the forward.
    calendar_points : int
        Log-moneyness points of the calendar check of each pair of consecutive expiries,
        spanning both slices' quoted range.
    calendar_tolerance : float
        Total-variance decreases below this are not calendar arbitrage (rounding of quotes).
    vertical_tolerance : float
        Call-spread slopes may leave ``[-e^{-rT}, 0]`` by this much (per unit strike).
    """

    max_rel_spread: float = 1.0
    stale_after: pd.Timedelta = pd.Timedelta(minutes=30)
    min_days: int = 3
    min_quotes: int = 8
    forward_strikes: int = 3
    calendar_points: int = 201
    calendar_tolerance: float = 1e-6
    vertical_tolerance: float = 1e-9

    def __post_init__(self) -> None:
        if not self.max_rel_spread > 0:
            raise ValueError(f"max_rel_spread must be > 0, got {self.max_rel_spread}")
        if self.min_quotes < 5:
            raise ValueError(f"min_quotes must be >= 5 (SVI has five parameters), got {self.min_quotes}")
        if self.forward_strikes < 1 or self.min_days < 0 or self.calendar_points < 3:
            raise ValueError("forward_strikes >= 1, min_days >= 0 and calendar_points >= 3 are required")
