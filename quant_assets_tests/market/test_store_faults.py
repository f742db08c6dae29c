"""Fault injection on the ParquetStore: kill -9 at any step, flipped bytes, deleted files.

Whatever happens, the store either serves exactly what was committed or raises an error naming
the file, and after a retry the manifest, the files and the history log agree.

The scenario writes two raw windows, rewrites a curated dataset twice and force-replaces one
raw partition. A forked writer counts the file-system calls the store makes (write, fsync,
rename, link, unlink, mkdir, ...) and SIGKILLs itself at the N-th one (a write is cut in half
first), for N drawn with a fixed seed over the whole scenario; the retry resumes at the step
that was running, as an orchestrator retrying a failed step would. In every other trial the
retry, and the recovery it starts with, is killed as well before a last retry.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quant_assets.market.store import ParquetStore, StoreIntegrityError, parquet_bytes
from quant_assets_tests.market import frames

S = frames.SESSIONS
DATASETS = (("raw", "bars"), ("curated", "prices"))
KILL_TRIALS = 32
_COUNTED_OS_CALLS = ("write", "fsync", "replace", "rename", "link", "unlink", "mkdir", "rmdir")


def _day(df: pd.DataFrame, day) -> pd.DataFrame:
    return df[df["date"] == day].reset_index(drop=True)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _scenario():
    """``(steps, final frames, committed versions per partition)`` of the write scenario."""
    bars = frames.with_lineage(frames.bars())
    curated_1 = bars[["date", "symbol", "close"]].assign(ret=0.01)
    curated_2 = curated_1.assign(ret=0.02)
    forced = _day(bars, S[1]).assign(volume=lambda d: d["volume"] + 1)
    steps = [
        ("raw", "bars", bars[bars["date"].isin(S[:3])], S[:3], True, False),
        ("curated", "prices", curated_1[curated_1["date"].isin(S[:3])], S[:3], False, False),
        ("raw", "bars", bars[bars["date"].isin(S[3:])], S[3:], True, False),
        ("curated", "prices", curated_2, S, False, False),
        ("raw", "bars", forced, S[1:2], True, True),
    ]
    final = {
        ("raw", "bars"): pd.concat([_day(bars, d) if d != S[1] else forced for d in S], ignore_index=True),
        ("curated", "prices"): curated_2.reset_index(drop=True),
    }
    versions: dict[tuple[str, str, pd.Timestamp], set[str]] = {}
    for layer, dataset, df, parts, _, _ in steps:
        for day in parts:
            versions.setdefault((layer, dataset, day), set()).add(_sha(parquet_bytes(_day(df, day))))
    return steps, final, versions


STEPS, FINAL, VERSIONS = _scenario()


def _run(store: ParquetStore, steps) -> None:
    for layer, dataset, df, parts, immutable, force in steps:
        store.write_window(layer, dataset, df, "date", parts, immutable=immutable, force=force)


def _writer(root: str, kill_at: int, progress: str, store_cls=ParquetStore, start: int = 0) -> None:
    """Run the scenario from step ``start``, SIGKILLing this process at the ``kill_at``-th
    counted os call (recovery of an earlier kill included)."""
    calls = [0]

    def counted(name, fn):
        def call(*args, **kwargs):
            calls[0] += 1
            if calls[0] == kill_at:
                if name == "write":  # a torn write: half the bytes reach the file
                    fn(args[0], bytes(args[1])[: len(args[1]) // 2])
                os.kill(os.getpid(), signal.SIGKILL)
            return fn(*args, **kwargs)

        return call

    for name in _COUNTED_OS_CALLS:
        setattr(os, name, counted(name, getattr(os, name)))
    store = store_cls(root)
    for i, step in enumerate(STEPS[start:], start=start):
        Path(progress).write_text(str(i))
        _run(store, [step])
    Path(progress).write_text(f"done {calls[0]}")


def _fork_writer(root: Path, kill_at: int, store_cls=ParquetStore, start: int = 0) -> tuple[int | None, str]:
    progress = root.parent / f"{root.name}.progress"
    proc = mp.get_context("fork").Process(target=_writer, args=(str(root), kill_at, str(progress), store_cls, start))
    proc.start()
    proc.join(60)
    return proc.exitcode, progress.read_text() if progress.exists() else "0"


@pytest.fixture(scope="module")
def total_calls(tmp_path_factory) -> int:
    root = tmp_path_factory.mktemp("count") / "store"
    code, progress = _fork_writer(root, kill_at=0)
    assert code == 0 and progress.startswith("done")
    return int(progress.split()[1])


def _kill_points(total: int) -> list[int]:
    rng = np.random.default_rng(13)
    return sorted(rng.choice(np.arange(1, total + 1), size=min(KILL_TRIALS, total), replace=False))


def _read(store: ParquetStore, layer: str, dataset: str) -> pd.DataFrame:
    return store.read_window(layer, dataset, S[0], S[-1], allow_missing=True)


def check_committed_state(store: ParquetStore) -> None:
    """Every partition served is one committed version; files and manifest agree."""
    for layer, dataset in DATASETS:
        got = _read(store, layer, dataset)
        for day in sorted(set(got["date"])) if len(got) else []:
            assert _sha(parquet_bytes(_day(got, day))) in VERSIONS[(layer, dataset, day)]
        assert store.verify(layer, dataset) == []


def check_final_state(store: ParquetStore) -> None:
    """After the retry: exactly the final frames, no leftovers, every replacement in history."""
    for (layer, dataset), expected in FINAL.items():
        pd.testing.assert_frame_equal(_read(store, layer, dataset), expected, check_exact=True)
        assert store.verify(layer, dataset) == []
    leftovers = [
        p
        for p in store.root.rglob("*")
        if p.name.endswith(".tmp") or p.name == "_journal.json" or p.parent.name == "_staging"
    ]
    assert leftovers == []
    raw = store.manifest("raw", "bars")["partitions"]
    first_s1 = _sha(parquet_bytes(_day(STEPS[0][2], S[1])))
    assert [h["sha256"] for h in raw["2024-07-02"]["history"]] == [first_s1]
    kept = store.partition_path("raw", "bars", S[1]).with_name(raw["2024-07-02"]["history"][0]["file"])
    assert _sha(kept.read_bytes()) == first_s1
    assert [k for k, e in raw.items() if "history" in e] == ["2024-07-02"]
    cur = store.manifest("curated", "prices")["partitions"]
    assert {k: len(e.get("history", [])) for k, e in cur.items()} == {
        "2024-07-01": 1,
        "2024-07-02": 1,
        "2024-07-03": 1,
        "2024-07-05": 0,
        "2024-07-08": 0,
    }
    supers = sorted(p.name for p in store.root.rglob("*.superseded.parquet"))
    assert supers == [kept.name]


@pytest.mark.parametrize("trial", range(KILL_TRIALS))
def test_kill_at_any_point_then_retry(trial, total_calls, tmp_path):
    points = _kill_points(total_calls)
    if trial >= len(points):
        pytest.skip("fewer counted calls than trials")
    root = tmp_path / "store"
    code, progress = _fork_writer(root, points[trial])
    assert code == -signal.SIGKILL, f"writer was not killed at call {points[trial]}"
    if trial % 2:  # the retry (and the recovery it starts with) is killed too
        second = int(np.random.default_rng(trial).integers(1, 40))
        code, progress = _fork_writer(root, second, start=int(progress))
        assert code in (0, -signal.SIGKILL)
        progress = "5" if progress.startswith("done") else progress
    store = ParquetStore(root)
    check_committed_state(store)
    _run(store, STEPS[int(progress) :])
    check_final_state(store)


@pytest.fixture(scope="module")
def complete_store(tmp_path_factory) -> ParquetStore:
    store = ParquetStore(tmp_path_factory.mktemp("complete") / "store", durable=False)
    _run(store, STEPS)
    check_final_state(store)
    return store


def _stored_files(store: ParquetStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file() and p.name != ".lock")


def _outcomes(store: ParquetStore, path: Path) -> dict[str, str]:
    """How each dataset reacts: 'identical', 'error naming file', or 'WRONG'/'other error'."""
    out = {}
    for layer, dataset in DATASETS:
        try:
            got = _read(store, layer, dataset)
        except StoreIntegrityError as exc:
            out[f"{layer}/{dataset}"] = "named" if str(path) in str(exc) else f"unnamed: {exc}"
            continue
        same = got.equals(FINAL[(layer, dataset)])
        out[f"{layer}/{dataset}"] = "identical" if same else "WRONG"
    return out


def _verify_names(store: ParquetStore, path: Path) -> bool:
    layer, dataset = path.relative_to(store.root).parts[:2]
    rel = path.relative_to(store.dataset_dir(layer, dataset)).as_posix()
    try:
        return any(m.file == rel for m in store.verify(layer, dataset))
    except StoreIntegrityError as exc:
        return str(path) in str(exc)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_flipped_byte_is_an_error_naming_the_file_or_harmless(complete_store, data):
    files = _stored_files(complete_store)
    path = data.draw(st.sampled_from(files), label="file")
    original = path.read_bytes()
    offset = data.draw(st.integers(0, len(original) - 1), label="offset")
    mask = data.draw(st.integers(1, 255), label="xor")
    flipped = bytearray(original)
    flipped[offset] ^= mask
    path.write_bytes(bytes(flipped))
    try:
        outcomes = _outcomes(complete_store, path)
        assert "WRONG" not in outcomes.values() and not any(v.startswith("unnamed") for v in outcomes.values()), (
            outcomes
        )
        if path.suffix == ".parquet":
            # a checksum catches every flip: current files fail reads, kept copies fail verify
            assert _verify_names(complete_store, path)
            if path.name == "part.parquet":
                assert "named" in outcomes.values()
                with pytest.raises(StoreIntegrityError, match=str(path)):
                    complete_store.duckdb_connect()
        elif "named" not in outcomes.values():
            # a JSON document may survive a flip only as a whitespace change
            assert _verify_names(complete_store, path) or _same_json(original, bytes(flipped))
    finally:
        path.write_bytes(original)


def _same_json(a: bytes, b: bytes) -> bool:
    """Same JSON document (manifest, journal) or same JSON Lines (history log)."""
    import json

    def parse(x: bytes):
        try:
            return json.loads(x)
        except ValueError:
            return [json.loads(line) for line in x.split(b"\n") if line.strip()]

    try:
        return parse(a) == parse(b)
    except ValueError:
        return False


_FILES = (
    [f"raw/bars/date={d:%Y-%m-%d}/part.parquet" for d in S]
    + [f"curated/prices/date={d:%Y-%m-%d}/part.parquet" for d in S]
    + [
        "raw/bars/superseded",
        "raw/bars/_manifest.json",
        "raw/bars/_history.jsonl",
        "curated/prices/_manifest.json",
        "curated/prices/_history.jsonl",
        "raw/bars/.lock",
    ]
)


@pytest.mark.parametrize("rel", _FILES)
def test_deleted_file_is_an_error_naming_it_or_reported(rel, complete_store, tmp_path):
    store = ParquetStore(tmp_path / "store", durable=False)
    shutil.copytree(complete_store.root, store.root)
    if rel.endswith("superseded"):
        path = next(store.root.rglob("*.superseded.parquet"))
    else:
        path = store.root / rel
    path.unlink()
    outcomes = _outcomes(store, path)
    layer, dataset = path.relative_to(store.root).parts[:2]
    if path.name == "part.parquet":
        assert outcomes[f"{layer}/{dataset}"] == "named"
        assert _verify_names(store, path)
        day = pd.Timestamp(path.parent.name.removeprefix("date="))
        original = _day(FINAL[(layer, dataset)], day)
        if layer == "raw":  # an immutable partition whose file is gone takes no new content
            with pytest.raises(StoreIntegrityError, match=str(path)):
                store.write_partition(layer, dataset, day, original.assign(volume=7), immutable=True)
        # re-ingesting what the manifest records restores it
        res = store.write_partition(layer, dataset, day, original, immutable=layer == "raw")
        assert res.status == "restored"
        check_final_state(store)
    elif path.name == "_manifest.json":
        assert outcomes[f"{layer}/{dataset}"] == "named"
        with pytest.raises(StoreIntegrityError, match=str(path)):
            store.write_partition(layer, dataset, S[0], _day(FINAL[(layer, dataset)], S[0]), immutable=layer == "raw")
        store.rebuild_manifest(layer, dataset)
        check_final_state(store)
    elif path.name == ".lock":
        assert set(outcomes.values()) == {"identical"}
        check_final_state(store)
    else:  # superseded copy or history log: reads are unaffected, verify reports the loss
        assert set(outcomes.values()) == {"identical"}
        assert _verify_names(store, path)
