"""Daily equity paths: factor model with long-memory volatility, planted edges, corporate actions.

Return of name ``i`` from session ``t-1`` to ``t`` (log, total)::

    r_it = rf_{t-1}/252 + mu_{i,t-1} + e_it (beta_i f^M_t + f^S_{s(i),t} + l_i . f^Y_t)
           + sigma_it eps_it + drift_it + jump_it

* market factor ``f^M = s^M_t eps^M_t`` whose log volatility is a superposition of three
  AR(1) components with half-lives of 5, 40 and 200 sessions (a discrete cousin of the
  multifactor and cascade volatility models, Engle & Lee 1999, Calvet & Fisher 2004), which
  gives the slowly decaying autocorrelation of absolute returns; the faster components load
  negatively on the market shock (leverage effect, Black 1976; Bouchaud, Matacz & Potters 2001);
* 11 sector and 3 style factors whose volatility scales with the market's;
* idiosyncratic log volatility: a fast (10 sessions) and a slow (150 sessions) AR(1) component
  with leverage on the name's own shock, plus half the market's log-volatility state
  (commonality in idiosyncratic volatility, Herskovic et al. 2016); doubled on earnings days;
* shocks are standardized Student-t made skewed by the two-piece construction of Fernández &
  Steel (1998) (more mass on the left: negative skew, Cont 2001 gain/loss asymmetry);
* ``mu`` is the planted expected return (see :mod:`.signals`), ``e = 0.1`` for merger targets
  after the announcement (pinned to the deal), ``drift`` the pre-bankruptcy decline and ``jump``
  the merger premium.

Each log-volatility component ``x`` follows ``x_{t+1} = phi x_t + s (rho eps_t + sqrt(1 - rho^2)
eta_t)``, and the volatility is ``sigma_bar exp(sum x - var(sum x))`` so that its mean square
is ``sigma_bar^2``.

Raw (unadjusted) closes are the state: ``P_t = tick_round((P_{t-1} e^{r_t} - D_t) / ratio_t)``
and the observed total return is ``ln((P_t ratio_t + D_t) / P_{t-1})``, so signals computed
from the vendor feeds reproduce the planted ones exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import lgamma

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

__all__ = ["EquityPaths", "LogVol", "simulate_equities", "skewed_t"]

SECTOR_VOL, STYLE_VOL = 0.006, 0.004
# (half-life in sessions, stationary sd of the log-vol component, correlation with the shock)
MARKET_VOL_COMPONENTS = ((5.0, 0.25, -0.9), (40.0, 0.25, -0.5), (200.0, 0.5, -0.2))
IDIO_VOL_COMPONENTS = ((10.0, 0.2, -0.3), (150.0, 0.45, -0.05))
IDIO_MARKET_VOL_LOADING = 0.5
MARKET_SKEW, IDIO_SKEW = 0.85, 0.88  # Fernandez-Steel gamma (< 1: negative skew)
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
    ret: np.ndarray  # observed total log return into t (NaN on a listing day)
    shares: np.ndarray
    tick: np.ndarray
    sigma: np.ndarray  # conditional daily vol of the return into t
    half_penny: np.ndarray  # (N,) bool: eligible for the half-penny tick regime
    regime_idx: int
    mu: np.ndarray  # planted expected excess log return for t -> t+1
    z_mom: np.ndarray
    z_val: np.ndarray
    z_rev: np.ndarray
    true_vol: np.ndarray  # conditional daily vol of the return t -> t+1
    market_var: np.ndarray  # (T,) conditional market variance of the return into t
    short_rate: np.ndarray
    longrun_var: np.ndarray  # (N,) long-run daily variance of each name
    splits: list[SplitRecord]
    dividends: DividendSchedule


def skewed_t(rng: np.random.Generator, dof: float, gamma: float, size) -> np.ndarray:
    """Standardized (mean 0, variance 1) Fernández-Steel skewed Student-t draws.

    Fernández & Steel (1998), "On Bayesian modeling of fat tails and skewness", JASA 93: a
    symmetric draw ``z`` is scaled by ``gamma`` on the right and ``1 / gamma`` on the left,
    the right side being picked with probability ``gamma^2 / (1 + gamma^2)``; ``gamma < 1``
    skews to the left. With ``m1 = E|z|`` and ``m2 = E z^2`` of the symmetric t,
    ``E x = m1 (gamma - 1/gamma)`` and ``E x^2 = m2 (gamma^3 + gamma^-3) / (gamma + 1/gamma)``.

    Examples
    --------
    >>> x = skewed_t(np.random.default_rng(0), 5.0, 0.8, 200_000)
    >>> bool(abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.02 and ((x - x.mean())**3).mean() < 0)
    True
    """
    z = np.abs(rng.standard_t(dof, size))
    right = rng.random(size) < gamma**2 / (1.0 + gamma**2)
    x = np.where(right, gamma * z, -z / gamma)
    m2 = dof / (dof - 2.0)
    m1 = np.sqrt(dof) * np.exp(lgamma((dof + 1) / 2) - lgamma(dof / 2)) / np.sqrt(np.pi) * 2.0 / (dof - 1.0)
    mean = m1 * (gamma - 1.0 / gamma)
    var = m2 * (gamma**3 + gamma**-3) / (gamma + 1.0 / gamma) - mean**2
    return (x - mean) / np.sqrt(var)


class LogVol:
    """Superposition of AR(1) log-volatility components driven partly by return shocks.

    ``components`` are ``(half_life, stationary_sd, rho)`` rows; the state starts at the
    long-run level 0, for ``n`` names (or a scalar when ``n`` is None).
    """

    def __init__(self, components, n: int | None = None) -> None:
        c = np.asarray(components, dtype=float)
        self.phi = 0.5 ** (1.0 / c[:, 0])
        self.sd = c[:, 1] * np.sqrt(1.0 - self.phi**2)
        self.rho = c[:, 2]
        self.x = np.zeros(len(c) if n is None else (len(c), n))
        self.var = float((c[:, 1] ** 2).sum())  # stationary variance of the sum

    def state(self) -> np.ndarray:
        """Sum of the components (the log-volatility deviation from its long-run level)."""
        return self.x.sum(axis=0)

    def step(self, shock, noise: np.ndarray) -> None:
        """Advance one session; ``noise`` holds one standard normal row per component."""
        for k in range(len(self.phi)):
            self.x[k] = self.phi[k] * self.x[k] + self.sd[k] * (
                self.rho[k] * shock + np.sqrt(1.0 - self.rho[k] ** 2) * noise[k]
            )


def simulate_equities(
    cfg: MarketConfig, sessions: pd.DatetimeIndex, uni: Universe, reports: ReportSchedule, short_rate: np.ndarray
) -> EquityPaths:
    """Simulate every name over ``sessions`` (one pass, vectorised across names)."""
    n_t, n = len(sessions), uni.n
    rng = stream(cfg.seed, "returns")
    rng_ev = stream(cfg.seed, "corporate_events")
    t_idx = np.arange(n_t)[:, None]
    listed = (uni.list_idx[None, :] <= t_idx) & (t_idx <= uni.delist_idx[None, :])

    shape = (n_t, n)
    close, log_tri, ret, shares_p, tick_p, sigma_p = (np.full(shape, np.nan) for _ in range(6))
    mu_p, zm_p, zv_p, zr_p, tv_p = (np.full(shape, np.nan) for _ in range(5))
    market_var_p = np.empty(n_t)

    # earnings days (report arrivals of regular reports) and distress / merger windows
    earn = np.zeros(shape, dtype=bool)
    earn[reports.report_idx[reports.regular], reports.name[reports.regular]] = True
    distress_on = cfg.distress_drift
    d_start = uni.distress_start
    d_len = np.maximum(uni.delist_idx - d_start + 1, 1)
    d_drift = np.where(d_start < n_t, uni.distress_log_drop / d_len, 0.0)

    sig2_bar = cfg.market_vol**2
    m_vol = LogVol(MARKET_VOL_COMPONENTS)
    i_vol = LogVol(IDIO_VOL_COMPONENTS, n)
    k_m = IDIO_MARKET_VOL_LOADING
    h_bar = np.log(uni.idio_vol) - i_vol.var - k_m**2 * m_vol.var

    def log_idio_vol() -> np.ndarray:
        return h_bar + i_vol.state() + k_m * m_vol.state()

    def market_var() -> float:
        return float(sig2_bar * np.exp(2.0 * (m_vol.state() - m_vol.var)))

    style_var = STYLE_VOL**2 * (uni.style_loadings**2).sum(axis=1)
    longrun_var = uni.beta**2 * sig2_bar + SECTOR_VOL**2 + style_var + uni.idio_vol**2
    strengths = (cfg.momentum_strength, cfg.value_strength, cfg.reversal_strength)
    regime_idx = int(np.searchsorted(sessions.values, np.datetime64(pd.Timestamp(cfg.tick_regime_date))))
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
    split_threshold = uni.split_threshold.copy()
    pend_ratio = np.ones(n)
    pend_ann = np.zeros(n, dtype=np.int64)

    price = np.full(n, np.nan)
    shares = np.full(n, np.nan)
    book = np.full(n, np.nan)
    h = log_idio_vol()
    sig2m = market_var()
    mu = np.zeros(n)
    vol_now = cond_vol(0, sig2m, h)

    for t in range(n_t):
        is_new = uni.list_idx == t
        cont = listed[t] & ~is_new
        if t == regime_idx:  # half-penny eligibility, from the previous close, evaluated once
            dadv = uni.turnover * shares * price
            with np.errstate(invalid="ignore"):
                half_penny = cont & (relative_spread(dadv) * price <= HALF_PENNY_MAX_SPREAD) & (price >= 1.0)
        tick = tick_size(np.where(is_new, uni.price0, price), half_penny & (t >= regime_idx))

        # corporate actions going ex today
        ratio = np.ones(n)
        due = (pend_ex == t) & cont
        if due.any():
            ratio[due] = pend_ratio[due]
            for i in np.flatnonzero(due):
                if pend_ratio[i] > 1:  # the next forward split needs a further 2-4x rise
                    split_threshold[i] *= rng_ev.uniform(2.0, 4.0)
                splits.append(SplitRecord(int(i), int(pend_ann[i]), t, float(pend_ratio[i])))
                later = (divs.name == i) & (divs.ex_idx > t) & np.isfinite(divs.amount)
                divs.amount[later] = np.maximum(np.round(divs.amount[later] / pend_ratio[i], 4), 0.0001)
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
        eps_m = float(skewed_t(rng, cfg.t_dof, MARKET_SKEW, None))
        f_sec = rng.standard_normal(len(SECTORS))
        f_sty = rng.standard_normal(N_STYLES)
        eps = skewed_t(rng, cfg.t_dof, IDIO_SKEW, n)
        m_noise = rng.standard_normal(len(MARKET_VOL_COMPONENTS))
        i_noise = rng.standard_normal((len(IDIO_VOL_COMPONENTS), n))
        market_var_p[t] = sig2m
        if t > 0:
            scale = np.sqrt(sig2m / sig2_bar)
            common = (
                uni.beta * np.sqrt(sig2m) * eps_m
                + scale * SECTOR_VOL * f_sec[uni.sector]
                + scale * STYLE_VOL * (uni.style_loadings @ f_sty)
            )
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
        m_vol.step(eps_m, m_noise)
        i_vol.step(eps, i_noise)
        sig2m = market_var()
        h = log_idio_vol()
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
            rat[cand] = choose_split(rng_ev, price[cand], split_threshold[cand], uni.reverse_threshold[cand])
            for i in np.flatnonzero(rat > 0):
                ex = t + int(rng_ev.integers(10, 31))
                while (int(i), ex) in div_ex_set:
                    ex += 1
                pend_ex[i], pend_ratio[i], pend_ann[i] = ex, rat[i], t

    return EquityPaths(
        listed=listed,
        close=close,
        log_tri=log_tri,
        ret=ret,
        shares=shares_p,
        tick=tick_p,
        sigma=sigma_p,
        half_penny=half_penny,
        regime_idx=regime_idx,
        mu=mu_p,
        z_mom=zm_p,
        z_val=zv_p,
        z_rev=zr_p,
        true_vol=tv_p,
        market_var=market_var_p,
        short_rate=short_rate,
        longrun_var=longrun_var,
        splits=splits,
        dividends=divs,
    )
