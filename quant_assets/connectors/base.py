"""What every vendor client takes besides its key: where pages go, retries, timeouts, replay."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from quant_assets.connectors.http import RetryPolicy
from quant_assets.connectors.pages import PageStore

__all__ = ["ClientOptions", "ny_date"]


@dataclass(frozen=True)
class ClientOptions:
    """Options shared by the vendor clients.

    ``store``: the raw page store (None: nothing stored, nothing resumed); ``offline``: replay
    from the store only; ``retry`` and ``timeout`` (connect, read seconds) as in
    :class:`~quant_assets.connectors.http.VendorHttp`; ``sleep`` for retry waits;
    ``rate``: ``(requests, per seconds)`` overriding the vendor's documented default.
    """

    store: PageStore | None = None
    offline: bool = False
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: tuple[float, float] = (5.0, 30.0)
    sleep: Callable[[float], None] = time.sleep
    rate: tuple[int, float] | None = None

    def http_kwargs(self, default_rate: tuple[int, float]) -> dict:
        return {
            "store": self.store,
            "offline": self.offline,
            "retry": self.retry,
            "timeout": self.timeout,
            "sleep": self.sleep,
            "rate": self.rate or default_rate,
        }


def ny_date(stamps: pd.Series) -> pd.Series:
    """The New York calendar date (naive midnight) of UTC instants, e.g. Alpaca's daily bar ``t``."""
    return pd.to_datetime(stamps, utc=True).dt.tz_convert("America/New_York").dt.tz_localize(None).dt.normalize()
