"""IEX HIST: the T+1 TOPS capture files, parsed into ticks and aggregated to daily bars.

File format (IEX publishes HIST as pcap-ng captures of the multicast feed):

* pcap-ng blocks: Section Header (``0x0A0D0D0A``, byte-order magic ``0x1A2B3C4D``),
  Interface Description (type 1, link type 1 = Ethernet), Enhanced Packet (type 6:
  interface, timestamp high/low, captured and original length, data padded to 32 bits);
* each packet: Ethernet (optional 802.1Q tag), IPv4, UDP, then one IEX-TP segment;
* IEX-TP segment header, 40 bytes little-endian: version (1 = ``1``), reserved (1), message
  protocol id (2; ``0x8003`` TOPS, ``0x8004`` DEEP), channel id (4), session id (4), payload
  length (2), message count (2), stream offset (8), first message sequence number (8), send
  time (8); then ``message count`` blocks of a 2-byte length and the message;
* TOPS 1.6 messages used here (all integers little-endian; prices are 8-byte signed with 4
  implied decimals; timestamps nanoseconds since the epoch, UTC; symbols 8 ASCII bytes
  right-padded with spaces): Quote Update ``Q`` (0x51, 42 bytes: type, flags, timestamp,
  symbol, bid size u32, bid price, ask price, ask size u32) and Trade Report ``T`` (0x54, 38
  bytes: type, sale condition flags, timestamp, symbol, size u32, price, trade id). Other
  message types are skipped and longer messages accepted, as the specification asks of
  decoders (IEX may add types and grow messages).

Ticks: ``ts_ns, symbol, price, size, side, venue, seq`` with ``side`` ``B``/``A`` for the
bid/ask side of a quote update and ``T`` for a trade (the feed does not say who
aggressed), ``venue`` ``IEX`` and ``seq`` the IEX-TP message sequence number.

Daily bars (regular session): trades flagged extended-hours (sale condition 0x40, Form T)
and quotes flagged outside the regular session (0x40) are left out; open/close are the
first/last trade, ``vwap`` = sum(price * size) / sum(size), ``trades`` the count and
``nbbo_spread`` the last two-sided quote's ask - bid (0.0 if the day had none). TOPS carries IEX's own best quote, not
the consolidated NBBO: on IEX data the spread column is IEX's top-of-book spread.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from quant_assets.connectors.errors import BadResponse

__all__ = ["TICK_COLUMNS", "daily_bars", "read_ticks", "segments"]

VENDOR = "iex"
PROTOCOLS = {0x8003: "TOPS", 0x8004: "DEEP"}
TICK_COLUMNS = ("ts_ns", "symbol", "price", "size", "side", "venue", "seq")
_SHB, _IDB, _EPB = 0x0A0D0D0A, 1, 6
_BOM = 0x1A2B3C4D
_TP = struct.Struct("<BBHIIHHqqq")
_QUOTE = struct.Struct("<BBq8sIqqI")
_TRADE = struct.Struct("<BBq8sIqq")
EXTENDED_HOURS = 0x40
PRICE_SCALE = 10_000


def _fail(source: str, field: str, problem: str) -> BadResponse:
    return BadResponse(VENDOR, source, field, problem)


def _packets(data: bytes, source: str) -> Iterator[bytes]:
    """Captured packet bytes of every Enhanced Packet Block."""
    if len(data) < 12 or struct.unpack_from("<I", data, 0)[0] != _SHB:
        raise _fail(source, "pcapng.section_header", "not a pcap-ng file (no Section Header Block)")
    bom = data[8:12]
    order = "<" if struct.unpack("<I", bom)[0] == _BOM else ">" if struct.unpack(">I", bom)[0] == _BOM else None
    if order is None:
        raise _fail(source, "pcapng.byte_order_magic", f"unknown byte-order magic {bom.hex()}")
    pos, n = 0, 0
    while pos < len(data):
        if pos + 12 > len(data):
            raise _fail(source, f"pcapng.block[{n}]", f"truncated block header at byte {pos}")
        btype, blen = struct.unpack_from(order + "II", data, pos)
        if blen < 12 or blen % 4 or pos + blen > len(data):
            raise _fail(
                source,
                f"pcapng.block[{n}].length",
                f"block of {blen} bytes at byte {pos} runs past the "
                f"end of the file ({len(data)} bytes): truncated file",
            )
        if struct.unpack_from(order + "I", data, pos + blen - 4)[0] != blen:
            raise _fail(source, f"pcapng.block[{n}].length", "trailing length differs from the leading one")
        if btype == _IDB:
            link = struct.unpack_from(order + "H", data, pos + 8)[0]
            if link != 1:
                raise _fail(source, f"pcapng.block[{n}].link_type", f"{link}, expected 1 (Ethernet)")
        elif btype == _EPB:
            cap = struct.unpack_from(order + "I", data, pos + 20)[0]
            if 28 + cap > blen:
                raise _fail(source, f"pcapng.block[{n}].captured_length", f"{cap} bytes exceed the block")
            yield data[pos + 28 : pos + 28 + cap]
        pos += blen
        n += 1


def _udp_payload(frame: bytes, source: str, n: int) -> bytes | None:
    off, ethertype = 14, struct.unpack_from(">H", frame, 12)[0] if len(frame) >= 14 else 0
    if ethertype == 0x8100:
        ethertype, off = struct.unpack_from(">H", frame, 16)[0], 18
    if ethertype != 0x0800 or len(frame) < off + 28:
        return None  # not IPv4: not market data
    ihl = (frame[off] & 0x0F) * 4
    if frame[off + 9] != 17:
        return None  # not UDP
    udp = off + ihl
    length = struct.unpack_from(">H", frame, udp + 4)[0]
    if udp + length > len(frame):
        raise _fail(source, f"packet[{n}].udp.length", f"{length} bytes, the frame holds {len(frame) - udp}")
    return frame[udp + 8 : udp + length]


def segments(data: bytes, source: str = "hist") -> Iterator[tuple[int, int, list[bytes]]]:
    """``(protocol id, first sequence number, messages)`` of every IEX-TP segment in a capture."""
    for n, frame in enumerate(_packets(data, source)):
        payload = _udp_payload(frame, source, n)
        if payload is None:
            continue
        if len(payload) < _TP.size:
            raise _fail(source, f"segment[{n}].header", f"{len(payload)} bytes, the header has {_TP.size}")
        version, _, proto, _, _, plen, count, _, first_seq, _ = _TP.unpack_from(payload)
        if version != 1 or proto not in PROTOCOLS:
            raise _fail(
                source,
                f"segment[{n}].message_protocol_id",
                f"version {version}, protocol {proto:#06x}: not an IEX-TP TOPS/DEEP segment",
            )
        if _TP.size + plen != len(payload):
            raise _fail(
                source, f"segment[{n}].payload_length", f"{plen}, the segment holds {len(payload) - _TP.size} bytes"
            )
        pos, messages = _TP.size, []
        for k in range(count):
            if pos + 2 > len(payload):
                raise _fail(source, f"segment[{n}].message[{k}].length", "missing: fewer messages than counted")
            mlen = struct.unpack_from("<H", payload, pos)[0]
            if pos + 2 + mlen > len(payload):
                raise _fail(source, f"segment[{n}].message[{k}].length", f"{mlen} bytes run past the segment")
            messages.append(payload[pos + 2 : pos + 2 + mlen])
            pos += 2 + mlen
        yield proto, first_seq, messages


def read_ticks(path_or_bytes: str | Path | bytes, *, regular_only: bool = False) -> pd.DataFrame:
    """Quote updates and trade reports of a TOPS capture as ticks (see the module docstring).

    ``regular_only`` drops extended-hours trades and out-of-session quotes. A ``flags`` column
    keeps the message flags.
    """
    if isinstance(path_or_bytes, bytes):
        data, source = path_or_bytes, "hist"
    else:
        data, source = Path(path_or_bytes).read_bytes(), Path(path_or_bytes).name
    rows: list[tuple] = []
    for proto, first_seq, messages in segments(data, source):
        for k, msg in enumerate(messages):
            seq, kind = first_seq + k, msg[:1]
            if kind == b"Q":
                if len(msg) < _QUOTE.size:
                    raise _fail(source, f"message[{seq}].quote_update", f"{len(msg)} bytes, expected {_QUOTE.size}")
                _, flags, ts, sym, bsz, bpx, apx, asz = _QUOTE.unpack_from(msg)
                if regular_only and flags & EXTENDED_HOURS:
                    continue
                symbol = sym.decode("ascii").rstrip()
                rows.append((ts, symbol, bpx / PRICE_SCALE, bsz, "B", "IEX", seq, flags))
                rows.append((ts, symbol, apx / PRICE_SCALE, asz, "A", "IEX", seq, flags))
            elif kind == b"T":
                if len(msg) < _TRADE.size:
                    raise _fail(source, f"message[{seq}].trade_report", f"{len(msg)} bytes, expected {_TRADE.size}")
                _, flags, ts, sym, size, px, _ = _TRADE.unpack_from(msg)
                if regular_only and flags & EXTENDED_HOURS:
                    continue
                rows.append((ts, sym.decode("ascii").rstrip(), px / PRICE_SCALE, size, "T", "IEX", seq, flags))
    df = pd.DataFrame(rows, columns=[*TICK_COLUMNS, "flags"])
    return df.astype({"ts_ns": "int64", "price": "float64", "size": "int64", "seq": "int64", "flags": "int64"})


def daily_bars(ticks: pd.DataFrame) -> pd.DataFrame:
    """Regular-session daily bars from ticks, in the ``bars`` delivery columns (without ``session_id``)."""
    ticks = ticks[(ticks["flags"] & EXTENDED_HOURS) == 0].sort_values(["ts_ns", "seq"], kind="stable")
    date = pd.to_datetime(ticks["ts_ns"], utc=True).dt.tz_convert("America/New_York").dt.tz_localize(None)
    ticks = ticks.assign(date=date.dt.normalize())
    trades = ticks[ticks["side"] == "T"]
    g = trades.assign(notional=trades["price"] * trades["size"]).groupby(["date", "symbol"], sort=True)
    bars = g.agg(
        open=("price", "first"),
        high=("price", "max"),
        low=("price", "min"),
        close=("price", "last"),
        notional=("notional", "sum"),
        volume=("size", "sum"),
        trades=("price", "size"),
    )
    bars["vwap"] = bars.pop("notional") / bars["volume"].where(bars["volume"] > 0, np.nan)
    quotes = ticks[ticks["side"].isin(["B", "A"])].pivot_table(
        index=["date", "symbol", "seq"], columns="side", values="price", aggfunc="last"
    )
    quotes = quotes[(quotes.get("B", 0) > 0) & (quotes.get("A", 0) > 0)]
    spread = (quotes["A"] - quotes["B"]).groupby(level=["date", "symbol"]).last().rename("nbbo_spread")
    out = bars.join(spread, how="left").reset_index()
    out["nbbo_spread"] = out["nbbo_spread"].fillna(0.0)
    out[["volume", "trades"]] = out[["volume", "trades"]].astype("int64")
    return out[["date", "symbol", "open", "high", "low", "close", "vwap", "volume", "nbbo_spread", "trades"]]
