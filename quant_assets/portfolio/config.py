"""Risk configuration of the portfolio builder: targets, Kelly fraction and hard caps."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from quant_assets.config.fields import coerce_dataclass, require_signs

__all__ = ["KELLY_RANGE", "RiskConfig"]

KELLY_RANGE = (0.1, 0.25)
"""Allowed fraction of full Kelly (blueprint §8.1: fractional Kelly, 10–25 %)."""


@dataclass(frozen=True)
class RiskConfig:
    """Targets and hard caps of one sleeve; weights are fractions of book equity.

    Parameters
    ----------
    target_vol_ann : float, default 0.10
        Sleeve volatility target (annualized ex-ante); the Kelly size is scaled down to it.
    book_vol_cap_ann : float, default 0.12
        Book-level ceiling on ex-ante volatility (this sleeve plus ``other_weights``), applied
        after the caps.
    kelly_fraction : float, default 0.2
        Fraction of full Kelly, in :data:`KELLY_RANGE`.
    horizon_days : int, default 5
        Sessions the expected excess returns refer to.
    gross_cap, net_cap, name_cap : float
        Caps on ``sum |w|``, ``|sum w|`` and every ``|w_i|``.
    sector_cap : float, default 0.25
        Cap on every sector's net exposure ``|sum_{i in s} w_i|``; ``sector_caps`` overrides per
        sector.
    turnover_cap : float, default 0.5
        Cap on one rebalance's traded weight ``sum |w_i - w_i^{prev}|``.
    max_participation : float, default 0.10
        A trade never exceeds this fraction of the name's ADV: ``|Δw_i| B <= p ADV$_i``.
    book_size : float, default 1e7
        Book equity in currency (converts weights to traded dollars for the participation cap).
    short_haircut_unknown_borrow : float, default 0.5
        Fraction of a short's edge given up when its borrow fee is unknown.
    borrow_days_per_year : float, default 360.0
        Day count of borrow fees (stock loans accrue actual/360).
    periods_per_year : int, default 252
        Sessions per year (annualization).
    trade_rate : float, default 1.0
        Fraction of the gap to the capped target (the aim portfolio) traded each session,
        ``w = w_prev + trade_rate (aim - w_prev)`` (Gârleanu and Pedersen 2013); 1 trades all of it.
        :func:`~quant_assets.portfolio.rebalance.gp_trade_rate` gives it from risk aversion and costs.
    no_trade_band : float, default 0.0
        Names whose gap ``|aim_i - w_prev_i|`` is within this band (weight units) are not traded
        (a no-trade region, Davis and Norman 1990).
    """

    target_vol_ann: float = 0.10
    book_vol_cap_ann: float = 0.12
    kelly_fraction: float = 0.2
    horizon_days: int = 5
    gross_cap: float = 1.5
    net_cap: float = 0.10
    name_cap: float = 0.05
    sector_cap: float = 0.25
    sector_caps: Mapping[str, float] = field(default_factory=dict)
    turnover_cap: float = 0.5
    max_participation: float = 0.10
    book_size: float = 1e7
    short_haircut_unknown_borrow: float = 0.5
    borrow_days_per_year: float = 360.0
    periods_per_year: int = 252
    trade_rate: float = 1.0
    no_trade_band: float = 0.0

    def __post_init__(self) -> None:
        lo, hi = KELLY_RANGE
        if not lo <= self.kelly_fraction <= hi:
            raise ValueError(f"kelly_fraction must be in [{lo}, {hi}] (fractional Kelly), got {self.kelly_fraction}")
        positive = (
            "target_vol_ann",
            "book_vol_cap_ann",
            "gross_cap",
            "name_cap",
            "sector_cap",
            "book_size",
            "max_participation",
            "borrow_days_per_year",
        )
        require_signs(self, positive=positive, nonnegative=("net_cap", "turnover_cap"))
        if not 0 <= self.short_haircut_unknown_borrow <= 1:
            raise ValueError(f"short_haircut_unknown_borrow must be in [0, 1], got {self.short_haircut_unknown_borrow}")
        if self.max_participation > 1:
            raise ValueError(f"max_participation must be <= 1, got {self.max_participation}")
        if not 0 < self.trade_rate <= 1:
            raise ValueError(f"trade_rate must be in (0, 1], got {self.trade_rate}")
        if not self.no_trade_band >= 0:
            raise ValueError(f"no_trade_band must be >= 0, got {self.no_trade_band}")
        if int(self.horizon_days) < 1 or int(self.periods_per_year) < 1:
            raise ValueError("horizon_days and periods_per_year must be >= 1")
        if any(v <= 0 for v in self.sector_caps.values()):
            raise ValueError(f"sector_caps must be > 0, got {dict(self.sector_caps)}")

    @classmethod
    def coerce(cls, cfg: RiskConfig | Mapping | None) -> RiskConfig:
        """A :class:`RiskConfig` from itself, a mapping of its fields (unknown keys rejected) or None."""
        return coerce_dataclass(cls, cfg, "risk_cfg")

    def cap_for_sector(self, sector: str) -> float:
        """The net exposure cap of ``sector``."""
        return float(self.sector_caps.get(sector, self.sector_cap))

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        out = dataclasses.asdict(self)
        out["sector_caps"] = dict(self.sector_caps)
        return out
