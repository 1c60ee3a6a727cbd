"""Properties of hashing, the object store and the parsers, on generated input."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import blake3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import Hasher, hash_bytes
from gitexp.core.manifest import parse_manifest
from gitexp.core.pointer import parse_pointer
from gitexp.errors import FormatError, IntegrityError, PathError

DETERMINISTIC = settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
"""CI runs the same examples every time."""

blobs = st.binary(max_size=20_000)


@DETERMINISTIC
@given(data=blobs, cuts=st.lists(st.integers(min_value=0, max_value=20_000), max_size=8))
def test_hash_does_not_depend_on_chunking(data: bytes, cuts: list[int]) -> None:
    hasher = Hasher()
    start = 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        hasher.update(data[start:cut])
        start = cut
    assert hasher.oid == hash_bytes(data)
    assert hasher.oid.hex == blake3.blake3(data).hexdigest()


@DETERMINISTIC
@given(data=blobs)
def test_put_then_read_round_trip_and_idempotent(tmp_path: Path, data: bytes) -> None:
    store = ObjectStore(tmp_path / "cache")
    oid = store.put_bytes(data)
    assert store.read_bytes(oid) == data
    assert store.put_bytes(data) == oid
    source = tmp_path / "source"
    source.write_bytes(data)
    assert store.put_file(source) == (oid, len(data))
    assert list(store.oids()).count(oid) == 1
    assert not list((tmp_path / "cache").rglob(".tmp-*"))


@DETERMINISTIC
@given(
    data=st.binary(min_size=1, max_size=5000),
    where=st.integers(min_value=0),
    flip=st.integers(1, 255),
)
def test_corruption_is_always_detected(tmp_path: Path, data: bytes, where: int, flip: int) -> None:
    store = ObjectStore(tmp_path / "cache-c")
    oid = store.put_bytes(data)
    path = store.path(oid)
    bad = bytearray(data)
    bad[where % len(data)] ^= flip
    os.chmod(path, 0o644)
    path.write_bytes(bytes(bad))
    with pytest.raises(IntegrityError):
        store.read_bytes(oid)
    path.write_bytes(data[:-1])
    with pytest.raises(IntegrityError):
        store.read_bytes(oid)
    store.remove(oid)


@DETERMINISTIC
@given(text=st.binary(max_size=300))
def test_pointer_parser_raises_only_format_errors(text: bytes) -> None:
    with contextlib.suppress(FormatError):
        parse_pointer(text, "x.gitexp")


@DETERMINISTIC
@given(
    doc=st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_manifest_parser_raises_only_our_errors(doc: object) -> None:
    import orjson

    for data in (orjson.dumps(doc), orjson.dumps({"version": 1, "entries": [doc]})):
        with contextlib.suppress(FormatError, PathError):
            parse_manifest(data, "m")


@DETERMINISTIC
@given(text=st.binary(max_size=200))
def test_manifest_parser_on_raw_bytes(text: bytes) -> None:
    with contextlib.suppress(FormatError, PathError):
        parse_manifest(text, "m")
