import pytest

from gitexp.core.hashing import Hasher, Oid, hash_bytes, hash_chunks, oid_from_relpath, parse_oid
from gitexp.errors import FormatError

# Official BLAKE3 test vectors (input: bytes i % 251 for i in range(n)).
VECTORS = {
    0: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
    1: "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213",
    1023: "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11",
    1024: "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7",
    1025: "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444",
    102400: "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085",
}


def vector_input(n: int) -> bytes:
    return bytes(i % 251 for i in range(n))


@pytest.mark.parametrize(("length", "digest"), sorted(VECTORS.items()))
def test_known_vectors(length: int, digest: str) -> None:
    assert hash_bytes(vector_input(length)) == Oid(digest)


def test_oid_text_and_relpath() -> None:
    oid = Oid("ab" + "c" * 62)
    assert str(oid) == "blake3:ab" + "c" * 62
    assert oid.relpath == "blake3/ab/" + "c" * 62
    assert oid_from_relpath(oid.relpath) == oid
    assert oid_from_relpath("blake3/ab/xyz") is None
    assert oid_from_relpath("tmp/abc") is None


def test_streaming_equals_whole() -> None:
    data = vector_input(5000)
    hasher = Hasher()
    for start in range(0, len(data), 333):
        hasher.update(memoryview(data)[start : start + 333])
    assert hasher.oid == hash_bytes(data)
    assert hasher.size == 5000
    assert hash_chunks([data[:1], data[1:]]) == hash_bytes(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("md5:" + "a" * 32, "unknown hash algorithm 'md5'"),
        ("blake3:" + "a" * 63, "has 64 hex digits, this one has 63"),
        ("blake3:" + "a" * 65, "this one has 65"),
        ("blake3:" + "A" * 64, "not lowercase hex"),
        ("a" * 64, "is not a hash written ALGORITHM:HEX"),
        (12, "is not a hash"),
    ],
)
def test_parse_oid_errors(text: object, message: str) -> None:
    with pytest.raises(FormatError) as info:
        parse_oid(text, "pointer 'x'")
    assert message in info.value.message
    assert info.value.message.startswith("pointer 'x'")
