"""Reference data: point-in-time symbol snapshots and the symbol master.

Borrow fees: most names 25-50 bp/yr; hard-to-borrow names (``htb``) 300-3000 bp/yr. With the
distress drift on, a name becomes hard to borrow at 600-3000 bp/yr from the start of its
pre-bankruptcy decline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant_assets.market.synthetic.config import SECTORS
from quant_assets.market.synthetic.equities import EquityPaths
from quant_assets.market.synthetic.seeding import stream
from quant_assets.market.synthetic.universe import Universe

__all__ = ["symbol_master_frame", "symbols_frame"]

_SECTORS = np.array(SECTORS, dtype=object)


def symbols_frame(seed: int, sessions: pd.DatetimeIndex, uni: Universe, paths: EquityPaths,
                  distress_drift: bool) -> pd.DataFrame:
    """PIT snapshots: one row per listed (date, symbol), sorted by (date, symbol)."""
    t_i, n_i = np.nonzero(paths.listed)
    fee = uni.borrow_fee_bps[n_i]
    htb = uni.htb[n_i]
    if distress_drift:
        distress_fee = np.round(np.exp(stream(seed, "borrow").uniform(
            np.log(600.0), np.log(3000.0), uni.n)), 2)
        hot = t_i >= uni.distress_start[n_i]
        fee = np.where(hot, np.maximum(fee, distress_fee[n_i]), fee)
        htb = htb | hot
    return pd.DataFrame({
        "date": sessions.values[t_i],
        "symbol": uni.symbols[n_i],
        "sector": _SECTORS[uni.sector[n_i]],
        "list_date": uni.list_date.values[n_i],
        "tick_size": paths.tick[t_i, n_i],
        "borrow_fee_bps": fee,
        "htb": htb.astype(bool),
        "shares_outstanding": paths.shares[t_i, n_i],
    }, copy=False)


def symbol_master_frame(uni: Universe, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """``symbol, sector, list_date, delist_date (NaT if alive), delist_reason (None if alive)``."""
    gone = uni.delist_idx < len(sessions)
    delist = np.full(uni.n, np.datetime64("NaT"), dtype="datetime64[ns]")
    delist[gone] = sessions.values[uni.delist_idx[gone]]
    return pd.DataFrame({
        "symbol": uni.symbols,
        "sector": _SECTORS[uni.sector],
        "list_date": uni.list_date.values,
        "delist_date": delist,
        "delist_reason": np.where(gone, uni.delist_reason, None),
    })
