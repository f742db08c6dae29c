"""Every feature the feature panel produces falls in the family its definition belongs to."""

from __future__ import annotations

from quant_assets.features import FEATURE_COLUMNS
from quant_assets.models.candidates import feature_families

EXPECTED = {
    "momentum": {"xsmom_21", "xsmom_63", "xsmom_126", "xsmom_252", "mom_12_1"}
    | {"tsmom_21", "tsmom_63", "tsmom_126", "tsmom_252"},
    "reversal": {"strev_5"},
    "value": {"bp", "ep"},
    "volatility": {"rvol_20", "rvol_60", "dvol_20", "dvol_60", "rquart_20", "skew_60", "kurt_60", "dispersion_20"},
    "liquidity": {"amihud_20", "turnover_20"},
    "beta": {"beta_mkt_60", "beta_rate_60"},
    "earnings": {"earn_to", "earn_since", "earn_window"},
    "seasonality": {"dow_mon", "dow_fri", "turn_of_month"},
}


def test_project_features_land_in_their_families_with_their_missing_flags():
    got = {
        fam: {c.removeprefix("feature_").removesuffix("_missing") for c in cols}
        for fam, cols in feature_families(FEATURE_COLUMNS).items()
    }
    assert got == EXPECTED
