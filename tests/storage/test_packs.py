"""Layout-2 remotes: new remotes are packed, packs are read in few ranged requests and verified."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import Oid, hash_bytes
from gitexp.errors import IntegrityError
from gitexp.storage.download import pull
from gitexp.storage.layout import MARKER, PACKED
from gitexp.storage.local import LocalBackend
from gitexp.storage.packs import FOLDER, Location, build_pack, parse_index
from gitexp.storage.unpacking import GAP, spans
from gitexp.storage.upload import push
from tests.conftest import git
from tests.data.syncsetup import clone, make_origin, make_project


class Counting(LocalBackend):
    """A local remote that counts its requests by kind."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls: Counter[str] = Counter()

    def get_range(self, key: str, start: int, end: int) -> bytes:
        self.calls["range"] += 1
        return super().get_range(key, start, end)

    def put_bytes(self, data: bytes, key: str) -> None:
        self.calls["put"] += 1
        super().put_bytes(data, key)

    def get_bytes(self, key: str) -> bytes:
        self.calls["get"] += 1
        return super().get_bytes(key)


def test_an_index_names_where_each_object_lies_so_b3sum_can_check_it() -> None:
    blobs = [os.urandom(10 + i) for i in range(5)]
    items = [(hash_bytes(b), b) for b in blobs]
    key, data, index = build_pack(items)
    assert key == f"packs/{hash_bytes(data).hex[:2]}/{hash_bytes(data).hex}.pack"
    entries = parse_index(index, key[: -len(".pack")] + ".idx")
    assert entries is not None
    for oid, offset, size in entries:
        assert hash_bytes(data[offset : offset + size]) == oid
    value = json.loads(index)
    assert value["version"] == 1 and value["size"] == len(data)


@pytest.mark.parametrize(
    "damage",
    [
        lambda v: {**v, "version": 9},
        lambda v: {**v, "pack": "blake3:" + "0" * 64},
        lambda v: {**v, "objects": [[v["objects"][0][0], 0, v["size"] + 1]]},
        lambda v: {**v, "objects": [["zz", 0, 1]]},
    ],
)
def test_a_damaged_index_reads_as_none(damage) -> None:
    key, _, index = build_pack([(hash_bytes(b"x"), b"x")])
    value = damage(json.loads(index))
    assert parse_index(json.dumps(value).encode(), key[:-5] + ".idx") is None
    assert parse_index(b"\xff not json", key[:-5] + ".idx") is None


def test_neighbours_share_a_ranged_read() -> None:
    oids = [hash_bytes(bytes([i])) for i in range(4)]
    where = [
        Location("p", 0, 100),
        Location("p", 150, 100),
        Location("p", 250 + GAP + 1, 10),
        Location("q", 0, 5),
    ]
    found = spans(zip(oids, where, strict=True))
    assert [(s.pack, s.start, s.end, len(s.objects)) for s in found] == [
        ("p", 0, 250, 2),
        ("p", 250 + GAP + 1, 250 + GAP + 11, 1),
        ("q", 0, 5, 1),
    ]


def small_objects(store: ObjectStore, count: int) -> list[Oid]:
    return [store.put_bytes(os.urandom(200 + i % 50)) for i in range(count)]


def test_many_small_objects_take_few_requests_both_ways(tmp_path: Path) -> None:
    source = ObjectStore(tmp_path / "a")
    oids = small_objects(source, 2000)
    remote = Counting(tmp_path / "remote")
    pushed = push(source, remote, [oids], layout=PACKED)
    assert len(pushed.transferred) == 2000
    assert remote.calls["put"] == 2  # one pack, then its index
    target = ObjectStore(tmp_path / "b")
    remote.calls.clear()
    pulled = pull(target, remote, oids, tmp_dir=tmp_path / "tmp", layout=PACKED)
    assert len(pulled.transferred) == 2000
    assert remote.calls["range"] == 1 and remote.calls["get"] == 1  # the index, one range


def damage_first(storage: Path, suffix: str, how) -> Path:
    path = next(p for p in (storage / FOLDER).rglob(f"*.{suffix}"))
    os.chmod(path, 0o644)
    path.write_bytes(how(path.read_bytes()))
    return path


def flip(data: bytes) -> bytes:
    return data[:100] + bytes([data[100] ^ 1]) + data[101:]


@pytest.fixture
def packed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> tuple[Path, Path, Path]:
    """Clone A pushed to a new storage remote (made layout 2); clone B of the same origin."""
    origin = make_origin(tmp_path)
    a = make_project(tmp_path / "a", origin, "../storage")
    monkeypatch.chdir(a)
    assert cli("push").code == 0
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    return a, b, tmp_path / "storage"


def test_a_new_remote_is_made_layout_2_and_a_clone_pulls_it_whole(packed, cli) -> None:
    a, b, storage = packed
    assert json.loads((storage / MARKER).read_bytes()) == {"layout": PACKED}
    assert not (storage / "blake3").exists()  # 21 small files and their manifest: packed
    assert len(list((storage / FOLDER).rglob("*.idx"))) == 2  # files, then the manifest
    assert cli("pull").code == 0
    for rel in ["data/train.csv", "data/images/img07.bin"]:
        assert (b / rel).read_bytes() == (a / rel).read_bytes()


def test_a_corrupt_pack_is_refused_naming_it_and_nothing_reaches_the_workspace(packed, cli) -> None:
    _, b, storage = packed
    path = damage_first(storage, "pack", flip)
    result = cli("pull")
    assert result.code == 1
    assert "do not match their hash" in result.err and path.name in result.err
    assert not (b / "data").exists() or not any((b / "data").rglob("*.bin"))


def test_a_damaged_index_is_named_when_its_objects_cannot_be_found(packed, cli) -> None:
    _, _, storage = packed
    path = damage_first(storage, "idx", lambda data: b"{" + data)
    result = cli("pull")
    assert result.code == 1 and path.name in result.err and "missing" in result.err


def test_a_pack_without_its_index_is_ignored_and_a_push_packs_again(
    packed, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, storage = packed
    for index in (storage / FOLDER).rglob("*.idx"):
        index.unlink()
    result = cli("pull")
    assert result.code == 1 and "missing" in result.err
    monkeypatch.chdir(a)
    assert cli("push").code == 0  # the indexes say what is there, not the local record
    monkeypatch.chdir(b)
    assert cli("pull").code == 0
    assert (b / "data" / "train.csv").read_bytes() == (a / "data" / "train.csv").read_bytes()


def test_a_remote_that_holds_loose_objects_stays_layout_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    origin = make_origin(tmp_path)
    storage = tmp_path / "storage"
    (storage / "blake3" / "ab").mkdir(parents=True)
    a = make_project(tmp_path / "a", origin, "../storage")
    monkeypatch.chdir(a)
    assert cli("push").code == 0
    assert not (storage / MARKER).exists() and not (storage / FOLDER).exists()
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    assert cli("pull").code == 0
    git(b, "status")


def test_indexes_are_read_once_then_kept_locally(tmp_path: Path) -> None:
    from gitexp.storage.known import KnownBackend, KnownObjects

    source = ObjectStore(tmp_path / "a")
    oids = small_objects(source, 50)
    inner = Counting(tmp_path / "remote")
    records = tmp_path / "records"
    push(source, KnownBackend(inner, KnownObjects.load(records, "r")), [oids], layout=PACKED)
    inner.calls.clear()
    target = ObjectStore(tmp_path / "b")
    remote = KnownBackend(inner, KnownObjects.load(records, "r"))
    pull(target, remote, oids, tmp_dir=tmp_path / "tmp", layout=PACKED)
    assert inner.calls["get"] == 0  # the push kept a copy of the index it wrote
    assert push(source, remote, [oids], layout=PACKED).present == 50
    assert inner.calls["get"] == 0
    shutil.rmtree(records.with_name("records"))
    fresh = KnownBackend(inner, KnownObjects.load(records, "r"))
    pull(ObjectStore(tmp_path / "c"), fresh, oids, tmp_dir=tmp_path / "tmp", layout=PACKED)
    assert inner.calls["get"] == 1  # without a copy: read once from the remote


def test_a_packed_remote_served_read_only_over_http_pulls_whole(
    packed, cli, tmp_path: Path
) -> None:
    from tests.servers import start_http

    a, b, storage = packed
    folder = tmp_path / "httpd"
    folder.mkdir()
    server = start_http(folder, storage)
    try:
        config = (b / "gitexp.yaml").read_text().split("remotes:")[0]
        (b / "gitexp.yaml").write_text(config + f"remotes:\n  shared: {server.url}\n")
        result = cli("pull")
        assert result.code == 0, result.err
    finally:
        server.stop()
    assert (b / "data" / "train.csv").read_bytes() == (a / "data" / "train.csv").read_bytes()


def test_a_pack_of_many_objects_read_at_once_keeps_their_order_and_names_what_is_absent(
    tmp_path: Path,
) -> None:
    source = ObjectStore(tmp_path / "a")
    oids = small_objects(source, 1500)  # several read batches
    gone = oids[700]
    os.unlink(source.path(gone))
    remote = LocalBackend(tmp_path / "remote")
    pushed = push(source, remote, [oids], layout=PACKED)
    assert pushed.missing == [gone]
    assert len(pushed.transferred) == 1499
    index = next((tmp_path / "remote" / FOLDER).rglob("*.idx"))
    entries = parse_index(index.read_bytes(), str(index.relative_to(tmp_path / "remote")))
    assert entries is not None
    assert [oid for oid, _, _ in entries] == sorted(o for o in oids if o != gone)


def test_a_corrupt_object_among_many_stops_the_pack_and_nothing_is_indexed(tmp_path: Path) -> None:
    source = ObjectStore(tmp_path / "a")
    oids = small_objects(source, 1500)
    victim = sorted(oids)[1200]
    path = source.path(victim)
    os.chmod(path, 0o644)
    path.write_bytes(b"rotten" + path.read_bytes()[6:])
    remote = LocalBackend(tmp_path / "remote")
    with pytest.raises(IntegrityError, match=f"cache object {victim} is corrupt"):
        push(source, remote, [oids], layout=PACKED)
    assert not list((tmp_path / "remote").rglob("*.idx"))
