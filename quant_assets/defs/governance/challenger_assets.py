"""Champion-challenger assets: ``challenger_selection``, ``shadow_positions``, ``shadow_pnl``, ``promotion_decisions``.

``challenger_selection`` (unpartitioned, the ``challenger_retrain_job``) runs the period's
hyper-parameter search (:func:`quant_assets.models.hpsearch.hyperparameter_search`: a fixed
Optuna trial budget compared in one CPCV selection, PBO across the trials, DSR over every trial
of the multiplicity log ``data/<profile>/models/trials.jsonl``, losers archived in
``data/<profile>/governance/hpsearch_archive.jsonl``) as of the latest stored features session
(never inside the dark hold-out), and registers the selected scorer in MLflow with the alias
``challenger`` only: ``champion`` moves only on promotion.

``shadow_positions`` and ``shadow_pnl`` are partitioned by session (layer ``governance``): the
paper books of the registered ``challenger`` and ``champion`` (:func:`quant_assets.models.challenger.shadow_book`,
the decile long/short tranches the selection judges by, net of fee, half-spread and impact with
cost inputs from curated prices). ``shadow_pnl`` of ``t`` holds the tranches whose labels
become known at ``t`` (``equity_labels`` is partitioned by that date); it reads the labels of the
``horizon`` sessions before too, so that a tranche's cost is that of replacing the one before it.

``promotion_decisions`` (unpartitioned) is the append-only log of decisions: once the
challenger has shadow-traded ``governance.challenger.shadow_weeks`` weeks (or at once when its
selection failed the Go/No-Go bars), :func:`quant_assets.models.challenger.decide_promotion`
decides; a promotion moves ``champion`` to the challenger's version, a block records its reasons
in the log and as MLflow tags (``promotion``, ``promotion_reasons``) on the version and its run.
"""

import dagster as dg
import numpy as np
import pandas as pd

from quant_assets import schemas
from quant_assets.config import Profile
from quant_assets.defs.governance.tripwire_assets import GROUP, governance_block
from quant_assets.defs.lib.runtime import stamp_rows, transform_id, window_sessions
from quant_assets.defs.lib.session_asset import session_asset
from quant_assets.defs.models.assets import ALLOW_MISSING, _log_lineage, _selection_frame, readiness, training_as_of
from quant_assets.defs.models.assets import _frame_asset as model_frame_asset
from quant_assets.defs.models.resources import RESEARCH_TRACKING
from quant_assets.models import GateVerdict, SelectionConfig, cost_inputs_from_wide
from quant_assets.models.challenger import (
    PROMOTION_FIELDS,
    PROMOTION_FIGURES,
    ChallengerConfig,
    PromotionLog,
    ShadowBook,
    decide_promotion,
    paper_positions,
    shadow_book,
)
from quant_assets.models.hpsearch import SearchConfig, hyperparameter_search
from quant_assets.research.frames import MarketFrames

__all__ = ["build_challenger_assets"]

BOOKS = ("champion", "challenger")


def _stored() -> dg.AssetIn:
    return dg.AssetIn(partition_mapping=dg.AllPartitionMapping(), metadata={ALLOW_MISSING: True})


def _window(sessions: int) -> dg.AssetIn:
    mapping = dg.TimeWindowPartitionMapping(
        start_offset=-sessions, end_offset=0, allow_nonexistent_upstream_partitions=True
    )
    return dg.AssetIn(partition_mapping=mapping, metadata={ALLOW_MISSING: True})


def _costs(adjusted_prices: pd.DataFrame, spread_bps: float) -> pd.DataFrame | None:
    """Cost inputs (price, spread, ADV, volatility to ``t - 1``) from curated prices, None without prices."""
    if adjusted_prices.empty:
        return None
    no_symbols = pd.DataFrame(
        {
            "date": pd.to_datetime([]),
            "symbol": pd.Series([], dtype=object),
            "shares_outstanding": pd.Series([], dtype=float),
        }
    )
    market = MarketFrames(adjusted_prices, pd.DataFrame(), pd.DataFrame(), no_symbols, pd.DataFrame())
    return cost_inputs_from_wide(market.wide, spread_bps)


def _empty(schema: type) -> pd.DataFrame:
    from quant_assets.defs.models.assets import _empty as empty

    lineage = schemas.Lineage.to_schema().columns
    return empty(schema)[[c for c in schema.to_schema().columns if c not in lineage]]


def _models(tracking) -> dict[str, tuple[str, object]]:
    """``book -> (version, scorer)`` of the registered champion and challenger (missing aliases left out)."""
    tracker = tracking.tracker()
    out = {}
    for book in BOOKS:
        version = tracker.alias_version(book)
        if version is not None:
            out[book] = (version, tracking.load_model(f"models:/{tracker.model_name}/{version}"))
    return out


def _frame_asset(schema: type, **kwargs):
    """A governance asset of the model store (no freshness window: it follows the shadow sessions)."""
    return model_frame_asset(schema=schema, group=GROUP, freshness_policy=None, **kwargs)


def build_challenger_assets(profile: Profile, partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The four champion-challenger assets for ``profile``."""
    cfg = SelectionConfig.from_dict(profile.models)
    block = governance_block(profile)
    search = SearchConfig.from_dict(block.get("search"))
    shadow = ChallengerConfig.from_dict(block.get("challenger"))
    latest_allowed = training_as_of(profile, partitions_def, cfg)
    # Sessions from a tranche's entry to the session all its labels are known (the longest horizon).
    label_span = int(max((profile.research.get("labels") or {}).get("horizons") or [cfg.horizon]))
    fingerprint = profile.fingerprint()

    def governance_dir():
        return profile.data_dir / "governance"

    @_frame_asset(
        schemas.ModelSelection,
        ins={"equity_features": _stored(), "equity_labels": _stored(), "adjusted_prices": _stored()},
        required_resource_keys={RESEARCH_TRACKING},
    )
    def challenger_selection(
        context: dg.AssetExecutionContext,
        equity_features: pd.DataFrame,
        equity_labels: pd.DataFrame,
        adjusted_prices: pd.DataFrame,
    ):
        """The period's challenger: a fixed-budget hyper-parameter search under CPCV, PBO and DSR."""
        stored = pd.DatetimeIndex(equity_features["asof"]) if len(equity_features) else pd.DatetimeIndex([])
        as_of = min(stored.max(), latest_allowed) if len(stored) else latest_allowed
        why_not = readiness(equity_features, equity_labels, cfg, as_of)
        meta = {"as_of": str(pd.Timestamp(as_of).date()), "budget": search.budget}
        if why_not:
            context.log.warning(f"challenger not trained: {why_not}")
            empty = stamp_rows(_empty(schemas.ModelSelection), GROUP, "challenger_selection", "as_of", fingerprint)
            return empty, {**meta, "verdict": f"not run: {why_not}"}
        tracking = getattr(context.resources, RESEARCH_TRACKING)
        log = tracking.trials_log()
        period = f"{pd.Timestamp(as_of):%Y%m%d}"
        out = hyperparameter_search(
            equity_features,
            equity_labels,
            cfg,
            search,
            period=period,
            trials_log=log,
            archive=governance_dir() / "hpsearch_archive.jsonl",
            costs=_costs(adjusted_prices, cfg.spread_bps),
            as_of=as_of,
            run_id=context.run_id,
        )
        result = out.selection
        tracker = tracking.tracker()
        cols = [c for c in equity_features.columns if c.startswith("feature_")]
        seen = equity_features[equity_features["asof"] < as_of]
        example = seen[seen["asof"] == seen["asof"].max()][["asof", "symbol", *cols]].reset_index(drop=True)
        info = tracker.log_selection(result, profile.raw, example, champion_on_gate=False)
        _, client = tracker._client()
        client.set_tag(info["run_id"], "as_of", str(pd.Timestamp(as_of).date()))
        client.set_tag(info["run_id"], "role", "challenger")
        head = result.headline()
        frame = stamp_rows(_selection_frame(result, as_of, info), GROUP, "challenger_selection", "as_of", fingerprint)
        return frame, {
            **meta,
            "selected": result.selected,
            "oos_net_sharpe": head["oos_net_sharpe"],
            "pbo": head["pbo"],
            "dsr": head["dsr"],
            "n_trials": head["n_trials"],
            "verdict": "gate passed: shadow trading" if result.gate.passed else f"refused: {head['gate_reasons']}",
            "model_version": str(info["version"]),
            "trials": dg.MetadataValue.md(out.trials.round(4).to_markdown(index=False)),
            "archived": len(out.archived),
        }

    def shadow_asset(schema: type, date_col: str, ins: dict[str, dg.AssetIn]):
        """A partitioned shadow-trading asset reading the registered models."""
        return session_asset(
            schema=schema,
            layer=GROUP,
            group=GROUP,
            partitions_def=partitions_def,
            date_col=date_col,
            ins=ins,
            required_resource_keys={RESEARCH_TRACKING},
        )

    @shadow_asset(
        schemas.ShadowPositions, "asof", {"equity_features": dg.AssetIn(), "challenger_selection": dg.AssetIn()}
    )
    def shadow_positions(
        context: dg.AssetExecutionContext, equity_features: pd.DataFrame, challenger_selection: pd.DataFrame
    ):
        """Paper positions of the champion's and the challenger's books each session."""
        parts = []
        if len(equity_features):
            for book, (version, model) in _models(getattr(context.resources, RESEARCH_TRACKING)).items():
                pos = paper_positions(model, equity_features, cfg.quantile)
                parts.append(pos.assign(book=book, model_version=str(version)))
        out = pd.concat(parts, ignore_index=True) if parts else _empty(schemas.ShadowPositions)
        out = out[out["weight"] != 0].reset_index(drop=True) if len(out) else out
        meta = {"books": ", ".join(sorted(out["book"].unique())) if len(out) else "none registered"}
        return stamp_rows(out, GROUP, "shadow_positions", "asof", fingerprint), meta

    @shadow_asset(
        schemas.ShadowPnl,
        "known_date",
        {
            "equity_features": _window(label_span + 2 * cfg.horizon),
            "equity_labels": _window(cfg.horizon),
            "adjusted_prices": _window(70),
            "challenger_selection": dg.AssetIn(),
        },
    )
    def shadow_pnl(
        context: dg.AssetExecutionContext,
        equity_features: pd.DataFrame,
        equity_labels: pd.DataFrame,
        adjusted_prices: pd.DataFrame,
        challenger_selection: pd.DataFrame,
    ):
        """Realized paper PnL, net of costs, of the tranches whose return is known at each session."""
        parts = []
        sessions = window_sessions(context)
        if len(equity_features) and len(equity_labels):
            known = equity_labels[["entry_date", "symbol", "known_date"]].rename(columns={"entry_date": "asof"})
            known = known[known["known_date"].isin(sessions)]
            first = pd.Timestamp(equity_features["asof"].min())
            costs = _costs(adjusted_prices, cfg.spread_bps)
            entries = known.groupby("asof")["known_date"].max()
            for book, (version, model) in _models(getattr(context.resources, RESEARCH_TRACKING)).items():
                b = shadow_book(model, equity_features, equity_labels, cfg, start=first, costs=costs, name=book)
                pnl = b.pnl[b.pnl["asof"].isin(entries.index)]
                parts.append(
                    pnl.drop(columns=["cum_net"]).assign(
                        known_date=entries.reindex(pnl["asof"]).to_numpy(), book=book, model_version=str(version)
                    )
                )
        cols = [c for c in schemas.ShadowPnl.to_schema().columns if c not in schemas.Lineage.to_schema().columns]
        out = pd.concat(parts, ignore_index=True)[cols] if parts else _empty(schemas.ShadowPnl)
        out = out.assign(cost=out["cost"].clip(lower=0.0)) if len(out) else out
        meta = {f"{book}_net": float(out.loc[out["book"] == book, "net_return"].sum()) for book in BOOKS if len(out)}
        return stamp_rows(out, GROUP, "shadow_pnl", "known_date", fingerprint), meta

    @_frame_asset(
        schemas.PromotionDecisions,
        ins={"shadow_pnl": _stored(), "challenger_selection": dg.AssetIn()},
        required_resource_keys={RESEARCH_TRACKING},
    )
    def promotion_decisions(
        context: dg.AssetExecutionContext, shadow_pnl: pd.DataFrame, challenger_selection: pd.DataFrame
    ):
        """Every promotion decision, with why: promoted only after a long enough shadow that beat the champion net."""
        log = PromotionLog(governance_dir() / "promotions.jsonl")
        meta: dict = {}
        if challenger_selection.empty:
            meta["status"] = "no challenger trained"
        else:
            meta["status"] = _decide(context, log, shadow_pnl, challenger_selection, shadow)
        df = log.frame()
        df = df.assign(
            **{
                c: df[c].fillna("").astype(str)
                for c in PROMOTION_FIELDS
                if c not in ("decided_at", "promoted", *PROMOTION_FIGURES)
            },
            promoted=df["promoted"].astype(bool),
            **{c: pd.to_numeric(df[c], errors="coerce").astype(float) for c in PROMOTION_FIGURES},
        )
        out, decided = _log_lineage(df, "decided_at", log.path, transform_id("promotion_decisions", fingerprint))
        out.insert(0, "decided_at", decided)
        meta["decisions"] = int(len(out))
        meta["blocked"] = int((~out["promoted"]).sum()) if len(out) else 0
        return out, meta

    return [challenger_selection, shadow_positions, shadow_pnl, promotion_decisions]


def _decide(
    context, log: PromotionLog, shadow_pnl: pd.DataFrame, selection: pd.DataFrame, cfg: ChallengerConfig
) -> str:
    """Decide once per challenger version when the decision is final; returns the status line."""
    row = selection[selection["selected"]].iloc[0]
    version = str(row["model_version"])
    done = log.frame()
    if len(done) and (done["challenger_version"].astype(str) == version).any():
        last = done[done["challenger_version"].astype(str) == version].iloc[-1]
        return f"v{version}: {'promoted' if last['promoted'] else 'blocked'} ({last['reasons'] or 'all checks passed'})"
    tracking = getattr(context.resources, RESEARCH_TRACKING)
    tracker = tracking.tracker()
    champion_version = tracker.alias_version("champion")
    trained = pd.Timestamp(row["as_of"])

    def book(name: str, v: str | None) -> ShadowBook | None:
        if v is None or shadow_pnl.empty:
            return (
                None
                if v is None
                else ShadowBook(
                    name,
                    pd.DataFrame(),
                    pd.DataFrame({"asof": pd.Series(dtype="datetime64[ns]"), "gross_return": [], "net_return": []}),
                )
            )
        p = shadow_pnl[(shadow_pnl["book"] == name) & (shadow_pnl["model_version"].astype(str) == v)]
        p = p[p["asof"] >= trained]  # out of sample only: tranches entered from the training date on
        return ShadowBook(name, pd.DataFrame(), p.loc[:, ["asof", "gross_return", "cost", "net_return"]])

    gate = GateVerdict(
        passed=bool(row["gate_passed"]),
        checks={"gate": {"passed": bool(row["gate_passed"]), "reason": str(row["gate_reasons"]) or "failed"}},
    )
    ch = book("challenger", version)
    cp = book("champion", champion_version) if champion_version not in (None, version) else None
    decision = decide_promotion(ch, cp, gate, cfg)
    final = decision.promoted or not gate.passed or decision.checks["shadow_length"]["passed"]
    if not final:
        return f"v{version} shadow trading: {decision.figures['shadow_sessions']} of {cfg.shadow_sessions} sessions"
    rec = log.record(
        decision,
        period=str(pd.Timestamp(row["as_of"]).date()),
        challenger=str(row["candidate"]),
        challenger_version=version,
        champion_version=champion_version or "",
        n_trials=int(row["n_trials"]),
        pbo=float(row["pbo"]) if np.isfinite(row["pbo"]) else None,
        dsr=float(row["dsr"]) if np.isfinite(row["dsr"]) else None,
    )
    tracker.record_promotion(version, {**decision.as_dict(), "period": rec["period"]})
    return f"v{version}: {'promoted' if decision.promoted else 'blocked'} ({rec['reasons'] or 'all checks passed'})"
