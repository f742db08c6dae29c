"""FifoBook (FIFO lots of many names, vectorized) equals FifoLots name by name."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.backtest import FifoBook, FifoLots

quantities = st.sampled_from([0.0, 1.0, -1.0, 3.0, -3.0, 2.5, -2.5, 10.0, -10.0, 7.0, -7.0, 1e-12])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.lists(st.tuples(st.lists(quantities, min_size=4, max_size=4), st.booleans()), max_size=30))
def test_fifo_book_equals_fifo_lots_name_by_name(n, steps):
    """Random sessions of trades (one per name, any subset of names) and splits: same lots, same realized PnL."""
    book, ref = FifoBook(n, width=1), [FifoLots() for _ in range(n)]
    rng = np.random.default_rng(len(steps))
    for qs, split in steps:
        q = np.asarray(qs[:n], float)
        px = rng.uniform(5, 15, n).round(2)
        rows = np.flatnonzero(q != 0)
        got = book.trade(rows, q[rows], px[rows])
        want = [ref[j].trade(q[j], px[j]) for j in rows]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
        if split:
            book.split(np.array([0]), np.array([2.0]))
            ref[0].split(2.0)
        for j in range(n):
            np.testing.assert_allclose(np.reshape(book.lots(j), (-1, 2)), np.reshape(ref[j].lots, (-1, 2)), atol=1e-9)
        np.testing.assert_allclose(book.cost_basis(np.arange(n)), [r.cost_basis for r in ref], atol=1e-9)
    assert book.close_all(np.arange(n), np.full(n, 9.0)) == pytest.approx([r.close_all(9.0) for r in ref], abs=1e-9)
    assert book.count.tolist() == [0] * n


def test_fifo_book_closes_oldest_lots_first_and_flips():
    """Long 100 @ 10 then 50 @ 12; sell 180 @ 13: realize 100 x 3 + 50 x 1 = 350, short 30 @ 13 left."""
    book = FifoBook(1, width=1)
    book.trade(np.array([0]), np.array([100.0]), np.array([10.0]))
    book.trade(np.array([0]), np.array([50.0]), np.array([12.0]))
    assert book.trade(np.array([0]), np.array([-180.0]), np.array([13.0])).tolist() == [350.0]
    assert book.lots(0) == [[-30.0, 13.0]]
