"""The dark hold-out: a period nothing reads before sign-off.

:func:`seal` splits a panel into the part research may use and a :class:`SealedFrame` holding
the hold-out rows. Touching the sealed rows raises :class:`DarkHoldoutError` until
:meth:`SealedFrame.unseal` is called with an explicit sign-off; the research path
(:func:`~quant_assets.models.selection.select_model`) only ever receives the visible part.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["DarkHoldout", "DarkHoldoutError", "SealedFrame", "seal"]


class DarkHoldoutError(RuntimeError):
    """Raised when the dark hold-out is read before sign-off."""


@dataclass(frozen=True)
class DarkHoldout:
    """The hold-out period ``[start, end]`` (inclusive sessions); ``None`` bounds are open."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None

    @classmethod
    def from_dict(cls, d: dict | None) -> DarkHoldout | None:
        if not d or not d.get("start"):
            return None
        return cls(pd.Timestamp(d["start"]), pd.Timestamp(d["end"]) if d.get("end") else None)

    def covers(self, dates: pd.Series | pd.DatetimeIndex) -> pd.Series:
        d = pd.to_datetime(pd.Series(dates))
        inside = d >= self.start if self.start is not None else pd.Series(True, index=d.index)
        return inside & (d <= self.end) if self.end is not None else inside


class SealedFrame:
    """Rows of the dark hold-out; reading them before sign-off raises :class:`DarkHoldoutError`."""

    def __init__(self, frame: pd.DataFrame, period: DarkHoldout) -> None:
        self.__frame = frame
        self.period = period
        self.n_rows = len(frame)

    def unseal(self, signed_off_by: str) -> pd.DataFrame:
        """The hold-out rows, once someone signs off (a non-empty name)."""
        if not signed_off_by or not str(signed_off_by).strip():
            raise DarkHoldoutError("the dark hold-out opens only with a sign-off (signed_off_by)")
        return self.__frame

    def __getattr__(self, name: str):
        raise DarkHoldoutError(
            f"the dark hold-out {self.period.start} .. {self.period.end} is sealed until sign-off "
            f"(attempted to read {name!r})"
        )

    def __getitem__(self, key):
        raise DarkHoldoutError(f"the dark hold-out {self.period.start} .. {self.period.end} is sealed until sign-off")

    def __len__(self) -> int:
        return self.n_rows


def seal(
    panel: pd.DataFrame, period: DarkHoldout | None, *, date_cols: tuple[str, ...] = ("entry_date",)
) -> tuple[pd.DataFrame, SealedFrame | None]:
    """Split ``panel`` into its visible rows and the sealed hold-out rows.

    A row belongs to the hold-out if any of ``date_cols`` (e.g. entry and exit date of a label)
    falls in the period, so no label that ends inside the hold-out is visible.
    """
    if period is None:
        return panel, None
    dark = pd.Series(False, index=panel.index)
    for col in date_cols:
        if col in panel.columns:
            dark |= period.covers(panel[col]).to_numpy()
    return panel.loc[~dark], SealedFrame(panel.loc[dark], period)
