"""The research inputs in the graph: ``universe``, ``equity_features``, ``equity_labels``.

Each is partitioned by XNYS session and reads its history through time-window partition
mappings that end at the session **before** (universe, features: data through ``t-1``) or at
the partition itself (labels). ``equity_labels`` is partitioned by ``known_date``, the session
by whose close every target of a row (triple barrier, 5- and 20-session returns) is known: a
partition never holds a label before its exit, and a training set as of ``d`` reads the
partitions before ``d``. See :mod:`quant_assets.research` for the timeline.
"""

import dagster as dg
import pandas as pd

from quant_assets import schemas
from quant_assets.config import Profile
from quant_assets.defs.lib.runtime import stamp_rows, window_sessions
from quant_assets.defs.lib.session_asset import session_asset
from quant_assets.defs.market.schedules import MARKET_FRESHNESS
from quant_assets.defs.research.checks import FEATURE_CHECKS, LABEL_CHECKS, universe_checks
from quant_assets.features import LOOKBACK_SESSIONS, build_feature_panel
from quant_assets.labels import LabelConfig, build_label_panel
from quant_assets.research.frames import MarketFrames
from quant_assets.research.universe import build_universe

FUNDAMENTALS_EXTRA = 260
"""Sessions of fundamentals read beyond the price lookback (four quarters for earnings)."""


def _history(sessions: int, *, through_previous: bool = True) -> dg.TimeWindowPartitionMapping:
    return dg.TimeWindowPartitionMapping(
        start_offset=-sessions, end_offset=-1 if through_previous else 0, allow_nonexistent_upstream_partitions=True
    )


def _frames(prices, fundamentals, earnings, symbols, rates, through) -> MarketFrames:
    return MarketFrames(
        prices=prices, fundamentals=fundamentals, earnings=earnings, symbols=symbols, rates=rates, through=through
    )


def build_research_assets(profile: Profile, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """``universe``, ``equity_features`` and ``equity_labels`` for ``profile`` (``research:`` section)."""
    cfg = profile.research or {}
    ucfg = {"top_n": 100, "window": 60, "min_obs": None, **(cfg.get("universe") or {})}
    lcfg = LabelConfig.from_dict(cfg.get("labels"))
    top_n, window, min_obs = int(ucfg["top_n"]), int(ucfg["window"]), ucfg["min_obs"]
    fingerprint = profile.fingerprint()
    span = max(lcfg.max_h, *lcfg.horizons) - 1  # entries whose targets end in the window

    @session_asset(
        schema=schemas.Universe,
        layer="features",
        group="research",
        partitions_def=partitions_def,
        freshness_policy=MARKET_FRESHNESS,
        checks=universe_checks(top_n),
        ins={"adjusted_prices": dg.AssetIn(partition_mapping=_history(window + 1))},
    )
    def universe(context: dg.AssetExecutionContext, adjusted_prices: pd.DataFrame):
        """Top-N names by 60-session average dollar volume, ranked at the close before each session."""
        sessions = window_sessions(context)
        prices = adjusted_prices  # through the session before the last
        if prices.empty:
            out = pd.DataFrame(
                {
                    "date": pd.to_datetime([]),
                    "symbol": pd.Series([], dtype=object),
                    "rank": pd.Series([], dtype="int64"),
                    "adv_60": pd.Series([], dtype=float),
                }
            )
        else:
            market = MarketFrames(
                prices, pd.DataFrame(), pd.DataFrame(), _no_symbols(), pd.DataFrame(), through=sessions[-1]
            )
            out = build_universe(market, sessions, top_n, window, min_obs)
        out = stamp_rows(out, "research", "universe", "date", fingerprint)
        return out, {"top_n": top_n, "sessions_with_members": int(out["date"].nunique())}

    @session_asset(
        schema=schemas.EquityFeatures,
        layer="features",
        group="research",
        partitions_def=partitions_def,
        date_col="asof",
        checks=FEATURE_CHECKS,
        freshness_policy=MARKET_FRESHNESS,
        ins={
            "adjusted_prices": dg.AssetIn(partition_mapping=_history(LOOKBACK_SESSIONS)),
            "raw_fundamentals": dg.AssetIn(partition_mapping=_history(LOOKBACK_SESSIONS + FUNDAMENTALS_EXTRA)),
            "raw_earnings_calendar": dg.AssetIn(partition_mapping=_history(LOOKBACK_SESSIONS)),
            "symbols": dg.AssetIn(partition_mapping=_history(LOOKBACK_SESSIONS)),
            "rates": dg.AssetIn(partition_mapping=_history(LOOKBACK_SESSIONS)),
            "universe": dg.AssetIn(),
        },
    )
    def equity_features(
        context: dg.AssetExecutionContext,
        adjusted_prices: pd.DataFrame,
        raw_fundamentals: pd.DataFrame,
        raw_earnings_calendar: pd.DataFrame,
        symbols: pd.DataFrame,
        rates: pd.DataFrame,
        universe: pd.DataFrame,
    ):
        """Standardized equity features of each universe member, from data known at the close before."""
        sessions = window_sessions(context)
        market = _frames(adjusted_prices, raw_fundamentals, raw_earnings_calendar, symbols, rates, sessions[-1])
        if adjusted_prices.empty or universe.empty:
            out = _empty_features()
        else:
            out = build_feature_panel(market, sessions, universe=universe)
        out = stamp_rows(out, "research", "equity_features", "asof", fingerprint)
        feats = [c for c in out.columns if c.startswith("feature_") and not c.endswith("_missing")]
        missing = float(out[feats].isna().to_numpy().mean()) if len(out) else 0.0
        return out, {"n_features": len(feats), "missing_share": missing}

    @session_asset(
        schema=schemas.EquityLabels,
        layer="labels",
        group="research",
        partitions_def=partitions_def,
        date_col="known_date",
        checks=LABEL_CHECKS,
        freshness_policy=MARKET_FRESHNESS,
        ins={
            "adjusted_prices": dg.AssetIn(
                partition_mapping=_history(span + lcfg.vol_window + 1, through_previous=False)
            ),
            "universe": dg.AssetIn(partition_mapping=_history(span, through_previous=False)),
        },
    )
    def equity_labels(context: dg.AssetExecutionContext, adjusted_prices: pd.DataFrame, universe: pd.DataFrame):
        """Triple-barrier labels and 5/20-session excess returns, stored in the session they become known."""
        sessions = window_sessions(context)
        if adjusted_prices.empty or universe.empty:
            out = _empty_labels()
        else:
            market = MarketFrames(
                adjusted_prices, pd.DataFrame(), pd.DataFrame(), _no_symbols(), pd.DataFrame(), through=sessions[-1]
            )
            entries = market.wide.sessions[market.wide.sessions <= sessions[-1]]
            out = build_label_panel(market, entries[-(len(sessions) + span) :], lcfg, universe=universe)
            out = out[pd.DatetimeIndex(out["known_date"]).isin(sessions)].reset_index(drop=True)
        out = stamp_rows(out, "research", "equity_labels", "known_date", fingerprint)
        counts = out["outcome"].value_counts().to_dict() if len(out) else {}
        return out, {f"outcome_{k}": int(counts.get(k, 0)) for k in ("tp", "sl", "vertical", "delisted")}

    return [universe, equity_features, equity_labels]


def _no_symbols() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime([]),
            "symbol": pd.Series([], dtype=object),
            "shares_outstanding": pd.Series([], dtype=float),
        }
    )


def _empty_features() -> pd.DataFrame:
    from quant_assets.features import FEATURE_COLUMNS

    return pd.DataFrame(
        {
            "asof": pd.to_datetime([]),
            "symbol": pd.Series([], dtype=object),
            **{c: pd.Series([], dtype=float) for c in FEATURE_COLUMNS},
        }
    )


def _empty_labels() -> pd.DataFrame:
    from quant_assets.labels import LABEL_COLUMNS

    cols = {}
    for c in LABEL_COLUMNS:
        if c in ("symbol", "outcome"):
            cols[c] = pd.Series([], dtype=object)
        elif c == "label":
            cols[c] = pd.Series([], dtype="int64")
        elif "date" in c:
            cols[c] = pd.to_datetime([])
        else:
            cols[c] = pd.Series([], dtype=float)
    return pd.DataFrame(cols)
