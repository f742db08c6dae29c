"""The equities research sleeve: point-in-time universe, features and labels.

Timeline
--------
One rule, used by every research step and tested as a property (perturbing data after the
knowledge date changes nothing before it)::

    close of t-1            open of t           close of t ...  close of t+h-1
    ------------|-------------|---------------------|-----------------|-------
    data known: prices, corporate actions, fundamentals by report_date (arrival),
    earnings dates as announced, symbol master, rates -- all as of the close of t-1
                |
                +-- universe(t): top-N by 60-session ADV through t-1, incl. later-delisted names
                +-- features(t) / scores(t): from the data above only (asof = t)
                              |
                              +-- entry at the OPEN of t (the backtester fills there)
                              +-- labels(t): total-return path from open(t): triple barrier
                                  (tp/sl scaled by vol known at t-1, vertical after max_h
                                  sessions, delisting return on delisting), ret_fwd_5/20 and
                                  excess over the universe mean of t
                                                        +-- exit_date: barrier, delisting or vertical
                                                        +-- known_date = max(exit_date, t+19)

* Scores for session ``t`` are formed before the open of ``t`` from data known at the close of
  ``t-1``; trades happen during ``t``.
* A label measures what happens from the open of ``t`` on and becomes usable for training only
  after its exit is known: a model trained as of ``d`` sees only rows whose fitted targets
  exited before ``d`` (``exit_date`` and ``exit_date_<h>`` of its horizon; purging and the
  embargo use the same exits). ``equity_labels`` is partitioned by ``known_date`` (every
  target known), so the partitions before ``d`` hold a subset of that training set.

Modules: :mod:`~quant_assets.research.frames` (:class:`MarketFrames`: the inputs, from the
store or an in-memory synthetic market), :mod:`~quant_assets.research.universe`,
:mod:`quant_assets.features` and :mod:`quant_assets.labels`.
"""

from quant_assets.research.frames import MarketFrames, Wide
from quant_assets.research.universe import build_universe, universe_mask

__all__ = ["MarketFrames", "Wide", "build_universe", "universe_mask"]
