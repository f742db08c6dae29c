"""MarketConfig: validation with named fields, round trip and fingerprint."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from quant_assets.market.synthetic import MarketConfig


def test_from_dict_round_trip_and_defaults():
    cfg = MarketConfig.from_dict(
        {"seed": 3, "n_symbols": 50, "start": dt.date(2024, 1, 2), "end": "2024-12-31", "momentum_strength": 0}
    )
    assert cfg.start == "2024-01-02" and cfg.momentum_strength == 0.0
    assert MarketConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"n_symbols": 1}, "n_symbols"),
        ({"n_symbols": "200"}, "n_symbols"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"noise_only": 1}, "noise_only"),
        ({"momentum_strength": -0.001}, "momentum_strength"),
        ({"value_strength": float("nan")}, "value_strength"),
        ({"t_dof": 2.0}, "t_dof"),
        ({"ssvi_gamma": 0.7}, "ssvi_gamma"),
        ({"start": "not a date"}, "start"),
        ({"start": "2024-05-01", "end": "2024-01-01"}, "start"),
        ({"n_option_underliers": 300}, "n_option_underliers"),
        ({"bankruptcy_share": 0.8, "exchange_move_share": 0.5}, "bankruptcy_share"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_values_name_the_field(bad, field):
    with pytest.raises(ValueError, match=field):
        MarketConfig.from_dict(bad)


def test_from_dict_needs_a_mapping():
    with pytest.raises(TypeError, match="mapping"):
        MarketConfig.from_dict([("seed", 1)])


def test_frozen():
    cfg = MarketConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 3  # type: ignore[misc]


def test_fingerprint_is_stable_and_sensitive():
    a = MarketConfig(seed=1).fingerprint()
    assert a == MarketConfig.from_dict({"seed": 1}).fingerprint()
    assert len(a) == 64 and int(a, 16) >= 0
    assert a != MarketConfig(seed=2).fingerprint()
    assert a != MarketConfig(seed=1, noise_only=True).fingerprint()
