"""The multiplicity log: every candidate, feature set and hyper-parameter ever evaluated.

An append-only JSON Lines file; each line is one trial with its result. Deflating a selected
Sharpe ratio needs the real number of trials and the dispersion of their Sharpe ratios
(Bailey and López de Prado 2014, "The Deflated Sharpe Ratio"): both are read from here, so a
re-run of the selection counts every earlier attempt too. Existing lines are never rewritten;
a log whose lines do not parse raises instead of being repaired.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TRIAL_FIELDS", "TrialsLog"]

#: Columns of a trial record.
TRIAL_FIELDS = (
    "trial_id",
    "run_id",
    "recorded_at",
    "candidate",
    "feature_set",
    "n_features",
    "params",
    "data_hash",
    "sharpe_obs",
    "sharpe_ann",
    "max_drawdown",
    "rank_ic",
    "selected",
)


class TrialsLog:
    """Append-only trial log at ``path`` (JSON Lines); in memory when ``path`` is None."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self._memory: list[dict[str, Any]] = []

    def records(self) -> list[dict[str, Any]]:
        if self.path is None:
            return list(self._memory)
        if not self.path.exists():
            return []
        out = []
        for n, line in enumerate(self.path.read_text().splitlines(), start=1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{self.path}: line {n} is not a JSON trial record") from exc
        return out

    def frame(self) -> pd.DataFrame:
        """The log as a DataFrame with :data:`TRIAL_FIELDS` columns (``params`` as JSON text)."""
        recs = self.records()
        df = pd.DataFrame(recs, columns=list(TRIAL_FIELDS))
        df["params"] = [json.dumps(p, sort_keys=True, default=str) for p in df["params"]]
        return df

    def __len__(self) -> int:
        return len(self.records())

    def append(self, trials: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Append trials (numbered after the existing ones); returns the records written."""
        start = len(self)
        recs = []
        for i, t in enumerate(trials):
            unknown = set(t) - set(TRIAL_FIELDS)
            if unknown:
                raise ValueError(f"unknown trial fields {sorted(unknown)}")
            rec = {f: t.get(f) for f in TRIAL_FIELDS} | {"trial_id": start + i}
            rec = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in rec.items()}
            recs.append(rec)
        if self.path is None:
            self._memory.extend(recs)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as fh:
                for rec in recs:
                    fh.write(json.dumps(rec, sort_keys=True, default=str) + "\n")
        return recs

    def append_candidates(
        self, table: pd.DataFrame, describe: Mapping[str, Mapping[str, Any]], *, run_id: str, data_hash: str
    ) -> list[dict[str, Any]]:
        """Append one trial per candidate of a selection run, in the order of ``describe``.

        ``table`` is the run's candidate table (indexed by name, with ``n_features``, ``sharpe_obs``,
        ``sharpe_ann``, ``max_drawdown``, ``rank_ic`` and ``selected``); ``describe[name]`` gives the
        trial's ``candidate``, ``feature_set`` and ``params``.
        """
        recorded = pd.Timestamp.now(tz="UTC").isoformat()
        return self.append(
            {
                "run_id": run_id,
                "recorded_at": recorded,
                **describe[n],
                "n_features": int(table.loc[n, "n_features"]),
                "data_hash": data_hash,
                **{k: float(table.loc[n, k]) for k in ("sharpe_obs", "sharpe_ann", "max_drawdown", "rank_ic")},
                "selected": bool(table.loc[n, "selected"]),
            }
            for n in describe
        )

    def sharpe_stats(self, extra: Iterable[float] = ()) -> tuple[int, float]:
        """Number of trials and variance (ddof=1) of their per-observation Sharpe ratios.

        ``extra`` adds Sharpe ratios of trials not yet written (the current run).
        """
        extra = list(extra)
        logged = [r["sharpe_obs"] for r in self.records()]
        srs = np.asarray([s for s in [*logged, *extra] if s is not None], dtype=np.float64)
        srs = srs[np.isfinite(srs)]
        n = len(logged) + len(extra)
        var = float(np.var(srs, ddof=1)) if srs.size >= 2 else 0.0
        return max(n, 1), var
