from __future__ import annotations

import os
import time
from pathlib import Path

from gitexp.cache.statindex import FILE_NAME, StatIndex


def old_file(path: Path, text: str) -> os.stat_result:
    path.write_text(text)
    past = time.time() - 100
    os.utime(path, (past, past))
    return path.stat()


def test_survives_between_uses_and_matches_stat(tmp_path: Path) -> None:
    info = old_file(tmp_path / "f", "x")
    with StatIndex(tmp_path / "idx") as index:
        index.record_file(str(tmp_path / "f"), info, "a" * 64)
    with StatIndex(tmp_path / "idx") as index:
        assert index.known_hash(str(tmp_path / "f"), info) == "a" * 64
        (tmp_path / "f").write_text("yy")
        assert index.known_hash(str(tmp_path / "f"), (tmp_path / "f").stat()) is None


def test_racy_files_are_not_recorded(tmp_path: Path) -> None:
    with StatIndex(tmp_path / "idx") as index:
        (tmp_path / "new").write_text("just written")
        index.record_file(str(tmp_path / "new"), (tmp_path / "new").stat(), "b" * 64)
    with StatIndex(tmp_path / "idx") as index:
        assert index.files([str(tmp_path / "new")]) == {}


def test_rebuilt_when_deleted_or_corrupt(tmp_path: Path) -> None:
    info = old_file(tmp_path / "f", "x")
    with StatIndex(tmp_path / "idx") as index:
        index.record_file(str(tmp_path / "f"), info, "c" * 64)
    for name in os.listdir(tmp_path / "idx"):
        os.unlink(tmp_path / "idx" / name)
    with StatIndex(tmp_path / "idx") as index:
        assert index.known_hash(str(tmp_path / "f"), info) is None
        index.record_file(str(tmp_path / "f"), info, "c" * 64)
    (tmp_path / "idx" / FILE_NAME).write_bytes(b"this is not a database" * 100)
    for extra in ("-wal", "-shm"):
        Path(f"{tmp_path / 'idx' / FILE_NAME}{extra}").unlink(missing_ok=True)
    with StatIndex(tmp_path / "idx") as index:
        assert index.known_hash(str(tmp_path / "f"), info) is None
        index.record_file(str(tmp_path / "f"), info, "d" * 64)
    with StatIndex(tmp_path / "idx") as index:
        assert index.known_hash(str(tmp_path / "f"), info) == "d" * 64


def test_many_lookups_are_batched(tmp_path: Path) -> None:
    info = old_file(tmp_path / "f", "x")
    with StatIndex(tmp_path / "idx") as index:
        for number in range(1200):
            index.record_file(f"/data/{number}", info, f"{number:064x}")
    with StatIndex(tmp_path / "idx") as index:
        found = index.files(f"/data/{n}" for n in range(1500))
        assert len(found) == 1200


def test_folders_are_one_record_without_racy_rows(tmp_path: Path) -> None:
    row_a = [1, 2, 3, "a" * 64, False]
    with StatIndex(tmp_path / "idx") as index:
        index.record_folder("/whole", {"a": row_a}, "m" * 64)
        index.record_folder(
            "/data", {"a": row_a, "b": [1, 2, index.now_ns, "b" * 64, False]}, "m" * 64
        )
    with StatIndex(tmp_path / "idx") as index:
        assert index.folder("/whole") == ({"a": row_a}, "m" * 64)
        assert index.folder("/data") == ({"a": row_a}, None)  # racy row dropped: not whole
        assert index.folder("/dat") == ({}, None)


def test_a_manifest_s_object_stamps_are_kept_together_until_any_object_is_forgotten(
    tmp_path: Path,
) -> None:
    stamps = {f"{n:064x}": (n, 10 + n, 1_000_000 + n) for n in range(3)}
    with StatIndex(tmp_path / "idx") as index:
        index.record_manifest_objects("m" * 64, stamps)
        assert index.manifest_objects("m" * 64) == stamps  # buffered
    with StatIndex(tmp_path / "idx") as index:
        assert index.manifest_objects("m" * 64) == stamps
        assert index.manifest_objects("n" * 64) == {}
        index.forget_objects(["f" * 64])  # not even one of them: all such records go
        assert index.manifest_objects("m" * 64) == {}
    with StatIndex(tmp_path / "idx") as index:
        assert index.manifest_objects("m" * 64) == {}


def test_an_index_of_an_older_version_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "idx").mkdir()
    for name in ("stat-v2.sqlite", "stat-v2.sqlite-wal", "stat-v1.sqlite"):
        (tmp_path / "idx" / name).write_bytes(b"old")
    with StatIndex(tmp_path / "idx") as index:
        index.record_manifest_objects("m" * 64, {"a" * 64: (1, 2, 3)})
    assert sorted(os.listdir(tmp_path / "idx"))[0] == FILE_NAME
    assert not [n for n in os.listdir(tmp_path / "idx") if n.startswith(("stat-v1", "stat-v2"))]
