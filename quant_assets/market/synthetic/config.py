"""Configuration of the seeded synthetic market.

`MarketConfig` is a frozen dataclass: every knob of the generator (seed, universe size, date
range, planted-edge strengths, noise-only switch, event rates, option settings) lives here, is
validated on construction, and hashes to a stable fingerprint used in run identifiers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from quant_assets.config.fields import reject_unknown_fields
from quant_assets.market.sectors import SECTORS

__all__ = ["SECTORS", "MarketConfig"]

# (lower, upper, lower inclusive, upper inclusive) bounds of the numeric fields.
_BOUNDS: dict[str, tuple[float, float, bool, bool]] = {
    "n_symbols": (2, 9999, True, True),
    "n_option_underliers": (0, 9999, True, True),
    "momentum_strength": (0.0, 0.01, True, True),
    "value_strength": (0.0, 0.01, True, True),
    "reversal_strength": (0.0, 0.01, True, True),
    "annual_ipo_rate": (0.0, 1.0, True, True),
    "annual_delisting_rate": (0.0, 0.5, True, True),
    "bankruptcy_share": (0.0, 1.0, True, True),
    "exchange_move_share": (0.0, 1.0, True, True),
    "dividend_payer_fraction": (0.0, 1.0, True, True),
    "htb_fraction": (0.0, 1.0, True, True),
    "market_vol": (0.001, 0.05, True, True),
    "idio_vol_median": (0.001, 0.1, True, True),
    "t_dof": (2.0, 1000.0, False, True),
    "initial_short_rate": (-0.02, 0.2, True, True),
    "variance_risk_premium": (0.5, 3.0, True, True),
    "ssvi_rho": (-0.99, 0.99, True, True),
    "ssvi_gamma": (0.0, 0.5, False, True),
    "option_crossed_fraction": (0.0, 0.2, True, True),
    "fault_missing_bar_rate": (0.0, 0.01, True, True),
    "fault_halt_rate": (0.0, 5.0, True, True),
    "fault_zero_volume_rate": (0.0, 0.01, True, True),
    "fault_bad_print_rate": (0.0, 0.01, True, True),
    "fault_late_action_share": (0.0, 1.0, True, True),
}
_INT_FIELDS = frozenset({"seed", "n_symbols", "n_option_underliers"})
_BOOL_FIELDS = frozenset({"noise_only"})
_DATE_FIELDS = frozenset({"start", "end", "tick_regime_date"})


@dataclasses.dataclass(frozen=True)
class MarketConfig:
    """Parameters of the synthetic market.

    Parameters
    ----------
    seed : int
        Root seed; every random stream is derived from it.
    n_symbols : int
        Number of names ever listed over the range (including later IPOs and delisted names).
    start, end : str
        ISO dates bounding the simulated sessions.
    n_option_underliers : int
        Number of most liquid, never-delisted names carrying option chains.
    momentum_strength, value_strength, reversal_strength : float
        Next-day expected excess log return per unit cross-sectional z-score of the
        intermediate momentum, value (log book-to-market) and short-term reversal signals.
        The defaults give realistic single-signal edges; measured monthly rank ICs (signal
        z-score against the next 21 sessions' total log return, non-overlapping months, see
        :mod:`.properties`) are momentum 0.049, value 0.011, reversal 0.028 on the `full`
        profile (1,500 names, 2015-2024) and 0.044, 0.051, 0.022 on a 500-name 2015-2022
        market, against published US magnitudes of about 0.02-0.05 per signal (the mean
        monthly IC of a persistent signal over ten years carries a sampling error of about
        +-0.02).
    noise_only : bool
        If True, planted expected returns are exactly zero and the distress drift before
        bankruptcies is switched off, so that no observable feature predicts returns.
    annual_ipo_rate : float
        Listings per year as a fraction of the live names (IPOs inside the range).
    annual_delisting_rate : float
        Delistings per year as a fraction of the live names; equal to ``annual_ipo_rate``
        keeps the number of listed names roughly stable.
    bankruptcy_share, exchange_move_share : float
        Shares of delistings that are bankruptcies and exchange moves (the rest are mergers).
    dividend_payer_fraction : float
        Fraction of names paying quarterly cash dividends.
    htb_fraction : float
        Fraction of names structurally hard to borrow for the whole range; other names go
        hard to borrow in episodes driven by observable small size, low price, high past
        volatility and drawdown plus noise (see :mod:`.borrow`).
    market_vol : float
        Unconditional daily volatility of the market factor.
    idio_vol_median : float
        Median long-run daily idiosyncratic volatility.
    t_dof : float
        Degrees of freedom of the Student-t shocks (fat tails).
    initial_short_rate : float
        Short rate (continuously compounded, annual) on the first session; also its long-run mean.
    variance_risk_premium : float
        Ratio of implied to expected realised variance in the option surfaces.
    ssvi_rho : float
        Mean SSVI skew correlation.
    ssvi_gamma : float
        Exponent of the SSVI power-law phi, in (0, 0.5] (no calendar arbitrage).
    option_crossed_fraction : float
        Fraction of option quotes emitted crossed or locked (for QC to catch).
    tick_regime_date : str
        First session of the half-penny tick regime for eligible tight-spread names.
    fault_missing_bar_rate, fault_zero_volume_rate, fault_bad_print_rate : float
        Probability per listed (session, name) of a missing bar, a zero-volume bar at the last
        price, and a one-day bad print (a consistent bar at an outlier price).
    fault_halt_rate : float
        Trading halts (1-5 sessions, missing or zero-volume bars) per name and year.
    fault_late_action_share : float
        Share of corporate actions delivered late: announced on their ex-date instead of ahead
        of it. All fault rates 0 (the default) gives a clean feed; see :mod:`.faults`.

    Examples
    --------
    >>> cfg = MarketConfig.from_dict({"seed": 3, "n_symbols": 30})
    >>> cfg.n_symbols, len(cfg.fingerprint())
    (30, 64)
    """

    seed: int = 7
    n_symbols: int = 200
    start: str = "2023-01-03"
    end: str = "2024-12-31"
    n_option_underliers: int = 10
    momentum_strength: float = 0.00015
    value_strength: float = 0.0002
    reversal_strength: float = 0.0007
    noise_only: bool = False
    annual_ipo_rate: float = 0.04
    annual_delisting_rate: float = 0.04
    bankruptcy_share: float = 0.45
    exchange_move_share: float = 0.1
    dividend_payer_fraction: float = 0.4
    htb_fraction: float = 0.05
    market_vol: float = 0.012
    idio_vol_median: float = 0.016
    t_dof: float = 5.0
    initial_short_rate: float = 0.03
    variance_risk_premium: float = 1.2
    ssvi_rho: float = -0.6
    ssvi_gamma: float = 0.5
    option_crossed_fraction: float = 0.005
    tick_regime_date: str = "2024-11-04"
    fault_missing_bar_rate: float = 0.0
    fault_halt_rate: float = 0.0
    fault_zero_volume_rate: float = 0.0
    fault_bad_print_rate: float = 0.0
    fault_late_action_share: float = 0.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _validate_field(f.name, getattr(self, f.name))
        if pd.Timestamp(self.start) >= pd.Timestamp(self.end):
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        if self.bankruptcy_share + self.exchange_move_share > 1.0:
            raise ValueError(
                "bankruptcy_share + exchange_move_share must not exceed 1.0, got "
                f"{self.bankruptcy_share + self.exchange_move_share}"
            )
        if self.n_option_underliers > self.n_symbols:
            raise ValueError(
                f"n_option_underliers ({self.n_option_underliers}) must not exceed n_symbols ({self.n_symbols})"
            )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MarketConfig:
        """Build a validated config from a mapping (e.g. a YAML profile section).

        Unknown keys, wrong types and out-of-range values raise ``ValueError`` naming the field.
        Integral floats are accepted for integer fields; ``datetime.date`` objects and
        Timestamps are accepted for date fields.

        Examples
        --------
        >>> MarketConfig.from_dict({"seed": 1, "start": "2024-01-02", "end": "2024-06-28"}).seed
        1
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"MarketConfig.from_dict expects a mapping, got {type(d).__name__}")
        reject_unknown_fields(cls, d, "MarketConfig")
        kwargs: dict[str, Any] = {}
        for key, value in d.items():
            if key in _DATE_FIELDS and not isinstance(value, str):
                try:
                    value = pd.Timestamp(value).strftime("%Y-%m-%d")
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{key}: not a date: {value!r}") from exc
            elif key in _INT_FIELDS and isinstance(value, float) and value.is_integer():
                value = int(value)
            elif key in _BOUNDS and key not in _INT_FIELDS and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            kwargs[key] = value
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict view of the config (the inverse of `from_dict`)."""
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """Stable sha256 hex digest of the canonical JSON of the config.

        Examples
        --------
        >>> MarketConfig(seed=1).fingerprint() == MarketConfig(seed=1).fingerprint()
        True
        """
        payload = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    @property
    def injects_faults(self) -> bool:
        """Whether any fault rate is positive (the feeds carry injected dirt)."""
        return any(getattr(self, f.name) > 0 for f in dataclasses.fields(self) if f.name.startswith("fault_"))

    @property
    def distress_drift(self) -> bool:
        """Whether bankruptcies are preceded by a downward drift (off in noise-only mode)."""
        return not self.noise_only


def _validate_field(name: str, value: Any) -> None:
    if name in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a bool, got {value!r}")
        return
    if name in _DATE_FIELDS:
        if not isinstance(value, str):
            raise ValueError(f"{name} must be an ISO date string, got {value!r}")
        try:
            ts = pd.Timestamp(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: not a date: {value!r}") from exc
        if ts is pd.NaT or ts != ts.normalize() or ts.tzinfo is not None:
            raise ValueError(f"{name} must be a tz-naive calendar date, got {value!r}")
        return
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an int, got {value!r}")
        if name == "seed" and value < 0:
            raise ValueError(f"seed must be non-negative, got {value}")
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if name in _BOUNDS:
        lo, hi, lo_inc, hi_inc = _BOUNDS[name]
        ok_lo = value >= lo if lo_inc else value > lo
        ok_hi = value <= hi if hi_inc else value < hi
        if not (ok_lo and ok_hi):
            lb = "[" if lo_inc else "("
            rb = "]" if hi_inc else ")"
            raise ValueError(f"{name} must lie in {lb}{lo}, {hi}{rb}, got {value!r}")
