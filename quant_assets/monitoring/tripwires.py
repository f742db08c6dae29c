"""Tripwires: soft de-risk bands on drawdown and a hard kill switch persisted on disk.

Soft bands scale the book's gross down as the drawdown deepens (``bands``: drawdown at or
beyond which the gross is multiplied by the band's scale). The hard kill fires at the first
session whose close shows a drawdown beyond ``kill_drawdown`` or whose realized impact has
exceeded the modeled one by more than ``slippage_excess`` (a fraction) for ``slippage_days``
sessions in a row. Drawdown is measured from the peak since the book started or since the
last clearance (a person who clears a kill accepts the loss behind it).

The kill is a file, ``kill_switch.json`` under the profile's data directory, written
atomically (temporary file, fsync, rename); every trip and clearance is appended to
``kill_switch_history.jsonl``. Once tripped it stays tripped (a later trip keeps the first
one's session and reason) until a person clears it with a name and a reason
(``python -m quant_assets.monitoring.kill clear --profile P --by NAME --reason ...``). While
it is tripped no new orders go out: :func:`guard_targets` returns no targets.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quant_assets.config.fields import reject_unknown_fields
from quant_assets.market.store_files import atomic_write

__all__ = [
    "HISTORY_FILE",
    "KILL_FILE",
    "KillState",
    "TripwireConfig",
    "clear_kill",
    "derisk_scale",
    "evaluate_tripwires",
    "guard_targets",
    "halt_targets",
    "kill_history",
    "kill_state",
    "trip_kill",
]

KILL_FILE = "kill_switch.json"
HISTORY_FILE = "kill_switch_history.jsonl"


@dataclass(frozen=True)
class TripwireConfig:
    """Thresholds of the tripwires (the profile's ``governance.tripwires`` block).

    ``bands``: ``(drawdown, scale)`` pairs, drawdown as a positive fraction; at a drawdown at
    or beyond a band's the gross is multiplied by its scale (the deepest band reached wins).
    ``kill_drawdown``: the drawdown cap beyond which the kill fires. ``slippage_excess`` (X) and
    ``slippage_days`` (Y): the kill fires when realized impact exceeds the modeled impact by more
    than X (0.5 = 50%) on Y consecutive sessions with trading.
    """

    bands: tuple[tuple[float, float], ...] = ((0.05, 0.75), (0.10, 0.5))
    kill_drawdown: float = 0.15
    slippage_excess: float = 0.5
    slippage_days: int = 3

    def __post_init__(self) -> None:
        bands = tuple(sorted((float(d), float(s)) for d, s in self.bands))
        object.__setattr__(self, "bands", bands)
        for d, s in bands:
            if not (0.0 < d and 0.0 <= s <= 1.0):
                raise ValueError(f"a band needs drawdown > 0 and scale in [0, 1], got ({d}, {s})")
        if self.kill_drawdown <= 0:
            raise ValueError(f"kill_drawdown must be > 0, got {self.kill_drawdown}")
        if self.slippage_days < 1 or self.slippage_excess < 0:
            raise ValueError("slippage_days must be >= 1 and slippage_excess >= 0")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> TripwireConfig:
        d = dict(d or {})
        reject_unknown_fields(cls, d, "governance.tripwires")
        if "bands" in d:
            d["bands"] = tuple(tuple(b) for b in d["bands"])
        return cls(**d)


def derisk_scale(drawdown: float, config: TripwireConfig | None = None) -> float:
    """Gross multiplier at a drawdown (positive fraction): the scale of the deepest band reached.

    Examples
    --------
    >>> derisk_scale(0.02), derisk_scale(0.07), derisk_scale(0.12)
    (1.0, 0.75, 0.5)
    """
    cfg = config or TripwireConfig()
    scale = 1.0
    for d, s in cfg.bands:
        if drawdown >= d:
            scale = s
    return scale


def evaluate_tripwires(
    curve: pd.DataFrame,
    config: TripwireConfig | None = None,
    initial_capital: float | None = None,
    resets: Sequence = (),
) -> pd.DataFrame:
    """Tripwire state at the close of every session of an equity curve.

    Parameters
    ----------
    curve : DataFrame
        ``date, nav`` and, for the slippage rule, ``impact`` (modeled) and ``impact_realized``
        (the backtest's equity columns).
    config : TripwireConfig, optional
    initial_capital : float, optional
        The capital before the first session (the first peak); default the first NAV.
    resets : sequence of dates
        Sessions from whose close on the peak restarts (clearances of a kill).

    Returns
    -------
    DataFrame
        ``date, nav, drawdown, gross_scale, slippage_ratio, slippage_breach_days, kill, reason``:
        ``kill`` is True from the first breaching session on (until a reset), ``reason`` names
        the rule and its numbers on the session it fired.
    """
    cfg = config or TripwireConfig()
    df = curve.sort_values("date").reset_index(drop=True)
    nav = df["nav"].to_numpy(np.float64)
    dates = pd.DatetimeIndex(pd.to_datetime(df["date"]))
    reset_at = set(pd.DatetimeIndex(pd.to_datetime(list(resets))))
    modeled = df["impact"].to_numpy(np.float64) if "impact" in df else np.zeros(len(df))
    realized = df["impact_realized"].to_numpy(np.float64) if "impact_realized" in df else np.zeros(len(df))
    peak = float(initial_capital) if initial_capital is not None else (nav[0] if len(nav) else 0.0)
    rows, breach, killed = [], 0, False
    for i, date in enumerate(dates):
        if date in reset_at:
            peak, breach, killed = nav[i], 0, False
        peak = max(peak, nav[i])
        dd = 1.0 - nav[i] / peak if peak > 0 else 0.0
        ratio = realized[i] / modeled[i] if modeled[i] > 0 else np.nan
        if np.isfinite(ratio):  # sessions without trading leave the run of breaches as it is
            breach = breach + 1 if ratio > 1.0 + cfg.slippage_excess else 0
        reason = ""
        if not killed and dd > cfg.kill_drawdown:
            killed, reason = True, f"drawdown {dd:.1%} > cap {cfg.kill_drawdown:.1%}"
        elif not killed and breach >= cfg.slippage_days:
            killed = True
            reason = (
                f"realized slippage above the model by more than {cfg.slippage_excess:.0%} "
                f"for {breach} sessions (last ratio {ratio:.2f})"
            )
        rows.append((date, nav[i], dd, derisk_scale(dd, cfg), ratio, breach, killed, reason))
    cols = ["date", "nav", "drawdown", "gross_scale", "slippage_ratio", "slippage_breach_days", "kill", "reason"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- the kill switch on disk
@dataclass(frozen=True)
class KillState:
    """The kill switch: ``killed`` and, when tripped, the session, time and reason; the last clearance."""

    killed: bool = False
    session: str | None = None
    tripped_at: str | None = None
    reason: str = ""
    source: str = ""
    cleared_by: str | None = None
    cleared_at: str | None = None
    cleared_reason: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "history"}

    def line(self) -> str:
        """One line for the blotter and the UI."""
        if self.killed:
            return f"KILL SWITCH TRIPPED on {self.session} ({self.source}): {self.reason}. No new orders until cleared."
        if self.cleared_by:
            return f"kill switch clear (last cleared {self.cleared_at} by {self.cleared_by}: {self.cleared_reason})"
        return "kill switch clear"


def _now() -> str:
    return pd.Timestamp.now(tz="UTC").isoformat()


def _save(root: Path, state: KillState, event: Mapping[str, Any]) -> KillState:
    """Replace the switch of ``root`` by ``state`` (atomically, durably), then log ``event`` in its history."""
    data = json.dumps(state.as_dict(), sort_keys=True, indent=2).encode()
    atomic_write(root / KILL_FILE, data, tmp_dir=root, durable=True)
    _append_history(root, event)
    return state


def _append_history(root: Path, event: Mapping[str, Any]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with (root / HISTORY_FILE).open("a") as fh:
        fh.write(json.dumps(dict(event), sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def kill_state(root: str | Path) -> KillState:
    """The kill switch of the data directory ``root`` (``data/<profile>``); clear when never tripped."""
    path = Path(root) / KILL_FILE
    if not path.exists():
        return KillState()
    try:
        d = json.loads(path.read_text())
    except json.JSONDecodeError as exc:  # never read a damaged switch as "clear"
        raise ValueError(f"{path} is not a kill-switch document: {exc}") from exc
    return KillState(**{k: v for k, v in d.items() if k in KillState.__dataclass_fields__})


def kill_history(root: str | Path) -> pd.DataFrame:
    """Every trip and clearance, oldest first (``event, at, session, by, reason, source``)."""
    path = Path(root) / HISTORY_FILE
    cols = ["event", "at", "session", "by", "reason", "source"]
    if not path.exists():
        return pd.DataFrame(columns=cols)
    recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return pd.DataFrame(recs).reindex(columns=cols)


def trip_kill(root: str | Path, session, reason: str, source: str = "tripwires") -> KillState:
    """Trip the kill switch at ``session`` (idempotent: an already tripped switch keeps its first trip)."""
    root = Path(root)
    current = kill_state(root)
    if current.killed:
        return current
    state = KillState(
        killed=True,
        session=str(pd.Timestamp(session).date()),
        tripped_at=_now(),
        reason=reason,
        source=source,
        cleared_by=current.cleared_by,
        cleared_at=current.cleared_at,
        cleared_reason=current.cleared_reason,
    )
    event = {"event": "trip", "at": state.tripped_at, "session": state.session, "reason": reason, "source": source}
    return _save(root, state, {**event, "by": None})


def clear_kill(root: str | Path, by: str, reason: str) -> KillState:
    """A person clears the kill switch; ``by`` and ``reason`` are required and recorded."""
    if not str(by).strip() or not str(reason).strip():
        raise ValueError("clearing the kill switch needs the name of the person (--by) and a reason (--reason)")
    root = Path(root)
    current = kill_state(root)
    state = KillState(
        killed=False,
        cleared_by=str(by),
        cleared_at=_now(),
        cleared_reason=str(reason),
        session=current.session,
        reason=current.reason,
        source=current.source,
        tripped_at=current.tripped_at,
    )
    event = {"event": "clear", "at": state.cleared_at, "session": current.session, "by": str(by), "reason": str(reason)}
    return _save(root, state, {**event, "source": "person", "was_killed": current.killed})


def guard_targets(targets: pd.DataFrame, state: KillState, scale: float = 1.0) -> pd.DataFrame:
    """The targets that may go out: none while killed, else the weights times the de-risk ``scale``."""
    if state.killed:
        return targets.iloc[0:0]
    if scale == 1.0:
        return targets
    return targets.assign(target_w=targets["target_w"].astype(float) * float(scale))


def halt_targets(targets: pd.DataFrame, state: KillState, date_col: str = "date") -> pd.DataFrame:
    """The targets a daily book may still trade: while killed, none dated after the kill's session.

    A book that holds its positions on a session without targets then sends no new order from
    the session after the kill until the switch is cleared.
    """
    if not state.killed or state.session is None:
        return targets
    return targets[pd.to_datetime(targets[date_col]) <= pd.Timestamp(state.session)]
