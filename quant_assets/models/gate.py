"""The go/no-go gate: out-of-sample, net of costs, deflated for the number of trials.

A selection is promoted only if every check passes; "nothing passes" is a valid outcome and
the verdict records each failed check with its measured value and threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from quant_assets.config.fields import reject_unknown_fields

__all__ = ["GateConfig", "GateVerdict", "evaluate_gate"]


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the gate (the profile's ``models.gate`` block).

    ``min_sharpe``: annualized OOS net Sharpe of the selected candidate (mean over CPCV paths);
    ``max_drawdown``: median over paths of the book's maximum drawdown (fraction); ``max_pbo``:
    probability of backtest overfitting across the candidates; the selected Sharpe must exceed
    the expected maximum Sharpe of the logged trials, and the DSR probability must reach
    ``dsr_confidence``.
    """

    min_sharpe: float = 1.0
    max_drawdown: float = 0.20
    max_pbo: float = 0.05
    dsr_confidence: float = 0.95

    def __post_init__(self) -> None:
        if not 0.0 < self.dsr_confidence < 1.0:
            raise ValueError(f"dsr_confidence must be in (0, 1), got {self.dsr_confidence}")
        if not 0.0 <= self.max_pbo <= 1.0:
            raise ValueError(f"max_pbo must be in [0, 1], got {self.max_pbo}")
        if self.max_drawdown <= 0:
            raise ValueError(f"max_drawdown must be > 0, got {self.max_drawdown}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> GateConfig:
        d = d or {}
        reject_unknown_fields(cls, d, "models.gate")
        return cls(**{k: float(v) for k, v in d.items()})


@dataclass(frozen=True)
class GateVerdict:
    """Outcome: ``passed`` and, per check, the measured value, threshold and result."""

    passed: bool
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def reasons(self) -> list[str]:
        """One sentence per failed check (empty when the gate passes)."""
        return [c["reason"] for c in self.checks.values() if not c["passed"]]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reasons": self.reasons}


def _check(value: float, threshold: float, ok: bool, text: str) -> dict[str, Any]:
    finite = value is not None and math.isfinite(value)
    passed = bool(finite and ok)
    reason = text if finite else f"{text} (undefined)"
    return {"value": value if finite else None, "threshold": threshold, "passed": passed, "reason": reason}


def evaluate_gate(
    *,
    sharpe: float,
    max_drawdown: float,
    pbo: float,
    sharpe_obs: float,
    expected_max_sharpe_obs: float,
    dsr: float,
    config: GateConfig | None = None,
) -> GateVerdict:
    """Apply :class:`GateConfig` to a selection's headline numbers.

    Examples
    --------
    >>> v = evaluate_gate(sharpe=1.4, max_drawdown=0.1, pbo=0.3, sharpe_obs=0.2,
    ...                   expected_max_sharpe_obs=0.1, dsr=0.99)
    >>> v.passed, v.reasons
    (False, ['PBO 0.300 > 0.050'])
    """
    g = config or GateConfig()
    checks = {
        "sharpe": _check(
            sharpe, g.min_sharpe, sharpe >= g.min_sharpe, f"OOS net Sharpe {sharpe:.2f} < {g.min_sharpe:.2f}"
        ),
        "max_drawdown": _check(
            max_drawdown,
            g.max_drawdown,
            max_drawdown <= g.max_drawdown,
            f"max drawdown {max_drawdown:.1%} > {g.max_drawdown:.1%}",
        ),
        "pbo": _check(pbo, g.max_pbo, pbo <= g.max_pbo, f"PBO {pbo:.3f} > {g.max_pbo:.3f}"),
        "beats_expected_max": _check(
            sharpe_obs - expected_max_sharpe_obs,
            0.0,
            sharpe_obs > expected_max_sharpe_obs,
            f"selected Sharpe {sharpe_obs:.4f} <= expected max Sharpe of the trials {expected_max_sharpe_obs:.4f}",
        ),
        "dsr": _check(dsr, g.dsr_confidence, dsr >= g.dsr_confidence, f"DSR {dsr:.3f} < {g.dsr_confidence:.3f}"),
    }
    return GateVerdict(passed=all(c["passed"] for c in checks.values()), checks=checks)
