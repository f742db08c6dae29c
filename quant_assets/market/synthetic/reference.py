"""Reference data: point-in-time symbol snapshots and the symbol master.

Borrow status and fees come from :mod:`.borrow`: observable size, price, past volatility and
drawdown plus lending-supply noise, as of the previous close (never the generator's future).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.market.synthetic.config import SECTORS
from quant_assets.market.synthetic.equities import EquityPaths
from quant_assets.market.synthetic.universe import Universe

__all__ = ["symbol_master_frame", "symbols_frame"]

_SECTORS = np.array(SECTORS, dtype=object)


def symbols_frame(
    sessions: pd.DatetimeIndex, uni: Universe, paths: EquityPaths, htb_flags: np.ndarray, fees: np.ndarray
) -> pd.DataFrame:
    """PIT snapshots: one row per listed (date, symbol), sorted by (date, symbol).

    ``htb_flags`` and ``fees`` are the (T, N) borrow state of :func:`.borrow.borrow_state`.
    """
    t_i, n_i = np.nonzero(paths.listed)
    fee = fees[t_i, n_i]
    htb = htb_flags[t_i, n_i]
    return pd.DataFrame(
        {
            "date": sessions.values[t_i],
            "symbol": uni.symbols[n_i],
            "sector": _SECTORS[uni.sector[n_i]],
            "list_date": uni.list_date.values[n_i],
            "tick_size": paths.tick[t_i, n_i],
            "borrow_fee_bps": fee,
            "htb": htb.astype(bool),
            "shares_outstanding": paths.shares[t_i, n_i],
        },
        copy=False,
    )


def symbol_master_frame(uni: Universe, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """``symbol, sector, list_date, delist_date (NaT if alive), delist_reason (None if alive)``."""
    gone = uni.delist_idx < len(sessions)
    delist = np.full(uni.n, np.datetime64("NaT"), dtype="datetime64[ns]")
    delist[gone] = sessions.values[uni.delist_idx[gone]]
    return pd.DataFrame(
        {
            "symbol": uni.symbols,
            "sector": _SECTORS[uni.sector],
            "list_date": uni.list_date.values,
            "delist_date": delist,
            "delist_reason": np.where(gone, uni.delist_reason, None),
        }
    )
