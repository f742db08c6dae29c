"""Stock-borrow status from what a securities-lending desk observes, never from the future.

Short-sale constraints bind for small, low-priced, volatile names that have fallen (D'Avolio
2002, "The market for borrowing stock"; Asquith, Pathak & Ritter 2005; Engelberg, Reed &
Ringgenberg 2018). The borrow score of name ``i`` on session ``t`` uses only data up to the
close of ``t - 1``::

    score_it = -0.6 z(ln cap) - 0.4 z(ln price) + 0.6 z(vol63) - 0.6 z(drawdown252) + u_it

with ``z`` a cross-sectional z-score, ``vol63`` the realized volatility of the last 63
returns, ``drawdown252`` the log distance of the total-return index below its 252-session
high, and ``u`` an AR(1) lending-supply shock (half-life 60 sessions, sd 1) that produces
episodes unrelated to anything else. A name turns hard to borrow when its score exceeds
:data:`HTB_ON` and back when it falls below :data:`HTB_OFF` (hysteresis); names drawn as
structurally hard to borrow stay so. Fees: easy names keep their 25-50 bp/yr general-collateral
fee; episode fees rise with the score from 300 to 3000 bp/yr.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from quant_assets.market.synthetic.seeding import stream

__all__ = ["HTB_OFF", "HTB_ON", "borrow_score", "borrow_state", "htb_flags"]

HTB_ON, HTB_OFF = 3.9, 3.0
SUPPLY_HALF_LIFE = 60.0
_WEIGHTS = {"cap": -0.6, "price": -0.4, "vol": 0.6, "drawdown": -0.6}


def _zscore_rows(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows (nothing listed yet)
        mu = np.nanmean(x, axis=1, keepdims=True)
        sd = np.nanstd(x, axis=1, keepdims=True)
        z = (x - mu) / np.where(sd > 0, sd, np.nan)
    return np.nan_to_num(np.clip(z, -4.0, 4.0), nan=0.0)


def supply_shocks(seed: int, n_t: int, n: int) -> np.ndarray:
    """(T, N) AR(1) lending-supply shocks, unit stationary variance."""
    rng = stream(seed, "borrow_supply")
    phi = 0.5 ** (1.0 / SUPPLY_HALF_LIFE)
    e = rng.standard_normal((n_t, n)) * np.sqrt(1.0 - phi**2)
    out = np.empty((n_t, n))
    out[0] = rng.standard_normal(n)
    for t in range(1, n_t):
        out[t] = phi * out[t - 1] + e[t]
    return out


def borrow_score(
    close: np.ndarray, shares: np.ndarray, ret: np.ndarray, log_tri: np.ndarray, noise: np.ndarray
) -> np.ndarray:
    """(T, N) borrow score; row ``t`` reads rows ``< t`` of the histories (and ``noise[t]``).

    Inputs are (T, N) arrays, NaN where a name is not listed. Missing features count as
    neutral (0).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> c = 20 * np.exp(np.cumsum(rng.normal(0, 0.02, (300, 40)), axis=0))
    >>> r = np.vstack([np.full((1, 40), np.nan), np.diff(np.log(c), axis=0)])
    >>> s = borrow_score(c, np.full((300, 40), 1e6), r, np.log(c / c[0]), np.zeros((300, 40)))
    >>> s.shape, bool((s[0] == 0).all())
    ((300, 40), True)
    """
    cap = np.log(close * shares)
    price = np.log(close)
    r = pd.DataFrame(ret)
    vol = r.rolling(63, min_periods=20).std().to_numpy()
    peak = pd.DataFrame(log_tri).rolling(252, min_periods=1).max().to_numpy()
    drawdown = log_tri - peak
    feats = {"cap": cap, "price": price, "vol": vol, "drawdown": drawdown}
    score = np.zeros_like(close, dtype=float)
    for k, x in feats.items():
        lagged = np.vstack([np.full((1, x.shape[1]), np.nan), x[:-1]])
        score += _WEIGHTS[k] * _zscore_rows(lagged)
    return score + noise


def htb_flags(score: np.ndarray, listed: np.ndarray, always: np.ndarray) -> np.ndarray:
    """Hard-to-borrow flags with hysteresis: on above :data:`HTB_ON`, off below :data:`HTB_OFF`.

    Examples
    --------
    >>> s = np.array([[0.0], [4.0], [3.5], [2.0], [3.5]])
    >>> htb_flags(s, np.ones((5, 1), bool), np.array([False]))[:, 0].tolist()
    [False, True, True, False, False]
    """
    out = np.zeros(score.shape, dtype=bool)
    state = np.zeros(score.shape[1], dtype=bool)
    for t in range(score.shape[0]):
        state = np.where(state, score[t] >= HTB_OFF, score[t] > HTB_ON) & listed[t]
        out[t] = state | (always & listed[t])
    return out


def borrow_state(seed: int, uni, paths) -> tuple[np.ndarray, np.ndarray]:
    """(T, N) hard-to-borrow flags and annual borrow fees in bp for the simulated paths."""
    n_t, n = paths.close.shape
    score = borrow_score(paths.close, paths.shares, paths.ret, paths.log_tri, supply_shocks(seed, n_t, n))
    htb = htb_flags(score, paths.listed, uni.htb)
    episode_fee = np.round(300.0 * np.exp(np.clip(1.2 * (score - HTB_OFF), 0.0, np.log(10.0))), 2)
    fee = np.where(
        uni.htb[None, :], uni.borrow_fee_bps[None, :], np.where(htb, episode_fee, uni.borrow_fee_bps[None, :])
    )
    return htb, fee
