"""FIFO tax-lot accounting of one name: realized PnL, splits, cost basis."""

from __future__ import annotations

from collections import deque

__all__ = ["FifoLots"]

_EPS = 1e-9


class FifoLots:
    """Open lots of one name, oldest first; long lots have ``qty > 0``, short lots ``qty < 0``.

    A trade against the open side closes lots first in, first out and realizes
    ``closed_qty (price - lot_price)`` (negative quantities for shorts make the same formula
    hold); the remainder opens a new lot. A split of ``k`` new shares per old multiplies every
    lot's quantity by ``k`` and divides its price by ``k`` (cost basis unchanged).

    Examples
    --------
    >>> lots = FifoLots()
    >>> lots.trade(100, 10.0), lots.trade(50, 12.0), lots.trade(-120, 13.0)
    (0.0, 0.0, 320.0)
    >>> lots.lots, lots.shares
    ([[30.0, 12.0]], 30.0)
    >>> lots.split(2.0); lots.lots
    [[60.0, 6.0]]
    """

    def __init__(self) -> None:
        self._lots: deque[list[float]] = deque()

    @property
    def lots(self) -> list[list[float]]:
        """Open lots as ``[quantity, price]``, oldest first."""
        return [list(lot) for lot in self._lots]

    @property
    def shares(self) -> float:
        """Net position in shares."""
        return float(sum(q for q, _ in self._lots))

    @property
    def cost_basis(self) -> float:
        """Sum of ``quantity x price`` over the open lots (negative for shorts)."""
        return float(sum(q * p for q, p in self._lots))

    def trade(self, quantity: float, price: float) -> float:
        """Apply a fill of ``quantity`` shares (``> 0`` buy) at ``price``; return the realized PnL."""
        realized = 0.0
        q = float(quantity)
        while abs(q) > _EPS and self._lots and (self._lots[0][0] > 0) != (q > 0):
            lot = self._lots[0]
            closed = min(abs(q), abs(lot[0])) * (1.0 if lot[0] > 0 else -1.0)
            realized += closed * (price - lot[1])
            lot[0] -= closed
            q += closed
            if abs(lot[0]) <= _EPS:
                self._lots.popleft()
        if abs(q) > _EPS:
            self._lots.append([q, float(price)])
        return realized

    def split(self, ratio: float) -> None:
        """Scale the lots by a split of ``ratio`` new shares per old share."""
        for lot in self._lots:
            lot[0] *= ratio
            lot[1] /= ratio

    def close_all(self, price: float) -> float:
        """Close every lot at ``price`` (a delisting); return the realized PnL."""
        return self.trade(-self.shares, price) if self._lots else 0.0
