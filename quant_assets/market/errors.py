"""Exceptions raised at the market-data boundary and by the point-in-time store.

Every exception names what is wrong and where, so a failed ingestion can be traced to the
field and rows of the vendor delivery (or to the stored partition) without re-running it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "BadVendorData",
    "ImmutablePartitionError",
    "MissingPartitionsError",
]

_MAX_ROWS_IN_MESSAGE = 10


def _preview(items: Sequence[Any]) -> str:
    shown = ", ".join(str(item) for item in items[:_MAX_ROWS_IN_MESSAGE])
    more = len(items) - _MAX_ROWS_IN_MESSAGE
    return f"[{shown}{f', ... {more} more' if more > 0 else ''}]"


class BadVendorData(ValueError):
    """A vendor delivery violates the data contract and must be rejected before storage.

    Parameters
    ----------
    dataset : str
        The feed, e.g. ``"bars"``.
    field : str
        The offending column (or column combination, e.g. ``"date,symbol"``).
    rows : sequence
        The offending row labels (index labels of the delivered frame); for a missing session
        the missing session dates.
    problem : str
        A short machine-readable reason code, e.g. ``"nan"``, ``"non_positive"``,
        ``"duplicate"``, ``"unknown_symbol"``, ``"missing_session"``.
    detail : str, optional
        Extra human-readable context.

    Examples
    --------
    >>> err = BadVendorData("bars", "close", [3, 7], "nan")
    >>> err.field, err.rows
    ('close', [3, 7])
    >>> str(err)
    "bars: field 'close' has 2 bad row(s) (nan) at rows [3, 7]"
    """

    def __init__(
        self,
        dataset: str,
        field: str,
        rows: Sequence[Any],
        problem: str,
        detail: str = "",
    ) -> None:
        self.dataset = dataset
        self.field = field
        self.rows = list(rows)
        self.problem = problem
        self.detail = detail
        message = (
            f"{dataset}: field '{field}' has {len(self.rows)} bad row(s) ({problem}) "
            f"at rows {_preview(self.rows)}"
        )
        if detail:
            message += f": {detail}"
        super().__init__(message)


class ImmutablePartitionError(RuntimeError):
    """An immutable partition already holds different content.

    Parameters
    ----------
    dataset : str
        ``"<layer>/<dataset>"`` of the partition.
    partition : str
        Partition key, ``YYYY-MM-DD``.
    stored_sha256, new_sha256 : str
        Checksums of the stored file and of the rejected content.
    """

    def __init__(self, dataset: str, partition: str, stored_sha256: str, new_sha256: str) -> None:
        self.dataset = dataset
        self.partition = partition
        self.stored_sha256 = stored_sha256
        self.new_sha256 = new_sha256
        super().__init__(
            f"{dataset} partition {partition} is immutable and already stored with sha256 "
            f"{stored_sha256}; the new content has sha256 {new_sha256}. Pass force=True to "
            "replace it (the old file is kept as a superseded copy)."
        )


class MissingPartitionsError(LookupError):
    """Partitions expected in a read window are not stored.

    Parameters
    ----------
    dataset : str
        ``"<layer>/<dataset>"``.
    missing : sequence of str
        The missing partition keys.
    """

    def __init__(self, dataset: str, missing: Sequence[str]) -> None:
        self.dataset = dataset
        self.missing = list(missing)
        super().__init__(
            f"{dataset}: {len(self.missing)} expected partition(s) not stored: "
            f"{_preview(self.missing)} (pass allow_missing=True to read what exists)"
        )
