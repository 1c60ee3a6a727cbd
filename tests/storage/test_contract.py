"""One conformance suite for every storage backend, each against a real server.

memory, a local directory, S3 (SeaweedFS), Azure Blob (Azurite), GCS (fake-gcs-server),
SFTP (OpenSSH) and read-only HTTP (rangehttpserver) all go through the same tests
through `open_backend`, as gitexp opens them from a remote's settings.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gitexp.core.remotes import RemoteConfig
from gitexp.errors import NotFoundError, StorageError
from gitexp.storage.backend import Backend, ReadOnlyError
from gitexp.storage.open import open_backend
from tests.servers import (  # noqa: F401 - fixtures
    S3_KEY,
    S3_SECRET,
    Server,
    azurite,
    fake_gcs,
    make_bucket,
    seaweedfs,
    sshd,
    start_http,
)

# aiohttp warns when adlfs hands it a large body as bytes; it is advice, not a failure
pytestmark = pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
WRITABLE = ["memory", "local", "s3", "azure", "gcs", "sftp"]
KEY = "blake3/ab/" + "c" * 62


def remote_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> RemoteConfig:
    prefix = uuid.uuid4().hex[:12]
    if kind == "memory":
        return RemoteConfig("t", f"memory://{prefix}")
    if kind == "local":
        return RemoteConfig("t", str(tmp_path / "remote"))
    if kind == "s3":
        server: Server = request.getfixturevalue("seaweedfs")
        if not server.extra.get("bucket"):
            make_bucket(server, "contract")
            server.extra["bucket"] = True
        return RemoteConfig(
            "t",
            f"s3://contract/{prefix}",
            {"endpoint_url": server.url, "key": S3_KEY, "secret": S3_SECRET},
        )
    if kind == "azure":
        server = request.getfixturevalue("azurite")
        conn = str(server.extra["connection_string"])
        if not server.extra.get("container"):
            from azure.storage.blob import BlobServiceClient

            BlobServiceClient.from_connection_string(conn).create_container("contract")
            server.extra["container"] = True
        return RemoteConfig("t", f"az://contract/{prefix}", {"connection_string": conn})
    if kind == "gcs":
        server = request.getfixturevalue("fake_gcs")
        if not server.extra.get("bucket"):
            import requests  # noqa: F401 - gcsfs pulls it in

        remote = RemoteConfig(
            "t", f"gs://contract/{prefix}", {"endpoint_url": server.url, "anon": True}
        )
        if not server.extra.get("bucket"):
            backend = open_backend(remote, tmp_path)
            backend.unwrap().fs.mkdir("contract")  # type: ignore[attr-defined]
            server.extra["bucket"] = True
        return remote
    if kind == "sftp":
        server = request.getfixturevalue("sshd")
        return RemoteConfig(
            "t",
            f"ssh://{server.extra['user']}@{server.url}{tmp_path}/sftp-remote",
            {"key_file": str(server.extra["key"]), "known_hosts": str(server.extra["known_hosts"])},
        )
    raise AssertionError(kind)


@pytest.fixture(params=WRITABLE)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    remote = remote_for(request.param, request, tmp_path)
    opened = open_backend(remote, tmp_path)
    yield opened
    opened.close()


def write(tmp_path: Path, data: bytes, name: str = "src") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_put_then_get_gives_the_same_bytes(backend: Backend, tmp_path: Path) -> None:
    data = os.urandom(5000)
    assert not backend.exists(KEY)
    backend.put(write(tmp_path, data), KEY)
    assert backend.exists(KEY)
    backend.get(KEY, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == data


def test_put_is_idempotent(backend: Backend, tmp_path: Path) -> None:
    src = write(tmp_path, b"same bytes")
    backend.put(src, KEY)
    backend.put(src, KEY)
    assert sorted(backend.list("blake3")) == [KEY]


def test_empty_and_large_objects(backend: Backend, tmp_path: Path) -> None:
    big = os.urandom(12 * 1024 * 1024 + 7)
    backend.put(write(tmp_path, b"", "empty"), "blake3/00/" + "0" * 62)
    backend.put(write(tmp_path, big, "big"), KEY)
    backend.get("blake3/00/" + "0" * 62, tmp_path / "e")
    backend.get(KEY, tmp_path / "b")
    assert (tmp_path / "e").read_bytes() == b""
    assert (tmp_path / "b").read_bytes() == big


def test_get_of_a_missing_key_is_not_found(backend: Backend, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        backend.get(KEY, tmp_path / "out")


def test_list_yields_keys_under_a_prefix_only(backend: Backend, tmp_path: Path) -> None:
    keys = ["blake3/ab/" + "1" * 62, "blake3/ab/" + "2" * 62, "blake3/cd/" + "3" * 62]
    for key in keys:
        backend.put(write(tmp_path, key.encode()), key)
    assert sorted(backend.list("blake3/ab")) == keys[:2]
    assert sorted(backend.list("blake3")) == keys
    assert list(backend.list("blake3/ef")) == []


def test_delete_is_idempotent(backend: Backend, tmp_path: Path) -> None:
    backend.put(write(tmp_path, b"x"), KEY)
    backend.delete(KEY)
    backend.delete(KEY)
    assert not backend.exists(KEY)
    assert list(backend.list("blake3")) == []


def test_parallel_puts_all_land(backend: Backend, tmp_path: Path) -> None:
    keys = [f"blake3/{i:02x}/" + f"{i:062x}" for i in range(40)]
    sources = [write(tmp_path, os.urandom(100 + i), f"s{i}") for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda pair: backend.put(pair[1], pair[0]), zip(keys, sources, strict=True)))
    assert sorted(backend.list("blake3")) == sorted(keys)


def test_describe_never_shows_a_secret(backend: Backend) -> None:
    text = backend.describe()
    assert S3_SECRET not in text and "AccountKey" not in text


@pytest.fixture
def http_remote(tmp_path: Path) -> Iterator[tuple[Backend, Path]]:
    served = tmp_path / "site"
    (served / "blake3" / "ab").mkdir(parents=True)
    folder = tmp_path / "http"
    folder.mkdir()
    server = start_http(folder, served)
    try:
        backend = open_backend(RemoteConfig("t", server.url + "/"), tmp_path)
        yield backend, served
    finally:
        server.stop()


def test_http_remote_reads(http_remote: tuple[Backend, Path], tmp_path: Path) -> None:
    backend, served = http_remote
    data = os.urandom(3 * 1024 * 1024)
    (served / KEY).write_bytes(data)
    assert backend.exists(KEY)
    assert not backend.exists("blake3/ab/" + "d" * 62)
    backend.get(KEY, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == data
    with pytest.raises(NotFoundError):
        backend.get("blake3/ab/" + "d" * 62, tmp_path / "out")


def test_http_remote_refuses_writes(http_remote: tuple[Backend, Path], tmp_path: Path) -> None:
    backend, _ = http_remote
    assert backend.read_only
    with pytest.raises(ReadOnlyError, match="read-only"):
        backend.put(write(tmp_path, b"x"), KEY)
    with pytest.raises(StorageError):
        backend.delete(KEY)


def keys_for(count: int) -> list[str]:
    return [f"blake3/{i % 7:02x}/" + f"{i:062x}" for i in range(count)]


def test_put_bytes_then_get_bytes(backend: Backend) -> None:
    data = os.urandom(3000)
    backend.put_bytes(data, KEY)
    assert backend.get_bytes(KEY) == data
    backend.put_bytes(data, KEY)
    assert sorted(backend.list("blake3")) == [KEY]
    with pytest.raises(NotFoundError):
        backend.get_bytes("blake3/ab/" + "d" * 62)


def test_put_many_then_get_many_round_trip(backend: Backend) -> None:
    keys = keys_for(40)
    blobs = {key: os.urandom(100 + i) for i, key in enumerate(keys)}
    stored = dict(backend.put_many(iter(blobs.items()), 4))
    assert stored == dict.fromkeys(keys)
    assert sorted(backend.list("blake3")) == sorted(keys)
    got = dict(backend.get_many(keys, 4))
    assert got == blobs


def test_get_many_reports_a_missing_key_and_goes_on(backend: Backend) -> None:
    keys = keys_for(6)
    for key in keys:
        backend.put_bytes(key.encode(), key)
    absent = "blake3/ff/" + "e" * 62
    got = dict(backend.get_many([*keys[:3], absent, *keys[3:]], 2))
    assert isinstance(got.pop(absent), NotFoundError)
    assert got == {key: key.encode() for key in keys}


def test_closing_a_bulk_call_early_stops_it(backend: Backend) -> None:
    keys = keys_for(30)
    taken: list[str] = []

    def items() -> Iterator[tuple[str, bytes]]:
        for key in keys:
            taken.append(key)
            yield key, key.encode()

    outcomes = backend.put_many(items(), 2)
    first = next(outcomes)
    outcomes.close()  # type: ignore[attr-defined]
    assert first[1] is None
    count = len(taken)
    assert count < len(keys)
    time.sleep(0.3)
    assert len(taken) == count  # nothing is taken once closed
    assert len(list(backend.list("blake3"))) <= count
    again = dict(backend.put_many(((k, k.encode()) for k in keys), 2))
    assert len(again) == len(keys)


def test_identity_tells_remotes_apart(tmp_path: Path) -> None:
    one = open_backend(RemoteConfig("t", str(tmp_path / "one")), tmp_path)
    two = open_backend(RemoteConfig("t", str(tmp_path / "two")), tmp_path)
    assert one.identity() != two.identity()
    same = open_backend(RemoteConfig("u", "one"), tmp_path)
    assert same.identity() == one.identity()


def test_s3_identity_names_the_endpoint(tmp_path: Path) -> None:
    pytest.importorskip("s3fs")
    here = RemoteConfig("t", "s3://b/p", {"endpoint_url": "http://127.0.0.1:1"})
    there = RemoteConfig("t", "s3://b/p", {"endpoint_url": "http://127.0.0.1:2"})
    assert open_backend(here, tmp_path).identity() != open_backend(there, tmp_path).identity()
    keyed = RemoteConfig("t", "s3://b/p", {"secret": "secret"})
    assert "secret" not in open_backend(keyed, tmp_path).identity()


def test_folders_names_the_object_folders_there_are(backend: Backend) -> None:
    assert backend.folders("blake3") == []
    for key in keys_for(10):
        backend.put_bytes(b"x", key)
    assert backend.folders("blake3") == [f"{i:02x}" for i in range(7)]
    assert backend.folders("blake3/00") == []


def test_a_big_object_goes_to_s3_in_parts_and_comes_back_whole(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Parts of `S3_PART_SIZE`, not s3fs's 50 MiB by ten (which held 0.5 GiB in memory).

    S3 gives a multipart object an ETag ending in ``-<number of parts>``.
    """
    from gitexp.storage.clouds import S3_PART_SIZE

    remote = remote_for("s3", request, tmp_path)
    backend = open_backend(remote, tmp_path)
    data = os.urandom(2 * S3_PART_SIZE + 1234)
    backend.put(write(tmp_path, data), KEY)
    import s3fs

    fs = s3fs.S3FileSystem(
        key=S3_KEY,
        secret=S3_SECRET,
        endpoint_url=remote.options["endpoint_url"],
        skip_instance_cache=True,
    )
    etag = fs.info(f"{remote.url.removeprefix('s3://')}/{KEY}")["ETag"]
    assert etag.strip('"').endswith("-3"), etag
    backend.get(KEY, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == data


def test_get_range_reads_part_of_an_object(backend: Backend) -> None:
    data = os.urandom(200_000)
    backend.put_bytes(data, KEY)
    assert backend.get_range(KEY, 0, 10) == data[:10]
    assert backend.get_range(KEY, 123_456, 150_000) == data[123_456:150_000]
    assert backend.get_range(KEY, 199_990, 200_000) == data[-10:]
    with pytest.raises(NotFoundError):
        backend.get_range("blake3/ab/" + "d" * 62, 0, 10)


def test_http_remote_reads_ranges(http_remote: tuple[Backend, Path]) -> None:
    backend, served = http_remote
    data = os.urandom(100_000)
    (served / KEY).write_bytes(data)
    assert backend.get_range(KEY, 5000, 7000) == data[5000:7000]


def test_packs_and_loose_objects_round_trip(backend: Backend, tmp_path: Path) -> None:
    """A layout-2 push packs the small objects and leaves a bigger one loose; a pull reads both."""
    from gitexp.cache.objects import ObjectStore
    from gitexp.storage.download import pull
    from gitexp.storage.layout import PACKED
    from gitexp.storage.packs import FOLDER
    from gitexp.storage.upload import push

    source = ObjectStore(tmp_path / "a")
    small = [source.put_bytes(os.urandom(50 + i)) for i in range(120)]
    big = source.put_bytes(os.urandom((1 << 20) + 10))
    pushed = push(source, backend, [[*small, big]], layout=PACKED)
    assert len(pushed.transferred) == 121
    keys = set(backend.list(FOLDER))
    assert len(keys) == 2 and {k.rsplit(".", 1)[1] for k in keys} == {"pack", "idx"}
    assert set(backend.list("blake3")) == {big.relpath}
    assert push(source, backend, [[*small, big]], layout=PACKED).present == 121
    target = ObjectStore(tmp_path / "b")
    pulled = pull(target, backend, [*small, big], tmp_dir=tmp_path / "tmp", layout=PACKED)
    assert len(pulled.transferred) == 121 and not pulled.corrupt and not pulled.missing
    assert all(target.read_bytes(o) == source.read_bytes(o) for o in [*small, big])
