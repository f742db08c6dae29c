"""`SyntheticMarket`: the seeded synthetic market as vendor-shaped feeds over session windows.

The whole configured range is simulated once (lazily, on first use) and cached; every feed
method returns the rows of the full-range frame inside ``[start, end]``, so slicing never
changes values. Option quotes are generated per session from a stream seeded by
``(seed, session index, underlier index)``, so one session costs only its own quotes.
"""

from __future__ import annotations

from functools import cached_property

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from quant_assets.market.synthetic.bars import bars_frame
from quant_assets.market.synthetic.borrow import borrow_state
from quant_assets.market.synthetic.config import MarketConfig
from quant_assets.market.synthetic.corporate import corporate_actions_frame, delistings_frame
from quant_assets.market.synthetic.equities import EquityPaths, simulate_equities
from quant_assets.market.synthetic.faults import (
    FaultPlan,
    apply_action_faults,
    apply_bar_faults,
    faults_frame,
    plan_bar_faults,
)
from quant_assets.market.synthetic.fundamentals import (
    ReportSchedule,
    build_report_schedule,
    earnings_calendar_frame,
    fundamentals_frame,
)
from quant_assets.market.synthetic.option_chains import empty_option_quotes, session_option_quotes
from quant_assets.market.synthetic.option_surface import (
    SurfaceState,
    option_oracle_frame,
    simulate_surfaces,
)
from quant_assets.market.synthetic.rates import (
    TENORS_DAYS,
    rates_frame,
    simulate_short_rate,
    vasicek_zero_rates,
)
from quant_assets.market.synthetic.reference import symbol_master_frame, symbols_frame
from quant_assets.market.synthetic.universe import Universe, build_universe

__all__ = ["SyntheticMarket"]

_FUTURE_DAYS = 400


class SyntheticMarket:
    """Seeded synthetic market over the XNYS sessions of a `MarketConfig`.

    Parameters
    ----------
    config : MarketConfig
    sessions : pandas.DatetimeIndex
        The trading sessions in ``[config.start, config.end]`` (tz-naive, midnight,
        strictly increasing).

    Examples
    --------
    >>> import exchange_calendars as xcals
    >>> cfg = MarketConfig(seed=1, n_symbols=20, start="2024-01-02", end="2024-03-28",
    ...                    n_option_underliers=2)
    >>> cal = xcals.get_calendar("XNYS", start="2015-01-01", end="2027-12-31")
    >>> mkt = SyntheticMarket(cfg, cal.sessions_in_range(cfg.start, cfg.end))
    >>> bars = mkt.bars("2024-02-01", "2024-02-02")
    >>> sorted(bars["date"].dt.strftime("%m-%d").unique())
    ['02-01', '02-02']
    """

    def __init__(self, config: MarketConfig, sessions: pd.DatetimeIndex) -> None:
        if not isinstance(config, MarketConfig):
            raise TypeError(f"config must be a MarketConfig, got {type(config).__name__}")
        self.config = config
        self.sessions = _validate_sessions(sessions, config)

    # ------------------------------------------------------------------ simulation (cached)
    @cached_property
    def _universe(self) -> Universe:
        return build_universe(self.config, self.sessions)

    @cached_property
    def _reports(self) -> ReportSchedule:
        return build_report_schedule(self.config.seed, self.sessions, self._universe)

    @cached_property
    def _short_rate(self) -> np.ndarray:
        return simulate_short_rate(self.config.seed, len(self.sessions), self.config.initial_short_rate)

    @cached_property
    def _paths(self) -> EquityPaths:
        return simulate_equities(self.config, self.sessions, self._universe, self._reports, self._short_rate)

    @cached_property
    def _surfaces(self) -> SurfaceState:
        return simulate_surfaces(self.config, self._universe, self._paths)

    @cached_property
    def _ext_sessions(self) -> pd.DatetimeIndex:
        return _extend_sessions(self.sessions, _FUTURE_DAYS)

    @cached_property
    def _curve(self) -> np.ndarray:
        return vasicek_zero_rates(self._short_rate, np.array(TENORS_DAYS) / 365.0, self.config.initial_short_rate)

    @cached_property
    def _corp_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(T, N) split ratio and dividend going ex on each session (1 and 0 elsewhere)."""
        p = self._paths
        ratio = np.ones_like(p.close)
        div = np.zeros_like(p.close)
        for s in p.splits:
            ratio[s.ex_idx, s.name] = s.ratio
        d = p.dividends
        div[d.ex_idx[d.paid], d.name[d.paid]] = d.amount[d.paid]
        return ratio, div

    @cached_property
    def _fault_plan(self) -> FaultPlan:
        ratio, div = self._corp_arrays
        return plan_bar_faults(self.config, self._paths, self._universe, (ratio != 1) | (div > 0))

    # ------------------------------------------------------------------ full-range frames
    @cached_property
    def _bars(self) -> pd.DataFrame:
        ratio, div = self._corp_arrays
        clean = bars_frame(self.config.seed, self.sessions, self._universe, self._paths, ratio, div)
        return apply_bar_faults(clean, self._fault_plan, self._paths, self._universe.symbols)

    @cached_property
    def _clean_corporate_actions(self) -> pd.DataFrame:
        p = self._paths
        return corporate_actions_frame(
            p.splits, p.dividends, self._ext_sessions, self._universe.symbols, self.config.seed
        )

    @cached_property
    def _late_actions(self) -> tuple[pd.DataFrame, np.ndarray]:
        return apply_action_faults(self._clean_corporate_actions, self.config.seed, self.config.fault_late_action_share)

    @cached_property
    def _corporate_actions(self) -> pd.DataFrame:
        return self._late_actions[0]

    @cached_property
    def _faults(self) -> pd.DataFrame:
        ca, late = self._late_actions
        return faults_frame(self._fault_plan, self.sessions, self._universe.symbols, ca, late)

    @cached_property
    def _delistings(self) -> pd.DataFrame:
        return delistings_frame(self._universe, self.sessions)

    @cached_property
    def _fundamentals(self) -> pd.DataFrame:
        return fundamentals_frame(self._reports, self.sessions, self._universe.symbols, self._paths.shares)

    @cached_property
    def _earnings(self) -> pd.DataFrame:
        return earnings_calendar_frame(self._reports, self.sessions, self._universe.symbols)

    @cached_property
    def _symbols(self) -> pd.DataFrame:
        htb, fee = borrow_state(self.config.seed, self._universe, self._paths)
        return symbols_frame(self.sessions, self._universe, self._paths, htb, fee)

    @cached_property
    def _rates(self) -> pd.DataFrame:
        return rates_frame(self.sessions, self._short_rate, self.config.initial_short_rate)

    @cached_property
    def _oracle(self) -> pd.DataFrame:
        p = self._paths
        t_i, n_i = np.nonzero(p.listed)
        return pd.DataFrame(
            {
                "date": self.sessions.values[t_i],
                "symbol": self._universe.symbols[n_i],
                "expected_return": p.mu[t_i, n_i],
                "true_vol": p.true_vol[t_i, n_i],
                "momentum_signal": p.z_mom[t_i, n_i],
                "value_signal": p.z_val[t_i, n_i],
                "reversal_signal": p.z_rev[t_i, n_i],
            },
            copy=False,
        )

    @cached_property
    def _option_oracle(self) -> pd.DataFrame:
        return option_oracle_frame(self._surfaces, self.sessions, self._universe.symbols)

    # ------------------------------------------------------------------ public feeds
    def bars(self, start, end) -> pd.DataFrame:
        """Daily unadjusted bars for sessions in ``[start, end]``, sorted by (date, symbol).

        With fault rates set, some bars are missing, zero-volume or bad prints (see
        :meth:`injected_faults`)."""
        return _window(self._bars, "date", start, end)

    def corporate_actions(self, start, end) -> pd.DataFrame:
        """Splits and cash dividends with ``ex_date`` in ``[start, end]``.

        Every row is known by its ex-date (``announce_date <= ex_date``), so a window delivers
        only what was known by its end; late actions are announced on their ex-date."""
        return _window(self._corporate_actions, "ex_date", start, end)

    def delistings(self, start, end) -> pd.DataFrame:
        """Delistings with ``delist_date`` (last session with a bar) in ``[start, end]``."""
        return _window(self._delistings, "delist_date", start, end)

    def fundamentals(self, start, end) -> pd.DataFrame:
        """Quarterly fundamentals with ``report_date`` (arrival) in ``[start, end]``."""
        return _window(self._fundamentals, "report_date", start, end)

    def earnings_calendar(self, start, end) -> pd.DataFrame:
        """Earnings-date announcements with ``announce_date`` in ``[start, end]``."""
        return _window(self._earnings, "announce_date", start, end)

    def symbols(self, start, end) -> pd.DataFrame:
        """Point-in-time reference snapshots of the names listed on each session."""
        return _window(self._symbols, "date", start, end)

    def rates(self, start, end) -> pd.DataFrame:
        """Zero-rate curve (continuously compounded) per session and tenor."""
        return _window(self._rates, "date", start, end)

    def oracle(self, start, end) -> pd.DataFrame:
        """The planted truth per listed (date, symbol).

        ``expected_return`` is the next-day expected excess log return planted at the close of
        ``date``; ``true_vol`` the conditional daily vol of that return; the three signals are
        the winsorised cross-sectional z-scores it was built from (0 where a signal is not yet
        available, e.g. momentum in a name's first 252 sessions).
        """
        return _window(self._oracle, "date", start, end)

    def option_oracle(self, start, end) -> pd.DataFrame:
        """The SSVI state behind the option quotes, per session and underlier."""
        return _window(self._option_oracle, "date", start, end)

    def option_quotes(self, start, end) -> pd.DataFrame:
        """NBBO option quotes for sessions in ``[start, end]``.

        Snapshot one minute before the close: 15:59 New York, 12:59 on early closes.
        """
        a, b = _bounds(start, end)
        idx = np.flatnonzero((self.sessions >= a) & (self.sessions <= b))
        if len(idx) == 0 or len(self._universe.option_underliers) == 0:
            return empty_option_quotes()
        frames = [
            session_option_quotes(
                self.config.seed,
                int(t),
                self.sessions[t],
                self._surfaces,
                self._curve[t],
                self._ext_sessions,
                self._universe.symbols,
                self.config.option_crossed_fraction,
            )
            for t in idx
        ]
        return pd.concat(frames, ignore_index=True)

    def injected_faults(self) -> pd.DataFrame:
        """Every fault injected into the feeds (empty for a clean config).

        Columns ``kind, symbol, start_date, end_date, detail``; ``kind`` is one of
        ``missing_bar, halt, zero_volume, bad_print, late_action`` (see :mod:`.faults`).
        The oracle is never faulted: it keeps the clean truth.
        """
        return self._faults.copy()

    def symbol_master(self) -> pd.DataFrame:
        """``symbol, sector, list_date, delist_date, delist_reason`` for every name."""
        return symbol_master_frame(self._universe, self.sessions)


def _bounds(start, end) -> tuple[pd.Timestamp, pd.Timestamp]:
    try:
        a, b = pd.Timestamp(start), pd.Timestamp(end)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"start/end must be dates, got {start!r}, {end!r}") from exc
    if a is pd.NaT or b is pd.NaT:
        raise ValueError(f"start/end must be dates, got {start!r}, {end!r}")
    if a.tzinfo is not None or b.tzinfo is not None:
        raise ValueError("start/end must be tz-naive dates")
    if a > b:
        raise ValueError(f"start ({a.date()}) must not be after end ({b.date()})")
    return a, b


def _window(df: pd.DataFrame, col: str, start, end) -> pd.DataFrame:
    a, b = _bounds(start, end)
    values = df[col].values
    if len(values) and (np.diff(values.astype("int64")) >= 0).all():
        lo = np.searchsorted(values, np.datetime64(a))
        hi = np.searchsorted(values, np.datetime64(b), side="right")
        return df.iloc[lo:hi].reset_index(drop=True)
    return df[(df[col] >= a) & (df[col] <= b)].reset_index(drop=True)


def _validate_sessions(sessions, cfg: MarketConfig) -> pd.DatetimeIndex:
    if not isinstance(sessions, pd.DatetimeIndex):
        raise TypeError(f"sessions must be a pandas.DatetimeIndex, got {type(sessions).__name__}")
    if len(sessions) < 2:
        raise ValueError(f"sessions must hold at least 2 sessions, got {len(sessions)}")
    if sessions.tz is not None:
        raise ValueError("sessions must be tz-naive")
    if not (sessions == sessions.normalize()).all():
        raise ValueError("sessions must be normalized to midnight")
    if not sessions.is_monotonic_increasing or not sessions.is_unique:
        raise ValueError("sessions must be strictly increasing")
    a, b = pd.Timestamp(cfg.start), pd.Timestamp(cfg.end)
    if sessions[0] < a or sessions[-1] > b:
        raise ValueError(
            f"sessions must lie within [{cfg.start}, {cfg.end}], got [{sessions[0].date()}, {sessions[-1].date()}]"
        )
    return pd.DatetimeIndex(sessions.values.astype("datetime64[ns]"))


def _extend_sessions(sessions: pd.DatetimeIndex, days: int) -> pd.DatetimeIndex:
    """``sessions`` followed by the XNYS sessions of the next ``days`` calendar days (for
    expiries, record and pay dates beyond the end of the range)."""
    last = sessions[-1]
    first, stop = last + pd.Timedelta(days=1), last + pd.Timedelta(days=days)
    cal = xcals.get_calendar("XNYS", start=first.strftime("%Y-%m-%d"), end=stop.strftime("%Y-%m-%d"))
    future = cal.sessions
    if future.tz is not None:
        future = future.tz_localize(None)
    return sessions.append(pd.DatetimeIndex(future.values.astype("datetime64[ns]")))
