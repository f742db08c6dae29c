"""Static per-name characteristics and the listing/delisting schedule of the synthetic universe.

Everything here is drawn once per config before any path is simulated: sector, factor
loadings, size, liquidity, volatility level, listing and delisting sessions (with reasons and
delisting returns), dividend policy, split thresholds, borrow cost and fundamentals policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.market.synthetic.config import SECTORS, MarketConfig
from quant_assets.market.synthetic.seeding import stream

__all__ = ["DELIST_REASONS", "N_STYLES", "Universe", "build_universe", "symbol_names"]

N_STYLES = 3
DELIST_REASONS: tuple[str, ...] = ("bankruptcy", "merger", "exchange_move")
NEVER = np.iinfo(np.int64).max // 4  # delist index of names alive through the range
PRICE_AT_MEDIAN_CAP, PRICE_SIZE_SLOPE, PRICE_NOISE = 35.0, 0.45, 0.55
SPLITTER_SHARE = 0.4


def symbol_names(n: int) -> np.ndarray:
    """Symbols ``S0001 .. Snnnn`` (zero-padded to at least four digits).

    Examples
    --------
    >>> symbol_names(3).tolist()
    ['S0001', 'S0002', 'S0003']
    """
    width = max(4, len(str(n)))
    return np.array([f"S{i + 1:0{width}d}" for i in range(n)], dtype=object)


@dataclass(frozen=True)
class Universe:
    """Per-name parameters (arrays of length N) and the listing schedule (session indices)."""

    symbols: np.ndarray
    sector: np.ndarray  # int index into SECTORS
    beta: np.ndarray
    style_loadings: np.ndarray  # (N, N_STYLES)
    mktcap0: np.ndarray  # $ market cap at listing
    price0: np.ndarray  # raw price at listing
    turnover: np.ndarray  # daily dollar volume / market cap (median)
    trade_size: np.ndarray  # average shares per trade
    idio_vol: np.ndarray  # long-run daily idiosyncratic volatility
    list_idx: np.ndarray  # first session with a bar (0 for names listed before start)
    list_date: pd.DatetimeIndex
    delist_idx: np.ndarray  # last session with a bar (NEVER if alive)
    delist_reason: np.ndarray  # object: reason or ""
    delisting_return: np.ndarray
    distress_start: np.ndarray  # first session of the pre-bankruptcy drift (NEVER if none)
    distress_log_drop: np.ndarray  # total log price drift over the distress window
    merger_announce: np.ndarray  # session of the merger premium jump (NEVER if none)
    merger_premium: np.ndarray
    div_payer: np.ndarray  # bool
    div_yield: np.ndarray  # annual cash yield of payers (0 otherwise)
    div_phase: np.ndarray  # session offset of the first quarterly ex-date
    split_threshold: np.ndarray  # raw price above which a forward split is announced
    reverse_threshold: np.ndarray  # raw price ($1-$3) below which a 1:10 reverse split is announced
    borrow_fee_bps: np.ndarray
    htb: np.ndarray
    log_bm0: np.ndarray  # initial log book-to-market
    book_growth: np.ndarray  # quarterly log growth of book equity
    roe: np.ndarray  # mean quarterly return on equity
    report_lag: np.ndarray  # sessions from period end to report arrival (20..60)
    option_underliers: np.ndarray  # sorted indices of the most liquid names at the start

    @property
    def n(self) -> int:
        return len(self.symbols)


def build_universe(cfg: MarketConfig, sessions: pd.DatetimeIndex) -> Universe:
    """Draw the static universe for ``cfg`` over ``sessions`` (deterministic in ``cfg.seed``)."""
    n, n_t = cfg.n_symbols, len(sessions)
    rng = stream(cfg.seed, "universe")

    sector = rng.choice(len(SECTORS), size=n, p=_sector_weights())
    beta = np.clip(rng.normal(1.0, 0.3, n), 0.3, 2.0)
    style = rng.standard_normal((n, N_STYLES))
    log_cap = rng.normal(np.log(2e9), 1.4, n)
    z_size = (log_cap - log_cap.mean()) / max(log_cap.std(), 1e-12)
    idio_vol = cfg.idio_vol_median * np.exp(-0.25 * z_size + 0.2 * rng.standard_normal(n))
    turnover = 0.006 * np.exp(0.5 * rng.standard_normal(n))
    trade_size = rng.uniform(80.0, 300.0, n)

    # Share prices rise with size (log price ~ 0.45 log cap + noise): large names trade at
    # $50-$300, the smallest at a few dollars, as in the cross-section of US listings.
    price0 = np.exp(
        np.log(PRICE_AT_MEDIAN_CAP) + PRICE_SIZE_SLOPE * (log_cap - np.log(2e9)) + PRICE_NOISE * rng.standard_normal(n)
    )
    # a forward split is announced once the price is 1.3-5x its level at the start (at least
    # $60), by the 40% of names that split at all (many high-priced names never do); a 1:10
    # reverse split below a floor between $1 and $3
    split_threshold = np.maximum(price0 * np.exp(rng.uniform(np.log(1.3), np.log(5.0), n)), 60.0)
    split_threshold = np.where(rng.random(n) < SPLITTER_SHARE, split_threshold, np.inf)
    reverse_threshold = np.exp(rng.uniform(0.0, np.log(3.0), n))
    price0 = np.round(np.clip(price0, 1.3 * reverse_threshold, None), 2)

    # listings: IPOs at a constant yearly rate of the live names, so that with an equal
    # delisting rate the number of listed names stays roughly stable
    years = n_t / 252.0
    ipo_share = cfg.annual_ipo_rate * years / (1.0 + cfg.annual_ipo_rate * years)
    n_ipo = round(ipo_share * n) if n_t > 60 else 0
    order = rng.permutation(n)
    ipo = np.zeros(n, dtype=bool)
    ipo[order[:n_ipo]] = True
    list_idx = np.zeros(n, dtype=np.int64)
    if n_ipo:
        list_idx[ipo] = rng.integers(1, max(2, n_t - 40), n_ipo)
    years_listed = rng.uniform(1.0, 30.0, n)
    before = (sessions[0] - pd.to_timedelta(np.round(years_listed * 365.25), unit="D")).values
    before = np.busday_offset(before.astype("datetime64[D]"), 0, roll="backward")
    list_dates = np.where(ipo, sessions.values[np.minimum(list_idx, n_t - 1)], before.astype("datetime64[ns]"))
    list_date = pd.DatetimeIndex(list_dates)

    # option underliers: the most liquid names listed at the start (never delisted)
    dollar_adv = turnover * np.exp(log_cap)
    candidates = np.flatnonzero(~ipo)
    ranked = candidates[np.argsort(-dollar_adv[candidates], kind="stable")]
    option_underliers = np.sort(ranked[: cfg.n_option_underliers]).astype(np.int64)

    (delist_idx, reason, dret, distress_start, distress_drop, merger_announce, merger_premium) = _delistings(
        cfg, rng, n, n_t, list_idx, option_underliers
    )

    div_payer = rng.random(n) < cfg.dividend_payer_fraction
    div_yield = np.where(div_payer, rng.uniform(0.01, 0.04, n), 0.0)
    div_phase = rng.integers(0, 63, n)

    htb = rng.random(n) < cfg.htb_fraction
    fee = np.where(htb, np.exp(rng.uniform(np.log(300.0), np.log(3000.0), n)), rng.uniform(25.0, 50.0, n))

    log_bm0 = rng.normal(np.log(0.45), 0.6, n)
    book_growth = rng.normal(0.012, 0.01, n)
    roe = rng.normal(0.025, 0.015, n)
    report_lag = rng.integers(20, 61, n)

    return Universe(
        symbols=symbol_names(n),
        sector=sector,
        beta=beta,
        style_loadings=style,
        mktcap0=np.exp(log_cap),
        price0=price0,
        turnover=turnover,
        trade_size=trade_size,
        idio_vol=idio_vol,
        list_idx=list_idx,
        list_date=list_date,
        delist_idx=delist_idx,
        delist_reason=reason,
        delisting_return=dret,
        distress_start=distress_start,
        distress_log_drop=distress_drop,
        merger_announce=merger_announce,
        merger_premium=merger_premium,
        div_payer=div_payer,
        div_yield=div_yield,
        div_phase=div_phase,
        split_threshold=split_threshold,
        reverse_threshold=reverse_threshold,
        borrow_fee_bps=np.round(fee, 2),
        htb=htb,
        log_bm0=log_bm0,
        book_growth=book_growth,
        roe=roe,
        report_lag=report_lag,
        option_underliers=option_underliers,
    )


def _sector_weights() -> np.ndarray:
    w = np.array([0.07, 0.11, 0.07, 0.06, 0.13, 0.13, 0.14, 0.16, 0.05, 0.04, 0.04])
    return w / w.sum()


def _delistings(
    cfg: MarketConfig, rng: np.random.Generator, n: int, n_t: int, list_idx: np.ndarray, protected: np.ndarray
):
    """Choose delisted names, their last session, reason, and the path events leading there."""
    delist_idx = np.full(n, NEVER, dtype=np.int64)
    reason = np.full(n, "", dtype=object)
    dret = np.full(n, np.nan)
    distress_start = np.full(n, NEVER, dtype=np.int64)
    distress_drop = np.zeros(n)
    merger_announce = np.full(n, NEVER, dtype=np.int64)
    merger_premium = np.zeros(n)

    min_life = int(max(10, min(120, n_t // 3)))
    eligible = np.flatnonzero(list_idx + min_life < n_t - 1)
    eligible = np.setdiff1d(eligible, protected)
    n_live = int((list_idx == 0).sum())  # names listed at the start (IPOs replace delistings)
    n_delist = round(cfg.annual_delisting_rate * n_t / 252.0 * n_live)
    n_delist = min(n_delist, len(eligible))
    if n_delist == 0:
        return delist_idx, reason, dret, distress_start, distress_drop, merger_announce, merger_premium
    n_bank = round(cfg.bankruptcy_share * n_delist)
    n_exch = round(cfg.exchange_move_share * n_delist)
    if n_delist >= 2 and cfg.bankruptcy_share > 0:
        n_bank = max(n_bank, 1)
    merger_share = 1.0 - cfg.bankruptcy_share - cfg.exchange_move_share
    if n_delist >= 2 and merger_share > 0:
        n_bank = min(n_bank, n_delist - 1)
        n_exch = min(n_exch, n_delist - 1 - n_bank)
    n_exch = min(n_exch, n_delist - n_bank)
    names = rng.choice(eligible, size=n_delist, replace=False)
    kinds = np.array(
        ["bankruptcy"] * n_bank + ["exchange_move"] * n_exch + ["merger"] * (n_delist - n_bank - n_exch), dtype=object
    )
    for i, kind in zip(names, kinds):
        first = int(list_idx[i]) + min_life
        last = int(rng.integers(first, n_t))
        delist_idx[i] = last
        reason[i] = kind
        if kind == "bankruptcy":
            dret[i] = rng.uniform(-1.0, -0.3)
            window = int(min(rng.integers(40, 121), last - list_idx[i] - 2))
            distress_start[i] = last - window + 1
            distress_drop[i] = np.log(rng.uniform(0.1, 0.35))
        elif kind == "merger":
            dret[i] = rng.uniform(0.0, 0.05)
            lead = int(min(rng.integers(20, 61), last - list_idx[i] - 1))
            merger_announce[i] = last - lead
            merger_premium[i] = rng.uniform(0.15, 0.40)
        else:
            dret[i] = rng.uniform(-0.05, 0.05)
    return delist_idx, reason, dret, distress_start, distress_drop, merger_announce, merger_premium
