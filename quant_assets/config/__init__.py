"""Configuration profiles (YAML): ``tiny`` for tests, ``demo`` for ``make demo``, ``full``.

A profile fixes the session range, where the market data comes from (``source``: the seeded
synthetic market by default, or ``{kind: local_files, path: <dir>}`` for a directory of your
own files, see :mod:`quant_assets.market.local_files`), the synthetic market's parameters
(seed, universe size, planted-edge strengths, noise-only switch; synthetic profiles only) and
where its data lands (``$QUANT_ASSETS_DATA/<profile>``, default ``data/<profile>`` in the
repository). A relative ``source.path`` is resolved against the repository root.

Example
-------
>>> load_profile("tiny").name
'tiny'
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

PROFILE_ENV = "QUANT_ASSETS_PROFILE"
DATA_ENV = "QUANT_ASSETS_DATA"
DEFAULT_PROFILE = "demo"
PROFILE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PROFILE_DIR.parents[1]
SOURCE_KINDS = ("synthetic", "local_files", "vendor")
_SOURCE_KEYS = {
    "synthetic": {"kind"},
    "local_files": {"kind", "path", "columns"},
    "vendor": {"kind", "symbols", "ciks", "options_underliers", "base_urls", "pages_dir", "offline"},
}

__all__ = ["Profile", "load_profile", "available_profiles", "data_root"]


@dataclass(frozen=True)
class Profile:
    """A resolved configuration profile."""

    name: str
    start: pd.Timestamp
    end: pd.Timestamp
    market: dict = field(repr=False)
    raw: dict = field(repr=False)
    source: dict = field(default_factory=lambda: {"kind": "synthetic"}, repr=False)
    research: dict = field(default_factory=dict, repr=False)
    """The ``research:`` section: universe size and label thresholds (``quant_assets.research``)."""

    @property
    def synthetic(self) -> bool:
        """True if the data is the seeded synthetic market (the only source with planted truth)."""
        return self.source["kind"] == "synthetic"

    @property
    def models(self) -> dict:
        """The ``models`` block: selection, gate thresholds, dark hold-out, tracking (may be empty)."""
        return dict(self.raw.get("models") or {})

    @property
    def data_dir(self) -> Path:
        return data_root() / self.name

    def fingerprint(self) -> str:
        """sha256 of the canonical profile content: part of every run id."""
        blob = json.dumps(self.raw, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()


def data_root() -> Path:
    """Root of generated data: ``$QUANT_ASSETS_DATA`` or ``<repo>/data``."""
    return Path(os.environ.get(DATA_ENV) or REPO_ROOT / "data").resolve()


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(name: str | os.PathLike | None = None) -> Profile:
    """Load a profile by name (``tiny``/``demo``/``full``) or YAML path.

    ``name`` defaults to ``$QUANT_ASSETS_PROFILE``, then ``demo``.
    """
    name = name or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"unknown profile {str(name)!r}: expected one of {available_profiles()} or a YAML path")
    raw = yaml.safe_load(path.read_text())
    source = _source(path, raw.get("source") or {"kind": "synthetic"})
    for key in ("name", "calendar", "market") if source["kind"] == "synthetic" else ("name", "calendar"):
        if key not in raw:
            raise ValueError(f"profile {path} is missing the {key!r} section")
    start = pd.Timestamp(raw["calendar"]["start"])
    end = pd.Timestamp(raw["calendar"]["end"])
    if end <= start:
        raise ValueError(f"profile {raw['name']}: calendar.end {end.date()} <= start {start.date()}")
    market = dict(raw.get("market") or {})
    for key in ("start", "end"):
        if key in market and pd.Timestamp(market[key]) != pd.Timestamp(raw["calendar"][key]):
            raise ValueError(f"profile {raw['name']}: market.{key} differs from calendar.{key}")
        market[key] = str(pd.Timestamp(raw["calendar"][key]).date())
    return Profile(
        name=str(raw["name"]),
        start=start,
        end=end,
        market=market,
        raw=raw,
        source=source,
        research=dict(raw.get("research") or {}),
    )


def _source(path: Path, source: dict) -> dict:
    """The profile's ``source`` block, checked; a local ``path`` made absolute."""
    kind = source.get("kind") if isinstance(source, dict) else None
    if kind not in SOURCE_KINDS:
        raise ValueError(f"profile {path}: source.kind must be one of {SOURCE_KINDS}, got {kind!r}")
    unknown = sorted(set(source) - _SOURCE_KEYS[kind])
    if unknown:
        raise ValueError(f"profile {path}: unknown source keys {unknown} for kind {kind!r}")
    if kind == "vendor" and not source.get("symbols"):
        raise ValueError(f"profile {path}: source.symbols (the universe to fetch) is required for vendor")
    if kind == "local_files":
        if not source.get("path"):
            raise ValueError(f"profile {path}: source.path (the data directory) is required for local_files")
        data = Path(str(source["path"])).expanduser()
        source = {
            **source,
            "path": str(data if data.is_absolute() else (REPO_ROOT / data).resolve()),
            "columns": dict(source.get("columns") or {}),
        }
    return dict(source)
