"""FIFO tax-lot accounting: realized PnL, splits, cost basis (one name, or many names vectorized)."""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["FifoBook", "FifoLots"]

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


class FifoBook:
    """FIFO lots of many names at once: ``(name, lot)`` matrices, one trade per name per call.

    Row ``j`` holds name ``j``'s open lots oldest first in columns ``0 .. count[j] - 1``
    (signed quantities, all of one side, and prices); the width doubles when a name needs more.
    A trade against the open side closes lots first in, first out: with ``A_k`` the lot sizes,
    ``C_k`` their running sum and ``Q`` the size of the trade, lot ``k`` closes
    ``min(A_k, max(Q - C_{k-1}, 0))``, realizing ``closed (price - lot price)`` on the lot's side;
    closed lots leave from the front and what exceeds every lot opens a lot on the other side.
    Same lots and realized PnL as :class:`FifoLots` name by name, vectorized over names
    (``quant_assets_tests/backtest/test_lots.py``).

    Examples
    --------
    >>> book = FifoBook(2)
    >>> book.trade(np.array([0, 1]), np.array([100.0, -10.0]), np.array([10.0, 50.0])).tolist()
    [0.0, 0.0]
    >>> book.trade(np.array([0]), np.array([50.0]), np.array([12.0])).tolist()
    [0.0]
    >>> book.trade(np.array([0, 1]), np.array([-120.0, 15.0]), np.array([13.0, 40.0])).tolist()
    [320.0, 100.0]
    >>> book.lots(0), book.lots(1)
    ([[30.0, 12.0]], [[5.0, 40.0]])
    """

    def __init__(self, n_names: int, width: int = 4) -> None:
        self.qty = np.zeros((n_names, width))
        self.price = np.zeros((n_names, width))
        self.count = np.zeros(n_names, np.intp)

    def lots(self, j: int) -> list[list[float]]:
        """Open lots of name ``j`` as ``[quantity, price]``, oldest first."""
        c = int(self.count[j])
        return [[float(q), float(p)] for q, p in zip(self.qty[j, :c], self.price[j, :c], strict=True)]

    def cost_basis(self, rows: np.ndarray) -> np.ndarray:
        """Sum of ``quantity x price`` over the open lots of each name in ``rows``."""
        k = int(self.count[rows].max(initial=0))
        return np.einsum("ij,ij->i", self.qty[rows, :k], self.price[rows, :k])

    def split(self, rows: np.ndarray, ratio: np.ndarray) -> None:
        """Scale the lots of ``rows`` by splits of ``ratio`` new shares per old share."""
        self.qty[rows] *= np.asarray(ratio, np.float64)[:, None]
        self.price[rows] /= np.asarray(ratio, np.float64)[:, None]

    def close_all(self, rows: np.ndarray, price: np.ndarray) -> np.ndarray:
        """Close every lot of ``rows`` at ``price`` (delistings); return the realized PnL."""
        rows = np.asarray(rows, np.intp)
        if not rows.size:
            return np.zeros(0)
        k = int(self.count[rows].max())
        return self._close_whole(rows, -self.qty[rows, :k].sum(axis=1), np.asarray(price, np.float64))

    def trade(self, rows: np.ndarray, quantity: np.ndarray, price: np.ndarray) -> np.ndarray:
        """Apply one fill per name (``rows`` distinct, ``quantity > 0`` buys); return each realized PnL."""
        q = np.asarray(quantity, np.float64)
        px = np.asarray(price, np.float64)
        realized = np.zeros(q.size)
        live = np.abs(q) > _EPS
        count = self.count[rows]
        against = live & (count > 0) & (self.qty[rows, 0] * q < 0)
        add = live & ~against
        if add.any():
            self._append(rows[add], q[add], px[add])
        first = np.abs(self.qty[rows, 0])
        one = against & ((count == 1) | (first - np.abs(q) > _EPS))
        if one.any():
            realized[one] = self._close_one(rows[one], q[one], px[one])
        many = np.flatnonzero(against & ~one)
        if many.size:
            k = int(count[many].max())
            whole = np.abs(q[many]) >= np.abs(self.qty[rows[many], :k]).sum(axis=1)
            for part, close in ((many[whole], self._close_whole), (many[~whole], self._close)):
                if part.size:
                    realized[part] = close(rows[part], q[part], px[part])
        return realized

    def _append(self, rows: np.ndarray, q: np.ndarray, px: np.ndarray) -> None:
        at = self.count[rows]
        if at.max() >= self.qty.shape[1]:
            self._grow(int(at.max()) + 1)
        self.qty[rows, at] = q
        self.price[rows, at] = px
        self.count[rows] = at + 1

    def _grow(self, needed: int) -> None:
        width = self.qty.shape[1]
        while width < needed:
            width *= 2
        pad = width - self.qty.shape[1]
        self.qty = np.pad(self.qty, ((0, 0), (0, pad)))
        self.price = np.pad(self.price, ((0, 0), (0, pad)))

    def _close_one(self, rows: np.ndarray, q: np.ndarray, px: np.ndarray) -> np.ndarray:
        """:meth:`_close` on the first lot's column alone: names with one lot, or trades within the first lot."""
        lot, lot_px = self.qty[rows, 0], self.price[rows, 0]
        size, want = np.abs(lot), np.abs(q)
        closed = np.minimum(want, size)
        realized = np.sign(lot) * closed * (px - lot_px)
        left, over = size - closed, want - size
        stays, flips = left > _EPS, (left <= _EPS) & (over > _EPS)
        self.qty[rows, 0] = np.where(stays, np.sign(lot) * left, np.where(flips, np.sign(q) * over, 0.0))
        self.price[rows, 0] = np.where(stays, lot_px, np.where(flips, px, 0.0))
        self.count[rows] = np.where(stays, self.count[rows], flips)
        return realized

    def _close_whole(self, rows: np.ndarray, q: np.ndarray, px: np.ndarray) -> np.ndarray:
        """:meth:`_close` for trades that close every lot: realize them all, open the rest on the other side."""
        k = int(self.count[rows].max())
        lots = self.qty[rows, :k]
        realized = np.einsum("ij,ij->i", lots, px[:, None] - self.price[rows, :k])
        over = np.abs(q) - np.abs(lots).sum(axis=1)
        self.qty[rows, :k] = 0.0
        self.price[rows, :k] = 0.0
        flip = over > _EPS
        self.qty[rows, 0] = np.where(flip, np.sign(q) * over, 0.0)
        self.price[rows, 0] = np.where(flip, px, 0.0)
        self.count[rows] = flip
        return realized

    def _close(self, rows: np.ndarray, q: np.ndarray, px: np.ndarray) -> np.ndarray:
        count = self.count[rows]
        k = int(count.max())
        lots, lot_px = self.qty[rows, :k], self.price[rows, :k]
        side = np.sign(lots[:, 0])
        size = np.abs(lots)
        want = np.abs(q)[:, None]
        cum = np.cumsum(size, axis=1)
        before = np.zeros_like(cum)
        before[:, 1:] = cum[:, :-1]
        closed = np.where(cum <= want, size, np.clip(want - before, 0.0, size))
        realized = side * np.einsum("ij,ij->i", closed, px[:, None] - lot_px)
        left = size - closed
        keep = left > _EPS
        first = np.where(keep.any(axis=1), keep.argmax(axis=1), count)  # closed lots leave from the front
        remaining = count - first
        cols = np.arange(k)
        take = np.minimum(cols + first[:, None], k - 1)
        valid = cols < remaining[:, None]
        self.qty[rows, :k] = np.where(valid, side[:, None] * np.take_along_axis(left, take, axis=1), 0.0)
        self.price[rows, :k] = np.where(valid, np.take_along_axis(lot_px, take, axis=1), 0.0)
        self.count[rows] = remaining
        over = want[:, 0] - cum[:, -1]  # the part of the trade beyond every lot opens the other side
        flip = (remaining == 0) & (over > _EPS)
        if flip.any():
            r = rows[flip]
            self.qty[r, 0] = np.sign(q[flip]) * over[flip]
            self.price[r, 0] = px[flip]
            self.count[r] = 1
        return realized
