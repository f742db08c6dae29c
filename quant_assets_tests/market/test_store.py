"""ParquetStore: deterministic bytes, immutability, atomicity, manifest, windows, DuckDB."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quant_assets.market import (
    ImmutablePartitionError,
    MissingPartitionsError,
    ParquetStore,
    parquet_bytes,
)
from quant_assets.market.store import StoreIntegrityError
from quant_assets_tests.market import frames

DAY = pd.Timestamp("2024-07-01")


def _snapshot(root) -> dict[str, bytes]:
    """Every file under root (except the lock file) -> its bytes."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name == ".lock":
                continue
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                out[os.path.relpath(path, root)] = handle.read()
    return out


def _sha(path) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _day(df: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    return df[df["date"] == day].reset_index(drop=True)


def test_roundtrip_preserves_values_and_dtypes(tmp_path):
    df = frames.with_lineage(frames.bars())
    df["flag"] = df["volume"] > 5000
    df["maybe"] = pd.array([1, None] * (len(df) // 2) + [1] * (len(df) % 2), dtype="Int64")
    store = ParquetStore(tmp_path)
    store.write_window("raw", "bars", df, "date", frames.SESSIONS, immutable=True)
    back = store.read_window("raw", "bars", frames.SESSIONS[0], frames.SESSIONS[-1], expected=frames.SESSIONS)
    pd.testing.assert_frame_equal(back, df, check_exact=True)


def test_checksum_is_sha256_of_the_file_bytes(tmp_path):
    store = ParquetStore(tmp_path)
    res = store.write_partition("raw", "bars", DAY, _day(frames.bars(), DAY), immutable=True)
    assert res.status == "written"
    assert res.sha256 == _sha(res.path)
    assert res.path == tmp_path / "raw" / "bars" / "date=2024-07-01" / "part.parquet"
    manifest = json.loads((tmp_path / "raw" / "bars" / "_manifest.json").read_text())
    assert manifest["partitions"]["2024-07-01"]["sha256"] == res.sha256
    assert manifest["partitions"]["2024-07-01"]["rows"] == len(frames.SYMBOLS)
    assert pq.read_metadata(res.path).num_rows == len(frames.SYMBOLS)


def test_replaying_a_day_reproduces_identical_files(tmp_path):
    """Window ingestion in one store and day-by-day replay in another hash identically."""
    window = frames.with_lineage(frames.bars())
    first = ParquetStore(tmp_path / "a")
    first.write_window("raw", "bars", window, "date", frames.SESSIONS, immutable=True)
    replay = ParquetStore(tmp_path / "b")
    for day in frames.SESSIONS:
        fresh = frames.with_lineage(_day(frames.bars(), day))
        replay.write_partition("raw", "bars", day, fresh, immutable=True)
    for day in frames.SESSIONS:
        a = first.partition_path("raw", "bars", day)
        b = replay.partition_path("raw", "bars", day)
        assert a.read_bytes() == b.read_bytes()


def test_timestamp_resolution_does_not_change_bytes():
    df = pd.DataFrame({"date": pd.to_datetime(["2024-07-01"]), "x": [1.0]})
    coarse = df.assign(date=df["date"].astype("datetime64[s]"))
    assert parquet_bytes(df) == parquet_bytes(coarse)


def test_reingesting_identical_content_is_a_noop(tmp_path):
    store = ParquetStore(tmp_path)
    df = _day(frames.bars(), DAY)
    store.write_partition("raw", "bars", DAY, df, immutable=True)
    before = _snapshot(tmp_path)
    res = store.write_partition("raw", "bars", DAY, df.copy(), immutable=True)
    assert res.status == "unchanged"
    assert _snapshot(tmp_path) == before


def test_different_content_in_immutable_partition_is_rejected(tmp_path):
    store = ParquetStore(tmp_path)
    df = _day(frames.bars(), DAY)
    old = store.write_partition("raw", "bars", DAY, df, immutable=True)
    before = _snapshot(tmp_path)
    changed = df.assign(close=df["close"] + 0.01, high=df["high"] + 0.01)
    new_sha = hashlib.sha256(parquet_bytes(changed)).hexdigest()
    with pytest.raises(ImmutablePartitionError) as info:
        store.write_partition("raw", "bars", DAY, changed, immutable=True)
    err = info.value
    assert (err.dataset, err.partition) == ("raw/bars", "2024-07-01")
    assert (err.stored_sha256, err.new_sha256) == (old.sha256, new_sha)
    for text in ("raw/bars", "2024-07-01", old.sha256, new_sha):
        assert text in str(err)
    assert _snapshot(tmp_path) == before


def test_forced_replacement_keeps_the_old_file_and_records_history(tmp_path):
    store = ParquetStore(tmp_path)
    df = _day(frames.bars(), DAY)
    old = store.write_partition("raw", "bars", DAY, df, immutable=True)
    old_bytes = old.path.read_bytes()
    changed = df.assign(volume=df["volume"] + 1)
    res = store.write_partition("raw", "bars", DAY, changed, immutable=True, force=True)
    assert res.status == "replaced"
    kept = old.path.with_name(f"part.{old.sha256[:12]}.superseded.parquet")
    assert kept.read_bytes() == old_bytes
    assert res.path.read_bytes() == parquet_bytes(changed)
    entry = store.manifest("raw", "bars")["partitions"]["2024-07-01"]
    assert entry["sha256"] == res.sha256
    assert [h["sha256"] for h in entry["history"]] == [old.sha256]
    assert store.verify("raw", "bars") == []
    # the superseded copy is not part of the dataset
    read = store.read_window("raw", "bars", DAY, DAY, expected=[DAY])
    pd.testing.assert_frame_equal(read, changed)


def test_mutable_partition_is_overwritten(tmp_path):
    store = ParquetStore(tmp_path)
    df = _day(frames.bars(), DAY)
    assert store.write_partition("curated", "prices", DAY, df, immutable=False).status == "written"
    changed = df.assign(close=df["close"] * 1.001)
    res = store.write_partition("curated", "prices", DAY, changed, immutable=False)
    assert res.status == "replaced"
    assert list(res.path.parent.iterdir()) == [res.path]
    pd.testing.assert_frame_equal(pq.read_table(res.path).to_pandas(), changed)


def test_window_writes_empty_partitions_for_sessions_without_rows(tmp_path):
    store = ParquetStore(tmp_path)
    ca = frames.with_lineage(frames.corporate_actions())
    results = store.write_window("raw", "corporate_actions", ca, "ex_date", frames.SESSIONS, immutable=True)
    assert [r.rows for r in results] == [0, 0, 1, 1, 0]
    assert store.partitions("raw", "corporate_actions") == list(frames.SESSIONS)
    empty = pq.read_table(results[0].path).to_pandas()
    assert list(empty.columns) == list(ca.columns) and len(empty) == 0
    back = store.read_window(
        "raw", "corporate_actions", frames.SESSIONS[0], frames.SESSIONS[-1], expected=frames.SESSIONS
    )
    pd.testing.assert_frame_equal(back, ca)


def test_window_rejects_rows_outside_listed_partitions(tmp_path):
    store = ParquetStore(tmp_path)
    with pytest.raises(ValueError, match="outside the listed partitions"):
        store.write_window("raw", "bars", frames.bars(), "date", frames.SESSIONS[:-1], immutable=True)
    assert _snapshot(tmp_path) == {}


def test_window_conflict_leaves_every_partition_untouched(tmp_path):
    store = ParquetStore(tmp_path)
    df = frames.bars()
    store.write_window("raw", "bars", df, "date", frames.SESSIONS, immutable=True)
    before = _snapshot(tmp_path)
    changed = df.copy()
    last = changed["date"] == frames.SESSIONS[-1]
    changed.loc[last, "volume"] += 1
    with pytest.raises(ImmutablePartitionError, match="2024-07-08"):
        store.write_window("raw", "bars", changed, "date", frames.SESSIONS, immutable=True)
    assert _snapshot(tmp_path) == before


def test_read_window_reports_missing_partitions(tmp_path):
    store = ParquetStore(tmp_path, sessions=lambda a, b: [d for d in frames.SESSIONS if a <= d <= b])
    df = frames.bars()
    kept = df[df["date"] != frames.SESSIONS[2]]
    store.write_window("raw", "bars", kept, "date", frames.SESSIONS.delete(2), immutable=True)
    with pytest.raises(MissingPartitionsError) as info:
        store.read_window("raw", "bars", frames.SESSIONS[0], frames.SESSIONS[-1])
    assert info.value.missing == ["2024-07-03"]
    assert "2024-07-03" in str(info.value)
    got = store.read_window("raw", "bars", frames.SESSIONS[0], frames.SESSIONS[-1], allow_missing=True)
    pd.testing.assert_frame_equal(got, kept.reset_index(drop=True))
    # a sub-window that avoids the gap reads fine, and columns can be selected
    sub = store.read_window("raw", "bars", frames.SESSIONS[3], frames.SESSIONS[4], columns=["symbol", "close"])
    assert list(sub.columns) == ["symbol", "close"] and len(sub) == 2 * len(frames.SYMBOLS)


def test_read_window_without_expected_sessions_must_be_explicit(tmp_path):
    store = ParquetStore(tmp_path)
    with pytest.raises(ValueError, match="expected"):
        store.read_window("raw", "bars", DAY, DAY)


def test_verify_detects_tampering_deletion_and_unrecorded_files(tmp_path):
    store = ParquetStore(tmp_path)
    store.write_window("raw", "bars", frames.bars(), "date", frames.SESSIONS, immutable=True)
    assert store.verify("raw", "bars") == []
    p0 = store.partition_path("raw", "bars", frames.SESSIONS[0])
    p0.write_bytes(p0.read_bytes() + b"x")
    store.partition_path("raw", "bars", frames.SESSIONS[1]).unlink()
    stray = store.partition_path("raw", "bars", "2024-07-09")
    stray.parent.mkdir()
    stray.write_bytes(parquet_bytes(frames.bars().head(1)))
    kinds = {(m.partition, m.kind) for m in store.verify("raw", "bars")}
    assert kinds == {("2024-07-01", "checksum"), ("2024-07-02", "missing_file"), ("2024-07-09", "unrecorded")}


def test_failed_write_leaves_old_file_and_no_temp_files(tmp_path, monkeypatch):
    store = ParquetStore(tmp_path)
    df = _day(frames.bars(), DAY)
    store.write_partition("curated", "prices", DAY, df, immutable=False)
    before = _snapshot(tmp_path)

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        store.write_partition("curated", "prices", DAY, df.assign(close=1.0, low=0.5), immutable=False)
    assert _snapshot(tmp_path) == before


def _writer(root: str, worker: int, n: int) -> None:
    store = ParquetStore(root)
    days = pd.bdate_range("2020-01-01", periods=n * 4)[worker::4]
    for day in days:
        df = pd.DataFrame({"date": [day], "worker": [worker]})
        store.write_partition("raw", "concurrent", day, df, immutable=True)


def test_concurrent_writers_of_different_partitions_keep_the_manifest_whole(tmp_path):
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 15)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    store = ParquetStore(tmp_path)
    assert len(store.manifest("raw", "concurrent")["partitions"]) == 60
    assert store.verify("raw", "concurrent") == []


def test_duckdb_views_read_every_partition_without_clashing_date(tmp_path):
    store = ParquetStore(tmp_path)
    df = frames.with_lineage(frames.bars())
    store.write_window("raw", "bars", df, "date", frames.SESSIONS, immutable=True)
    ca = frames.with_lineage(frames.corporate_actions())
    store.write_window("raw", "corporate_actions", ca, "ex_date", frames.SESSIONS, immutable=True)
    changed = _day(df, DAY).assign(volume=0)
    store.write_partition("raw", "bars", DAY, changed, immutable=True, force=True)
    con = store.duckdb_connect()
    cols = [r[0] for r in con.execute("DESCRIBE raw_bars").fetchall()]
    assert cols == list(df.columns)
    got = con.execute("SELECT date, symbol, volume FROM raw_bars ORDER BY date, symbol").df()
    expect = pd.concat([changed, df[df["date"] != DAY]])[["date", "symbol", "volume"]]
    expect = expect.sort_values(["date", "symbol"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expect, check_dtype=False)
    n_ca = con.execute("SELECT count(*) FROM raw_corporate_actions").fetchone()[0]
    assert n_ca == len(ca)
    outside = tmp_path.parent / "outside.csv"
    outside.write_text("a\n1\n")
    with pytest.raises(Exception, match="(?i)permission|access"):
        con.execute(f"SELECT * FROM read_csv('{outside}')").fetchall()


@st.composite
def _frames(draw):
    n = draw(st.integers(0, 12))
    floats = st.floats(allow_nan=True, allow_infinity=False, width=64)
    return pd.DataFrame(
        {
            "date": pd.to_datetime([DAY] * n),
            "symbol": draw(st.lists(st.text("ABCS0123", min_size=1, max_size=6), min_size=n, max_size=n)),
            "x": np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=float),
            "k": np.array(draw(st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n)), dtype="int64"),
        }
    )


@settings(max_examples=40, deadline=None)
@given(_frames())
def test_serialisation_is_deterministic_and_lossless(df):
    data = parquet_bytes(df)
    assert data == parquet_bytes(df.copy(deep=True))
    import io

    back = pq.read_table(io.BytesIO(data)).to_pandas()
    pd.testing.assert_frame_equal(back, df, check_exact=True)


@st.composite
def _windows(draw):
    n = draw(st.integers(0, 15))
    days = pd.bdate_range("2024-07-01", periods=3)
    return pd.DataFrame(
        {
            "date": pd.DatetimeIndex([days[i] for i in draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))]),
            "note": draw(st.lists(st.one_of(st.none(), st.text("xyz", max_size=3)), min_size=n, max_size=n)),
            "x": np.array(draw(st.lists(st.floats(allow_nan=True, width=64), min_size=n, max_size=n)), dtype=float),
            "when": pd.DatetimeIndex([pd.Timestamp("2024-07-01 20:00", tz="UTC")] * n),
        }
    ).astype({"note": object}), days


@settings(max_examples=40, deadline=None)
@given(_windows())
def test_window_partitions_are_byte_identical_to_single_day_serialisation(args):
    """Ingesting a window and replaying any one day must hash-match (whatever the nulls)."""
    import tempfile

    df, days = args
    with tempfile.TemporaryDirectory() as tmp:
        store = ParquetStore(tmp, durable=False)
        results = store.write_window("raw", "w", df, "date", days, immutable=True)
        for day, res in zip(days, results, strict=True):
            alone = df[df["date"] == day].reset_index(drop=True)
            assert res.path.read_bytes() == parquet_bytes(alone)


def test_truncated_manifest_is_an_error_naming_it(tmp_path):
    store = ParquetStore(tmp_path)
    store.write_window("raw", "bars", frames.bars(), "date", frames.SESSIONS, immutable=True)
    manifest = tmp_path / "raw" / "bars" / "_manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:-40])
    for call in (
        lambda: store.write_partition(
            "raw", "bars", "2024-07-09", frames.bars().head(1).assign(date=pd.Timestamp("2024-07-09")), immutable=True
        ),
        lambda: store.read_window("raw", "bars", DAY, DAY, expected=[DAY]),
        lambda: store.duckdb_connect(),
    ):
        with pytest.raises(StoreIntegrityError, match=str(manifest)):
            call()


def test_edited_manifest_fails_its_own_checksum(tmp_path):
    store = ParquetStore(tmp_path)
    store.write_partition("raw", "bars", DAY, _day(frames.bars(), DAY), immutable=True)
    path = tmp_path / "raw" / "bars" / "_manifest.json"
    doc = json.loads(path.read_text())
    doc["partitions"]["2024-07-01"]["rows"] += 1
    path.write_text(json.dumps(doc))
    with pytest.raises(StoreIntegrityError, match="checksum"):
        store.manifest("raw", "bars")


def test_stray_directories_are_served_by_neither_reader_and_reported(tmp_path):
    store = ParquetStore(tmp_path)
    df = frames.bars()
    store.write_window("raw", "bars", df, "date", frames.SESSIONS, immutable=True)
    for stray in ("backup", "date=2024-07-09"):
        (tmp_path / "raw" / "bars" / stray).mkdir()
        (tmp_path / "raw" / "bars" / stray / "part.parquet").write_bytes(parquet_bytes(df.head(2)))
    n_window = len(store.read_window("raw", "bars", "2024-01-01", "2024-12-31", allow_missing=True))
    n_view = store.duckdb_connect().execute("select count(*) from raw_bars").fetchone()[0]
    assert n_window == n_view == len(df)
    assert {(m.kind, m.file) for m in store.verify("raw", "bars")} == {
        ("unrecorded", "backup"),
        ("unrecorded", "date=2024-07-09/part.parquet"),
    }


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_stored_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        store = ParquetStore(tmp_path)
        store.write_window("raw", "bars", frames.bars(), "date", frames.SESSIONS, immutable=True)
        store.write_partition("raw", "bars", DAY, _day(frames.bars(), DAY).assign(volume=1), immutable=True, force=True)
        store.write_duckdb_catalog(tmp_path / "catalog.duckdb")
    finally:
        os.umask(old)
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(files) > 7
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: oct(0o666 & ~umask) for p in files}


def test_partitions_must_be_sessions_of_the_calendar(tmp_path):
    from quant_assets.calendars import sessions_in_range

    store = ParquetStore(tmp_path, sessions=sessions_in_range)
    df = frames.bars()
    for bad in ("2024-07-06", "2024-07-04"):  # a Saturday, Independence Day
        day = pd.Timestamp(bad)
        with pytest.raises(ValueError, match=f"raw/bars.*{bad}.*not sessions"):
            store.write_window("raw", "bars", _day(df, DAY).assign(date=day), "date", [day], immutable=True)
        with pytest.raises(ValueError, match=bad):
            store.write_partition("raw", "bars", day, df.head(0), immutable=True)
    assert not (tmp_path / "raw" / "bars" / "_manifest.json").exists()
    assert len(store.write_window("raw", "bars", df, "date", frames.SESSIONS, immutable=True)) == 5


def test_manifest_of_an_earlier_version_is_read_and_upgraded(tmp_path):
    """A manifest without checksum (earlier store versions) still reads; the next write seals it."""
    store = ParquetStore(tmp_path)
    bars = frames.bars()
    store.write_window(
        "raw", "bars", bars[bars["date"].isin(frames.SESSIONS[:2])], "date", frames.SESSIONS[:2], immutable=True
    )
    path = tmp_path / "raw" / "bars" / "_manifest.json"
    doc = json.loads(path.read_text())
    legacy = {
        "layer": "raw",
        "dataset": "bars",
        "partitions": {k: {key: v for key, v in e.items() if key != "size"} for k, e in doc["partitions"].items()},
    }
    path.write_text(json.dumps(legacy))
    (tmp_path / "raw" / "bars" / "_history.jsonl").unlink()
    assert store.partitions("raw", "bars") == list(frames.SESSIONS[:2])
    store.write_window("raw", "bars", frames.bars(), "date", frames.SESSIONS, immutable=True)
    assert "checksum" in json.loads(path.read_text())
    assert store.verify("raw", "bars") == []


def test_a_committed_write_interrupted_before_it_is_applied_is_finished_by_the_next_reader(tmp_path, monkeypatch):
    store = ParquetStore(tmp_path)
    df = _day(frames.bars(), DAY)
    store.write_partition("curated", "prices", DAY, df, immutable=False)
    changed = df.assign(close=df["close"] * 2, high=df["high"] * 2)

    def killed(self, directory, journal):
        raise KeyboardInterrupt  # the process dies right after the commit point

    monkeypatch.setattr(ParquetStore, "_apply", killed)
    with pytest.raises(KeyboardInterrupt):
        store.write_partition("curated", "prices", DAY, changed, immutable=False)
    monkeypatch.undo()
    assert (tmp_path / "curated" / "prices" / "_journal.json").exists()
    pd.testing.assert_frame_equal(store.read_window("curated", "prices", DAY, DAY, expected=[DAY]), changed)
    assert not (tmp_path / "curated" / "prices" / "_journal.json").exists()
    entry = store.manifest("curated", "prices")["partitions"]["2024-07-01"]
    assert entry["sha256"] == hashlib.sha256(parquet_bytes(changed)).hexdigest()
    assert [h["sha256"] for h in entry["history"]] == [hashlib.sha256(parquet_bytes(df)).hexdigest()]
    assert store.verify("curated", "prices") == []


def test_catalog_refresh_of_one_dataset_keeps_the_other_views(tmp_path):
    import duckdb

    store = ParquetStore(tmp_path / "store")
    bars = frames.bars()
    early = bars[bars["date"] < frames.SESSIONS[3]]
    store.write_window("raw", "bars", early, "date", frames.SESSIONS[:3], immutable=True)
    ca = frames.corporate_actions()
    store.write_window("raw", "corporate_actions", ca, "ex_date", frames.SESSIONS, immutable=True)
    catalog = store.write_duckdb_catalog(tmp_path / "catalog.duckdb")
    store.write_window("raw", "bars", bars, "date", frames.SESSIONS, immutable=True)
    store.write_duckdb_catalog(catalog, datasets=[("raw", "bars")])
    con = duckdb.connect(str(catalog), read_only=True)
    counts = {v: con.execute(f"select count(*) from {v}").fetchone()[0] for v in ("raw_bars", "raw_corporate_actions")}
    assert counts == {"raw_bars": len(bars), "raw_corporate_actions": len(ca)}
