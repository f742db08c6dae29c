"""Borrow status: computed from past observables only, and not a bankruptcy oracle."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.market.synthetic.borrow import borrow_score, htb_flags


def _histories(seed: int, n_t: int = 300, n: int = 25):
    rng = np.random.default_rng(seed)
    ret = rng.normal(0, 0.02, (n_t, n))
    ret[0] = np.nan
    log_tri = np.nancumsum(np.nan_to_num(ret), axis=0)
    close = 20 * np.exp(log_tri)
    shares = np.exp(rng.normal(16, 1, (1, n))).repeat(n_t, axis=0)
    return close, shares, ret, log_tri, rng.normal(0, 1, (n_t, n))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), t=st.integers(1, 298))
def test_score_at_t_reads_only_rows_before_t(seed, t):
    close, shares, ret, log_tri, noise = _histories(seed)
    base = borrow_score(close, shares, ret, log_tri, noise)
    rng = np.random.default_rng(seed + 1)
    c2, s2, r2, l2 = (x.copy() for x in (close, shares, ret, log_tri))
    for x in (c2, s2, r2, l2):
        x[t:] *= np.exp(rng.normal(0, 0.5, x[t:].shape))
    moved = borrow_score(c2, s2, r2, l2, noise)
    np.testing.assert_array_equal(base[: t + 1], moved[: t + 1])
    flags = htb_flags(base, np.ones_like(base, dtype=bool), np.zeros(base.shape[1], dtype=bool))
    flags2 = htb_flags(moved, np.ones_like(base, dtype=bool), np.zeros(base.shape[1], dtype=bool))
    np.testing.assert_array_equal(flags[: t + 1], flags2[: t + 1])


def test_htb_switch_is_not_a_bankruptcy_countdown(demo_market):
    """Before the fix every switch-on was a bankruptcy 39-119 sessions later."""
    cfg = demo_market.config
    sym = demo_market.symbols(cfg.start, cfg.end).sort_values(["symbol", "date"])
    prev = sym.groupby("symbol")["htb"].shift()
    on = sym[sym["htb"] & (prev == False)]  # noqa: E712
    dl = demo_market.delistings(cfg.start, cfg.end)
    bank = set(dl.loc[dl["reason"] == "bankruptcy", "symbol"])
    assert len(on) >= 5
    assert on["symbol"].isin(bank).mean() < 0.5
