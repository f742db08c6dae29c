"""Bar-by-bar execution simulator over DataFrames of orders and market data."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from quant_assets.execution._checks import check_scalar
from quant_assets.execution.almgren_chriss import almgren_chriss
from quant_assets.execution.cost_model import (
    CostBreakdown,
    CostModel,
    allocate_with_carry,
)
from quant_assets.execution.impact import square_root_impact

ORDER_COLUMNS = ("order_id", "symbol", "side", "quantity", "type", "limit_price", "submit_time")
MARKET_COLUMNS = ("bar_time", "symbol", "volume", "adv", "volatility")
FILL_COLUMNS = (
    "order_id",
    "symbol",
    "side",
    "bar_time",
    "quantity",
    "price",
    "reference_price",
    "fee",
    "spread_cost",
    "impact_cost",
)
REPORT_ORDER_COLUMNS = ("order_id", "symbol", "side", "type", "limit_price", "requested")
"""The order's own columns, leading an execution report and the order logs built from one."""
REPORT_COLUMNS = (
    *REPORT_ORDER_COLUMNS,
    "filled",
    "unfilled",
    "n_fills",
    "arrival_time",
    "arrival_price",
    "avg_fill_price",
    "fee",
    "spread_cost",
    "impact_cost",
    "total_cost",
    "fee_bps",
    "spread_bps",
    "impact_bps",
    "total_cost_bps",
    "execution_shortfall",
    "opportunity_cost",
    "implementation_shortfall",
    "implementation_shortfall_bps",
)

# Safety margin so that a limit-capped child's fill price stays on the right side of the
# limit after floating-point rounding.
_LIMIT_MARGIN = 1.0 - 1e-9


@dataclass(frozen=True)
class _Bars:
    """One symbol's bars, sorted by time."""

    time: pd.Index
    price: NDArray[np.float64]
    spread: NDArray[np.float64]
    volume: NDArray[np.float64]
    adv: NDArray[np.float64]
    vol: NDArray[np.float64]
    days_per_bar: float


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} is missing columns {missing}")


def _numeric(frame: pd.DataFrame, column: str, name: str) -> NDArray[np.float64]:
    try:
        values = pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}.{column} must be numeric") from exc
    return values


def _check_values(
    values: NDArray[np.float64], column: str, name: str, *, positive: bool, allow_nan: bool = False
) -> None:
    bad_nan = np.isnan(values) & (not allow_nan)
    if bad_nan.any():
        raise ValueError(f"{name}.{column} contains NaN (row {int(np.argmax(bad_nan))})")
    finite = ~np.isnan(values)
    if np.isinf(values).any():
        raise ValueError(f"{name}.{column} contains an infinite value")
    bad = finite & ((values <= 0) if positive else (values < 0))
    if bad.any():
        sign = "> 0" if positive else ">= 0"
        raise ValueError(f"{name}.{column} must be {sign}, got {values[bad][:3].tolist()}")


def _validate_orders(orders: pd.DataFrame) -> pd.DataFrame:
    _require_columns(orders, ORDER_COLUMNS, "orders")
    out = orders.loc[:, list(ORDER_COLUMNS)].reset_index(drop=True).copy()
    if out["order_id"].isna().any():
        raise ValueError("orders.order_id contains missing values")
    dup = out["order_id"].duplicated()
    if dup.any():
        raise ValueError(f"orders.order_id is not unique: {out.loc[dup, 'order_id'].tolist()[:3]}")
    if out["symbol"].isna().any():
        raise ValueError("orders.symbol contains missing values")
    if out["submit_time"].isna().any():
        raise ValueError("orders.submit_time contains missing values")
    side = out["side"].astype(str).str.strip().str.lower()
    bad_side = ~side.isin(["buy", "sell"])
    if bad_side.any():
        raise ValueError(f"orders.side must be 'buy' or 'sell', got {out.loc[bad_side, 'side'].tolist()[:3]}")
    kind = out["type"].astype(str).str.strip().str.upper()
    bad_kind = ~kind.isin(["MKT", "LMT"])
    if bad_kind.any():
        raise ValueError(f"orders.type must be 'MKT' or 'LMT', got {out.loc[bad_kind, 'type'].tolist()[:3]}")
    out["side"], out["type"] = side, kind
    qty = _numeric(out, "quantity", "orders")
    _check_values(qty, "quantity", "orders", positive=True)
    limit = _numeric(out, "limit_price", "orders")
    _check_values(limit, "limit_price", "orders", positive=True, allow_nan=True)
    is_lmt = (kind == "LMT").to_numpy()
    if np.isnan(limit[is_lmt]).any():
        raise ValueError("orders.limit_price must be set (finite, > 0) for LMT orders")
    if (~np.isnan(limit[~is_lmt])).any():
        raise ValueError("orders.limit_price must be NaN for MKT orders")
    out["quantity"], out["limit_price"] = qty, limit
    return out


def _validate_market(market_data: pd.DataFrame) -> pd.DataFrame:
    _require_columns(market_data, MARKET_COLUMNS, "market_data")
    md = market_data.reset_index(drop=True)
    if "price" in md.columns:
        price = _numeric(md, "price", "market_data")
        _check_values(price, "price", "market_data", positive=True)
    elif "open" in md.columns and "close" in md.columns:
        opens = _numeric(md, "open", "market_data")
        closes = _numeric(md, "close", "market_data")
        _check_values(opens, "open", "market_data", positive=True)
        _check_values(closes, "close", "market_data", positive=True)
        price = 0.5 * (opens + closes)
    else:
        raise ValueError("market_data needs a 'price' column or both 'open' and 'close'")
    if "spread" in md.columns:
        spread = _numeric(md, "spread", "market_data")
        _check_values(spread, "spread", "market_data", positive=False)
    elif "spread_bps" in md.columns:
        spread_bps = _numeric(md, "spread_bps", "market_data")
        _check_values(spread_bps, "spread_bps", "market_data", positive=False)
        spread = 1e-4 * spread_bps * price
    else:
        raise ValueError("market_data needs a 'spread' (price units) or 'spread_bps' column")
    if (spread >= price).any():
        raise ValueError("market_data.spread must be smaller than the price")
    volume = _numeric(md, "volume", "market_data")
    _check_values(volume, "volume", "market_data", positive=False)
    adv = _numeric(md, "adv", "market_data")
    _check_values(adv, "adv", "market_data", positive=True)
    vol = _numeric(md, "volatility", "market_data")
    _check_values(vol, "volatility", "market_data", positive=False)
    if md["bar_time"].isna().any() or md["symbol"].isna().any():
        raise ValueError("market_data.bar_time and market_data.symbol must not be missing")
    dup = md.duplicated(["symbol", "bar_time"])
    if dup.any():
        raise ValueError(
            f"market_data has duplicate (symbol, bar_time) rows: "
            f"{md.loc[dup, ['symbol', 'bar_time']].head(3).values.tolist()}"
        )
    return pd.DataFrame(
        {
            "bar_time": md["bar_time"],
            "symbol": md["symbol"],
            "price": price,
            "spread": spread,
            "volume": volume,
            "adv": adv,
            "volatility": vol,
        }
    )


def _bars_by_symbol(md: pd.DataFrame) -> dict[object, _Bars]:
    out: dict[object, _Bars] = {}
    for symbol, grp in md.groupby("symbol", sort=False):
        g = grp.sort_values("bar_time", kind="stable")
        volume = g["volume"].to_numpy()
        adv = g["adv"].to_numpy()
        out[symbol] = _Bars(
            time=pd.Index(g["bar_time"]),
            price=g["price"].to_numpy(),
            spread=g["spread"].to_numpy(),
            volume=volume,
            adv=adv,
            vol=g["volatility"].to_numpy(),
            days_per_bar=float(np.median(volume / adv)),
        )
    return out


def _schedule(
    quantity: float,
    first_cap: float,
    caps: NDArray[np.float64],
    bars: _Bars,
    start: int,
    cost_model: CostModel,
    risk_aversion: float,
    horizon_factor: float,
) -> NDArray[np.float64]:
    """Target shares per eligible bar: one bar if it fits, else an Almgren–Chriss schedule.

    The schedule runs over ``N = ceil(horizon_factor * Q / c)`` bars, ``c`` the median
    participation cap, with per-bar parameters: ``σ = σ_d P sqrt(days per bar)`` and the
    square-root impact linearised at the cap, ``η = Y σ_d P sqrt(c / ADV) / c`` (no permanent
    impact in the schedule, ``γ = 0``).
    """
    targets = np.zeros(caps.size)
    typical_cap = float(np.median(caps))
    if quantity <= first_cap or typical_cap <= 0.0 or caps.size == 1:
        targets[0] = quantity
        return targets
    n_bars = min(caps.size, max(1, math.ceil(horizon_factor * quantity / typical_cap)))
    price, daily_vol, adv = bars.price[start], bars.vol[start], bars.adv[start]
    eta = cost_model.impact_y * daily_vol * price * math.sqrt(typical_cap / adv) / typical_cap
    if n_bars == 1 or eta <= 0.0:
        targets[0] = quantity
        return targets
    sigma_bar = daily_vol * price * math.sqrt(bars.days_per_bar)
    plan = almgren_chriss(quantity, float(n_bars), n_bars, sigma_bar, eta, 0.0, 0.0, risk_aversion)
    targets[:n_bars] = plan.trades
    return targets


def _limit_caps(side: str, limit: float, bars: _Bars, sl: slice, impact_y: float) -> NDArray[np.float64]:
    """Largest child per bar with fill price ``P ± (s/2 + P Y σ sqrt(q/ADV))`` within ``limit``."""
    price, spread = bars.price[sl], bars.spread[sl]
    head = (limit - price - 0.5 * spread) if side == "buy" else (price - 0.5 * spread - limit)
    slope = price * impact_y * bars.vol[sl]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        qmax = np.where(slope > 0, bars.adv[sl] * (head / slope) ** 2 * _LIMIT_MARGIN, np.inf)
    return np.where(head >= 0, qmax, 0.0)


def simulate(
    orders: pd.DataFrame,
    cost_model: CostModel,
    market_data: pd.DataFrame,
    *,
    risk_aversion: float = 1e-6,
    horizon_factor: float = 2.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Simulate order execution over market-data bars.

    For every order, from the first bar at or after ``submit_time``:

    1. **Schedule.** An order that fits within the first bar's participation cap trades in that
       bar; a larger one follows an Almgren–Chriss (2000) schedule over
       ``N = ceil(horizon_factor · Q / c)`` bars (``c`` the median cap of the remaining bars),
       see :func:`~quant_assets.execution.almgren_chriss.almgren_chriss`.
    2. **Participation cap.** A symbol never trades more than
       ``cost_model.max_participation · volume`` in a bar, across all its orders (served in
       ``submit_time`` order, then input order); what does not fit carries over to the next
       bar as a partial fill (:func:`~quant_assets.execution.cost_model.allocate_with_carry`).
    3. **Prices and costs.** A child of ``q`` shares at bar price ``P`` with spread ``s`` fills
       at ``P ± (s/2 + P·I)`` (``+`` buy, ``-`` sell), ``I = Y σ_d sqrt(q / ADV)`` the
       square-root impact (temporary: bar prices are exogenous); fees per
       :class:`~quant_assets.execution.cost_model.CostModel`.
    4. **Limits.** A limit order fills in a bar only the quantity whose fill price respects the
       limit (buy: price <= limit, sell: price >= limit); it rests until the data end.

    Whatever is not filled when the symbol's bars run out is reported as unfilled.

    Parameters
    ----------
    orders : DataFrame
        Columns ``order_id`` (unique), ``symbol``, ``side`` ("buy"/"sell"), ``quantity`` (> 0),
        ``type`` ("MKT"/"LMT"), ``limit_price`` (> 0 for LMT, NaN for MKT), ``submit_time``
        (comparable with ``bar_time``).
    cost_model : CostModel
        Fees, impact prefactor and participation cap.
    market_data : DataFrame
        One row per (``symbol``, ``bar_time``) with ``price`` (or ``open`` and ``close``, whose
        mean is used), ``volume`` (shares in the bar), ``adv`` (shares/day, > 0),
        ``volatility`` (daily, fraction) and ``spread`` (quoted ask - bid in price units) or
        ``spread_bps``.
    risk_aversion : float, default 1e-6
        Almgren–Chriss ``λ`` (1/currency) of the schedule, by default the value of the paper's
        example (§2.4); 0 gives equal child orders.
    horizon_factor : float, default 2.0
        Schedule length relative to trading at the full cap (``>= 1``): the schedule averages
        ``max_participation / horizon_factor`` of volume, leaving room for front-loading.

    Returns
    -------
    fills : DataFrame
        One row per (order, bar) with a fill: ``order_id, symbol, side, bar_time, quantity,
        price`` (fill price), ``reference_price`` (bar price), ``fee, spread_cost,
        impact_cost`` (currency, >= 0).
    slippage_report : DataFrame
        One row per order (input order): requested, filled, unfilled, arrival price (first
        eligible bar's price), average fill price, fee / spread / impact / total cost in
        currency and in bps of arrival notional filled, and implementation shortfall (Perold
        1988): execution shortfall ``± filled (avg fill - arrival) + fees`` plus opportunity
        cost ``± unfilled (last price - arrival)``, also in bps of arrival notional requested.

    Raises
    ------
    ValueError
        Missing columns, NaN or non-positive quantities/prices, unknown side or type, limit
        price missing on a LMT order (or set on a MKT order), duplicate ids or bars, symbols
        without market data, orders submitted after the symbol's last bar.

    Examples
    --------
    A very risk-averse schedule wants everything at once; the 10 % cap spreads it out:

    >>> md = pd.DataFrame({"bar_time": [0, 1, 2], "symbol": "X", "price": 10.0,
    ...                    "volume": 1e5, "adv": 1e5, "volatility": 0.02, "spread": 0.01})
    >>> od = pd.DataFrame({"order_id": [1], "symbol": ["X"], "side": ["buy"],
    ...                    "quantity": [25_000.0], "type": ["MKT"], "limit_price": [np.nan],
    ...                    "submit_time": [0]})
    >>> fills, report = simulate(od, CostModel(), md, risk_aversion=1.0)
    >>> [round(q) for q in fills["quantity"]], float(report["unfilled"].iloc[0])
    ([10000, 10000, 5000], 0.0)
    """
    if not isinstance(cost_model, CostModel):
        raise TypeError(f"cost_model must be a CostModel, got {type(cost_model).__name__}")
    lam = check_scalar(risk_aversion, "risk_aversion", non_negative=True)
    factor = check_scalar(horizon_factor, "horizon_factor", positive=True)
    if factor < 1.0:
        raise ValueError(f"horizon_factor must be >= 1, got {factor}")
    od = _validate_orders(orders)
    md = _validate_market(market_data)
    missing = sorted(set(od["symbol"]) - set(md["symbol"]), key=str)
    if missing:
        raise ValueError(f"market_data has no bars for symbols {missing}")
    bars_by_symbol = _bars_by_symbol(md)
    remaining_cap = {s: cost_model.max_participation * b.volume for s, b in bars_by_symbol.items()}

    pieces: dict[str, list[object]] = {c: [] for c in FILL_COLUMNS}
    reports: dict[int, dict[str, object]] = {}
    records = od.to_dict("records")
    for row in od.sort_values("submit_time", kind="stable").index:
        order = records[row]
        bars = bars_by_symbol[order["symbol"]]
        try:
            start = int(bars.time.searchsorted(order["submit_time"], side="left"))
        except TypeError as exc:
            raise TypeError(
                f"orders.submit_time of order {order['order_id']!r} is not comparable with market_data.bar_time"
            ) from exc
        if start >= len(bars.time):
            raise ValueError(
                f"no market_data bar for {order['symbol']!r} at or after the submit_time of order {order['order_id']!r}"
            )
        side, qty, limit = order["side"], float(order["quantity"]), float(order["limit_price"])
        sl = slice(start, None)
        symbol_caps = remaining_cap[order["symbol"]]
        caps = symbol_caps[sl].copy()
        targets = _schedule(qty, caps[0], caps, bars, start, cost_model, lam, factor)
        if order["type"] == "LMT":
            caps = np.minimum(caps, _limit_caps(side, limit, bars, sl, cost_model.impact_y))
        fills = allocate_with_carry(targets, caps)
        sign = 1.0 if side == "buy" else -1.0
        impact_frac = np.asarray(square_root_impact(fills, bars.adv[sl], bars.vol[sl], y=cost_model.impact_y))
        fill_price = bars.price[sl] + sign * (0.5 * bars.spread[sl] + bars.price[sl] * impact_frac)
        if order["type"] == "LMT":
            fills = np.where(sign * (fill_price - limit) > 0, 0.0, fills)
        symbol_caps[sl] = np.maximum(symbol_caps[sl] - fills, 0.0)
        hit = np.flatnonzero(fills > 0)
        q = fills[hit]
        at = start + hit
        costs = cost_model.costs(q, bars.price[at], bars.spread[at], bars.adv[at], bars.vol[at])
        for column, values in (
            ("order_id", [order["order_id"]] * q.size),
            ("symbol", [order["symbol"]] * q.size),
            ("side", [side] * q.size),
            ("bar_time", bars.time[at]),
            ("quantity", q),
            ("price", fill_price[hit]),
            ("reference_price", bars.price[at]),
            ("fee", np.atleast_1d(costs.fee)),
            ("spread_cost", np.atleast_1d(costs.spread)),
            ("impact_cost", np.atleast_1d(costs.impact)),
        ):
            pieces[column].append(values)
        reports[row] = _report_row(order, bars, start, q, fill_price[hit], costs)

    fills_df = _fills_frame(pieces)
    report_df = pd.DataFrame([reports[i] for i in od.index], columns=list(REPORT_COLUMNS))
    return fills_df, report_df


def _fills_frame(pieces: dict[str, list[object]]) -> pd.DataFrame:
    """Concatenate the per-order fill columns into one DataFrame (empty with columns if none)."""
    if not pieces["quantity"]:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in FILL_COLUMNS})
    columns: dict[str, object] = {}
    for c in FILL_COLUMNS:
        parts = pieces[c]
        if c == "bar_time":
            columns[c] = parts[0].append(parts[1:])
        elif c in ("order_id", "symbol", "side"):
            columns[c] = [v for part in parts for v in part]
        else:
            columns[c] = np.concatenate(parts)
    return pd.DataFrame(columns)


def _report_row(
    order: dict[str, object],
    bars: _Bars,
    start: int,
    quantities: NDArray[np.float64],
    prices: NDArray[np.float64],
    costs: CostBreakdown,
) -> dict[str, object]:
    """One slippage-report row from an order's fills."""
    requested = float(order["quantity"])
    filled = float(quantities.sum())
    unfilled = max(requested - filled, 0.0)
    sign = 1.0 if order["side"] == "buy" else -1.0
    arrival = float(bars.price[start])
    fee = float(np.sum(costs.fee))
    spread = float(np.sum(costs.spread))
    impact = float(np.sum(costs.impact))
    total = fee + spread + impact
    avg = float(np.dot(quantities, prices) / filled) if filled > 0 else math.nan
    notional = arrival * filled

    def bps(amount: float) -> float:
        return 1e4 * amount / notional if filled > 0 else math.nan

    execution = sign * filled * (avg - arrival) + fee if filled > 0 else 0.0
    opportunity = sign * unfilled * (float(bars.price[-1]) - arrival)
    shortfall = execution + opportunity
    return {
        "order_id": order["order_id"],
        "symbol": order["symbol"],
        "side": order["side"],
        "type": order["type"],
        "limit_price": float(order["limit_price"]),
        "requested": requested,
        "filled": filled,
        "unfilled": unfilled,
        "n_fills": int(quantities.size),
        "arrival_time": bars.time[start],
        "arrival_price": arrival,
        "avg_fill_price": avg,
        "fee": fee,
        "spread_cost": spread,
        "impact_cost": impact,
        "total_cost": total,
        "fee_bps": bps(fee),
        "spread_bps": bps(spread),
        "impact_bps": bps(impact),
        "total_cost_bps": bps(total),
        "execution_shortfall": execution,
        "opportunity_cost": opportunity,
        "implementation_shortfall": shortfall,
        "implementation_shortfall_bps": 1e4 * shortfall / (arrival * requested),
    }
