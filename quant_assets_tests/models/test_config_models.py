"""Every profile's ``models`` block parses into a selection config with the gate from YAML."""

from __future__ import annotations

import pytest

from quant_assets.config import load_profile
from quant_assets.labels import LabelConfig
from quant_assets.models import SelectionConfig


@pytest.mark.parametrize("name", ["tiny", "demo", "full"])
def test_profiles_carry_gate_thresholds_and_a_dark_holdout(name):
    cfg = SelectionConfig.from_dict(load_profile(name).models)
    assert cfg.gate.min_sharpe == 1.0 and cfg.gate.max_pbo == 0.05 and cfg.gate.max_drawdown == 0.20
    assert cfg.gate.dsr_confidence == 0.95 and cfg.embargo_days == 10 and cfg.n_test_folds == 2
    assert cfg.holdout is not None and cfg.holdout.start <= load_profile(name).end


def test_unknown_models_setting_raises():
    with pytest.raises(ValueError, match="unknown models settings"):
        SelectionConfig.from_dict({"horizn": 5})
    with pytest.raises(ValueError, match=r"unknown models.gate keys \['min_sharp'\]"):
        SelectionConfig.from_dict({"gate": {"min_sharp": 1.0}})


def test_unknown_label_setting_raises():
    with pytest.raises(ValueError, match=r"unknown research.labels keys \['max_hh'\]"):
        LabelConfig.from_dict({"max_hh": 5})
