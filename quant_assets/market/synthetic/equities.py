"""Daily equity paths: factor model with stochastic volatility, planted edges, corporate actions.

Return of name ``i`` from session ``t-1`` to ``t`` (log, total)::

    r_it = rf_{t-1}/252 + mu_{i,t-1} + e_it (beta_i f^M_t + f^S_{s(i),t} + l_i . f^Y_t)
           + sigma_it eps_it + drift_it + jump_it

* market factor ``f^M`` with GJR-GARCH(1,1) variance (Glosten, Jagannathan & Runkle 1993),
  ``h_{t+1} = omega + (alpha + gamma 1[eps<0]) h_t eps_t^2 + beta h_t`` (volatility clustering and
  leverage), Student-t shocks (Bollerslev 1987);
* 11 sector and 3 style factors whose volatility scales with the market's;
* idiosyncratic log stochastic volatility (Taylor 1986) with leverage,
  ``ln s_{t+1} = m + phi (ln s_t - m) + s_h (rho eps_t + sqrt(1 - rho^2) eta_t)``, and Student-t
  shocks, doubled on earnings days;
* ``mu`` is the planted expected return (see :mod:`.signals`), ``e = 0.1`` for merger targets
  after the announcement (pinned to the deal), ``drift`` the pre-bankruptcy decline and ``jump``
  the merger premium.

Raw (unadjusted) closes are the state: ``P_t = tick_round((P_{t-1} e^{r_t} - D_t) / ratio_t)``
and the observed total return is ``ln((P_t ratio_t + D_t) / P_{t-1})``, so signals computed
from the vendor feeds reproduce the planted ones exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.market.synthetic.config import SECTORS, MarketConfig
from quant_assets.market.synthetic.corporate import (
    DividendSchedule,
    SplitRecord,
    choose_split,
    schedule_dividends,
)
from quant_assets.market.synthetic.fundamentals import ReportSchedule
from quant_assets.market.synthetic.liquidity import relative_spread, round_to_tick, tick_size
from quant_assets.market.synthetic.seeding import stream
from quant_assets.market.synthetic.signals import (
    cross_sectional_zscore,
    momentum_at,
    planted_expected_return,
    reversal_at,
    value_at,
)
from quant_assets.market.synthetic.universe import N_STYLES, Universe

__all__ = ["EquityPaths", "simulate_equities"]

GARCH_ALPHA, GARCH_GAMMA, GARCH_BETA = 0.03, 0.10, 0.91
SECTOR_VOL, STYLE_VOL = 0.006, 0.004
SV_PHI, SV_SIGMA, SV_LEVERAGE = 0.97, 0.12, -0.3
EARNINGS_VOL_MULT = 2.0
DISTRESS_VOL_MULT = 1.5
PINNED_MULT = 0.1
HALF_PENNY_MAX_SPREAD = 0.015


@dataclass
class EquityPaths:
    """Simulated (T, N) paths; NaN where a name is not listed."""

    listed: np.ndarray
    close: np.ndarray
    log_tri: np.ndarray
    ret: np.ndarray           # observed total log return into t (NaN on a listing day)
    shares: np.ndarray
    tick: np.ndarray
    sigma: np.ndarray         # conditional daily vol of the return into t
    half_penny: np.ndarray    # (N,) bool: eligible for the half-penny tick regime
    regime_idx: int
    mu: np.ndarray            # planted expected excess log return for t -> t+1
    z_mom: np.ndarray
    z_val: np.ndarray
    z_rev: np.ndarray
    true_vol: np.ndarray      # conditional daily vol of the return t -> t+1
    market_var: np.ndarray    # (T,) conditional market variance of the return into t
    short_rate: np.ndarray
    longrun_var: np.ndarray   # (N,) long-run daily variance of each name
    splits: list[SplitRecord]
    dividends: DividendSchedule


def _std_t(rng: np.random.Generator, dof: float, size) -> np.ndarray:
    x = rng.standard_t(dof, size)
    return x * np.sqrt((dof - 2.0) / dof) if dof > 2 else x


def simulate_equities(cfg: MarketConfig, sessions: pd.DatetimeIndex, uni: Universe,
                      reports: ReportSchedule, short_rate: np.ndarray) -> EquityPaths:
    """Simulate every name over ``sessions`` (one pass, vectorised across names)."""
    n_t, n = len(sessions), uni.n
    rng = stream(cfg.seed, "returns")
    rng_ev = stream(cfg.seed, "corporate_events")
    t_idx = np.arange(n_t)[:, None]
    listed = (uni.list_idx[None, :] <= t_idx) & (t_idx <= uni.delist_idx[None, :])

    shape = (n_t, n)
    close, log_tri, ret, shares_p, tick_p, sigma_p = (np.full(shape, np.nan) for _ in range(6))
    mu_p, zm_p, zv_p, zr_p, tv_p = (np.full(shape, np.nan) for _ in range(5))
    market_var = np.empty(n_t)

    # earnings days (report arrivals of regular reports) and distress / merger windows
    earn = np.zeros(shape, dtype=bool)
    earn[reports.report_idx[reports.regular], reports.name[reports.regular]] = True
    distress_on = cfg.distress_drift
    d_start = uni.distress_start
    d_len = np.maximum(uni.delist_idx - d_start + 1, 1)
    d_drift = np.where(d_start < n_t, uni.distress_log_drop / d_len, 0.0)

    sig2_bar = cfg.market_vol**2
    omega = sig2_bar * (1.0 - GARCH_ALPHA - GARCH_GAMMA / 2.0 - GARCH_BETA)
    var_h = SV_SIGMA**2 / (1.0 - SV_PHI**2)
    h_bar = np.log(uni.idio_vol) - var_h
    style_var = STYLE_VOL**2 * (uni.style_loadings**2).sum(axis=1)
    longrun_var = uni.beta**2 * sig2_bar + SECTOR_VOL**2 + style_var + uni.idio_vol**2
    strengths = (cfg.momentum_strength, cfg.value_strength, cfg.reversal_strength)
    regime_idx = int(np.searchsorted(sessions.values,
                                     np.datetime64(pd.Timestamp(cfg.tick_regime_date))))
    half_penny = np.zeros(n, dtype=bool)

    def loadings(t: int, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Factor exposure multiplier and idiosyncratic vol of the return into session t."""
        t = min(t, n_t - 1)
        expo = np.where(t > uni.merger_announce, PINNED_MULT, 1.0)
        idio = np.exp(h) * np.where(earn[t], EARNINGS_VOL_MULT, 1.0) * expo
        if distress_on:
            idio = idio * np.where(t >= d_start, DISTRESS_VOL_MULT, 1.0)
        return expo, idio

    def cond_vol(t: int, sig2m: float, h: np.ndarray) -> np.ndarray:
        """Conditional daily vol of the return into session t."""
        expo, idio = loadings(t, h)
        fac = uni.beta**2 * sig2m + (SECTOR_VOL**2 + style_var) * sig2m / sig2_bar
        return np.sqrt(expo**2 * fac + idio**2)

    divs = schedule_dividends(cfg.seed, n_t, uni, distress_on)
    div_by_ann = np.argsort(divs.announce_idx, kind="stable")
    div_ex_set = set(zip(divs.name.tolist(), divs.ex_idx.tolist()))
    p_ann = p_ex = p_rep = 0
    splits: list[SplitRecord] = []
    pend_ex = np.full(n, -1, dtype=np.int64)
    pend_ratio = np.ones(n)
    pend_ann = np.zeros(n, dtype=np.int64)

    price = np.full(n, np.nan)
    shares = np.full(n, np.nan)
    book = np.full(n, np.nan)
    h = h_bar.copy()
    sig2m = sig2_bar
    mu = np.zeros(n)
    vol_now = cond_vol(0, sig2m, h)

    for t in range(n_t):
        is_new = uni.list_idx == t
        cont = listed[t] & ~is_new
        if t == regime_idx:  # half-penny eligibility, from the previous close, evaluated once
            dadv = uni.turnover * shares * price
            with np.errstate(invalid="ignore"):
                half_penny = cont & (relative_spread(dadv) * price <= HALF_PENNY_MAX_SPREAD) \
                    & (price >= 1.0)
        tick = tick_size(np.where(is_new, uni.price0, price), half_penny & (t >= regime_idx))

        # corporate actions going ex today
        ratio = np.ones(n)
        due = (pend_ex == t) & cont
        if due.any():
            ratio[due] = pend_ratio[due]
            for i in np.flatnonzero(due):
                splits.append(SplitRecord(int(i), int(pend_ann[i]), t, float(pend_ratio[i])))
                later = (divs.name == i) & (divs.ex_idx > t) & np.isfinite(divs.amount)
                divs.amount[later] = np.maximum(np.round(divs.amount[later] / pend_ratio[i], 4),
                                                0.0001)
        pend_ex[pend_ex == t] = -1
        div = np.zeros(n)
        while p_ex < len(divs.ex_idx) and divs.ex_idx[p_ex] <= t:
            i = divs.name[p_ex]
            if divs.ex_idx[p_ex] == t and cont[i] and np.isfinite(divs.amount[p_ex]):
                amt = min(divs.amount[p_ex], np.round(0.25 * price[i], 2))
                if amt > 0:
                    divs.amount[p_ex] = amt
                    divs.paid[p_ex] = True
                    div[i] = amt
            p_ex += 1

        # returns
        eps_m = _std_t(rng, cfg.t_dof, None)
        f_sec = rng.standard_normal(len(SECTORS))
        f_sty = rng.standard_normal(N_STYLES)
        eps = _std_t(rng, cfg.t_dof, n)
        eta = rng.standard_normal(n)
        market_var[t] = sig2m
        if t > 0:
            scale = np.sqrt(sig2m / sig2_bar)
            common = (uni.beta * np.sqrt(sig2m) * eps_m + scale * SECTOR_VOL * f_sec[uni.sector]
                      + scale * STYLE_VOL * (uni.style_loadings @ f_sty))
            expo, idio = loadings(t, h)
            r = short_rate[t - 1] / 252.0 + mu + expo * common + idio * eps
            if distress_on:
                r = r + np.where(t >= d_start, d_drift, 0.0)
            r = r + np.where(t == uni.merger_announce, np.log1p(uni.merger_premium), 0.0)
            with np.errstate(invalid="ignore"):
                new_p = np.maximum(round_to_tick((price * np.exp(r) - div) / ratio, tick), tick)
                r_obs = np.log((new_p * ratio + div) / price)
            price = np.where(cont, new_p, np.nan)
            log_tri[t] = np.where(cont, log_tri[t - 1] + r_obs, np.nan)
            ret[t] = np.where(cont, r_obs, np.nan)
            shares = np.where(cont, shares * ratio, np.nan)
        if is_new.any():
            price[is_new] = uni.price0[is_new]
            shares[is_new] = np.round(uni.mktcap0[is_new] / uni.price0[is_new], 0)
            log_tri[t, is_new] = 0.0
        close[t], shares_p[t], tick_p[t], sigma_p[t] = price, shares, tick, vol_now
        for a in (close, shares_p, tick_p, sigma_p):
            a[t, ~listed[t]] = np.nan

        # volatility updates (information of session t)
        sig2m = omega + (GARCH_ALPHA + GARCH_GAMMA * (eps_m < 0)) * sig2m * eps_m**2 \
            + GARCH_BETA * sig2m
        h = h_bar + SV_PHI * (h - h_bar) + SV_SIGMA * (
            SV_LEVERAGE * eps + np.sqrt(1.0 - SV_LEVERAGE**2) * eta)
        vol_now = cond_vol(t + 1, sig2m, h)

        # reports arriving today
        while p_rep < len(reports.report_idx) and reports.report_idx[p_rep] <= t:
            book[reports.name[p_rep]] = reports.book_equity[p_rep]
            p_rep += 1

        # planted signals at the close of t
        now = listed[t]
        mom = np.where(now, momentum_at(log_tri, t), np.nan)
        rev = np.where(now, reversal_at(log_tri, t), np.nan)
        val = np.where(now, value_at(book, shares, price), np.nan)
        zm, zv, zr = (cross_sectional_zscore(x) for x in (mom, val, rev))
        mu = np.zeros(n) if cfg.noise_only else planted_expected_return(zm, zv, zr, strengths)
        mu = np.where(now, mu, 0.0)
        zm_p[t], zv_p[t], zr_p[t], mu_p[t], tv_p[t] = zm, zv, zr, mu, vol_now
        for a in (zm_p, zv_p, zr_p, mu_p, tv_p):
            a[t, ~now] = np.nan

        # dividend announcements (amount fixed from today's close)
        while p_ann < len(div_by_ann) and divs.announce_idx[div_by_ann[p_ann]] <= t:
            k = div_by_ann[p_ann]
            i = divs.name[k]
            if now[i]:
                divs.amount[k] = max(0.01, np.round(uni.div_yield[i] / 4.0 * price[i], 2))
            p_ann += 1

        # split announcements
        cand = now & (pend_ex < 0) & (t < uni.delist_idx - 1)
        if cand.any():
            rat = np.zeros(n)
            rat[cand] = choose_split(rng_ev, price[cand], uni.split_threshold[cand],
                                     uni.reverse_threshold[cand])
            for i in np.flatnonzero(rat > 0):
                ex = t + int(rng_ev.integers(10, 31))
                while (int(i), ex) in div_ex_set:
                    ex += 1
                pend_ex[i], pend_ratio[i], pend_ann[i] = ex, rat[i], t

    return EquityPaths(
        listed=listed, close=close, log_tri=log_tri, ret=ret, shares=shares_p, tick=tick_p,
        sigma=sigma_p, half_penny=half_penny, regime_idx=regime_idx, mu=mu_p, z_mom=zm_p,
        z_val=zv_p, z_rev=zr_p, true_vol=tv_p, market_var=market_var, short_rate=short_rate,
        longrun_var=longrun_var, splits=splits, dividends=divs,
    )
