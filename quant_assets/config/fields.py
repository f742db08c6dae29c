"""Typed settings from plain mappings (profile YAML blocks): one rule for unknown keys."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["coerce_dataclass", "reject_unknown_fields"]

T = TypeVar("T")


def reject_unknown_fields(cls: type, mapping: Mapping, what: str) -> None:
    """Raise ``ValueError`` naming the keys of ``mapping`` that are not fields of ``cls``.

    Examples
    --------
    >>> @dataclasses.dataclass
    ... class Cfg:
    ...     a: int = 1
    >>> reject_unknown_fields(Cfg, {"a": 2, "b": 3}, "demo config")
    Traceback (most recent call last):
    ...
    ValueError: unknown demo config keys ['b']; known: ['a']
    """
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(map(str, set(mapping) - known))
    if unknown:
        raise ValueError(f"unknown {what} keys {unknown}; known: {sorted(known)}")


def coerce_dataclass(cls: type[T], cfg: Any, what: str) -> T:
    """``cfg`` itself if it is a ``cls``, ``cls()`` for None, else ``cls(**cfg)`` (unknown keys refused)."""
    if cfg is None:
        return cls()
    if isinstance(cfg, cls):
        return cfg
    if not isinstance(cfg, Mapping):
        raise TypeError(f"{what}: expected a {cls.__name__} or a mapping, got {type(cfg).__name__}")
    reject_unknown_fields(cls, cfg, what)
    return cls(**dict(cfg))
