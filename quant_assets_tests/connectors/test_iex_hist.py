"""IEX HIST TOPS parsing on a capture written here to the published formats (pcap-ng, IEX-TP, TOPS 1.6)."""

from __future__ import annotations

import struct

import pandas as pd
import pytest

from quant_assets.connectors import BadResponse
from quant_assets.connectors.iex_hist import daily_bars, read_ticks
from quant_assets.schemas import delivery_schema

T0 = pd.Timestamp("2024-01-02 14:30:00", tz="UTC").value  # 09:30 New York


def quote(ts, sym, bid_size, bid, ask, ask_size, flags=0):
    """TOPS Quote Update, 42 bytes."""
    return struct.pack(
        "<BBq8sIqqI", 0x51, flags, ts, sym.ljust(8).encode(), bid_size, round(bid * 1e4), round(ask * 1e4), ask_size
    )


def trade(ts, sym, size, price, trade_id, flags=0):
    """TOPS Trade Report, 38 bytes."""
    return struct.pack("<BBq8sIqq", 0x54, flags, ts, sym.ljust(8).encode(), size, round(price * 1e4), trade_id)


def segment(first_seq, messages, protocol=0x8003):
    body = b"".join(struct.pack("<H", len(m)) + m for m in messages)
    header = struct.pack("<BBHIIHHqqq", 1, 0, protocol, 1, 42, len(body), len(messages), 0, first_seq, T0)
    return header + body


def frame(payload):
    udp = struct.pack(">HHHH", 10378, 10378, 8 + len(payload), 0) + payload
    ip = struct.pack(
        ">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([233, 215, 21, 4])
    )
    return b"\x01\x00\x5e\x57\x15\x04" + b"\x00\x11\x22\x33\x44\x55" + b"\x08\x00" + ip + udp


def block(btype, body):
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def pcapng(payloads):
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 1, 0, 65535))
    for p in payloads:
        data = frame(p)
        out += block(6, struct.pack("<IIIII", 0, 0, 0, len(data), len(data)) + data)
    return out


S = 1_000_000_000
CAPTURE = pcapng(
    [
        segment(
            1,
            [
                quote(T0 - 600 * S, "AAA", 100, 9.90, 10.10, 100, flags=0x40),  # pre-market quote
                trade(T0 - 300 * S, "AAA", 500, 9.50, 1, flags=0x40),  # pre-market (Form T) trade
                quote(T0 + 1 * S, "AAA", 200, 10.00, 10.02, 300),
                trade(T0 + 2 * S, "AAA", 100, 10.01, 2),
                b"\x53" + b"\x00" * 30,  # Security Event (unhandled type): skipped
            ],
        ),
        segment(
            6,
            [
                trade(T0 + 3 * S, "AAA", 300, 10.05, 3),
                quote(T0 + 4 * S, "BBB", 50, 20.00, 20.10, 60),
                trade(T0 + 5 * S, "BBB", 10, 20.05, 4),
                quote(T0 + 6 * S, "AAA", 200, 10.03, 10.04, 100),
                trade(T0 + 7 * S, "AAA", 100, 9.98, 5, flags=0x20),  # odd-lot flag: still a regular trade
            ],
        ),
    ]
)


def test_ticks_follow_the_message_formats():
    ticks = read_ticks(CAPTURE)
    assert len(ticks) == 2 * 4 + 5  # four quote updates (bid and ask ticks), five trades
    q = ticks[(ticks["seq"] == 3)]
    assert q[["ts_ns", "symbol", "price", "size", "side", "venue"]].values.tolist() == [
        [T0 + S, "AAA", 10.00, 200, "B", "IEX"],
        [T0 + S, "AAA", 10.02, 300, "A", "IEX"],
    ]
    t = ticks[ticks["seq"] == 6].iloc[0]
    assert (t["symbol"], t["price"], t["size"], t["side"]) == ("AAA", 10.05, 300, "T")
    assert 5 not in set(ticks["seq"])  # the skipped Security Event still consumed sequence number 5


def test_daily_bars_vwap_trades_and_last_spread():
    bars = daily_bars(read_ticks(CAPTURE)).set_index("symbol")
    aaa = bars.loc["AAA"]
    assert (aaa["open"], aaa["high"], aaa["low"], aaa["close"]) == (10.01, 10.05, 9.98, 9.98)
    assert aaa["volume"] == 500 and aaa["trades"] == 3  # the pre-market trade is left out
    assert aaa["vwap"] == pytest.approx((100 * 10.01 + 300 * 10.05 + 100 * 9.98) / 500)
    assert aaa["nbbo_spread"] == pytest.approx(0.01)
    assert bars.loc["BBB", "nbbo_spread"] == pytest.approx(0.10)
    assert (bars["date"] == pd.Timestamp("2024-01-02")).all()
    delivery_schema("bars").validate(bars.reset_index().assign(session_id=0))


def test_a_truncated_capture_names_the_block():
    with pytest.raises(BadResponse, match=r"iex hist: field 'pcapng.block\[\d+\].length'.*truncated"):
        read_ticks(CAPTURE[:-20])


def test_a_segment_of_another_protocol_is_rejected():
    with pytest.raises(BadResponse, match="message_protocol_id"):
        read_ticks(pcapng([segment(1, [trade(T0, "AAA", 1, 1.0, 1)], protocol=0x1234)]))


def test_a_message_running_past_its_segment_is_rejected():
    seg = segment(1, [trade(T0, "AAA", 1, 1.0, 1)])
    bad = seg[:40] + struct.pack("<H", 200) + seg[42:]
    with pytest.raises(BadResponse, match=r"message\[0\].length"):
        read_ticks(pcapng([bad]))


def test_a_file_that_is_not_pcapng(tmp_path):
    path = tmp_path / "20240102_IEXTP1_TOPS1.6.pcap"
    path.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 40)
    with pytest.raises(BadResponse, match=r"iex 20240102_IEXTP1_TOPS1.6.pcap: field 'pcapng.section_header'"):
        read_ticks(path)
