"""Backtest configuration: capital, latency, order type, cost assumptions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from quant_assets.config.fields import coerce_dataclass
from quant_assets.execution import DEFAULT_IMPACT_Y, CostModel

__all__ = ["BacktestConfig"]


@dataclass(frozen=True)
class BacktestConfig:
    """How a backtest trades.

    Parameters
    ----------
    initial_capital : float, default 1e7
        Starting cash (currency).
    latency_sessions : int, default 0
        Targets decided at the close of ``t`` trade from the open of ``t + 1 + latency``.
    order_type : {"MKT", "LMT"}, default "MKT"
        Default order type (a ``limit_price`` column in the targets overrides it per row).
    limit_offset_bps : float, default 10.0
        LMT orders without a price: limit at the decision close ``∓`` this many bps (buy below).
    spread_bps : float, default 5.0
        Quoted spread assumed on curated bars (they carry no quotes), bps of the open.
    adv_window, vol_window : int, default 20
        Sessions of the trailing ADV (shares) and daily volatility, both to ``t - 1``.
    default_daily_vol : float, default 0.02
        Volatility before a name has two returns.
    fee_per_share, fee_bps, impact_y, max_participation : float
        Passed to :class:`~quant_assets.execution.CostModel`.
    default_borrow_bps : float, default 30.0
        Borrow fee (annual bps) when the symbols master gives none.
    borrow_days_per_year : float, default 360.0
        Day count of the borrow fee (actual/360 on calendar days between closes).
    allow_short : bool, default True
        False refuses every short sale.
    min_trade_shares : float, default 1e-6
        Smaller differences to target are not traded.
    periods_per_year : int, default 252
        Annualization of the metrics.
    vectorized_fills : bool, default False
        Fill each session with :func:`~quant_assets.execution.simulate_session` (one
        vectorized call, same fills as ``simulate``) instead of
        :func:`~quant_assets.execution.simulate` itself.
    """

    initial_capital: float = 1e7
    latency_sessions: int = 0
    order_type: str = "MKT"
    limit_offset_bps: float = 10.0
    spread_bps: float = 5.0
    adv_window: int = 20
    vol_window: int = 20
    default_daily_vol: float = 0.02
    fee_per_share: float = 0.0
    fee_bps: float = 0.0
    impact_y: float = DEFAULT_IMPACT_Y
    max_participation: float = 0.10
    default_borrow_bps: float = 30.0
    borrow_days_per_year: float = 360.0
    allow_short: bool = True
    min_trade_shares: float = 1e-6
    periods_per_year: int = 252
    vectorized_fills: bool = False

    def __post_init__(self) -> None:
        if self.order_type not in ("MKT", "LMT"):
            raise ValueError(f"order_type must be 'MKT' or 'LMT', got {self.order_type!r}")
        if self.initial_capital <= 0:
            raise ValueError(f"initial_capital must be > 0, got {self.initial_capital}")
        if int(self.latency_sessions) != self.latency_sessions or self.latency_sessions < 0:
            raise ValueError(f"latency_sessions must be a non-negative integer, got {self.latency_sessions}")
        if self.adv_window < 1 or self.vol_window < 2:
            raise ValueError("adv_window must be >= 1 and vol_window >= 2")
        self.cost_model  # noqa: B018 - validates the cost parameters

    @property
    def cost_model(self) -> CostModel:
        """The execution cost model (fees, impact, participation cap)."""
        return CostModel(
            fee_per_share=self.fee_per_share,
            fee_bps=self.fee_bps,
            impact_y=self.impact_y,
            max_participation=self.max_participation,
            days_per_year=self.borrow_days_per_year,
        )

    @classmethod
    def coerce(cls, cfg: BacktestConfig | Mapping | None) -> BacktestConfig:
        """From itself, a mapping of its fields or None (defaults)."""
        return coerce_dataclass(cls, cfg, "backtest config")

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready, part of the run id)."""
        return dataclasses.asdict(self)
