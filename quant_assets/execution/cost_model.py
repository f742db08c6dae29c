"""Transaction cost model: fees, half-spread, square-root impact, borrow and participation cap."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quant_assets.execution._checks import check_array, check_scalar, scalar_or_array
from quant_assets.execution.impact import DEFAULT_IMPACT_Y, square_root_impact


@dataclass(frozen=True)
class CostBreakdown:
    """Dollar cost of trades by component (arrays broadcast like the inputs)."""

    fee: float | NDArray[np.float64]
    spread: float | NDArray[np.float64]
    impact: float | NDArray[np.float64]

    @property
    def total(self) -> float | NDArray[np.float64]:
        """``fee + spread + impact``."""
        return self.fee + self.spread + self.impact


@dataclass(frozen=True)
class CostModel:
    r"""Per-trade cost model with a participation cap.

    For a trade of ``q`` shares at reference (mid) price ``P`` with quoted spread ``s``:

    .. math::

        \text{fee} &= |q|\,f_{\text{share}} + 10^{-4} f_{\text{bps}}\,|q|\,P \\
        \text{spread} &= |q|\, s / 2 \\
        \text{impact} &= |q|\,P\,Y\,\sigma_d \sqrt{|q| / \mathrm{ADV}}

    (square-root law, :func:`~quant_assets.execution.impact.square_root_impact`), and holding a
    short position of notional ``N`` for ``d`` days costs
    ``N · 10^{-4} b_{bps} · d / days_per_year``. No bar may trade more than
    ``max_participation`` of its volume; :meth:`allocate` carries any remainder over to the
    next bar as a partial fill.

    Parameters
    ----------
    fee_per_share : float, default 0.0
        Commission in currency per share, ``>= 0``.
    fee_bps : float, default 0.0
        Commission in basis points of traded notional, ``>= 0``.
    impact_y : float, default :data:`~quant_assets.execution.impact.DEFAULT_IMPACT_Y`
        Square-root-law prefactor ``Y`` (Tóth et al. 2011), ``>= 0``.
    borrow_bps : float, default 0.0
        Annual stock-borrow fee in basis points of short notional, ``>= 0``.
    max_participation : float, default 0.10
        Largest fraction of a bar's volume one symbol may trade, in ``(0, 1]``.
    days_per_year : float, default 360.0
        Day count for the borrow fee (stock loans accrue actual/360).

    Examples
    --------
    >>> cm = CostModel(fee_per_share=0.005)
    >>> c = cm.costs(10_000, price=50.0, spread=0.02, adv=1_000_000, daily_vol=0.02)
    >>> round(c.fee, 2), round(c.spread, 2), round(c.impact, 2)
    (50.0, 100.0, 1000.0)
    """

    fee_per_share: float = 0.0
    fee_bps: float = 0.0
    impact_y: float = DEFAULT_IMPACT_Y
    borrow_bps: float = 0.0
    max_participation: float = 0.10
    days_per_year: float = 360.0

    def __post_init__(self) -> None:
        for name in ("fee_per_share", "fee_bps", "impact_y", "borrow_bps"):
            check_scalar(getattr(self, name), name, non_negative=True)
        cap = check_scalar(self.max_participation, "max_participation", positive=True)
        if cap > 1.0:
            raise ValueError(f"max_participation must be in (0, 1], got {cap}")
        check_scalar(self.days_per_year, "days_per_year", positive=True)

    # ------------------------------------------------------------------ per-trade costs
    def fee(self, quantity: ArrayLike, price: ArrayLike) -> float | NDArray[np.float64]:
        """Commission: ``|q| fee_per_share + 1e-4 fee_bps |q| P``."""
        q = np.abs(check_array(quantity, "quantity"))
        p = check_array(price, "price", positive=True)
        return scalar_or_array(q * self.fee_per_share + 1e-4 * self.fee_bps * q * p)

    def spread_cost(self, quantity: ArrayLike, spread: ArrayLike) -> float | NDArray[np.float64]:
        """Half-spread paid crossing from mid: ``|q| s / 2`` (``s`` in price units)."""
        q = np.abs(check_array(quantity, "quantity"))
        s = check_array(spread, "spread", non_negative=True)
        return scalar_or_array(0.5 * q * s)

    def impact_cost(
        self,
        quantity: ArrayLike,
        price: ArrayLike,
        adv: ArrayLike,
        daily_vol: ArrayLike,
    ) -> float | NDArray[np.float64]:
        """Square-root impact in currency: ``|q| P Y σ_d sqrt(|q| / ADV)``."""
        q = np.abs(check_array(quantity, "quantity"))
        p = check_array(price, "price", positive=True)
        frac = np.asarray(square_root_impact(q, adv, daily_vol, y=self.impact_y))
        return scalar_or_array(q * p * frac)

    def borrow_cost(self, short_notional: ArrayLike, days: ArrayLike) -> float | NDArray[np.float64]:
        """Borrow fee for holding ``short_notional`` (currency, ``>= 0``) short for ``days``."""
        n = check_array(short_notional, "short_notional", non_negative=True)
        d = check_array(days, "days", non_negative=True)
        return scalar_or_array(n * 1e-4 * self.borrow_bps * d / self.days_per_year)

    def costs(
        self,
        quantity: ArrayLike,
        price: ArrayLike,
        spread: ArrayLike,
        adv: ArrayLike,
        daily_vol: ArrayLike,
    ) -> CostBreakdown:
        """Fee, half-spread and impact of trading ``quantity`` shares, in currency."""
        return CostBreakdown(
            fee=self.fee(quantity, price),
            spread=self.spread_cost(quantity, spread),
            impact=self.impact_cost(quantity, price, adv, daily_vol),
        )

    # ------------------------------------------------------------------ participation cap
    def participation_cap(self, volume: ArrayLike) -> float | NDArray[np.float64]:
        """Most shares a bar of ``volume`` shares allows: ``max_participation * volume``."""
        v = check_array(volume, "volume", non_negative=True)
        return scalar_or_array(self.max_participation * v)

    def allocate(
        self, quantity: float, volumes: ArrayLike, schedule: ArrayLike | None = None
    ) -> tuple[NDArray[np.float64], float]:
        """Fill ``quantity`` shares over bars of ``volumes`` under the participation cap.

        Each bar fills its scheduled amount plus any carried-over remainder, up to
        ``max_participation * volume``; what does not fit carries to the next bar.

        Parameters
        ----------
        quantity : float
            Shares to trade, ``>= 0``.
        volumes : array_like
            Volume of each successive bar, ``>= 0``.
        schedule : array_like, optional
            Target shares per bar (``>= 0``, summing to ``quantity``); default: everything in
            the first bar (trade as fast as the cap allows).

        Returns
        -------
        fills : ndarray
            Shares filled per bar.
        unfilled : float
            ``quantity - fills.sum()`` left when the bars run out.

        Examples
        --------
        >>> fills, left = CostModel().allocate(250.0, [1000.0, 1000.0, 1000.0])
        >>> fills.tolist(), left
        ([100.0, 100.0, 50.0], 0.0)
        """
        q = check_scalar(quantity, "quantity", non_negative=True)
        caps = np.atleast_1d(np.asarray(self.participation_cap(volumes), dtype=np.float64))
        if schedule is None:
            targets = np.zeros_like(caps)
            if targets.size:
                targets[0] = q
        else:
            targets = np.atleast_1d(check_array(schedule, "schedule", non_negative=True))
            if targets.shape != caps.shape:
                raise ValueError(f"schedule has shape {targets.shape}, volumes has shape {caps.shape}")
            if not np.isclose(targets.sum(), q, rtol=1e-9, atol=1e-9):
                raise ValueError(f"schedule sums to {targets.sum()}, quantity is {q}")
        fills = allocate_with_carry(targets, caps)
        return fills, max(q - float(fills.sum()), 0.0)


def allocate_with_carry(targets: ArrayLike, caps: ArrayLike) -> NDArray[np.float64]:
    r"""Capped fills with carry-over, vectorized.

    The cumulative fill obeys :math:`F_j = \min(F_{j-1} + c_j,\; S_j)` with :math:`F_0 = 0`,
    where :math:`S_j` is the cumulative target and :math:`c_j` the cap of bar ``j``. Unrolling
    the recursion gives :math:`F_j = C_j + \min_{0 \le i \le j}(S_i - C_i)` with :math:`C` the
    cumulative cap, a running minimum. :func:`allocate_with_carry_reference` is the plain loop.

    Parameters
    ----------
    targets, caps : array_like
        Non-negative 1-d arrays of equal length: shares wanted and shares allowed per bar.

    Returns
    -------
    ndarray
        Shares filled per bar, each in ``[0, caps[j]]``.

    Examples
    --------
    >>> allocate_with_carry([300.0, 0.0, 0.0], [100.0, 100.0, 100.0]).tolist()
    [100.0, 100.0, 100.0]
    """
    t = np.atleast_1d(check_array(targets, "targets", non_negative=True))
    c = np.atleast_1d(check_array(caps, "caps", non_negative=True))
    if t.shape != c.shape or t.ndim != 1:
        raise ValueError(f"targets {t.shape} and caps {c.shape} must be 1-d of equal length")
    # No bar can fill more than the whole target: clipping the caps to it keeps the cumulative
    # sums on the scale of the order, so rounding stays relative to the order size.
    c = np.minimum(c, t.sum())
    s_cum = np.concatenate(([0.0], np.cumsum(t)))
    c_cum = np.concatenate(([0.0], np.cumsum(c)))
    filled_cum = np.minimum(c_cum + np.minimum.accumulate(s_cum - c_cum), s_cum)
    return np.clip(np.diff(filled_cum), 0.0, c)


def allocate_with_carry_reference(targets: ArrayLike, caps: ArrayLike) -> NDArray[np.float64]:
    """Plain-loop reference for :func:`allocate_with_carry` (same arguments and result)."""
    t = [float(x) for x in np.atleast_1d(np.asarray(targets, dtype=np.float64))]
    c = [float(x) for x in np.atleast_1d(np.asarray(caps, dtype=np.float64))]
    if len(t) != len(c):
        raise ValueError("targets and caps must have equal length")
    fills = []
    carry = 0.0
    for want, cap in zip(t, c, strict=True):
        wanted = carry + want
        got = min(wanted, cap)
        fills.append(got)
        carry = wanted - got
    return np.asarray(fills, dtype=np.float64)
