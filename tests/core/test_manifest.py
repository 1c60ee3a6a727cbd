import orjson
import pytest

from gitexp.core.hashing import Oid
from gitexp.core.manifest import Entry, check_relpath, dump_manifest, parse_manifest
from gitexp.errors import FormatError, PathError

A = Oid("a" * 64)
B = Oid("b" * 64)


def test_canonical_bytes() -> None:
    entries = [Entry("z.txt", A, 1), Entry("a/b.txt", B, 2, True)]
    data = dump_manifest(entries)
    assert data == dump_manifest(list(reversed(entries)))
    assert data.startswith(b'{"version":1,"entries":[{"path":"a/b.txt","hash":"blake3:bbbb')
    assert b" " not in data
    assert parse_manifest(data, "m") == sorted(entries, key=lambda e: e.path)


def manifest(*paths: str) -> bytes:
    entries = [{"path": p, "hash": str(A), "size": 1, "exec": False} for p in paths]
    return orjson.dumps({"version": 1, "entries": entries})


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../escape", "a/../../b", "a//b", "./a", "", "a\\b", "C:x", "a/\x00"]
)
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(PathError) as info:
        parse_manifest(manifest(path), "blake3:m")
    assert "unsafe path" in info.value.message
    with pytest.raises(PathError):
        check_relpath(path, "here")
    # among many safe paths too (entries are first checked all at once)
    with pytest.raises(PathError) as info:
        parse_manifest(manifest(*[f"ok/{n}.bin" for n in range(50)], path), "blake3:m")
    assert "unsafe path" in info.value.message


@pytest.mark.parametrize("path", ["a\n", "a\nb/c", "x\n..", "ab:c", "..a/b.", "a/.b/..c", "a...b"])
def test_odd_but_safe_paths_are_read(path: str) -> None:
    """Paths that the all-at-once check passes on to the one-by-one check, which reads them."""
    entries = parse_manifest(manifest("a.txt", path, "z/z"), "blake3:m")
    assert [e.path for e in entries] == ["a.txt", path, "z/z"]


@pytest.mark.parametrize(
    "item",
    [
        {"path": "b", "hash": str(A) + "\n" + str(B), "size": 1},
        {"path": "b", "hash": "blake3:" + "A" * 64, "size": 1},
        {"path": "b", "hash": str(A), "size": True},
        {"path": "b", "hash": str(A), "size": -1},
        {"path": "b", "hash": 7, "size": 1},
        {"path": 7, "hash": str(A), "size": 1},
    ],
)
def test_a_bad_entry_among_good_ones_is_named(item: dict[str, object]) -> None:
    good = [{"path": f"a{n}", "hash": str(A), "size": 1} for n in range(20)]
    data = orjson.dumps({"version": 1, "entries": [*good, item]})
    with pytest.raises((FormatError, PathError)) as info:
        parse_manifest(data, "blake3:m")
    assert "manifest blake3:m" in info.value.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "is not valid JSON"),
        (b'{"version":2,"entries":[]}', "not a version 1 manifest"),
        (b'{"version":1}', "has no entry list"),
        (b'{"version":1,"entries":[1]}', "not an object"),
        (manifest("a", "a"), "lists 'a' twice"),
        (manifest("a", "a/b"), "'a' is both a file and a folder"),
    ],
)
def test_bad_manifests(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as info:
        parse_manifest(data, "blake3:m")
    assert message in info.value.message
