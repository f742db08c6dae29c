"""File primitives of the Parquet store: hashing, crash-safe writes, self-checksummed JSON.

Everything here either completes or leaves a temporary file that the store's recovery deletes,
and every read of a stored document checks its checksum and raises
:class:`StoreIntegrityError` naming the file when it fails.
Created files get mode ``0o666`` minus the process umask (:func:`tempfile.mkstemp` would give
``0o600`` whatever the umask).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "StoreIntegrityError",
    "append_line",
    "atomic_write",
    "check_file",
    "dump_document",
    "file_sha256",
    "fsync_dir",
    "load_document",
    "read_lines",
    "read_verified",
    "sha256",
    "write_new",
]

_CHECKSUM = "checksum"


class StoreIntegrityError(RuntimeError):
    """A stored file is missing, corrupt or foreign: the store refuses to serve it.

    Parameters
    ----------
    path : path-like
        The offending file (a partition's Parquet file, a manifest, the history log, ...).
    problem : str
        A short reason code: ``"missing"``, ``"size"``, ``"checksum"``, ``"unreadable"``,
        ``"unrecorded"``.
    detail : str, optional
        What was expected and how to recover.

    Examples
    --------
    >>> str(StoreIntegrityError("/s/raw/bars/date=2024-07-01/part.parquet", "checksum"))
    '/s/raw/bars/date=2024-07-01/part.parquet: checksum'
    """

    def __init__(self, path: Any, problem: str, detail: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        self.detail = detail
        super().__init__(f"{self.path}: {problem}{f' ({detail})' if detail else ''}")


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    """fsync a directory, making renames and unlinks inside it durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_new(path: Path, data: bytes, *, durable: bool) -> None:
    """Create ``path`` (which must not exist) holding ``data``; fsync it when ``durable``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        _write_all(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, tmp_dir: Path, durable: bool) -> None:
    """Replace ``path`` with ``data`` through a temporary file in ``tmp_dir`` and a rename.

    ``tmp_dir`` must be on the same file system; leftovers of a killed write stay there for
    the store's recovery to delete. With ``durable`` the file and ``path``'s directory are
    fsynced, so the new content survives a power loss; the rename is atomic either way.
    """
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f"{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        write_new(tmp, data, durable=durable)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def _digest(doc: Mapping[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != _CHECKSUM}
    return sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def dump_document(doc: Mapping[str, Any], *, indent: int | None = 1) -> bytes:
    """JSON bytes of ``doc`` with a ``checksum`` key over the rest of it."""
    sealed = {**{k: v for k, v in doc.items() if k != _CHECKSUM}, _CHECKSUM: _digest(doc)}
    return json.dumps(sealed, indent=indent, sort_keys=True).encode("utf-8")


def _parse(path: Path, data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreIntegrityError(path, "unreadable", f"{what} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise StoreIntegrityError(path, "unreadable", f"{what} is not a JSON object")
    return doc


def load_document(path: Path, what: str, *, legacy_keys: frozenset[str] = frozenset()) -> dict:
    """Parse a document written by :func:`dump_document`, checking its checksum.

    A document whose keys are exactly ``legacy_keys`` predates checksums and is accepted as is
    (it gains one on its next rewrite). Raises ``FileNotFoundError`` if ``path`` is absent and
    :class:`StoreIntegrityError` naming it if it is unreadable or its checksum fails.
    """
    doc = _parse(path, path.read_bytes(), what)
    if legacy_keys and set(doc) == legacy_keys:
        return doc
    if doc.get(_CHECKSUM) != _digest(doc):
        raise StoreIntegrityError(path, "checksum", f"{what} does not match its own checksum")
    del doc[_CHECKSUM]
    return doc


def _drop_partial_tail(handle: Any) -> None:
    """Truncate an append-only file opened ``r+b`` back to its last complete line."""
    size = handle.seek(0, os.SEEK_END)
    end = size
    while end > 0:
        start = max(0, end - 65536)
        handle.seek(start)
        block = handle.read(end - start)
        if end == size and block.endswith(b"\n"):
            return
        cut = block.rfind(b"\n")
        if cut >= 0:
            handle.truncate(start + cut + 1)
            return
        end = start
    handle.truncate(0)


def append_line(path: Path, doc: Mapping[str, Any], *, durable: bool) -> None:
    """Append ``doc`` as one self-checksummed JSON line to the log at ``path``.

    A partial last line (an append cut short by a killed process) is dropped first.
    """
    line = dump_document(doc, indent=None) + b"\n"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    with os.fdopen(fd, "r+b", buffering=0) as handle:
        _drop_partial_tail(handle)
        handle.seek(0, os.SEEK_END)
        _write_all(fd, line)
        if durable:
            os.fsync(fd)


def read_lines(path: Path, what: str) -> Iterator[dict[str, Any]]:
    """The documents of a log written by :func:`append_line`, checked line by line.

    A partial last line (no newline) is skipped: it belongs to an append that never finished.
    """
    data = path.read_bytes()
    lines = data.split(b"\n")
    for number, line in enumerate(lines[:-1], start=1):
        doc = _parse(path, line, f"{what} line {number}")
        if doc.get(_CHECKSUM) != _digest(doc):
            raise StoreIntegrityError(path, "checksum", f"{what} line {number} is corrupt")
        del doc[_CHECKSUM]
        yield doc


def check_file(path: Path, sha: str, size: int | None) -> str | None:
    """``None`` if ``path`` holds exactly the recorded content, else the problem found."""
    try:
        actual_size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    if size is not None and actual_size != size:
        return "size"
    return None if file_sha256(path) == sha else "checksum"


def read_verified(path: Path, sha: str, size: int | None, *, hint: str = "") -> bytes:
    """The bytes of ``path``, checked against the recorded size and sha256 before use.

    Raises :class:`StoreIntegrityError` naming ``path`` (with ``hint`` appended) otherwise.
    """
    expected = _expected(sha, size) + (f"; {hint}" if hint else "")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise StoreIntegrityError(path, "missing", expected) from None
    if size is not None and len(data) != size:
        raise StoreIntegrityError(path, "size", f"{len(data)} bytes; {expected}")
    if sha256(data) != sha:
        raise StoreIntegrityError(path, "checksum", expected)
    return data


def _expected(sha: str, size: int | None) -> str:
    return f"the manifest records sha256 {sha}" + (f", {size} bytes" if size is not None else "")
