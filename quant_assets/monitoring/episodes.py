"""Drift episodes: a retrain is requested once when drift starts, not on every session it lasts.

An episode opens on the first session in breach and closes on the first session back within
the thresholds; only an opening asks for a retrain. The state is a small JSON-able dict, kept
by the caller (the Dagster sensor's cursor).

Example
-------
>>> state = {}
>>> [step(state, s, r)[0] for s, r in [("d1", []), ("d2", ["psi"]), ("d3", ["psi"]), ("d4", []), ("d5", ["psi"])]]
[False, True, False, False, True]
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["step"]


def step(state: dict, session: str, reasons: Sequence[str]) -> tuple[bool, dict]:
    """Advance ``state`` (updated in place and returned) by one session; True when an episode opens.

    Sessions at or before the last one seen are ignored (a re-materialized partition does not
    re-open an episode).
    """
    if state.get("last_session") and session <= state["last_session"]:
        return False, state
    state["last_session"] = session
    opened = bool(reasons) and not state.get("episode_since")
    if reasons and opened:
        state["episode_since"] = session
    elif not reasons:
        state["episode_since"] = None
    return opened, state
