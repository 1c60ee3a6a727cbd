"""Big files on a layout-2 remote: content-defined chunks, only new chunks moved, verified back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitexp.cache.objects import ObjectStore
from gitexp.errors import IntegrityError
from gitexp.storage.chunks import (
    CHUNKED,
    MAXIMUM,
    chunk_list_key,
    chunker,
    cut_hashed,
    mapped,
    parse_chunk_list,
)
from gitexp.storage.download import pull
from gitexp.storage.layout import PACKED
from gitexp.storage.local import LocalBackend
from gitexp.storage.upload import push
from tests.servers import seaweedfs  # noqa: F401 - fixture

SIZE = CHUNKED + (1 << 20)


def edited(data: bytes, places: int, length: int) -> bytes:
    out = bytearray(data)
    step = len(data) // places
    for i in range(places):
        at = i * step + step // 2
        out[at : at + length] = os.urandom(length)
    return bytes(out)


@pytest.fixture
def stores(tmp_path: Path) -> tuple[ObjectStore, LocalBackend, ObjectStore]:
    return (
        ObjectStore(tmp_path / "a"),
        LocalBackend(tmp_path / "remote"),
        ObjectStore(tmp_path / "b"),
    )


def test_a_big_file_goes_as_chunks_and_comes_back_whole(stores, tmp_path: Path) -> None:
    source, remote, target = stores
    oid, _ = source.put_file(_write(tmp_path / "f", os.urandom(SIZE)))
    pushed = push(source, remote, [[oid]], layout=PACKED)
    assert pushed.transferred == [oid]
    assert not remote.exists(oid.relpath) and remote.exists(chunk_list_key(oid))
    chunks = parse_chunk_list(remote.get_bytes(chunk_list_key(oid)))
    assert chunks is not None and 150 < len(chunks) < 600  # about 64 KiB each
    assert push(source, remote, [[oid]], layout=PACKED).present == 1
    pulled = pull(target, remote, [oid], tmp_dir=tmp_path / "tmp", layout=PACKED)
    assert pulled.transferred == [oid] and not pulled.corrupt
    assert target.read_bytes(oid) == source.read_bytes(oid)


def test_a_new_version_moves_only_the_chunks_around_its_edits(stores, tmp_path: Path) -> None:
    source, remote, target = stores
    first = os.urandom(SIZE)
    old, _ = source.put_file(_write(tmp_path / "v1", first))
    push(source, remote, [[old]], layout=PACKED)
    new, _ = source.put_file(_write(tmp_path / "v2", edited(first, 10, 1000)))
    pushed = push(source, remote, [[new]], layout=PACKED)
    assert pushed.transferred == [new]
    assert pushed.bytes < 0.1 * SIZE  # ten edits: about twenty chunks, not the file
    pulled = pull(target, remote, [old, new], tmp_dir=tmp_path / "tmp", layout=PACKED)
    assert len(pulled.transferred) == 2
    assert target.read_bytes(new) == source.read_bytes(new)


def test_a_file_that_repeats_itself_comes_back_whole(stores, tmp_path: Path) -> None:
    source, remote, target = stores
    block = os.urandom(1 << 20)
    data = block * 9 + os.urandom(3 << 20) + block * 9  # the same chunks at many offsets
    oid, _ = source.put_file(_write(tmp_path / "f", data))
    pushed = push(source, remote, [[oid]], layout=PACKED)
    assert pushed.bytes < len(data) // 4  # each repeated chunk is stored once
    pulled = pull(target, remote, [oid], tmp_dir=tmp_path / "tmp", layout=PACKED)
    assert pulled.transferred == [oid]
    assert target.read_bytes(oid) == data


@pytest.mark.parametrize("what", ["list", "chunk"])
def test_a_damaged_chunk_list_or_chunk_is_refused_by_name(
    stores, tmp_path: Path, what: str
) -> None:
    source, remote, target = stores
    oid, _ = source.put_file(_write(tmp_path / "f", os.urandom(SIZE)))
    push(source, remote, [[oid]], layout=PACKED)
    if what == "list":
        damaged = chunk_list_key(oid)
        path = tmp_path / "remote" / damaged
        _rewrite(path, lambda data: data.replace(b'"size":', b'"size":1'))
    else:
        path = next((tmp_path / "remote" / "packs").rglob("*.pack"))
        damaged = path.relative_to(tmp_path / "remote").as_posix()
        _rewrite(path, lambda data: data[:5000] + bytes([data[5000] ^ 1]) + data[5001:])
    pulled = pull(target, remote, [oid], tmp_dir=tmp_path / "tmp", layout=PACKED)
    assert pulled.corrupt == [oid] and damaged in pulled.damaged
    assert not target.has(oid)
    assert not (tmp_path / "tmp").exists() or not any((tmp_path / "tmp").iterdir())


@pytest.mark.parametrize("segment", [1 << 20, 777_777, MAXIMUM, MAXIMUM + 1])
def test_a_file_cut_in_segments_at_once_gives_the_chunks_of_one_cut(
    tmp_path: Path, segment: int
) -> None:
    from blake3 import blake3

    # Random runs resynchronise at once; zeros and a repeated block cut at fixed
    # lengths that a segment's own cut may never meet, so those are cut again.
    data = (
        os.urandom(3 << 20)
        + bytes(5 << 20)
        + os.urandom(100_003) * 30
        + b"ab" * (1 << 20)
        + os.urandom(12_345)
    )
    path = _write(tmp_path / "f", data)
    whole = [(c.offset, len(c.data), blake3(c.data).hexdigest()) for c in chunker().cut_file(path)]
    pieces = [piece for run in cut_hashed(mapped(path), 2, segment) for piece in run]
    assert pieces == whole


def _stamp(path: Path) -> tuple[int, int, int]:
    info = os.stat(path)
    return info.st_ino, info.st_size, info.st_mtime_ns


def test_a_big_cache_object_changed_since_it_was_checked_is_never_pushed(
    stores, tmp_path: Path
) -> None:
    source, remote, _ = stores
    oid, _ = source.put_file(_write(tmp_path / "f", os.urandom(SIZE)))
    checked = _stamp(source.path(oid))  # what the stat index recorded
    _rewrite(source.path(oid), lambda data: data[:1000] + b"rot" + data[1003:])
    with pytest.raises(IntegrityError, match=f"cache object {oid} is corrupt"):
        push(source, remote, [[oid]], layout=PACKED, intact={oid: checked})
    assert not remote.exists(chunk_list_key(oid)) and not remote.exists(oid.relpath)


def test_a_big_file_the_index_vouches_for_is_not_hashed_again_and_pull_still_verifies(
    stores, tmp_path: Path
) -> None:
    source, remote, target = stores
    oid, _ = source.put_file(_write(tmp_path / "f", os.urandom(SIZE)))
    path = source.path(oid)
    ino, size, mtime_ns = _stamp(path)
    # Bit rot that keeps the stat data: only `gitexp fsck` (which hashes) can see it.
    _rewrite(path, lambda data: data[:1000] + b"rot" + data[1003:])
    os.utime(path, ns=(mtime_ns, mtime_ns))
    assert _stamp(path) == (ino, size, mtime_ns)
    pushed = push(source, remote, [[oid]], layout=PACKED, intact={oid: (ino, size, mtime_ns)})
    assert pushed.transferred == [oid] and remote.exists(chunk_list_key(oid))
    pulled = pull(target, remote, [oid], tmp_dir=tmp_path / "tmp", layout=PACKED)
    assert pulled.corrupt == [oid] and not target.has(oid)


def test_a_big_file_goes_to_s3_as_chunks_and_comes_back_whole(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Over a real S3 server (bodies unsigned, with a CRC32): packs of chunks, pulled back whole."""
    from gitexp.core.remotes import RemoteConfig
    from gitexp.storage.open import open_backend
    from tests.servers import S3_KEY, S3_SECRET, make_bucket

    server = request.getfixturevalue("seaweedfs")
    if not server.extra.get("chunks"):
        make_bucket(server, "chunks")
        server.extra["chunks"] = True
    options = {"endpoint_url": server.url, "key": S3_KEY, "secret": S3_SECRET}
    remote = open_backend(RemoteConfig("t", "s3://chunks/one", options), tmp_path)
    source, target = ObjectStore(tmp_path / "a"), ObjectStore(tmp_path / "b")
    oid, _ = source.put_file(_write(tmp_path / "f", os.urandom(SIZE)))
    assert push(source, remote, [[oid]], layout=PACKED).transferred == [oid]
    assert not remote.exists(oid.relpath) and remote.exists(chunk_list_key(oid))
    assert len(list(remote.list("packs"))) == 4  # two packs of 16 MiB and more, two indexes
    pulled = pull(target, remote, [oid], tmp_dir=tmp_path / "tmp", layout=PACKED)
    assert pulled.transferred == [oid] and not pulled.corrupt
    assert target.read_bytes(oid) == source.read_bytes(oid)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _rewrite(path: Path, change) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(change(path.read_bytes()))
