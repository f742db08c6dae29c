"""Immutable store of raw vendor responses, one file per page.

A page is addressed by ``vendor / endpoint / params-hash / page number``; ``params-hash`` is
the sha256 of the canonical (sorted, key-free) request parameters, so a query asked again
finds its pages. Each page is two files written atomically (temporary file, fsync,
``os.replace``) and then made read-only:

* ``NNNNN.body``: the response bytes exactly as received;
* ``NNNNN.json``: ``vendor``, ``endpoint``, ``params`` (redacted), ``page``, ``source_uri``
  (redacted), ``ingested_at`` (UTC wall clock of the download), ``transform_id`` (the parser
  that accepted it), ``sha256`` and ``bytes`` of the body, ``content_type``.

The metadata is written last: a page without it was interrupted and counts as absent. A
page is only stored after its parser accepted it, so a bad response never lands, and a
stored page is never rewritten (storing other bytes under the same address raises).

Example
-------
>>> import tempfile
>>> store = PageStore(tempfile.mkdtemp())
>>> key = PageKey("fred", "series/observations", {"series_id": "DGS10"}, 0)
>>> store.put(key, b'{"observations": []}', source_uri="https://x/y?series_id=DGS10",
...           transform_id="fred-observations-1", content_type="application/json").sha256[:12]
'52a9dee9be50'
>>> store.get(key)
b'{"observations": []}'
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from quant_assets.connectors.errors import PageStoreError
from quant_assets.connectors.redact import SECRET_PARAMS, redact_params, redact_url

__all__ = ["PageKey", "PageMeta", "PageStore", "params_hash"]

_PAGE_DIGITS = 5


def params_hash(params: dict) -> str:
    """sha256 (16 hex) of the canonical request parameters, key-carrying ones left out."""
    clean = {k: str(v) for k, v in sorted(params.items()) if k.lower() not in SECRET_PARAMS}
    return hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PageKey:
    """Address of one stored page."""

    vendor: str
    endpoint: str
    params: dict = field(hash=False)
    page: int

    @property
    def relative_dir(self) -> Path:
        slug = self.endpoint.strip("/").replace("/", "__") or "root"
        return Path(self.vendor) / slug / params_hash(self.params)

    @property
    def stem(self) -> str:
        return f"{self.page:0{_PAGE_DIGITS}d}"


@dataclass(frozen=True)
class PageMeta:
    """Lineage of one stored page (the ``.json`` sidecar)."""

    vendor: str
    endpoint: str
    params: dict
    page: int
    source_uri: str
    ingested_at: str
    transform_id: str
    sha256: str
    bytes: int
    content_type: str


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class PageStore:
    """Raw responses under ``root`` (see the module docstring)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _paths(self, key: PageKey) -> tuple[Path, Path]:
        d = self.root / key.relative_dir
        return d / f"{key.stem}.body", d / f"{key.stem}.json"

    def meta(self, key: PageKey) -> PageMeta | None:
        """The page's lineage, or None if the page is not (completely) stored."""
        body, meta = self._paths(key)
        if not (meta.is_file() and body.is_file()):
            return None
        return PageMeta(**json.loads(meta.read_text()))

    def has(self, key: PageKey) -> bool:
        return self.meta(key) is not None

    def get(self, key: PageKey) -> bytes | None:
        """The stored bytes (checksum verified), or None if absent."""
        meta = self.meta(key)
        if meta is None:
            return None
        data = self._paths(key)[0].read_bytes()
        if hashlib.sha256(data).hexdigest() != meta.sha256:
            raise PageStoreError(
                key.vendor, key.endpoint, "body", f"stored page {key.relative_dir / key.stem} fails its sha256 check"
            )
        return data

    def put(self, key: PageKey, data: bytes, *, source_uri: str, transform_id: str, content_type: str) -> PageMeta:
        """Store a page once; the same bytes again are a no-op, other bytes an error."""
        existing = self.meta(key)
        digest = hashlib.sha256(data).hexdigest()
        if existing is not None:
            if existing.sha256 != digest:
                raise PageStoreError(
                    key.vendor,
                    key.endpoint,
                    "body",
                    f"page {key.relative_dir / key.stem} is stored with other bytes; raw pages are immutable",
                )
            return existing
        body_path, meta_path = self._paths(key)
        body_path.parent.mkdir(parents=True, exist_ok=True)
        meta = PageMeta(
            vendor=key.vendor,
            endpoint=key.endpoint,
            params=redact_params(key.params),
            page=key.page,
            source_uri=redact_url(source_uri),
            ingested_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds"),
            transform_id=transform_id,
            sha256=digest,
            bytes=len(data),
            content_type=content_type,
        )
        if body_path.exists():  # left by an interrupted write: not a stored page yet
            body_path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        _atomic_write(body_path, data)
        _atomic_write(meta_path, json.dumps(meta.__dict__, sort_keys=True, indent=1).encode())
        return meta

    def pages(self, vendor: str, endpoint: str, params: dict) -> list[int]:
        """Page numbers stored for a query, ascending."""
        d = self.root / PageKey(vendor, endpoint, params, 0).relative_dir
        return sorted(int(p.stem) for p in d.glob("*.json")) if d.is_dir() else []
