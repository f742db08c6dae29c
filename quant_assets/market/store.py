"""Point-in-time partitioned Parquet store: checksummed manifest, commit journal, verified reads.

Layout::

    <root>/<layer>/<dataset>/date=YYYY-MM-DD/part.parquet          the committed content
    <root>/<layer>/<dataset>/date=YYYY-MM-DD/part.<sha[:12]>.superseded.parquet   (forced)
    <root>/<layer>/<dataset>/_manifest.json    partition -> sha256, size, rows, history
    <root>/<layer>/<dataset>/_history.jsonl    append-only log of every committed change
    <root>/<layer>/<dataset>/_journal.json     a committed write not yet applied (transient)
    <root>/<layer>/<dataset>/_staging/         files of a write not yet committed (transient)
    <root>/<layer>/<dataset>/.lock             fcntl lock: writers exclusive, readers shared

Guarantees
----------
* **Deterministic bytes.** A frame is converted to Arrow without its index, timestamps
  coerced to nanoseconds and empty object columns typed as strings, then written with fixed
  writer options (zstd level 3, dictionary encoding, statistics, one row group). The same frame
  therefore always produces the same file, so replaying a session reproduces identical hashes.
  Wall-clock time appears only in the manifest, never in Parquet bytes.
* **The manifest is what the dataset holds.** Readers serve exactly the partitions the
  manifest records and check every file's size and sha256 against it before decoding
  (:meth:`ParquetStore.read_window` on every read, :meth:`ParquetStore.duckdb_connect` when it
  connects). A missing, truncated, corrupt or foreign file raises
  :class:`StoreIntegrityError` naming the file; so does a
  manifest, journal or log whose own checksum fails. Files the manifest does not record
  (strays, leftovers) are never served and are reported by :meth:`ParquetStore.verify`.
* **Crash safety.** A write stages its files under ``_staging`` (fsynced), then writes a
  journal holding the new manifest (the commit point), then moves the files into place,
  appends the history log, publishes the manifest and drops the journal. A process killed
  before the journal exists leaves the store as it was; one killed after it is finished by the
  next writer or reader of the dataset (which also deletes stale staged and temporary files).
  Writers hold an exclusive lock and readers a shared one, so no reader sees a half-applied
  write. Every file is fsynced with its directory unless the store was opened with
  ``durable=False`` (writes are then still atomic, but not power-loss safe).
* **Immutability and history.** In an immutable (raw) dataset, re-writing identical content is
  a no-op (and restores a missing or corrupt file); different content raises
  :class:`~quant_assets.market.errors.ImmutablePartitionError`, and a manifest entry whose file
  is gone raises ``StoreIntegrityError``, unless forced. A forced replacement keeps the old
  file beside the new one. Every replacement, forced or curated, appends the old checksum to
  the partition's history in the manifest and in ``_history.jsonl``; history is never dropped,
  and :meth:`ParquetStore.rebuild_manifest` restores a lost manifest from the log.
* **Explicit absence.** :meth:`ParquetStore.write_window` writes an (empty) file for every
  listed partition, so "no events that session" differs from "not ingested". With a
  ``sessions`` calendar, a partition that is not a session (weekend, holiday) is rejected.
* Files are created with mode ``0o666`` minus the process umask, like any other file.

The DuckDB catalog written by :meth:`ParquetStore.write_duckdb_catalog` lists exactly the
committed files; it is verified when written (``verify=True``), but a DuckDB client reading it
later reads the files without checks: use :meth:`ParquetStore.duckdb_connect` (verifies on
connect) or :meth:`ParquetStore.verify` where that matters.
"""

from __future__ import annotations

import copy
import datetime as _dt
import fcntl
import io
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from quant_assets.market.errors import ImmutablePartitionError, MissingPartitionsError
from quant_assets.market.store_files import (
    StoreIntegrityError,
    append_line,
    atomic_write,
    check_file,
    dump_document,
    file_sha256,
    fsync_dir,
    load_document,
    read_lines,
    read_verified,
    sha256,
    write_new,
)

__all__ = [
    "ParquetStore",
    "PartitionMismatch",
    "StoreIntegrityError",
    "WriteResult",
    "parquet_bytes",
    "view_name",
]

PART_FILE = "part.parquet"
MANIFEST_FILE = "_manifest.json"
HISTORY_FILE = "_history.jsonl"
JOURNAL_FILE = "_journal.json"
STAGING_DIR = "_staging"
_LOCK_FILE = ".lock"
_PARTITION_PREFIX = "date="
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_KEY_RE = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_FORMAT = 2
_LEGACY_MANIFEST_KEYS = frozenset({"layer", "dataset", "partitions"})
_RECOVERY = "see 'Recovery' in the README: restore the file or re-ingest the partition"

_WRITER_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "store_schema": True,
}

WriteStatus = Literal["written", "unchanged", "replaced", "restored"]


@dataclass(frozen=True)
class WriteResult:
    """Outcome of writing one partition.

    Attributes
    ----------
    path : Path
        The partition's ``part.parquet``.
    sha256 : str
        Checksum of the file now stored.
    rows : int
        Row count of the stored file.
    status : {"written", "unchanged", "replaced", "restored"}
        ``written``: new partition; ``unchanged``: identical content already stored (no-op);
        ``replaced``: different content replaced the old file; ``restored``: the content the
        manifest records was written back over a missing or corrupt file.
    """

    path: Path
    sha256: str
    rows: int
    status: WriteStatus


@dataclass(frozen=True)
class PartitionMismatch:
    """A disagreement between the manifest and the files found by :meth:`ParquetStore.verify`.

    ``kind`` is ``"checksum"`` (size or hash differs from the manifest), ``"missing_file"``
    (manifest entry, or superseded copy in its history, without a file), ``"unrecorded"`` (a
    file or directory the manifest does not account for; never served) or ``"history"`` (the
    history log disagrees with the manifest). ``file`` is the path relative to the dataset.
    """

    partition: str
    kind: Literal["checksum", "missing_file", "unrecorded", "history"]
    expected_sha256: str | None
    actual_sha256: str | None
    file: str | None = field(default=None)


def view_name(layer: str, dataset: str) -> str:
    """DuckDB view of ``<layer>/<dataset>``: ``<layer>_<dataset>``, or ``<dataset>`` if prefixed.

    Examples
    --------
    >>> view_name("raw", "raw_bars"), view_name("curated", "adjusted_prices")
    ('raw_bars', 'curated_adjusted_prices')
    """
    return dataset if dataset.startswith(f"{layer}_") else f"{layer}_{dataset}"


def _partition_key(partition: Any) -> str:
    stamp = pd.Timestamp(partition)
    if pd.isna(stamp):
        raise ValueError(f"partition must be a date, got {partition!r}")
    if stamp.tzinfo is not None:
        raise ValueError(f"partition must be a tz-naive session date, got {stamp}")
    if stamp != stamp.normalize():
        raise ValueError(f"partition must be a date at midnight, got {stamp}")
    return stamp.strftime("%Y-%m-%d")


def _check_name(kind: str, value: str) -> None:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValueError(f"{kind} must match {_NAME_RE.pattern} (lowercase letters, digits, '_'), got {value!r}")


def _arrow_table(df: pd.DataFrame) -> pa.Table:
    """Canonical Arrow table of ``df``: no index, ns timestamps, typed empty object columns."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if not df.columns.is_unique:
        raise ValueError(f"df has duplicate column names: {df.columns[df.columns.duplicated()]}")
    non_str = [c for c in df.columns if not isinstance(c, str)]
    if non_str:
        raise ValueError(f"column names must be strings, got {non_str}")
    to_ns = {}
    for col, dtype in df.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype) and dtype.unit != "ns":
            to_ns[col] = pd.DatetimeTZDtype("ns", dtype.tz)
        elif isinstance(dtype, np.dtype) and dtype.kind == "M" and dtype != np.dtype("M8[ns]"):
            to_ns[col] = np.dtype("M8[ns]")
    if to_ns:
        df = df.astype(to_ns)
    schema = pa.Schema.from_pandas(df, preserve_index=False)
    fields = [pa.field(field.name, pa.string()) if pa.types.is_null(field.type) else field for field in schema]
    return pa.Table.from_pandas(df, schema=pa.schema(fields), preserve_index=False, safe=True)


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """Serialise ``df`` to deterministic Parquet bytes (the store's on-disk format).

    The index is dropped, timestamps are stored in nanoseconds and all-null object columns are
    typed ``string``; the only metadata are the Arrow schema and pandas' dtype description (no
    wall-clock time), so equal frames give byte-identical output for a given pyarrow/pandas
    installation and round-trip with their dtypes (nullable integers, categoricals, tz).

    Examples
    --------
    >>> df = pd.DataFrame({"symbol": ["S0001"], "close": [10.0]})
    >>> parquet_bytes(df) == parquet_bytes(df.copy())
    True
    """
    return _table_bytes(_arrow_table(df))


def _table_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=max(table.num_rows, 1), **_WRITER_OPTIONS)
    return sink.getvalue()


def _sliceable(table: pa.Table, df: pd.DataFrame) -> bool:
    """Whether slices of ``table`` serialise exactly like the converted slices of ``df``.

    True when every object column converted to ``string``: Arrow types then depend only on
    the pandas dtypes, never on which rows a slice holds.
    """
    return all(
        table.schema.field(col).type == pa.string()
        for col, dtype in df.dtypes.items()
        if pd.api.types.is_object_dtype(dtype)
    )


def _now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _part_rel(key: str) -> str:
    """Path of a partition's file relative to its dataset directory."""
    return f"{_PARTITION_PREFIX}{key}/{PART_FILE}"


def _superseded_name(sha: str) -> str:
    return f"part.{sha[:12]}.superseded.parquet"


def _empty_manifest(layer: str, dataset: str) -> dict[str, Any]:
    return {"format": _FORMAT, "layer": layer, "dataset": dataset, "partitions": {}}


def _open_lock(path: Path) -> int | None:
    """A descriptor to ``flock`` on (created if possible); ``None`` in a read-only, lockless dataset."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:
        try:
            return os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None


@dataclass(frozen=True)
class _Pending:
    key: str
    data: bytes
    sha256: str
    rows: int


class ParquetStore:
    """Partitioned, checksummed, point-in-time Parquet store.

    Parameters
    ----------
    root : path-like
        Root directory (created on first write).
    sessions : callable, optional
        ``sessions(start, end) -> sequence of dates``: the store's calendar (normally the XNYS
        sessions). Writes reject partitions that are not sessions, and :meth:`read_window`
        reports missing sessions when no explicit ``expected`` list is given.
    durable : bool, default True
        fsync every file and its directory (survives power loss). ``False`` keeps writes
        atomic and crash-safe for killed processes but skips the fsyncs, which dominate the
        cost of small partitions (useful for tests and throw-away stores).

    Examples
    --------
    >>> import tempfile
    >>> store = ParquetStore(tempfile.mkdtemp())
    >>> df = pd.DataFrame({"date": pd.to_datetime(["2024-01-02"]), "x": [1.0]})
    >>> store.write_partition("raw", "demo", "2024-01-02", df, immutable=True).status
    'written'
    >>> store.write_partition("raw", "demo", "2024-01-02", df, immutable=True).status
    'unchanged'
    >>> store.read_window("raw", "demo", "2024-01-02", "2024-01-02",
    ...                   expected=["2024-01-02"])["x"].tolist()
    [1.0]
    >>> store.verify("raw", "demo")
    []
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        sessions: Callable[[pd.Timestamp, pd.Timestamp], Sequence[Any]] | None = None,
        durable: bool = True,
    ) -> None:
        if sessions is not None and not callable(sessions):
            raise TypeError("sessions must be a callable (start, end) -> dates, or None")
        self.root = Path(root)
        self.sessions = sessions
        self.durable = bool(durable)

    # ------------------------------------------------------------------ paths
    def dataset_dir(self, layer: str, dataset: str) -> Path:
        """Directory of ``<layer>/<dataset>``."""
        _check_name("layer", layer)
        _check_name("dataset", dataset)
        return self.root / layer / dataset

    def partition_path(self, layer: str, dataset: str, partition: Any) -> Path:
        """Path of a partition's ``part.parquet`` (whether or not it exists)."""
        return self.dataset_dir(layer, dataset) / _part_rel(_partition_key(partition))

    # ---------------------------------------------------------- locks, state
    @contextmanager
    def _locked(self, layer: str, dataset: str) -> Iterator[Path]:
        """Exclusive lock of a dataset (created if needed), yielding its directory."""
        directory = self.dataset_dir(layer, dataset)
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield directory
        finally:
            os.close(fd)

    @contextmanager
    def _shared(self, layer: str, dataset: str) -> Iterator[dict[str, Any]]:
        """Shared lock of a dataset, yielding its committed manifest.

        A write that was committed but not fully applied (its process was killed) is finished
        first, under the exclusive lock.
        """
        directory = self.dataset_dir(layer, dataset)
        if not directory.exists():
            yield _empty_manifest(layer, dataset)
            return
        while True:
            fd = _open_lock(directory / _LOCK_FILE)
            try:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_SH)
                if not (directory / JOURNAL_FILE).exists():
                    yield self._load_manifest(layer, dataset)
                    return
            finally:
                if fd is not None:
                    os.close(fd)
            with self._locked(layer, dataset) as locked:
                self._recover(locked)

    def _load_manifest(self, layer: str, dataset: str) -> dict[str, Any]:
        directory = self.dataset_dir(layer, dataset)
        path = directory / MANIFEST_FILE
        try:
            doc = load_document(path, "manifest", legacy_keys=_LEGACY_MANIFEST_KEYS)
        except FileNotFoundError:
            if directory.exists() and (
                (directory / HISTORY_FILE).exists() or any(_KEY_RE.match(child.name) for child in directory.iterdir())
            ):
                raise StoreIntegrityError(
                    path,
                    "missing",
                    "the dataset holds partitions or history but no manifest; "
                    "restore it from a backup or run ParquetStore.rebuild_manifest",
                ) from None
            return _empty_manifest(layer, dataset)
        if (doc.get("layer"), doc.get("dataset")) != (layer, dataset) or not isinstance(doc.get("partitions"), dict):
            raise StoreIntegrityError(path, "foreign", f"not the manifest of {layer}/{dataset}")
        return doc

    def manifest(self, layer: str, dataset: str) -> dict[str, Any]:
        """The dataset's verified manifest (``{"partitions": {key: {...}}, ...}``); empty if none."""
        with self._shared(layer, dataset) as manifest:
            return manifest

    def _write_manifest(self, directory: Path, manifest: dict[str, Any]) -> None:
        atomic_write(
            directory / MANIFEST_FILE, dump_document(manifest), tmp_dir=directory / STAGING_DIR, durable=self.durable
        )

    def _recover(self, directory: Path) -> None:
        """Finish a committed write left by a killed process; drop uncommitted leftovers.

        Must hold the dataset's exclusive lock.
        """
        journal = directory / JOURNAL_FILE
        if journal.exists():
            self._apply(directory, load_document(journal, "journal"))
        staging = directory / STAGING_DIR
        if staging.exists():
            for child in staging.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()

    def _apply(self, directory: Path, journal: dict[str, Any]) -> None:
        """Apply a committed journal; idempotent, so a killed apply is simply repeated."""
        touched = []
        for action in journal["actions"]:
            part_dir = directory / f"{_PARTITION_PREFIX}{action['key']}"
            part = part_dir / PART_FILE
            staged = directory / action["staged"]
            if staged.exists():
                part_dir.mkdir(exist_ok=True)
                keep = part_dir / action["keep"] if action["keep"] else None
                if keep is not None and part.exists() and not keep.exists():
                    os.link(part, keep)  # the old bytes under a second name, never a copy
                os.replace(staged, part)
            elif check_file(part, action["sha256"], None) is not None:
                raise StoreIntegrityError(
                    staged,
                    "missing",
                    f"a committed write of {part} cannot be finished; delete "
                    f"{directory / JOURNAL_FILE} to abandon it, then run verify() and restore "
                    "or re-ingest what it reports",
                )
            for stale in part_dir.glob(".*.tmp"):  # left by earlier versions of the store
                stale.unlink()
            touched.append(part_dir)
        if self.durable:
            for part_dir in touched:
                fsync_dir(part_dir)
        append_line(directory / HISTORY_FILE, journal["log"], durable=self.durable)
        self._write_manifest(directory, journal["manifest"])
        (directory / JOURNAL_FILE).unlink()
        shutil.rmtree(directory / STAGING_DIR / journal["tx"], ignore_errors=True)
        if self.durable:
            fsync_dir(directory)

    def _check_sessions(self, name: str, keys: Sequence[str]) -> None:
        if self.sessions is None or not keys:
            return
        valid = {_partition_key(s) for s in self.sessions(pd.Timestamp(min(keys)), pd.Timestamp(max(keys)))}
        bad = sorted(set(keys) - valid)
        if bad:
            raise ValueError(
                f"{name}: partition(s) {bad[:10]} are not sessions of the store's calendar "
                "(weekends and holidays have no partition)"
            )

    # ----------------------------------------------------------------- writes
    def write_partition(
        self,
        layer: str,
        dataset: str,
        partition: Any,
        df: pd.DataFrame,
        *,
        immutable: bool,
        force: bool = False,
    ) -> WriteResult:
        """Write one partition atomically.

        Parameters
        ----------
        layer, dataset : str
            Lowercase identifiers, e.g. ``"raw"``, ``"bars"``.
        partition : date-like
            Session date (tz-naive, midnight); a session of the store's calendar if it has one.
        df : pandas.DataFrame
            Rows of the partition, stored exactly in the given column and row order.
        immutable : bool
            Raw-layer semantics: identical content is a no-op (or restores a missing or corrupt
            file), different content raises :class:`ImmutablePartitionError` and a recorded
            partition whose file is gone raises :class:`StoreIntegrityError`, unless ``force``.
        force : bool, default False
            Replace immutable content, keeping the old file as
            ``part.<oldsha[:12]>.superseded.parquet`` and its checksum in the history.

        Returns
        -------
        WriteResult
        """
        key = _partition_key(partition)
        self._check_sessions(f"{layer}/{dataset}", [key])
        data = parquet_bytes(df)
        pending = _Pending(key, data, sha256(data), len(df))
        return self._commit(layer, dataset, [pending], immutable=immutable, force=force)[0]

    def write_window(
        self,
        layer: str,
        dataset: str,
        df: pd.DataFrame,
        date_col: str,
        partitions: Sequence[Any],
        *,
        immutable: bool,
        force: bool = False,
    ) -> list[WriteResult]:
        """Split ``df`` by ``date_col`` and write every listed partition in one commit.

        Partitions without rows are written as empty files (same columns), so "no rows that
        session" is distinguishable from "not ingested". All partitions are serialised and, for
        immutable datasets, checked for conflicts before any file is written, and they are
        committed together: a rejected or interrupted window leaves the store unchanged (or,
        once committed, is finished by the next reader or writer).

        Parameters
        ----------
        layer, dataset : str
            Target dataset.
        df : pandas.DataFrame
            Rows of the whole window.
        date_col : str
            Column holding each row's partition date (tz-naive, midnight).
        partitions : sequence of date-like
            The partitions the window covers; every row's date must be one of them, and each
            must be a session of the store's calendar if it has one.
        immutable, force : bool
            As in :meth:`write_partition`.

        Returns
        -------
        list of WriteResult
            One per partition, in ascending partition order.
        """
        if date_col not in df.columns:
            raise ValueError(f"date_col {date_col!r} is not a column of df")
        keys = sorted({_partition_key(p) for p in partitions})
        if len(keys) != len(list(partitions)):
            raise ValueError("partitions contains duplicates")
        self._check_sessions(f"{layer}/{dataset}", keys)
        dates = pd.to_datetime(df[date_col])
        if dates.dt.tz is not None:
            raise ValueError(f"{date_col} must be tz-naive session dates")
        bad_na = df.index[dates.isna()].tolist()
        if bad_na:
            raise ValueError(f"{date_col} is missing at rows {bad_na[:10]}")
        not_midnight = df.index[dates != dates.dt.normalize()].tolist()
        if not_midnight:
            raise ValueError(f"{date_col} is not a midnight date at rows {not_midnight[:10]}")
        allowed = pd.DatetimeIndex(pd.to_datetime(keys))
        outside = ~dates.isin(allowed)
        if outside.any():
            raise ValueError(
                f"{date_col} values outside the listed partitions at rows "
                f"{df.index[outside].tolist()[:10]} (e.g. {dates[outside].iloc[0].date()})"
            )
        codes = allowed.get_indexer(dates)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
        table = _arrow_table(df)
        sliceable = _sliceable(table, df)
        pending = []
        for i, key in enumerate(keys):
            rows = order[bounds[i] : bounds[i + 1]]
            part = table.take(rows) if sliceable else _arrow_table(df.iloc[rows])
            data = _table_bytes(part)
            pending.append(_Pending(key, data, sha256(data), len(rows)))
        return self._commit(layer, dataset, pending, immutable=immutable, force=force)

    def _commit(
        self,
        layer: str,
        dataset: str,
        pending: list[_Pending],
        *,
        immutable: bool,
        force: bool,
    ) -> list[WriteResult]:
        """Check, stage, journal (the commit point) and apply the writes of ``pending``."""
        name = f"{layer}/{dataset}"
        with self._locked(layer, dataset) as directory:
            self._recover(directory)
            manifest = copy.deepcopy(self._load_manifest(layer, dataset))
            legacy = "format" not in manifest
            entries: dict[str, Any] = manifest["partitions"]
            now = _now_utc()
            results, writes, changes = [], [], {}
            for item in pending:
                path = directory / _part_rel(item.key)
                entry = entries.get(item.key)
                history = list((entry or {}).get("history", []))
                keep = None
                if entry is None:
                    if path.exists() and immutable and not force:
                        raise StoreIntegrityError(
                            path,
                            "unrecorded",
                            f"{name} partition {item.key} holds a file its "
                            "manifest does not record; remove it or write with force=True",
                        )
                    status: WriteStatus = "written"
                else:
                    problem = check_file(path, entry["sha256"], entry.get("size"))
                    if entry["sha256"] == item.sha256:
                        if problem is None:
                            results.append(WriteResult(path, item.sha256, item.rows, "unchanged"))
                            continue
                        status = "restored"
                    else:
                        if immutable and not force:
                            if problem == "missing":
                                raise StoreIntegrityError(
                                    path,
                                    "missing",
                                    f"{name} partition {item.key} is immutable "
                                    f"and recorded with sha256 {entry['sha256']}; restore the "
                                    "file, re-ingest identical content or write with force=True",
                                )
                            raise ImmutablePartitionError(name, item.key, entry["sha256"], item.sha256)
                        keep = _superseded_name(entry["sha256"]) if immutable and not problem else None
                        old = {
                            "sha256": entry["sha256"],
                            "size": entry.get("size"),
                            "rows": entry.get("rows"),
                            "superseded_at": now,
                            "file": keep,
                        }
                        if problem:
                            old["problem"] = problem
                        history.append(old)
                        status = "replaced"
                new = {
                    "sha256": item.sha256,
                    "size": len(item.data),
                    "rows": item.rows,
                    "file": _part_rel(item.key),
                    "written_at": now,
                }
                if history:
                    new["history"] = history
                entries[item.key] = changes[item.key] = new
                writes.append((item, keep))
                results.append(WriteResult(path, item.sha256, item.rows, status))
            if writes:
                self._stage_and_apply(directory, manifest, writes, entries if legacy else changes, now)
        return results

    def _stage_and_apply(
        self,
        directory: Path,
        manifest: dict[str, Any],
        writes: list[tuple[_Pending, str | None]],
        changes: dict[str, Any],
        now: str,
    ) -> None:
        tx = secrets.token_hex(8)
        stage = directory / STAGING_DIR / tx
        stage.mkdir(parents=True)
        try:
            actions = []
            for item, keep in writes:
                write_new(stage / f"{item.key}.parquet", item.data, durable=self.durable)
                actions.append(
                    {
                        "key": item.key,
                        "sha256": item.sha256,
                        "keep": keep,
                        "staged": f"{STAGING_DIR}/{tx}/{item.key}.parquet",
                    }
                )
            if self.durable:
                fsync_dir(stage)
                fsync_dir(stage.parent)
            manifest.update(format=_FORMAT, tx=tx)
            journal = {
                "tx": tx,
                "actions": actions,
                "manifest": manifest,
                "log": {"tx": tx, "at": now, "changes": changes},
            }
            atomic_write(
                directory / JOURNAL_FILE,
                dump_document(journal, indent=None),
                tmp_dir=directory / STAGING_DIR,
                durable=self.durable,
            )
        except BaseException:
            if not (directory / JOURNAL_FILE).exists():
                shutil.rmtree(stage, ignore_errors=True)
            raise
        self._apply(directory, journal)

    def rebuild_manifest(self, layer: str, dataset: str) -> int:
        """Rewrite a lost or damaged manifest from the history log; returns the partition count.

        Run :meth:`verify` afterwards: files that were lost with the manifest still need to be
        restored or re-ingested.
        """
        with self._locked(layer, dataset) as directory:
            self._recover(directory)
            entries: dict[str, Any] = {}
            for doc in read_lines(directory / HISTORY_FILE, "history log"):
                entries.update(doc["changes"])
            manifest = {**_empty_manifest(layer, dataset), "partitions": entries, "tx": "rebuilt"}
            self._write_manifest(directory, manifest)
        return len(entries)

    # ------------------------------------------------------------------ reads
    def partitions(self, layer: str, dataset: str) -> list[pd.Timestamp]:
        """Committed partitions (those the manifest records), ascending."""
        with self._shared(layer, dataset) as manifest:
            return [pd.Timestamp(k) for k in sorted(manifest["partitions"])]

    def read_window(
        self,
        layer: str,
        dataset: str,
        start: Any,
        end: Any,
        columns: Sequence[str] | None = None,
        *,
        expected: Sequence[Any] | None = None,
        allow_missing: bool = False,
    ) -> pd.DataFrame:
        """Concatenate the committed partitions in ``[start, end]``, ascending, verified.

        Every file is checked against the manifest's size and sha256 before it is decoded.

        Parameters
        ----------
        layer, dataset : str
            Source dataset.
        start, end : date-like
            Inclusive window.
        columns : sequence of str, optional
            Columns to read (all if omitted).
        expected : sequence of date-like, optional
            Partitions that must exist in the window; defaults to the store's ``sessions``
            callable. Without either, ``allow_missing=True`` is required (absence cannot be
            detected otherwise).
        allow_missing : bool, default False
            Read what exists instead of raising :class:`MissingPartitionsError`.

        Returns
        -------
        pandas.DataFrame
            Rows of all partitions with a fresh ``RangeIndex``.

        Raises
        ------
        StoreIntegrityError
            A file (or the manifest) is missing, corrupt or foreign; the message names it.
        """
        lo, hi = _partition_key(start), _partition_key(end)
        if lo > hi:
            raise ValueError(f"start {lo} is after end {hi}")
        directory = self.dataset_dir(layer, dataset)
        with self._shared(layer, dataset) as manifest:
            entries = manifest["partitions"]
            stored = sorted(k for k in entries if lo <= k <= hi)
            if not allow_missing:
                if expected is None:
                    if self.sessions is None:
                        raise ValueError(
                            "read_window cannot detect missing partitions without the expected "
                            "sessions: pass expected=..., construct ParquetStore(sessions=...), "
                            "or pass allow_missing=True"
                        )
                    expected = self.sessions(pd.Timestamp(lo), pd.Timestamp(hi))
                want = {k for k in map(_partition_key, expected) if lo <= k <= hi}
                missing = sorted(want - set(stored))
                if missing:
                    raise MissingPartitionsError(f"{layer}/{dataset}", missing)
            blobs = [
                read_verified(directory / _part_rel(k), entries[k]["sha256"], entries[k].get("size"), hint=_RECOVERY)
                for k in stored
            ]
        if not blobs:
            return pd.DataFrame(columns=list(columns) if columns is not None else [])
        cols = list(columns) if columns else None
        tables = [pq.read_table(pa.BufferReader(blob), columns=cols) for blob in blobs]
        return pa.concat_tables(tables, promote_options="permissive").to_pandas()

    def verify(self, layer: str, dataset: str) -> list[PartitionMismatch]:
        """Check every file and the history log against the manifest; empty means consistent.

        Finishes an interrupted write first. Reports recorded files (current and superseded)
        that are missing or differ, files and directories the manifest does not account for,
        and any disagreement between the history log and the manifest. Raises
        :class:`StoreIntegrityError` if the manifest itself is missing or corrupt.
        """
        with self._locked(layer, dataset) as directory:
            self._recover(directory)
            manifest = self._load_manifest(layer, dataset)
            entries = manifest["partitions"]
            recorded: dict[str, tuple[str, str, int | None]] = {}
            for key, entry in entries.items():
                recorded[_part_rel(key)] = (key, entry["sha256"], entry.get("size"))
                for old in entry.get("history", []):
                    if old.get("file"):
                        rel = f"{_PARTITION_PREFIX}{key}/{old['file']}"
                        recorded[rel] = (key, old["sha256"], old.get("size"))
            out = []
            for rel, (key, sha, size) in sorted(recorded.items()):
                problem = check_file(directory / rel, sha, size)
                if problem == "missing":
                    out.append(PartitionMismatch(key, "missing_file", sha, None, rel))
                elif problem:
                    out.append(PartitionMismatch(key, "checksum", sha, file_sha256(directory / rel), rel))
            out += self._unrecorded(directory, recorded)
            if "format" in manifest:
                out += self._history_mismatches(directory, entries)
        return out

    @staticmethod
    def _unrecorded(directory: Path, recorded: dict[str, Any]) -> list[PartitionMismatch]:
        out = []
        own = {MANIFEST_FILE, HISTORY_FILE, _LOCK_FILE, STAGING_DIR}
        for child in sorted(directory.iterdir()):
            match = _KEY_RE.match(child.name)
            if child.name in own:
                continue
            if match and child.is_dir() and any(child.iterdir()):
                for path in sorted(child.rglob("*")):
                    rel = path.relative_to(directory).as_posix()
                    if rel not in recorded:
                        actual = file_sha256(path) if path.is_file() else None
                        out.append(PartitionMismatch(match.group(1), "unrecorded", None, actual, rel))
            elif not (match and f"{child.name}/{PART_FILE}" in recorded):
                actual = file_sha256(child) if child.is_file() else None
                key = match.group(1) if match else ""
                out.append(PartitionMismatch(key, "unrecorded", None, actual, child.name))
        return out

    @staticmethod
    def _history_mismatches(directory: Path, entries: dict[str, Any]) -> list[PartitionMismatch]:
        state: dict[str, Any] = {}
        try:
            for doc in read_lines(directory / HISTORY_FILE, "history log"):
                state.update(doc["changes"])
        except FileNotFoundError:
            pass  # every recorded partition is then reported below
        except (StoreIntegrityError, KeyError, TypeError):
            return [PartitionMismatch("", "history", None, None, HISTORY_FILE)]
        return [
            PartitionMismatch(
                key,
                "history",
                (entries.get(key) or {}).get("sha256"),
                (state.get(key) or {}).get("sha256"),
                HISTORY_FILE,
            )
            for key in sorted(set(state) | set(entries))
            if state.get(key) != entries.get(key)
        ]

    # ----------------------------------------------------------------- duckdb
    def datasets(self) -> list[tuple[str, str]]:
        """``(layer, dataset)`` pairs that hold a manifest, history or partitions, sorted."""
        found: list[tuple[str, str]] = []
        if not self.root.exists():
            return found
        for layer_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if not _NAME_RE.match(layer_dir.name):
                continue
            for ds_dir in sorted(p for p in layer_dir.iterdir() if p.is_dir()):
                if _NAME_RE.match(ds_dir.name) and (
                    (ds_dir / MANIFEST_FILE).exists()
                    or (ds_dir / HISTORY_FILE).exists()
                    or any(_KEY_RE.match(c.name) for c in ds_dir.iterdir())
                ):
                    found.append((layer_dir.name, ds_dir.name))
        return found

    def committed_files(self, layer: str, dataset: str, *, verify: bool = True) -> list[Path]:
        """Absolute paths of the dataset's committed partition files, ascending.

        With ``verify`` every file's size and sha256 are checked against the manifest and a
        mismatch raises :class:`StoreIntegrityError` naming the file.
        """
        directory = self.dataset_dir(layer, dataset).resolve()
        with self._shared(layer, dataset) as manifest:
            entries = manifest["partitions"]
            files = []
            for key in sorted(entries):
                path = directory / _part_rel(key)
                if verify:
                    sha, size = entries[key]["sha256"], entries[key].get("size")
                    problem = check_file(path, sha, size)
                    if problem:
                        raise StoreIntegrityError(path, problem, f"the manifest records sha256 {sha}; {_RECOVERY}")
                files.append(path)
        return files

    def duckdb_connect(self, read_only: bool = True, database: str = ":memory:", *, verify: bool = True) -> Any:
        """DuckDB connection (in memory by default) with one view per dataset.

        The view is named by :func:`view_name` (``raw/raw_bars`` -> ``raw_bars``,
        ``curated/adjusted_prices`` -> ``curated_adjusted_prices``) and reads exactly the
        dataset's committed files (``hive_partitioning=false``: the partition date is a column
        inside each file; ``union_by_name=true``), so strays, superseded copies and uncommitted
        files are never counted. With ``verify`` (default) every file is checked against the
        manifest before the view is created and a mismatch raises
        :class:`StoreIntegrityError` naming the file; the check is as of connecting. With
        ``read_only=True`` the connection may only touch files under the store root and its
        configuration is locked.

        Returns
        -------
        duckdb.DuckDBPyConnection
        """
        import duckdb

        con = duckdb.connect(database)
        try:
            self._create_views(con, self.datasets(), verify=verify)
            if read_only:
                quoted = (str(self.root.resolve()).rstrip("/") + "/").replace("'", "''")
                con.execute(f"SET allowed_directories = ['{quoted}']")
                con.execute("SET enable_external_access = false")
                con.execute("SET lock_configuration = true")
        except BaseException:
            con.close()
            raise
        return con

    def _create_views(self, con: Any, datasets: Sequence[tuple[str, str]], *, verify: bool) -> None:
        for layer, dataset in datasets:
            files = self.committed_files(layer, dataset, verify=verify)
            view = view_name(layer, dataset)
            if not files:
                con.execute(f'DROP VIEW IF EXISTS "{view}"')
                continue
            listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            con.execute(
                f'CREATE OR REPLACE VIEW "{view}" AS SELECT * FROM '
                f"read_parquet([{listing}], hive_partitioning = false, union_by_name = true)"
            )

    def write_duckdb_catalog(
        self,
        path: str | os.PathLike[str],
        *,
        verify: bool = True,
        datasets: Sequence[tuple[str, str]] | None = None,
    ) -> Path:
        """Persist the views of :meth:`duckdb_connect` in a DuckDB file (atomically replaced).

        The file holds only view definitions over the committed Parquet files, so any DuckDB
        client (``duckdb <path>``, ``dagster_duckdb.DuckDBResource``) queries the store as of
        this call; rewrite it after writes to keep it current.

        Parameters
        ----------
        path : path-like
            The catalog file.
        verify : bool, default True
            Check the files of the (re)written views against their manifests first. Clients of
            the catalog read the files later without checks.
        datasets : sequence of (layer, dataset), optional
            Refresh only these views of an existing catalog (binding a view reads the footer of
            each of its files, so a full rewrite costs more as the store grows); default all.
        """
        import duckdb

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            for stale in path.parent.glob(f".{path.name}.*.tmp*"):
                stale.unlink()
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
            try:
                if datasets is not None and path.exists():
                    shutil.copyfile(path, tmp)
                else:
                    datasets = self.datasets()
                con = duckdb.connect(str(tmp))
                try:
                    self._create_views(con, datasets, verify=verify)
                finally:
                    con.close()
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
                Path(f"{tmp}.wal").unlink(missing_ok=True)
        finally:
            os.close(fd)
        return path
