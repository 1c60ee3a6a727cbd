"""S3 request bodies over plain http: unsigned, but a body damaged on the way is refused.

The S3 client no longer signs a SHA-256 of each body over http; a checksum in a signed
header stands for it (a CRC32C that gitexp computes for a body sent whole, else the
client's CRC32), and the server checks it. A proxy on loopback that flips one
byte in the body of every upload shows what a user relies on: the upload fails, and
nothing damaged is stored under the key.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitexp.core.remotes import RemoteConfig
from gitexp.errors import GitexpError
from gitexp.storage.open import open_backend
from tests.servers import S3_KEY, S3_SECRET, Server, make_bucket, seaweedfs  # noqa: F401

FLIPPED = 100_000
"""The offset, in each uploaded body, of the byte the proxy flips."""


class FlippingProxy:
    """A TCP proxy to ``port`` that flips byte `FLIPPED` of every PUT request's body."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.flipped = 0
        self.checksums: list[bytes] = []
        """The checksum headers' names of each PUT request, in order."""
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._requests, args=(client, server), daemon=True).start()
            threading.Thread(target=_pipe, args=(server, client), daemon=True).start()

    def _requests(self, src: socket.socket, dst: socket.socket) -> None:
        """Forward requests one by one (keep-alive), flipping a byte of each PUT body."""
        buffer = b""
        with contextlib.suppress(OSError), src, dst:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = src.recv(1 << 16)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                dst.sendall(head + b"\r\n\r\n")
                lines = head.split(b"\r\n")
                headers = dict(line.lower().split(b": ", 1) for line in lines[1:] if b": " in line)
                if b"transfer-encoding" in headers:  # not parsed: passed on as it is
                    dst.sendall(buffer)
                    _pipe(src, dst)
                    return
                if lines[0].startswith(b"PUT "):
                    self.checksums.append(b",".join(sorted(h for h in headers if b"checksum" in h)))
                length = int(headers.get(b"content-length", b"0"))
                buffer = self._body(src, dst, buffer, length, lines[0].startswith(b"PUT "))

    def _body(
        self, src: socket.socket, dst: socket.socket, buffer: bytes, length: int, flip: bool
    ) -> bytes:
        sent = 0
        while sent < length:
            if not buffer:
                buffer = src.recv(1 << 16)
                if not buffer:
                    raise OSError("client went away")
            piece, buffer = buffer[: length - sent], buffer[length - sent :]
            if flip and sent <= FLIPPED < sent + len(piece):
                changed = bytearray(piece)
                changed[FLIPPED - sent] ^= 0xFF
                piece = bytes(changed)
                self.flipped += 1
            dst.sendall(piece)
            sent += len(piece)
        return buffer

    def stop(self) -> None:
        self.listener.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(1 << 16):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


@pytest.fixture
def flipping(seaweedfs: Server) -> Iterator[tuple[Server, FlippingProxy]]:  # noqa: F811
    if not seaweedfs.extra.get("bodies"):
        make_bucket(seaweedfs, "bodies")
        seaweedfs.extra["bodies"] = True
    proxy = FlippingProxy(seaweedfs.port)
    try:
        yield seaweedfs, proxy
    finally:
        proxy.stop()


def _remote(endpoint: str, prefix: str, **options: str) -> RemoteConfig:
    return RemoteConfig(
        "t",
        f"s3://bodies/{prefix}",
        {"endpoint_url": endpoint, "key": S3_KEY, "secret": S3_SECRET, "retries": 0, **options},
    )


@pytest.mark.parametrize("signed", [False, True], ids=["crc32", "signed"])
def test_a_body_damaged_on_the_way_is_refused_and_not_stored(
    flipping: tuple[Server, FlippingProxy], tmp_path: Path, signed: bool
) -> None:
    server, proxy = flipping
    prefix = uuid.uuid4().hex[:12]
    options = {"sign_payload": "true"} if signed else {}
    through = open_backend(_remote(f"http://127.0.0.1:{proxy.port}", prefix, **options), tmp_path)
    key = "packs/ab/" + "c" * 64 + ".pack"
    with pytest.raises(GitexpError):
        through.put_bytes(os.urandom(2 * FLIPPED), key)
    assert proxy.flipped >= 1
    if not signed:
        assert proxy.checksums[0] == b"x-amz-checksum-crc32c"
    direct = open_backend(_remote(server.url, prefix, **options), tmp_path)
    assert not direct.exists(key)
    data = os.urandom(2 * FLIPPED)
    direct.put_bytes(data, key)  # the same upload, undamaged, is taken
    assert direct.get_bytes(key) == data


def test_a_view_is_stored_as_exactly_its_bytes(seaweedfs: Server, tmp_path: Path) -> None:  # noqa: F811
    """A pack of chunks is a view of a file's mapping: what goes up is the view's bytes."""
    if not seaweedfs.extra.get("bodies"):
        make_bucket(seaweedfs, "bodies")
        seaweedfs.extra["bodies"] = True
    backend = open_backend(_remote(seaweedfs.url, uuid.uuid4().hex[:12]), tmp_path)
    whole = os.urandom(3 * FLIPPED)
    view = memoryview(whole)[FLIPPED // 3 : 2 * FLIPPED + 7]
    key = "packs/cd/" + "e" * 64 + ".pack"
    backend.put_bytes(view, key)  # type: ignore[arg-type]  # any bytes-like, as a push sends
    assert backend.get_bytes(key) == bytes(view)
    assert backend.get_range(key, 5, 105) == bytes(view[5:105])
