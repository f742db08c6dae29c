"""Daily target weights as ``(session, symbol)`` matrices aligned with a :class:`MarketPanel`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from quant_assets.backtest.market import MarketPanel, session_codes, symbol_codes

__all__ = ["TARGET_COLUMNS", "TargetPanel"]

TARGET_COLUMNS = ("date", "symbol", "target_w")


@dataclass(frozen=True)
class TargetPanel:
    """What was decided at each session's close.

    ``decided[t]``: targets are dated ``t`` (the whole book: names left out go to zero);
    ``given[t, j]``: name ``j`` has a row, with weight ``weight[t, j]``, order type
    ``limit_order[t, j]`` (None: no ``order_type`` column) and ``limit_price[t, j]`` (None: no
    ``limit_price`` column). Rows dated off the panel's sessions are ignored; of repeated
    ``(date, symbol)`` rows the last counts.
    """

    decided: NDArray[np.bool_]
    given: NDArray[np.bool_]
    weight: NDArray[np.float64]
    limit_order: NDArray[np.bool_] | None
    limit_price: NDArray[np.float64] | None

    @classmethod
    def build(cls, targets: pd.DataFrame, panel: MarketPanel) -> TargetPanel:
        """From ``date, symbol, target_w`` rows (optional ``order_type``, ``limit_price``)."""
        missing = [c for c in TARGET_COLUMNS if c not in targets]
        if missing:
            raise ValueError(f"targets is missing columns {missing}")
        si, names = symbol_codes(targets["symbol"], "targets")
        at = panel.symbols.get_indexer(names)
        if (at < 0).any():
            raise ValueError(f"targets name symbols without prices: {list(names[at < 0][:5])}")
        di, dates = session_codes(targets["date"], "targets")
        day = panel.sessions.get_indexer(dates)[di]
        on = day >= 0
        cell = day[on] * len(panel.symbols) + at[si[on]]
        shape = (len(panel.sessions), len(panel.symbols))

        def wide(values: np.ndarray, fill) -> np.ndarray:
            out = np.full(shape[0] * shape[1], fill, dtype=np.asarray(values).dtype)
            out[cell] = np.asarray(values)[on]
            return out.reshape(shape)

        decided = np.zeros(shape[0], bool)
        decided[day[on]] = True
        lmt = wide(targets["order_type"].to_numpy() == "LMT", False) if "order_type" in targets else None
        limit = wide(targets["limit_price"].to_numpy(np.float64), np.nan) if "limit_price" in targets else None
        return cls(
            decided,
            wide(np.ones(len(targets), bool), False),
            wide(targets["target_w"].to_numpy(np.float64), 0.0),
            lmt,
            limit,
        )
