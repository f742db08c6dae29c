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
        the missing session dates; empty when the rule is about the column itself (its dtype,
        its absence).
    problem : str
        The violated rule: a short code (``"nan"``, ``"duplicate"``, ``"unknown_symbol"``,
        ``"missing_session"``) or the name of the schema check that failed.
    detail : str, optional
        Extra human-readable context.
    values : sequence, optional
        The offending values, aligned with ``rows``.

    Examples
    --------
    >>> err = BadVendorData("bars", "close", [3, 7], "nan")
    >>> err.field, err.rows
    ('close', [3, 7])
    >>> str(err)
    "bars: column 'close' breaks rule 'nan' at 2 row(s) [3, 7]"
    >>> str(BadVendorData("bars", "close", [3], "not_numeric", values=["abc"]))
    "bars: column 'close' breaks rule 'not_numeric' at 1 row(s) [3], values ['abc']"
    """

    def __init__(
        self,
        dataset: str,
        field: str,
        rows: Sequence[Any],
        problem: str,
        detail: str = "",
        values: Sequence[Any] = (),
    ) -> None:
        self.dataset = dataset
        self.field = field
        self.rows = list(rows)
        self.problem = problem
        self.detail = detail
        self.values = list(values)
        message = f"{dataset}: column '{field}' breaks rule '{problem}'"
        if self.rows:
            message += f" at {len(self.rows)} row(s) {_preview(self.rows)}"
        if self.values:
            message += f", values {_preview([repr(v) for v in self.values])}"
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
