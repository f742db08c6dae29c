"""The options sleeves' policy: sizing, Greeks caps, hedge rules and cost assumptions.

Caps are fractions of the book (``book_size`` USD), as in the §10.2 document's ``risk`` block:

- ``vega_cap``: largest ``|net vega|`` per 1.00 of volatility (USD, the Greeks' unit) over the
  book, so 0.2 means a 1-vol-point move of every implied vol costs at most 0.2 % of the book;
- ``gamma_cap``: largest ``|sum 1/2 Gamma S^2 (10 %)^2|`` over the book: the gamma PnL of a 10 %
  move of every underlier as a fraction of the book;
- ``delta_cap`` (spread sleeve, unhedged): largest ``|sum Delta S|`` (dollar delta) over the book.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from quant_assets.config.fields import coerce_dataclass, require_signs

__all__ = ["GAMMA_MOVE", "StrategyPolicy"]

GAMMA_MOVE = 0.10
"""Spot move (fraction) behind the gamma cap."""

_REBALANCE = ("daily", "threshold", "daily_or_threshold")


@dataclass(frozen=True)
class StrategyPolicy:
    """Policy of the vol and spread sleeves (the profile's ``options.strategies`` block).

    Parameters
    ----------
    book_size : float
        Capital of the options book, USD.
    vega_cap, gamma_cap, delta_cap : float
        Net Greeks caps, fractions of the book (module docstring).
    vega_per_strategy : float
        Target ``|vega|`` of one strategy, fraction of the book per 1.00 of vol.
    target_dte : int
        Calendar days to expiry aimed at when opening (the listed expiry nearest to it).
    holding_sessions : int
        Sessions a position is held before it is closed (and possibly reopened).
    rebalance : str
        Hedge rule: ``daily`` (to delta-neutral at every close), ``threshold`` (only when
        ``|net delta| > delta_threshold`` contracts-equivalent) or ``daily_or_threshold``.
    delta_threshold : float
        Net delta per contract (of the position's legs) beyond which the threshold rule re-hedges.
    strangle_width_sd : float
        Strangle strikes at ``+-width * sigma sqrt(T)`` in log-moneyness from the forward.
    min_conf : float
        Forecasts below this confidence are not traded.
    min_edge_bps : float
        Expected PnL after worst-case costs (bps of premium) a strategy must clear.
    spread_worse : float
        Fills at ``spread_worse`` times the quoted half-spread (>= 1: "the half-spread or worse").
    fallback_half_spread : float
        Half-spread as a fraction of the mid where no quote is found (documented assumption).
    fallback_volume : float
        Daily volume (contracts) assumed for impact where no quote is found.
    fee_per_contract : float
        Commission per option contract, USD.
    hedge_spread_bps : float
        Quoted spread of the underlier for the share hedge, bps.
    impact_y : float
        Square-root-law prefactor for option impact (scaled by option volume).
    vol_of_vol_daily : float
        Daily relative volatility of implied vol behind the options' impact (0.05: about 80 %
        a year, typical of single-stock implied vol).
    multiplier : float
        Shares per contract.
    spread_horizon_sessions : int
        Holding period of the spread sleeve's structures, sessions.
    term_reversion : float
        Share of the near-minus-far ATM vol gap expected to close over the spread horizon
        (the calendar/diagonal surface-shape edge).
    """

    book_size: float = 1_000_000.0
    vega_cap: float = 0.2
    gamma_cap: float = 0.1
    delta_cap: float = 0.2
    vega_per_strategy: float = 0.02
    target_dte: int = 30
    holding_sessions: int = 20
    rebalance: str = "daily"
    delta_threshold: float = 0.2
    strangle_width_sd: float = 0.5
    min_conf: float = 0.0
    min_edge_bps: float = 0.0
    spread_worse: float = 1.0
    fallback_half_spread: float = 0.02
    fallback_volume: float = 200.0
    fee_per_contract: float = 0.65
    hedge_spread_bps: float = 5.0
    impact_y: float = 1.0
    vol_of_vol_daily: float = 0.05
    multiplier: float = 100.0
    spread_horizon_sessions: int = 10
    term_reversion: float = 0.5

    def __post_init__(self) -> None:
        if self.rebalance not in _REBALANCE:
            raise ValueError(f"rebalance must be one of {_REBALANCE}, got {self.rebalance!r}")
        if self.spread_worse < 1.0:
            raise ValueError(f"spread_worse must be >= 1 (the half-spread or worse), got {self.spread_worse}")
        require_signs(
            self,
            positive=("book_size", "vega_per_strategy", "multiplier", "fallback_volume"),
            nonnegative=(
                "vega_cap",
                "gamma_cap",
                "delta_cap",
                "delta_threshold",
                "fallback_half_spread",
                "fee_per_contract",
            ),
        )
        if self.holding_sessions < 1 or self.spread_horizon_sessions < 1 or self.target_dte < 2:
            raise ValueError("holding_sessions and spread_horizon_sessions must be >= 1, target_dte >= 2")
        if not 0.0 <= self.min_conf <= 1.0:
            raise ValueError(f"min_conf must be in [0, 1], got {self.min_conf}")

    @classmethod
    def coerce(cls, cfg: Any) -> StrategyPolicy:
        """A policy from None, a mapping (unknown keys refused) or a policy."""
        return coerce_dataclass(cls, cfg, "options.strategies")

    def to_dict(self) -> dict:
        """Plain dict of the fields."""
        return asdict(self)

    @property
    def vega_limit(self) -> float:
        """``|net vega|`` limit in USD per 1.00 of vol."""
        return self.vega_cap * self.book_size

    @property
    def gamma_limit(self) -> float:
        """``|net Gamma S^2|`` limit in USD (so that the 10 % move gamma PnL is ``gamma_cap`` of the book)."""
        return self.gamma_cap * self.book_size / (0.5 * GAMMA_MOVE**2)

    def hedge_rules(self) -> dict:
        """The §10.2 ``hedge_rules`` of the vol sleeve."""
        return {"rebalance": self.rebalance, "delta_threshold": float(self.delta_threshold)}
