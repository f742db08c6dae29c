"""Asset checks of the portfolio artifacts: what the schemas cannot say.

=============================  ========  ========  ==========================================
check (asset)                  severity  blocking  fails when
=============================  ========  ========  ==========================================
``weights_within_caps``        ERROR     yes       a session's weights break the single-name,
(target_portfolio)                                 gross, net or a sector cap
``nav_accounting``             ERROR     yes       NAV differs from cash + long + short value
(backtest_equities)
``blotter_files_valid``        ERROR     yes       a session's ``blotter.json`` is missing,
(daily_blotter)                                    breaks the JSON Schema or disagrees with
                                                   the stored rows
=============================  ========  ========  ==========================================
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd

from quant_assets.defs.lib.frame_checks import FrameCheck, check_result
from quant_assets.portfolio import RiskConfig
from quant_assets.reporting import validate_blotter

CHECK_CAPS = "weights_within_caps"
CHECK_NAV = "nav_accounting"
CHECK_BLOTTER = "blotter_files_valid"
TOL = 1e-9


def cap_breaches(targets: pd.DataFrame, risk: RiskConfig) -> pd.DataFrame:
    """``date, what, value, cap`` for every cap a session's weights break (beyond :data:`TOL`)."""
    rows = []
    for date, g in targets.groupby("date", sort=True):
        w = g["target_w"].to_numpy(np.float64)
        for sym, x in zip(g["symbol"], w, strict=True):
            if abs(x) > risk.name_cap + TOL:
                rows.append((date, f"name {sym}", x, risk.name_cap))
        if np.abs(w).sum() > risk.gross_cap + TOL:
            rows.append((date, "gross", float(np.abs(w).sum()), risk.gross_cap))
        if abs(w.sum()) > risk.net_cap + TOL:
            rows.append((date, "net", float(w.sum()), risk.net_cap))
        for sector, s in g.dropna(subset=["sector"]).groupby("sector"):
            net = float(s["target_w"].sum())
            if abs(net) > risk.cap_for_sector(sector) + TOL:
                rows.append((date, f"sector {sector}", net, risk.cap_for_sector(sector)))
    return pd.DataFrame(rows, columns=["date", "what", "value", "cap"])


def nav_mismatch(equity: pd.DataFrame) -> pd.DataFrame:
    """Sessions whose NAV is not cash plus long plus short value (relative tolerance 1e-9)."""
    parts = equity["cash"] + equity["long_value"] + equity["short_value"]
    bad = ~np.isclose(equity["nav"], parts, rtol=1e-9, atol=1e-6)
    return equity.loc[bad, ["date", "nav", "cash", "long_value", "short_value"]]


def invalid_blotters(rows: pd.DataFrame, report_root: Path, sessions) -> pd.DataFrame:
    """``asof, problem`` for each session whose written ``blotter.json`` is missing or wrong."""
    bad = []
    for session in pd.DatetimeIndex(sessions):
        day = f"{session:%Y-%m-%d}"
        path = Path(report_root) / day / "blotter.json"
        if not path.is_file():
            bad.append((day, f"{path} missing"))
            continue
        try:
            payload = json.loads(path.read_text())
            validate_blotter(payload)
        except (json.JSONDecodeError, jsonschema.ValidationError) as exc:
            bad.append((day, f"invalid: {str(exc).splitlines()[0]}"))
            continue
        stored = rows[rows["asof"] == session]
        written = {(p["symbol"], round(p["target_w"], 6)) for p in payload["positions"]}
        kept = {(s, round(float(w), 6)) for s, w in zip(stored["symbol"], stored["target_w"], strict=True)}
        if payload["asof"] != day or written != kept:
            bad.append((day, "positions differ from the stored rows"))
    return pd.DataFrame(bad, columns=["asof", "problem"])


def target_checks(risk: RiskConfig) -> list[FrameCheck]:
    return [
        FrameCheck(
            CHECK_CAPS,
            "Every session's weights within the single-name, gross, net and sector caps.",
            lambda df, _: check_result(cap_breaches(df, risk), description="caps breached"),
            blocking=True,
        )
    ]


BACKTEST_CHECKS = [
    FrameCheck(
        CHECK_NAV,
        "NAV equals cash plus long and short market value every session.",
        lambda df, _: check_result(nav_mismatch(df), description="NAV does not add up"),
        blocking=True,
    ),
]


def blotter_checks(report_root: Callable[[], Path], sessions_of) -> list[FrameCheck]:
    """``report_root()``: the reports directory; ``sessions_of(inputs)``: the sessions of the run's window."""
    return [
        FrameCheck(
            CHECK_BLOTTER,
            "Each session's blotter.json exists, validates against the JSON Schema and holds the stored positions.",
            lambda df, i: check_result(
                invalid_blotters(df, report_root(), sessions_of(i)), description="blotter files invalid"
            ),
            blocking=True,
        )
    ]
