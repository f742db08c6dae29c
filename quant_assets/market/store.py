"""Point-in-time partitioned Parquet store with a checksum manifest.

Layout::

    <root>/<layer>/<dataset>/date=YYYY-MM-DD/part.parquet
    <root>/<layer>/<dataset>/date=YYYY-MM-DD/part.<oldsha[:12]>.superseded.parquet   (forced)
    <root>/<layer>/<dataset>/_manifest.json        partition -> sha256, rows, history
    <root>/<layer>/<dataset>/.lock                 fcntl lock serialising manifest updates

Guarantees
----------
* **Deterministic bytes.** A frame is converted to Arrow without its index, timestamps
  coerced to nanoseconds and empty object columns typed as strings, then written with fixed
  writer options (zstd level 3, dictionary encoding, statistics, one row group). The same frame
  therefore always produces the same file, so replaying a session reproduces identical hashes.
  Wall-clock time appears only in the manifest, never in Parquet bytes.
* **Atomic writes.** Content goes to a temporary file in the partition directory, is fsynced
  (unless the store was opened with ``durable=False``) and moved into place with
  :func:`os.replace`; the manifest is rewritten the same way under an
  exclusive ``fcntl`` lock, so concurrent writers of different partitions cannot corrupt it.
* **Immutability.** In an immutable (raw) dataset, re-writing identical content is a no-op and
  different content raises :class:`~quant_assets.market.errors.ImmutablePartitionError`
  unless forced, in which case the old file is kept beside the new one and the manifest records
  the history. Curated datasets are written with ``immutable=False`` and overwritten atomically.
* **Explicit absence.** :meth:`ParquetStore.write_window` writes an (empty) file for every
  listed partition, so "no events that session" differs from "not ingested".
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from quant_assets.market.errors import ImmutablePartitionError, MissingPartitionsError

__all__ = [
    "ParquetStore",
    "PartitionMismatch",
    "WriteResult",
    "parquet_bytes",
]

PART_FILE = "part.parquet"
MANIFEST_FILE = "_manifest.json"
_LOCK_FILE = ".lock"
_PARTITION_PREFIX = "date="
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_KEY_RE = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")

_WRITER_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "store_schema": True,
}

WriteStatus = Literal["written", "unchanged", "replaced"]


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
    status : {"written", "unchanged", "replaced"}
        ``written``: new partition; ``unchanged``: identical content already stored (no-op);
        ``replaced``: different content replaced the old file.
    """

    path: Path
    sha256: str
    rows: int
    status: WriteStatus


@dataclass(frozen=True)
class PartitionMismatch:
    """A disagreement between the manifest and the files found by :meth:`ParquetStore.verify`.

    ``kind`` is ``"checksum"`` (file hash differs from the manifest), ``"missing_file"``
    (manifest entry without a file) or ``"unrecorded"`` (file without a manifest entry).
    """

    partition: str
    kind: Literal["checksum", "missing_file", "unrecorded"]
    expected_sha256: str | None
    actual_sha256: str | None


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
        raise ValueError(
            f"{kind} must match {_NAME_RE.pattern} (lowercase letters, digits, '_'), got {value!r}"
        )


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
    fields = [
        pa.field(field.name, pa.string()) if pa.types.is_null(field.type) else field
        for field in schema
    ]
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
        for col, dtype in df.dtypes.items() if pd.api.types.is_object_dtype(dtype)
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and rename it.

    With ``durable`` the temp file is fsynced before the rename and the directory after it,
    so the new content survives a power loss; the rename is atomic either way.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_dir(path.parent)


def _now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


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
        ``sessions(start, end) -> sequence of dates``: the partitions expected in a window
        (normally the XNYS sessions). Used by :meth:`read_window` to report missing
        partitions when no explicit ``expected`` list is given.
    durable : bool, default True
        fsync every file and its directory around the atomic rename (survives power loss).
        ``False`` keeps writes atomic but skips the fsyncs, which dominate the cost of small
        partitions (useful for tests and throw-away stores).

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
        key = _partition_key(partition)
        return self.dataset_dir(layer, dataset) / f"{_PARTITION_PREFIX}{key}" / PART_FILE

    @contextmanager
    def _locked(self, layer: str, dataset: str) -> Iterator[Path]:
        directory = self.dataset_dir(layer, dataset)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / _LOCK_FILE, "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield directory
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def manifest(self, layer: str, dataset: str) -> dict[str, Any]:
        """The dataset's manifest (``{"partitions": {key: {...}}}``); empty if none."""
        path = self.dataset_dir(layer, dataset) / MANIFEST_FILE
        if not path.exists():
            return {"layer": layer, "dataset": dataset, "partitions": {}}
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def _write_manifest(self, layer: str, dataset: str, manifest: dict[str, Any]) -> None:
        payload = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
        _atomic_write(self.dataset_dir(layer, dataset) / MANIFEST_FILE, payload,
                      durable=self.durable)

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
            Session date (tz-naive, midnight).
        df : pandas.DataFrame
            Rows of the partition, stored exactly in the given column and row order.
        immutable : bool
            Raw-layer semantics: identical content is a no-op, different content raises
            :class:`ImmutablePartitionError` unless ``force``.
        force : bool, default False
            Replace different immutable content, keeping the old file as
            ``part.<oldsha[:12]>.superseded.parquet``.

        Returns
        -------
        WriteResult
        """
        key = _partition_key(partition)
        data = parquet_bytes(df)
        pending = _Pending(key, data, _sha256(data), len(df))
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
        """Split ``df`` by ``date_col`` and write every listed partition.

        Partitions without rows are written as empty files (same columns), so "no rows that
        session" is distinguishable from "not ingested". All partitions are serialised and, for
        immutable datasets, checked for conflicts before any file is written: a rejected window
        leaves the store unchanged.

        Parameters
        ----------
        layer, dataset : str
            Target dataset.
        df : pandas.DataFrame
            Rows of the whole window.
        date_col : str
            Column holding each row's partition date (tz-naive, midnight).
        partitions : sequence of date-like
            The partitions the window covers; every row's date must be one of them.
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
            rows = order[bounds[i]:bounds[i + 1]]
            part = table.take(rows) if sliceable else _arrow_table(df.iloc[rows])
            data = _table_bytes(part)
            pending.append(_Pending(key, data, _sha256(data), len(rows)))
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
        name = f"{layer}/{dataset}"
        with self._locked(layer, dataset) as directory:
            manifest = self.manifest(layer, dataset)
            entries: dict[str, Any] = manifest.setdefault("partitions", {})
            existing: dict[str, str | None] = {}
            for item in pending:
                path = directory / f"{_PARTITION_PREFIX}{item.key}" / PART_FILE
                old = _file_sha256(path) if path.exists() else None
                existing[item.key] = old
                if immutable and old is not None and old != item.sha256 and not force:
                    raise ImmutablePartitionError(name, item.key, old, item.sha256)
            results = []
            now = _now_utc()
            changed = False
            for item in pending:
                path = directory / f"{_PARTITION_PREFIX}{item.key}" / PART_FILE
                old = existing[item.key]
                entry = entries.get(item.key)
                if old == item.sha256:
                    if entry is None or entry.get("sha256") != old:
                        entries[item.key] = self._entry(item, path, now, entry)
                        changed = True
                    results.append(WriteResult(path, item.sha256, item.rows, "unchanged"))
                    continue
                history = list((entry or {}).get("history", []))
                if old is not None and immutable:
                    # keep the old bytes under a second name; part.parquet itself is only
                    # ever swapped atomically, so readers never find it missing
                    kept = path.with_name(f"part.{old[:12]}.superseded.parquet")
                    if not kept.exists():
                        os.link(path, kept)
                    history.append(
                        {"sha256": old, "superseded_at": now, "file": kept.name,
                         "rows": (entry or {}).get("rows")}
                    )
                _atomic_write(path, item.data, durable=self.durable)
                entries[item.key] = self._entry(item, path, now, {"history": history})
                changed = True
                status: WriteStatus = "written" if old is None else "replaced"
                results.append(WriteResult(path, item.sha256, item.rows, status))
            if changed:
                manifest["layer"], manifest["dataset"] = layer, dataset
                self._write_manifest(layer, dataset, manifest)
        return results

    @staticmethod
    def _entry(
        item: _Pending, path: Path, now: str, previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "sha256": item.sha256,
            "rows": item.rows,
            "file": f"{path.parent.name}/{path.name}",
            "written_at": now,
        }
        history = (previous or {}).get("history")
        if history:
            entry["history"] = history
        return entry

    # ------------------------------------------------------------------ reads
    def partitions(self, layer: str, dataset: str) -> list[pd.Timestamp]:
        """Stored partitions (those with a ``part.parquet``), ascending."""
        directory = self.dataset_dir(layer, dataset)
        if not directory.exists():
            return []
        keys = []
        for child in directory.iterdir():
            match = _KEY_RE.match(child.name)
            if match and (child / PART_FILE).exists():
                keys.append(match.group(1))
        return [pd.Timestamp(k) for k in sorted(keys)]

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
        """Concatenate the partitions in ``[start, end]``, ascending.

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
        """
        lo, hi = pd.Timestamp(_partition_key(start)), pd.Timestamp(_partition_key(end))
        if lo > hi:
            raise ValueError(f"start {lo.date()} is after end {hi.date()}")
        stored = [p for p in self.partitions(layer, dataset) if lo <= p <= hi]
        if not allow_missing:
            if expected is None:
                if self.sessions is None:
                    raise ValueError(
                        "read_window cannot detect missing partitions without the expected "
                        "sessions: pass expected=..., construct ParquetStore(sessions=...), "
                        "or pass allow_missing=True"
                    )
                expected = self.sessions(lo, hi)
            want = {_partition_key(p) for p in expected if lo <= pd.Timestamp(p) <= hi}
            have = {_partition_key(p) for p in stored}
            missing = sorted(want - have)
            if missing:
                raise MissingPartitionsError(f"{layer}/{dataset}", missing)
        paths = [self.partition_path(layer, dataset, p) for p in stored]
        if not paths:
            return pd.DataFrame(columns=list(columns) if columns is not None else [])
        tables = [pq.read_table(path, columns=list(columns) if columns else None)
                  for path in paths]
        table = pa.concat_tables(tables, promote_options="permissive")
        return table.to_pandas()

    def verify(self, layer: str, dataset: str) -> list[PartitionMismatch]:
        """Re-hash every stored file against the manifest; empty list means consistent."""
        entries = self.manifest(layer, dataset).get("partitions", {})
        mismatches: list[PartitionMismatch] = []
        on_disk = {_partition_key(p) for p in self.partitions(layer, dataset)}
        for key in sorted(set(entries) | on_disk):
            expected = entries.get(key, {}).get("sha256")
            path = self.partition_path(layer, dataset, key)
            actual = _file_sha256(path) if key in on_disk else None
            if expected is None:
                mismatches.append(PartitionMismatch(key, "unrecorded", None, actual))
            elif actual is None:
                mismatches.append(PartitionMismatch(key, "missing_file", expected, None))
            elif actual != expected:
                mismatches.append(PartitionMismatch(key, "checksum", expected, actual))
        return mismatches

    # ----------------------------------------------------------------- duckdb
    def datasets(self) -> list[tuple[str, str]]:
        """``(layer, dataset)`` pairs holding at least one stored partition, sorted."""
        found = []
        if not self.root.exists():
            return found
        for layer_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if not _NAME_RE.match(layer_dir.name):
                continue
            for ds_dir in sorted(p for p in layer_dir.iterdir() if p.is_dir()):
                if _NAME_RE.match(ds_dir.name) and any(ds_dir.glob(f"*/{PART_FILE}")):
                    found.append((layer_dir.name, ds_dir.name))
        return found

    def duckdb_connect(self, read_only: bool = True, database: str = ":memory:") -> Any:
        """DuckDB connection (in memory by default) with one view per dataset.

        The view is named ``<layer>_<dataset>`` (just ``<dataset>`` when the dataset name
        already starts with ``<layer>_``, e.g. ``raw/raw_bars`` -> ``raw_bars``).

        Each view reads ``<root>/<layer>/<dataset>/*/part.parquet`` with
        ``hive_partitioning=false`` (the partition date is a column inside each file, so no
        clashing directory column is added) and ``union_by_name=true``; superseded copies are
        not matched. With ``read_only=True`` the connection may only touch files under the
        store root and its configuration is locked.

        Returns
        -------
        duckdb.DuckDBPyConnection
        """
        import duckdb

        con = duckdb.connect(database)
        root = str(self.root.resolve())
        for layer, dataset in self.datasets():
            pattern = f"{root}/{layer}/{dataset}/*/{PART_FILE}".replace("'", "''")
            view = dataset if dataset.startswith(f"{layer}_") else f"{layer}_{dataset}"
            con.execute(
                f'CREATE OR REPLACE VIEW "{view}" AS SELECT * FROM read_parquet('
                f"'{pattern}', hive_partitioning = false, union_by_name = true)"
            )
        if read_only:
            quoted = (root.rstrip("/") + "/").replace("'", "''")
            con.execute(f"SET allowed_directories = ['{quoted}']")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        return con

    def write_duckdb_catalog(self, path: str | os.PathLike[str]) -> Path:
        """Persist the views of :meth:`duckdb_connect` in a DuckDB file (atomically replaced).

        The file holds only view definitions over the Parquet files, so any DuckDB client
        (``duckdb <path>``, ``dagster_duckdb.DuckDBResource``) queries the current store.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        self.duckdb_connect(read_only=False, database=str(tmp)).close()
        os.replace(tmp, path)
        return path
