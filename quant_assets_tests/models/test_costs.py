"""Cost inputs: trailing ADV and volatility to the close of ``t - 1``, skipping missing bars."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from quant_assets.models.costs import cost_inputs_from_wide


def _wide(seed: int = 0, T: int = 120, N: int = 4) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    ret = rng.normal(0.0, 0.02, (T, N))
    close = 20.0 * np.cumprod(1.0 + ret, axis=0)
    volume = rng.lognormal(12.0, 0.5, (T, N))
    gaps = rng.random((T, N)) < 0.1
    ret[gaps], volume[gaps] = np.nan, np.nan
    return SimpleNamespace(
        sessions=pd.bdate_range("2024-01-02", periods=T),
        symbols=pd.Index([f"S{i}" for i in range(N)]),
        close=close,
        volume=volume,
        ret=ret,
    )


def test_adv_and_vol_match_pandas_trailing_windows_ending_the_session_before():
    w, window = _wide(), 30
    got = cost_inputs_from_wide(w, window=window).set_index(["date", "symbol"])
    for stat, col, x in (("mean", "adv_dollar", w.close * w.volume), ("std", "daily_vol", w.ret)):
        roll = pd.DataFrame(x, index=w.sessions, columns=w.symbols).rolling(window, min_periods=max(5, window // 4))
        ref = (roll.mean() if stat == "mean" else roll.std(ddof=1)).shift(1).stack(future_stack=True)
        ref = ref.rename_axis(["date", "symbol"]).reindex(got.index)
        np.testing.assert_allclose(got[col].to_numpy(), ref.to_numpy(), rtol=1e-9, equal_nan=True)


def test_a_session_s_own_data_does_not_move_its_cost_inputs():
    w = _wide(1)
    base = cost_inputs_from_wide(w).set_index(["date", "symbol"])
    w.close[-1] *= 3.0
    w.volume[-1] *= 5.0
    w.ret[-1] = 0.5
    moved = cost_inputs_from_wide(w).set_index(["date", "symbol"])
    pd.testing.assert_frame_equal(base, moved)
