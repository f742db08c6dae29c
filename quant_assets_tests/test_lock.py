"""The locked set a fresh machine installs (requirements/lock.txt) satisfies pyproject.toml.

Every direct dependency of the project and of its ``dev`` extra is pinned in the lock at a
version its specifier allows: a bound raised in ``pyproject.toml`` without ``make lock`` fails
here, not on a fresh machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)", line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]]


@pytest.mark.parametrize("req", _declared(), ids=str)
def test_every_declared_dependency_is_locked_within_its_bounds(req):
    pins = _pins()
    name = canonicalize_name(req.name)
    assert name in pins, f"{req.name} is declared in pyproject.toml but not in requirements/lock.txt: run make lock"
    assert req.specifier.contains(pins[name], prereleases=True), (
        f"lock pins {req.name}=={pins[name]} outside {req.specifier}: run make lock"
    )
