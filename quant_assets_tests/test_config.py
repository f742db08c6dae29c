"""Configuration profiles: every shipped profile loads into a valid market config."""

from __future__ import annotations

import pytest
import yaml

from quant_assets.config import PROFILE_DIR, REPO_ROOT, available_profiles, load_profile
from quant_assets.market.synthetic import MarketConfig


@pytest.mark.parametrize("name", ["tiny", "demo", "full"])
def test_shipped_profiles_build_a_market_config_on_their_calendar(name):
    profile = load_profile(name)
    cfg = MarketConfig.from_dict(profile.market)
    assert (cfg.start, cfg.end) == (str(profile.start.date()), str(profile.end.date()))
    assert profile.data_dir.name == name


def test_profile_sizes_follow_their_purpose():
    synthetic = [n for n in available_profiles() if load_profile(n).synthetic]
    sizes = {n: MarketConfig.from_dict(load_profile(n).market).n_symbols for n in synthetic}
    assert sizes["tiny"] < sizes["demo"] == 200 < sizes["full"] == 1500


def test_unknown_profile_and_inconsistent_ranges_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="unknown profile 'nope'"):
        load_profile("nope")
    bad = yaml.safe_load((PROFILE_DIR / "tiny.yaml").read_text())
    bad["market"]["start"] = "2020-01-02"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError, match="market.start differs from calendar.start"):
        load_profile(str(path))
    del bad["market"]
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError, match="missing the 'market' section"):
        load_profile(str(path))


def test_source_block_selects_local_files_and_resolves_the_path(tmp_path):
    local = load_profile("local_example")
    assert not local.synthetic and load_profile("tiny").synthetic
    assert local.source == {"kind": "local_files", "path": str(REPO_ROOT / "examples" / "local_data"), "columns": {}}
    spec = {
        "name": "mine",
        "calendar": {"start": "2024-01-02", "end": "2024-01-31"},
        "source": {"kind": "local_files", "path": str(tmp_path), "columns": {"Ticker": "symbol"}},
    }
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert load_profile(str(path)).source["columns"] == {"Ticker": "symbol"}  # no market section needed
    for source, message in [
        ({"kind": "bloomberg"}, "source.kind must be one of"),
        ({"kind": "vendor"}, "source.symbols"),
        ({"kind": "local_files"}, "source.path"),
        ({"kind": "local_files", "path": "x", "colums": {}}, r"unknown source keys \['colums'\]"),
    ]:
        path.write_text(yaml.safe_dump({**spec, "source": source}))
        with pytest.raises(ValueError, match=message):
            load_profile(str(path))
    path.write_text(yaml.safe_dump({**spec, "source": {"kind": "synthetic"}}))
    with pytest.raises(ValueError, match="missing the 'market' section"):
        load_profile(str(path))


@pytest.mark.parametrize(
    "cls_path",
    ["quant_assets.backtest.BacktestConfig", "quant_assets.portfolio.RiskConfig"],
)
def test_settings_blocks_refuse_unknown_keys_and_keep_instances(cls_path):
    import importlib

    module, name = cls_path.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    with pytest.raises(ValueError, match=r"unknown .* keys \['no_such_knob'\]"):
        cls.coerce({"no_such_knob": 1})
    with pytest.raises(TypeError, match="mapping"):
        cls.coerce(42)
    instance = cls()
    assert cls.coerce(instance) is instance and cls.coerce(None) == instance


@pytest.mark.parametrize("field", ["vega_cap", "fee_per_contract", "book_size"])
@pytest.mark.parametrize("value", [float("nan"), -1.0])
def test_strategy_policy_refuses_negative_and_nan_amounts(field, value):
    from quant_assets.options.strategies import StrategyPolicy

    with pytest.raises(ValueError, match=field):
        StrategyPolicy(**{field: value})
