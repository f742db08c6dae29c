"""Fixtures for the connector tests: fast retries, a recording sleep, a page store, raw servers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from quant_assets.connectors import PageStore, RetryPolicy

FAKE_KEY = "FAKEKEY-9f3c2e7a1b"
"""A planted key: it must never appear in a log line, an exception text or a stored file."""

FAST = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.005, jitter=0.001, max_retry_after=60.0)
"""Retries that take milliseconds (the waits are recorded, not slept, where ``sleeps`` is used)."""


@pytest.fixture
def sleeps() -> list[float]:
    """Waits requested by the retry loop (pass ``sleeps.append`` as ``sleep``)."""
    return []


@pytest.fixture
def store(tmp_path) -> PageStore:
    return PageStore(tmp_path / "pages")


def store_snapshot(store: PageStore) -> dict[str, bytes]:
    """Every stored file's bytes, by relative path (to assert nothing stored changed)."""
    if not store.root.exists():
        return {}
    return {str(p.relative_to(store.root)): p.read_bytes() for p in sorted(store.root.rglob("*")) if p.is_file()}


class RawServer:
    """A socket server on 127.0.0.1 answering every connection with fixed raw bytes then closing.

    For what an HTTP library cannot be made to serve: a body shorter than its Content-Length.
    """

    def __init__(self, payload: bytes):
        self.payload = payload
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                self.hits += 1
                conn.sendall(self.payload)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw_server() -> Iterator[type[RawServer]]:
    servers: list[RawServer] = []

    def make(payload: bytes) -> RawServer:
        servers.append(RawServer(payload))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def closed_port() -> int:
    """A local port nobody listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
