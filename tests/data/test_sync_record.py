"""Push and pull with the record of what a remote holds, small and big objects, bad caches."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson
import pytest

from gitexp.cache.layout import MARKER
from gitexp.cache.locks import STORE_LOCK
from gitexp.cache.objects import ObjectStore
from gitexp.cache.statindex import Stamp, StatIndex
from gitexp.core.hashing import hash_bytes, oid_from_relpath
from gitexp.core.pointer import parse_pointer
from gitexp.storage.transfer import SMALL
from tests.conftest import commit_all, git
from tests.data.syncsetup import clone, loose_remote, make_origin, make_project, track
from tests.servers import S3_KEY, S3_SECRET, make_bucket
from tests.servers import seaweedfs as seaweedfs  # the fixture


def cache(root: Path) -> ObjectStore:
    return ObjectStore(root / ".git" / "gitexp" / "cache")


def on_remote(storage: Path) -> set[str]:
    """The storage keys of the objects on a local remote, loose or packed."""
    found = {
        p.relative_to(storage).as_posix() for p in (storage / "blake3").rglob("*") if p.is_file()
    }
    for index in (storage / "packs").glob("*/*.idx"):
        found.update(
            f"blake3/{r[0][:2]}/{r[0][2:]}" for r in orjson.loads(index.read_bytes())["objects"]
        )
    return found


def pushed(cli, *args: str) -> dict[str, int]:
    result = cli("push", *args, "--json")
    assert result.code == 0, result.err
    return orjson.loads(result.out)["objects"]  # type: ignore[no-any-return]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Clone A with tracked data (small files and one big file), not pushed yet."""
    origin = make_origin(tmp_path)
    a = make_project(tmp_path / "a", origin, "../storage")
    loose_remote(tmp_path / "storage")  # the record and its spot checks, as layout 1 has them
    (a / "data" / "big.bin").write_bytes(os.urandom(SMALL + 12345))
    track(a, "data/big.bin")
    commit_all(a, "big file")
    git(a, "push", "-q", "origin", "main")
    monkeypatch.chdir(a)
    return a, origin


def test_a_second_push_trusts_the_record_and_moves_nothing(project, cli) -> None:
    a, _ = project
    first = pushed(cli)
    assert first["transferred"] == 23 and first["present"] == 0
    records = list((a / ".git" / "gitexp" / "remote-objects").iterdir())
    assert len(records) == 1
    assert len(records[0].read_text().splitlines()) == 1 + 23
    again = pushed(cli)
    assert again["transferred"] == 0 and again["present"] == 23


def test_a_remote_emptied_behind_our_back_gets_everything_again(project, cli, tmp_path) -> None:
    a, origin = project
    pushed(cli)
    storage = tmp_path / "storage"
    shutil.rmtree(storage)
    again = pushed(cli)
    assert again["transferred"] == 23
    assert len(on_remote(storage)) == 23
    b = clone(origin, tmp_path / "b")
    os.chdir(b)
    pulled = cli("pull", "--json")
    assert pulled.code == 0, pulled.err
    assert (b / "data" / "big.bin").read_bytes() == (a / "data" / "big.bin").read_bytes()


def test_a_manifest_gone_from_the_remote_is_always_noticed(project, cli, tmp_path) -> None:
    a, _ = project
    pushed(cli)
    manifest = parse_pointer((a / "data" / "images.gitexp").read_bytes(), "p").oid
    path = tmp_path / "storage" / manifest.relpath
    os.chmod(path, 0o644)
    path.unlink()
    again = pushed(cli)
    assert again["transferred"] >= 1
    assert manifest.relpath in on_remote(tmp_path / "storage")


def test_a_pull_records_what_it_verified(project, cli, tmp_path) -> None:
    _, origin = project
    pushed(cli)
    b = clone(origin, tmp_path / "b")
    os.chdir(b)
    assert cli("pull").code == 0
    store = cache(b)
    oids = list(store.oids())
    assert len(oids) == 23
    with StatIndex(b / ".git" / "gitexp" / "index") as index:
        verified = index.verified_objects(o.hex for o in oids)
    assert set(verified) == {o.hex for o in oids}
    for oid in oids:
        assert verified[oid.hex] == Stamp.of(os.stat(store.path(oid)))
        assert hash_bytes(store.path(oid).read_bytes()) == oid


def test_a_corrupt_cache_object_is_never_pushed(project, cli, tmp_path) -> None:
    a, _ = project
    target = parse_pointer((a / "data" / "train.csv.gitexp").read_bytes(), "p").oid
    path = cache(a).path(target)
    os.chmod(path, 0o644)
    path.write_bytes(b"rotten" + path.read_bytes()[6:])
    result = cli("push")
    assert result.code == 1
    assert f"cache object {target} is corrupt" in result.err and "gitexp fsck" in result.err
    assert target.relpath not in on_remote(tmp_path / "storage")


def test_a_big_object_missing_from_the_cache_is_named(project, cli, tmp_path) -> None:
    a, _ = project
    big = parse_pointer((a / "data" / "big.bin.gitexp").read_bytes(), "p").oid
    path = cache(a).path(big)
    path.unlink()
    result = cli("push")
    assert result.code == 1
    assert "neither in the cache nor on" in result.err
    assert "data/big.bin" in result.err and str(big) in result.err
    assert "bucket" not in result.err


def test_a_corrupt_big_object_on_the_remote_is_refused(project, cli, tmp_path) -> None:
    a, origin = project
    pushed(cli)
    big = parse_pointer((a / "data" / "big.bin.gitexp").read_bytes(), "p").oid
    path = tmp_path / "storage" / big.relpath
    os.chmod(path, 0o644)
    with open(path, "r+b") as handle:
        handle.seek(SMALL)
        handle.write(b"flipped")
    b = clone(origin, tmp_path / "b")
    os.chdir(b)
    result = cli("pull")
    assert result.code == 1
    assert "do not match their hash" in result.err and "data/big.bin" in result.err
    assert not cache(b).has(big)
    assert not (b / "data" / "big.bin").exists()
    root = b / ".git" / "gitexp" / "cache"
    stored = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    objects = [p for p in stored if p not in (STORE_LOCK, MARKER)]  # the cache's own files
    assert all(oid_from_relpath(p) is not None for p in objects)  # no temporary file left
    assert big.relpath not in stored


def test_an_emptied_bucket_is_noticed(project, cli, seaweedfs, monkeypatch, tmp_path) -> None:
    a, origin = project
    make_bucket(seaweedfs, "record")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    text = (a / "gitexp.yaml").read_text().split("remotes:")[0]
    (a / "gitexp.yaml").write_text(
        text + f"remotes:\n  shared:\n    url: s3://record/x\n    endpoint_url: {seaweedfs.url}\n"
    )
    assert pushed(cli)["transferred"] == 23
    assert pushed(cli)["transferred"] == 0
    import s3fs

    fs = s3fs.S3FileSystem(key=S3_KEY, secret=S3_SECRET, endpoint_url=seaweedfs.url)
    fs.rm("record/x", recursive=True)
    assert pushed(cli)["transferred"] == 23
    commit_all(a, "s3 remote")
    git(a, "push", "-q", "origin", "main")
    b = clone(origin, tmp_path / "b")
    os.chdir(b)
    pulled = cli("pull", "--json")
    assert pulled.code == 0, pulled.err
    assert orjson.loads(pulled.out)["objects"]["transferred"] == 23
    assert (b / "data" / "big.bin").read_bytes() == (a / "data" / "big.bin").read_bytes()
