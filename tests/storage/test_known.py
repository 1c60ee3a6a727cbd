"""The record of what a storage remote holds, and how push uses it."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitexp.core.hashing import Oid, hash_bytes
from gitexp.storage.known import KnownBackend, KnownObjects
from gitexp.storage.memory import MemoryBackend
from gitexp.storage.upload import EXISTS_LIMIT, SPOT_CHECKS, missing_on_remote


def oids(count: int, seed: int = 0) -> list[Oid]:
    return [hash_bytes(f"{seed}-{i}".encode()) for i in range(count)]


def test_a_record_survives_a_round_trip(tmp_path: Path) -> None:
    record = KnownObjects.load(tmp_path / "state", "file:///somewhere")
    assert len(record) == 0
    record.add(oids(5))
    record.discard(oids(1))
    record.save()
    again = KnownObjects.load(tmp_path / "state", "file:///somewhere")
    assert len(again) == 4 and oids(5)[4] in again and oids(5)[0] not in again
    other = KnownObjects.load(tmp_path / "state", "file:///elsewhere")
    assert len(other) == 0


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text.replace("objects 1", "objects 9"),
        lambda text: text[:-10],
        lambda text: text + "not-a-hash\n",
        lambda text: "\x00\xff garbage",
    ],
)
def test_a_damaged_record_reads_as_empty(tmp_path: Path, damage) -> None:
    record = KnownObjects.load(tmp_path, "id")
    record.add(oids(3))
    record.save()
    assert record.path is not None
    text = record.path.read_text(encoding="latin-1")
    record.path.write_text(damage(text), encoding="latin-1")
    assert len(KnownObjects.load(tmp_path, "id")) == 0


def test_saving_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    record = KnownObjects.load(tmp_path, "id")
    record.add(oids(100))
    record.save()
    assert [p.name for p in tmp_path.iterdir()] == [record.path.name]  # type: ignore[union-attr]


class Counting(MemoryBackend):
    """A memory remote that counts the calls made to it."""

    def __init__(self) -> None:
        super().__init__("memory://counting")
        self.calls: Counter[str] = Counter()

    def exists(self, key: str) -> bool:
        self.calls["exists"] += 1
        return super().exists(key)

    def list(self, prefix: str = "") -> Iterator[str]:
        self.calls["list"] += 1
        return super().list(prefix)


def fill(backend: MemoryBackend, found: list[Oid]) -> None:
    for oid in found:
        backend.objects[oid.relpath] = os.urandom(8)


def test_a_full_record_needs_only_spot_checks(tmp_path: Path) -> None:
    wanted = oids(500)
    remote = Counting()
    fill(remote, wanted)
    record = KnownObjects.load(tmp_path, "id")
    assert missing_on_remote(KnownBackend(remote, record), wanted, 4) == set()
    assert remote.calls["list"] > 0  # the first time, the remote is listed
    remote.calls.clear()
    manifest = wanted[0]
    assert (
        missing_on_remote(KnownBackend(remote, record), wanted, 4, always_check={manifest}) == set()
    )
    assert remote.calls["list"] == 0
    assert remote.calls["exists"] in (SPOT_CHECKS, SPOT_CHECKS + 1)  # the manifest may be drawn


def test_a_stale_record_is_caught_and_forgotten(tmp_path: Path) -> None:
    wanted = oids(500)
    remote = Counting()
    fill(remote, wanted)
    record = KnownObjects.load(tmp_path, "id")
    missing_on_remote(KnownBackend(remote, record), wanted, 4)
    remote.objects.clear()  # emptied behind gitexp's back
    assert missing_on_remote(KnownBackend(remote, record), wanted, 4) == set(wanted)
    assert len(record) == 0


def test_a_missing_manifest_is_always_caught(tmp_path: Path) -> None:
    files, manifest = oids(500), oids(1, seed=1)[0]
    remote = Counting()
    fill(remote, [*files, manifest])
    record = KnownObjects.load(tmp_path, "id")
    missing_on_remote(KnownBackend(remote, record), [*files, manifest], 4)
    del remote.objects[manifest.relpath]
    found = missing_on_remote(
        KnownBackend(remote, record), [*files, manifest], 4, always_check={manifest}
    )
    assert found == {manifest}


def test_few_unknown_objects_are_asked_about_one_by_one(tmp_path: Path) -> None:
    known, new = oids(300), oids(10, seed=2)
    remote = Counting()
    fill(remote, known)
    record = KnownObjects.load(tmp_path, "id")
    record.add(known)
    remote.calls.clear()
    assert missing_on_remote(KnownBackend(remote, record), [*known, *new], 4) == set(new)
    assert remote.calls["list"] == 0
    assert remote.calls["exists"] == len(new) + SPOT_CHECKS <= EXISTS_LIMIT
    assert all(oid in record for oid in known) and not any(oid in record for oid in new)


def test_the_wrapper_learns_from_what_passes_through_and_saves_on_close(tmp_path: Path) -> None:
    stored, gone = oids(3), oids(1, seed=3)[0]
    inner = MemoryBackend()
    backend = KnownBackend(inner, KnownObjects.load(tmp_path, "id"))
    backend.put_bytes(b"one", stored[0].relpath)
    list(backend.put_many([(stored[1].relpath, b"two")], 2))
    inner.put_bytes(b"three", stored[2].relpath)
    assert [k for k, _ in backend.get_many([stored[2].relpath, gone.relpath], 2)]
    backend.put_bytes(b"marker", "gitexp-remote.json")  # not an object: not noted
    backend.close()
    again = KnownObjects.load(tmp_path, "id")
    assert all(oid in again for oid in stored) and gone not in again and len(again) == 3


def test_open_backend_keeps_the_record_only_when_given_a_folder(tmp_path: Path) -> None:
    from gitexp.core.remotes import RemoteConfig
    from gitexp.storage.known import record_of
    from gitexp.storage.open import open_backend

    remote = RemoteConfig("r", str(tmp_path / "remote"))
    oid = oids(1)[0]
    plain = open_backend(remote, tmp_path)
    plain.put_bytes(b"x", oid.relpath)
    assert len(record_of(plain)) == 0
    kept = open_backend(remote, tmp_path, records=tmp_path / "records")
    assert kept.exists(oid.relpath) and oid in record_of(kept)
    kept.close()
    assert oid in KnownObjects.load(tmp_path / "records", kept.identity())
