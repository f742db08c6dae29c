"""Portfolio builder: volatility target on synthetic returns, Kelly under shocks, caps never breached."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quant_assets.portfolio import RiskConfig, build, conservative_edge

LOOSE = {
    "gross_cap": 50.0,
    "net_cap": 50.0,
    "name_cap": 10.0,
    "sector_cap": 50.0,
    "turnover_cap": 100.0,
    "book_vol_cap_ann": 10.0,
}


def factor_returns(n_days: int, n_names: int, seed: int, vol: float = 0.02, rho: float = 0.3) -> pd.DataFrame:
    """Daily returns with one common factor: correlation ``rho``, daily volatility ``vol``."""
    rng = np.random.default_rng(seed)
    common = rng.standard_normal((n_days, 1))
    idio = rng.standard_normal((n_days, n_names))
    r = vol * (np.sqrt(rho) * common + np.sqrt(1 - rho) * idio)
    return pd.DataFrame(r, columns=[f"S{i:02d}" for i in range(n_names)])


def scores_for(symbols, seed: int, scale: float = 0.01) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(symbols)
    return pd.DataFrame(
        {
            "symbol": list(symbols),
            "expected_excess_return": scale * rng.standard_normal(n),
            "confidence": rng.uniform(0.5, 1.0, n),
            "borrow_fee_bps": 25.0,
            "adv_dollar": 1e12,
        }
    )


def test_realized_vol_of_built_portfolio_lands_on_target():
    """Fit on 500 sessions, hold on the next 2,000 of the same process: realized vol within 10 % of target."""
    rets = factor_returns(2500, 30, seed=1)
    scores = scores_for(rets.columns, seed=2)
    out = build(scores, {**LOOSE, "target_vol_ann": 0.10}, returns=rets.iloc[:500])
    assert out["kelly_fraction"] < 0.2  # the volatility target binds, not Kelly
    assert out["ex_ante_vol_ann"] == pytest.approx(0.10, rel=1e-9)
    w = out["target_weights"].reindex(rets.columns).to_numpy()
    realized = float((rets.iloc[500:].to_numpy() @ w).std(ddof=1) * np.sqrt(252))
    assert realized == pytest.approx(0.10, rel=0.10)


def _scenario(kind: str) -> pd.DataFrame:
    if kind == "vol_spike":
        return factor_returns(500, 30, seed=1, vol=0.06)
    if kind == "correlation_jump":
        return factor_returns(500, 30, seed=1, rho=0.9)
    return factor_returns(500, 30, seed=1)


@pytest.mark.parametrize("kind", ["calm", "vol_spike", "correlation_jump"])
def test_kelly_fraction_holds_under_shocks(kind):
    """The fraction of full Kelly never exceeds the configured one; the vol target holds in every scenario."""
    rets = _scenario(kind)
    scores = scores_for(rets.columns, seed=2, scale=0.002)
    out = build(scores, {**LOOSE, "target_vol_ann": 0.10, "kelly_fraction": 0.2}, returns=rets)
    assert 0.0 < out["kelly_fraction"] <= 0.2
    assert out["ex_ante_vol_ann"] <= 0.10 * (1 + 1e-9)
    if out["kelly_fraction"] < 0.2:
        assert out["ex_ante_vol_ann"] == pytest.approx(0.10, rel=1e-9)
    else:
        assert out["ex_ante_vol_ann"] == pytest.approx(0.2 * out["kelly_ex_ante_vol_ann"], rel=1e-9)


def test_vol_spike_cuts_exposure_and_kelly_is_used_when_the_edge_is_small():
    """In calm markets a small edge stays at 0.2 Kelly; tripling volatility cuts gross about ninefold."""
    calm, spike = _scenario("calm"), _scenario("vol_spike")
    scores = scores_for(calm.columns, seed=2, scale=0.0002)
    cfg = {**LOOSE, "target_vol_ann": 0.10}
    a, b = build(scores, cfg, returns=calm), build(scores, cfg, returns=spike)
    assert a["kelly_fraction"] == b["kelly_fraction"] == 0.2
    assert b["gross"] == pytest.approx(a["gross"] / 9, rel=0.05)


def test_kelly_fraction_outside_the_fractional_range_is_refused():
    with pytest.raises(ValueError, match="kelly_fraction"):
        RiskConfig(kelly_fraction=0.5)
    with pytest.raises(ValueError, match="unknown risk_cfg keys"):
        build(scores_for(["A"], 0).assign(daily_vol=0.02), {"kelly": 0.2})


def test_short_edge_pays_borrow_and_is_haircut_when_borrow_unknown():
    cfg = RiskConfig(horizon_days=10, short_haircut_unknown_borrow=0.5)
    df = pd.DataFrame(
        {
            "expected_excess_return": [-0.01, -0.01, 0.01, -0.0001],
            "confidence": [1.0, 1.0, 1.0, 1.0],
            "borrow_fee_bps": [360.0, np.nan, np.nan, 3600.0],
        }
    )
    edge = conservative_edge(df, cfg).tolist()
    # 360 bps a year over 10 days = 10 bps; unknown fee: half the edge; a long pays nothing;
    # a fee larger than the edge leaves no short, never a long.
    assert edge == pytest.approx([-0.009, -0.005, 0.01, 0.0])


def test_forecast_std_shrinks_by_signal_to_noise():
    df = pd.DataFrame({"expected_excess_return": [0.02], "confidence": [1.0], "forecast_std": [0.02]})
    assert conservative_edge(df, RiskConfig()).tolist() == pytest.approx([0.01])


def test_no_new_short_on_hard_to_borrow_but_an_existing_short_may_be_kept():
    scores = pd.DataFrame(
        {
            "symbol": ["H", "K"],
            "expected_excess_return": [-0.02, -0.02],
            "confidence": 1.0,
            "htb": [True, True],
            "borrow_fee_bps": 50.0,
            "daily_vol": 0.02,
            "adv_dollar": 1e12,
        }
    )
    out = build(scores, {**LOOSE, "name_cap": 0.05}, current_weights={"K": -0.01})
    w = out["target_weights"]
    assert w["H"] == 0.0
    assert w["K"] == pytest.approx(-0.01)
    log = out["constraints_applied"]
    assert set(log.loc[log["bound"] == "short_sale", "symbol"]) == {"H", "K"}


def test_participation_never_exceeds_ten_percent_of_adv_and_is_logged():
    scores = pd.DataFrame(
        {
            "symbol": ["L", "M"],
            "expected_excess_return": [0.02, 0.02],
            "confidence": 1.0,
            "daily_vol": 0.02,
            "adv_dollar": [1e6, 1e12],
        }
    )
    out = build(scores, {**LOOSE, "book_size": 1e7})
    assert out["target_weights"]["L"] == pytest.approx(0.1 * 1e6 / 1e7)
    row = out["constraints_applied"].query("bound == 'participation'")
    assert row["symbol"].tolist() == ["L"]
    assert row["weight_after"].iloc[0] == pytest.approx(0.01)


def test_constraints_log_names_the_bound_and_the_amount():
    scores = pd.DataFrame(
        {
            "symbol": ["A", "B"],
            "expected_excess_return": [0.05, 0.001],
            "confidence": 1.0,
            "daily_vol": 0.02,
            "adv_dollar": 1e12,
        }
    )
    out = build(scores, {"name_cap": 0.03, "net_cap": 1.0, "target_vol_ann": 0.5, "book_vol_cap_ann": 1.0})
    log = out["constraints_applied"].set_index(["symbol", "bound"])
    assert log.loc[("A", "name"), "weight_after"] == pytest.approx(0.03)
    assert log.loc[("A", "name"), "change"] == pytest.approx(0.03 - log.loc[("A", "name"), "weight_before"])


def test_missing_inputs_are_named():
    with pytest.raises(ValueError, match="confidence"):
        build(pd.DataFrame({"symbol": ["A"], "expected_excess_return": [0.0]}))
    with pytest.raises(ValueError, match="returns history or a daily_vol"):
        build(pd.DataFrame({"symbol": ["A"], "expected_excess_return": [0.0], "confidence": [1.0]}))


SECTORS = ["TECH", "FIN", "HEALTH"]


@st.composite
def books(draw):
    n = draw(st.integers(2, 12))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    scores = pd.DataFrame(
        {
            "symbol": [f"N{i}" for i in range(n)],
            "expected_excess_return": rng.normal(0, draw(st.sampled_from([1e-4, 1e-2, 0.2])), n),
            "confidence": rng.uniform(0, 1, n),
            "sector": rng.choice(SECTORS, n),
            "htb": rng.uniform(size=n) < 0.3,
            "borrow_fee_bps": np.where(rng.uniform(size=n) < 0.3, np.nan, 30.0),
            "adv_dollar": 10 ** rng.uniform(4, 9, n),
            "daily_vol": rng.uniform(0.005, 0.05, n),
        }
    )
    cfg = {
        "gross_cap": draw(st.floats(0.2, 2.0)),
        "net_cap": draw(st.floats(0.0, 0.3)),
        "name_cap": draw(st.floats(0.01, 0.2)),
        "sector_cap": draw(st.floats(0.02, 0.5)),
        "turnover_cap": draw(st.floats(0.0, 1.0)),
        "target_vol_ann": draw(st.floats(0.02, 0.5)),
        "book_vol_cap_ann": draw(st.floats(0.02, 0.5)),
        "kelly_fraction": draw(st.floats(0.1, 0.25)),
        "book_size": draw(st.floats(1e5, 1e9)),
    }
    return scores, cfg, seed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books())
def test_caps_are_never_breached(book):
    """Two rebalances in a row (the first from cash): every hard cap holds after each."""
    scores, cfg, seed = book
    rng = np.random.default_rng(seed + 1)
    first = build(scores, cfg)
    second_scores = scores.assign(expected_excess_return=rng.permutation(scores["expected_excess_return"].to_numpy()))
    current = first["target_weights"]
    out = build(second_scores, cfg, current_weights=current)
    meta = scores.set_index("symbol").reindex(current.index)
    for prev, res in ((pd.Series(0.0, index=current.index), first), (current, out)):
        w = res["target_weights"]
        assert w.index.equals(current.index)
        tol = 1e-9
        assert np.abs(w).sum() <= cfg["gross_cap"] + tol
        assert abs(w.sum()) <= cfg["net_cap"] + tol
        assert (np.abs(w) <= cfg["name_cap"] + tol).all()
        sector_net = w.groupby(meta["sector"]).sum()
        assert (sector_net.abs() <= cfg["sector_cap"] + tol).all()
        trade = (w - prev).abs()
        assert trade.sum() <= cfg["turnover_cap"] + tol
        adv = meta["adv_dollar"]
        assert (trade * cfg["book_size"] <= 0.10 * adv * (1 + 1e-9) + 1e-6).all()
        htb = meta["htb"]
        assert (w[htb] >= np.minimum(prev[htb], 0.0) - tol).all()
        assert res["book_ex_ante_vol_ann"] <= cfg["book_vol_cap_ann"] * (1 + 1e-6)
        assert res["kelly_fraction"] <= cfg["kelly_fraction"]
