"""Seeded fault injection: the dirt of a real equity feed, as internally valid data.

Faults are planned once per market from their own random stream, so a fault-free config gives
byte-identical feeds and the clean oracle is never touched. Every faulty row still passes
boundary validation (positive prices on the tick grid, consistent OHLC, VWAP inside the range,
integer non-negative volume and trades, announce date not after the ex-date); detecting them
is the job of coverage and outlier checks downstream.

* ``missing_bar``: the bar of one (session, name) is not delivered.
* ``halt``: trading halted for 1-5 sessions; the vendor either delivers nothing or zero-volume
  bars at the last traded price. The next bar gaps to the true price.
* ``zero_volume``: no trade on one session: ``volume = trades = 0`` and OHLC = VWAP = the
  previous close.
* ``bad_print``: one bar at an outlier price (3-20x up or down), consistent OHLC on the tick
  grid, within ``(0, 1e6]``; the next bar is the true price again.
* ``late_action``: a split or dividend that the feed delivers only on its ex-date
  (``announce_date = ex_date`` instead of 10-30 sessions ahead). Corporate actions are
  partitioned by ex-date in an immutable point-in-time store, so an after-the-fact delivery
  (``announce_date > ex_date``) could never land in its partition without rewriting history;
  a same-day announcement keeps the window delivered for any range ``[start, end]`` equal to
  what was known by ``end`` while still giving no notice ahead of the ex-date.

Faults avoid listing and delisting days, corporate-action ex-dates (a halted or bad bar never
hides a split), prices below $1.20 (the sub-penny tick boundary) and each other's neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from quant_assets.market.synthetic.liquidity import ceil_to_tick, floor_to_tick, round_to_tick
from quant_assets.market.synthetic.seeding import stream

__all__ = ["FAULT_COLUMNS", "FAULT_KINDS", "FaultPlan", "apply_action_faults", "apply_bar_faults", "plan_bar_faults"]

FAULT_KINDS = ("missing_bar", "halt", "zero_volume", "bad_print", "late_action")
FAULT_COLUMNS = ("kind", "symbol", "start_date", "end_date", "detail")
MAX_PRICE = 1e6
_MIN_PRICE = 1.2
_HALT_MAX_SESSIONS = 5


@dataclass(frozen=True)
class FaultPlan:
    """Bar faults as session-index spans per name."""

    kind: np.ndarray  # object: one of FAULT_KINDS (bar kinds)
    name: np.ndarray  # int name index
    t0: np.ndarray  # first faulty session
    t1: np.ndarray  # last faulty session
    missing: np.ndarray  # bool: bars not delivered (else rewritten)
    factor: np.ndarray  # bad-print price factor (1 elsewhere)


def _eligible(paths, ex_mask: np.ndarray, uni) -> np.ndarray:
    """(T, N) sessions where a bar may be faulted: listed the session before and after, no
    corporate action going ex that session or the next, previous close >= $1.20."""
    listed = paths.listed
    ok = np.zeros_like(listed)
    ok[1:-1] = listed[1:-1] & listed[:-2] & listed[2:]
    ok[1:-1] &= ~ex_mask[1:-1] & ~ex_mask[2:]
    with np.errstate(invalid="ignore"):
        ok[1:] &= paths.close[:-1] >= _MIN_PRICE
        ok &= paths.close >= _MIN_PRICE
    ok &= np.arange(len(listed))[:, None] > uni.list_idx[None, :]
    return ok


def plan_bar_faults(cfg, paths, uni, ex_mask: np.ndarray) -> FaultPlan:
    """Draw the bar faults of a market (empty when every bar fault rate is 0)."""
    rng = stream(cfg.seed, "faults")
    n_t, n = paths.listed.shape
    ok = _eligible(paths, ex_mask, uni)
    used = np.zeros_like(ok)
    rows: list[tuple[str, int, int, int, bool, float]] = []

    def free(i: int, a: int, b: int) -> bool:
        return bool(ok[a : b + 1, i].all() and not used[max(a - 1, 0) : b + 2, i].any())

    def take(kind: str, i: int, a: int, b: int, missing: bool, factor: float = 1.0) -> None:
        used[a : b + 1, i] = True
        rows.append((kind, i, a, b, missing, factor))

    name_years = paths.listed.sum() / 252.0
    n_halts = rng.poisson(cfg.fault_halt_rate * name_years) if cfg.fault_halt_rate > 0 else 0
    cells = np.argwhere(ok)
    for _ in range(int(n_halts)):
        if len(cells) == 0:
            break
        a, i = cells[rng.integers(len(cells))]
        b = min(int(a) + int(rng.integers(0, _HALT_MAX_SESSIONS)), n_t - 2)
        if free(int(i), int(a), b):
            take("halt", int(i), int(a), b, bool(rng.random() < 0.5))
    for kind, rate in (
        ("bad_print", cfg.fault_bad_print_rate),
        ("zero_volume", cfg.fault_zero_volume_rate),
        ("missing_bar", cfg.fault_missing_bar_rate),
    ):
        if rate <= 0:
            continue
        picks = np.argwhere(ok & (rng.random(ok.shape) < rate))
        for a, i in picks:
            a, i = int(a), int(i)
            if not free(i, a, a):
                continue
            factor = 1.0
            if kind == "bad_print":
                up = rng.random() < 0.5
                factor = float(np.exp(rng.uniform(np.log(3.0), np.log(20.0))))
                if not up or paths.close[a, i] * factor > MAX_PRICE / 2:
                    factor = 1.0 / factor
            take(kind, i, a, a, kind == "missing_bar", factor)
    order = sorted(range(len(rows)), key=lambda k: (rows[k][2], rows[k][1]))
    cols = list(zip(*[rows[k] for k in order])) if rows else [[]] * 6
    return FaultPlan(
        kind=np.array(cols[0], dtype=object),
        name=np.array(cols[1], dtype=np.int64),
        t0=np.array(cols[2], dtype=np.int64),
        t1=np.array(cols[3], dtype=np.int64),
        missing=np.array(cols[4], dtype=bool),
        factor=np.array(cols[5], dtype=float),
    )


def apply_bar_faults(bars: pd.DataFrame, plan: FaultPlan, paths, symbols: np.ndarray) -> pd.DataFrame:
    """``bars`` (sorted by session then name) with the planned faults applied."""
    if len(plan.kind) == 0:
        return bars
    n = len(symbols)
    keys = bars["session_id"].to_numpy() * n + pd.Index(symbols).get_indexer(bars["symbol"])
    price_cols = ["open", "high", "low", "close", "vwap"]
    px = {k: bars[k].to_numpy(copy=True) for k in price_cols}
    qty = {k: bars[k].to_numpy(copy=True) for k in ("volume", "trades")}
    keep = np.ones(len(bars), dtype=bool)
    for kind, i, a, b, missing, factor in zip(plan.kind, plan.name, plan.t0, plan.t1, plan.missing, plan.factor):
        rows = np.searchsorted(keys, np.arange(a, b + 1) * n + i)
        if missing:
            keep[rows] = False
        elif kind == "bad_print":
            r, tick = rows[0], paths.tick[a, i]
            o, c = (float(max(round_to_tick(px[k][r] * factor, tick), tick)) for k in ("open", "close"))
            h = float(max(ceil_to_tick(px["high"][r] * factor, tick), o, c))
            lo = float(max(min(floor_to_tick(px["low"][r] * factor, tick), o, c), tick))
            v = float(np.clip(np.round(px["vwap"][r] * factor, 4), lo, h))
            for k, x in zip(price_cols, (o, h, lo, c, v)):
                px[k][r] = x
        else:  # zero volume, or a halt delivered as zero-volume bars at the last price
            for k in price_cols:
                px[k][rows] = paths.close[a - 1, i]
            qty["volume"][rows] = 0
            qty["trades"][rows] = 0
    out = bars.assign(**px, **qty)
    return out[keep].reset_index(drop=True) if not keep.all() else out


def apply_action_faults(ca: pd.DataFrame, seed: int, share: float) -> tuple[pd.DataFrame, np.ndarray]:
    """Corporate actions with a ``share`` of them delivered late (announced on the ex-date).

    Returns the new frame and the row positions made late.
    """
    if share <= 0 or len(ca) == 0:
        return ca, np.zeros(0, dtype=np.int64)
    early = (ca["announce_date"] < ca["ex_date"]).to_numpy()
    late = np.flatnonzero(early & (stream(seed, "late_actions").random(len(ca)) < share))
    out = ca.copy()
    out.loc[late, "announce_date"] = out.loc[late, "ex_date"].to_numpy()
    return out, late


def faults_frame(
    plan: FaultPlan, sessions: pd.DatetimeIndex, symbols: np.ndarray, ca: pd.DataFrame, late: np.ndarray
) -> pd.DataFrame:
    """Public list of injected faults sorted by (start_date, symbol, kind)."""
    detail = np.where(
        plan.kind == "bad_print",
        np.char.mod("price x%.4f", plan.factor),
        np.where(plan.missing, "bars not delivered", "zero-volume bars"),
    )
    bar = pd.DataFrame(
        {
            "kind": plan.kind,
            "symbol": symbols[plan.name],
            "start_date": sessions.values[plan.t0],
            "end_date": sessions.values[plan.t1],
            "detail": detail.astype(object),
        }
    )
    rows = ca.iloc[late]
    act = pd.DataFrame(
        {
            "kind": "late_action",
            "symbol": rows["symbol"].to_numpy(),
            "start_date": rows["ex_date"].to_numpy(),
            "end_date": rows["ex_date"].to_numpy(),
            "detail": (rows["event_type"] + " announced on its ex-date").to_numpy(dtype=object),
        }
    )
    df = pd.concat([bar, act], ignore_index=True)
    df["start_date"] = pd.to_datetime(df["start_date"]).astype("datetime64[ns]")
    df["end_date"] = pd.to_datetime(df["end_date"]).astype("datetime64[ns]")
    return df.sort_values(["start_date", "symbol", "kind"], kind="stable").reset_index(drop=True)
