"""Asset checks of the research inputs: what the schemas cannot say about universe, features, labels.

=================================  ========  ========  ======================================
check (asset)                      severity  blocking  fails when
=================================  ========  ========  ======================================
``universe_traded_before``         ERROR     yes       a member had no bar, or delisted, at
(universe)                                             the session before its date
``universe_within_top_n``          ERROR     yes       a session has more than top_n names or
(universe)                                             ranks that are not 1..n
``features_match_universe``        ERROR     yes       a feature row is not a universe member
(equity_features)                                      of its asof, or a member has no row
``label_matches_outcome``          ERROR     yes       label is not 1 for tp, -1 for sl, 0 for
(equity_labels)                                        vertical
``labels_known_in_partition``      ERROR     yes       a row's known_date is not one of the
(equity_labels)                                        run's sessions (stored before known)
=================================  ========  ========  ======================================
"""

from __future__ import annotations

import pandas as pd

from quant_assets.calendars import sessions_in_range
from quant_assets.defs.lib.frame_checks import FrameCheck, check_result
from quant_assets.defs.lib.runtime import window_sessions

CHECK_UNIVERSE_TRADED = "universe_traded_before"
CHECK_UNIVERSE_TOP_N = "universe_within_top_n"
CHECK_FEATURES_UNIVERSE = "features_match_universe"
CHECK_LABEL_OUTCOME = "label_matches_outcome"
CHECK_LABELS_KNOWN = "labels_known_in_partition"

_OUTCOME_LABEL = {"tp": 1, "sl": -1, "vertical": 0}


def untraded_members(universe: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Members without a bar, or with their delisting bar, at the session before their date."""
    if universe.empty:
        return universe
    dates = pd.DatetimeIndex(universe["date"])
    cal = sessions_in_range(dates.min() - pd.Timedelta(days=10), dates.max())
    prev = cal[cal.get_indexer(dates) - 1]
    ok = prices.loc[~prices["is_delisting"].astype(bool), ["date", "symbol"]].assign(_ok=True)
    m = universe.assign(prev=prev.values).merge(
        ok, left_on=["prev", "symbol"], right_on=["date", "symbol"], how="left", suffixes=("", "_p")
    )
    return m.loc[m["_ok"].isna(), ["date", "symbol", "prev"]]


def oversized_sessions(universe: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """Sessions with more than ``top_n`` members or ranks other than 1..n."""
    g = universe.groupby("date")["rank"].agg(["size", "min", "max", "nunique"]).reset_index()
    bad = (g["size"] > top_n) | (g["min"] != 1) | (g["max"] != g["size"]) | (g["nunique"] != g["size"])
    return g[bad]


def feature_universe_mismatch(features: pd.DataFrame, universe: pd.DataFrame) -> pd.DataFrame:
    """Feature rows outside the universe of their asof, and members without a feature row."""
    u = universe[["date", "symbol"]].rename(columns={"date": "asof"})
    m = features[["asof", "symbol"]].merge(u, how="outer", indicator=True)
    return m[m["_merge"] != "both"].rename(columns={"_merge": "side"})


def label_outcome_mismatch(labels: pd.DataFrame) -> pd.DataFrame:
    """Rows whose label disagrees with their barrier outcome (delisted rows may be any label)."""
    want = labels["outcome"].map(_OUTCOME_LABEL)
    bad = want.notna() & (want != labels["label"])
    return labels.loc[bad, ["entry_date", "symbol", "outcome", "label"]]


def labels_outside_window(labels: pd.DataFrame, sessions) -> pd.DataFrame:
    """Rows whose ``known_date`` is not one of ``sessions`` (the partitions written)."""
    bad = ~pd.DatetimeIndex(labels["known_date"]).isin(pd.DatetimeIndex(sessions))
    return labels.loc[bad, ["entry_date", "symbol", "exit_date", "known_date"]]


def universe_checks(top_n: int) -> list[FrameCheck]:
    return [
        FrameCheck(
            CHECK_UNIVERSE_TRADED,
            "Every member traded, and had not delisted, the session before.",
            lambda df, i: check_result(
                untraded_members(df, i["adjusted_prices"]), description="members without a usable bar at t-1"
            ),
            blocking=True,
        ),
        FrameCheck(
            CHECK_UNIVERSE_TOP_N,
            f"At most {top_n} names per session, ranked 1..n.",
            lambda df, i: check_result(oversized_sessions(df, top_n), description="bad universe sizes"),
            blocking=True,
        ),
    ]


FEATURE_CHECKS = [
    FrameCheck(
        CHECK_FEATURES_UNIVERSE,
        "Feature rows are exactly the universe members of each asof.",
        lambda df, i: check_result(
            feature_universe_mismatch(df, i["universe"]), description="feature rows and universe differ"
        ),
        blocking=True,
    ),
]

LABEL_CHECKS = [
    FrameCheck(
        CHECK_LABEL_OUTCOME,
        "label is 1 for tp, -1 for sl, 0 for vertical.",
        lambda df, _: check_result(label_outcome_mismatch(df), description="labels disagree with outcomes"),
        blocking=True,
    ),
    FrameCheck(
        CHECK_LABELS_KNOWN,
        "Every row is stored in the partition of the session its targets are known.",
        lambda df, i: check_result(
            labels_outside_window(df, window_sessions(i["context"])),
            description="rows stored outside their known_date partition",
        ),
        blocking=True,
    ),
]
