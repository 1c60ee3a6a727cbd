from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gitexp.cache.objects import BUFFER, ObjectStore
from gitexp.cache.statindex import StatIndex
from gitexp.core.hashing import hash_bytes
from gitexp.errors import ConflictError, IntegrityError, NotFoundError


def test_objects_are_read_only_and_laid_out_by_hash(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    oid = store.put_bytes(b"hello")
    path = tmp_path / "cache" / "blake3" / oid.hex[:2] / oid.hex[2:]
    assert path.read_bytes() == b"hello"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert store.has(oid)
    assert list(store.oids()) == [oid]


def test_big_file_is_streamed_and_identical(tmp_path: Path) -> None:
    data = os.urandom(BUFFER * 2 + 12345)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    store = ObjectStore(tmp_path / "cache")
    oid, size = store.put_file(source)
    assert (oid, size) == (hash_bytes(data), len(data))
    assert store.path(oid).read_bytes() == data
    assert store.put_file(source) == (oid, size)
    assert list((tmp_path / "cache").rglob(".tmp-*")) == []


def test_store_records_what_it_wrote_as_verified(tmp_path: Path) -> None:
    with StatIndex(tmp_path / "index") as index:
        store = ObjectStore(tmp_path / "cache", index)
        oid = store.put_bytes(b"x" * 10)
        index.flush()
        assert oid.hex in index.verified_objects([oid.hex])


def test_changed_while_read_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "f.bin"
    source.write_bytes(b"a" * 100)
    before = source.stat()
    source.write_bytes(b"b" * 150)
    store = ObjectStore(tmp_path / "cache")
    with pytest.raises(ConflictError) as info:
        store.put_file(source, before)
    assert "changed while gitexp was reading it" in info.value.message
    assert list(store.oids()) == []


def test_missing_source_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ObjectStore(tmp_path / "cache").put_file(tmp_path / "nope")


def test_read_bytes_errors(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    oid = store.put_bytes(b"good")
    with pytest.raises(NotFoundError):
        store.read_bytes(hash_bytes(b"other"))
    os.chmod(store.path(oid), 0o644)
    store.path(oid).write_bytes(b"evil")
    with pytest.raises(IntegrityError) as info:
        store.read_bytes(oid)
    assert str(oid) in info.value.message


def test_move_aside_and_remove(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    a, b = store.put_bytes(b"a"), store.put_bytes(b"b")
    moved = store.move_aside(a)
    assert moved.parent == tmp_path / "cache" / "corrupt"
    assert moved.read_bytes() == b"a"
    store.remove(b)
    assert list(store.oids()) == []


def test_storing_again_refreshes_mtime_for_gc(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    oid = store.put_bytes(b"data")
    os.utime(store.path(oid), (1000, 1000))
    store.put_bytes(b"data")
    assert store.path(oid).stat().st_mtime > 1000


@pytest.mark.parametrize("unnamed", [True, False], ids=["unnamed-files", "temporary-names"])
def test_put_many_writes_new_objects_and_only_touches_old_ones(
    tmp_path: Path, unnamed: bool
) -> None:
    with StatIndex(tmp_path / "index") as index:
        store = ObjectStore(tmp_path / "cache", index)
        assert store._tmpfiles  # this filesystem has O_TMPFILE
        store._tmpfiles = unnamed
        old = store.put_bytes(b"old")
        os.utime(store.path(old), (1000, 1000))
        inode = store.path(old).stat().st_ino
        blobs = [os.urandom(n * 10) for n in range(1, 200)] + [b"old", b"dup", b"dup"]
        oids = store.put_many(blobs, jobs=2)
        index.flush()
        assert oids == [hash_bytes(b) for b in blobs]
        assert sorted(store.oids()) == sorted(set(oids))
        for oid, blob in zip(oids, blobs, strict=True):
            assert store.path(oid).read_bytes() == blob
            assert stat.S_IMODE(store.path(oid).stat().st_mode) == 0o444
        assert store.path(old).stat().st_ino == inode, "an object there is not rewritten"
        assert store.path(old).stat().st_mtime > 1000, "but touched, so gc keeps it"
        assert index.verified_objects([o.hex for o in oids]).keys() >= {o.hex for o in oids[:-3]}
    assert [p.name for p in (tmp_path / "cache").rglob("*") if p.name.startswith(".")] == []
