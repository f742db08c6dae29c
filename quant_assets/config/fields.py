"""Typed settings from plain mappings (profile YAML blocks): one rule for unknown keys."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

__all__ = ["coerce_dataclass", "reject_unknown_fields", "require_signs"]

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


def require_signs(obj: Any, positive: Iterable[str] = (), nonnegative: Iterable[str] = ()) -> None:
    """Raise ``ValueError`` naming the first attribute of ``obj`` in ``positive`` not > 0 or in ``nonnegative`` < 0.

    NaN fails both tests.

    Examples
    --------
    >>> @dataclasses.dataclass
    ... class Cfg:
    ...     size: float = 1.0
    ...     cap: float = -0.5
    >>> require_signs(Cfg(), positive=["size"], nonnegative=["cap"])
    Traceback (most recent call last):
    ...
    ValueError: cap must be >= 0, got -0.5
    """
    for name in positive:
        if not getattr(obj, name) > 0:
            raise ValueError(f"{name} must be > 0, got {getattr(obj, name)}")
    for name in nonnegative:
        if not getattr(obj, name) >= 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(obj, name)}")
