"""Verifying what a storage remote holds: every pack, index, chunk list and loose object.

Each finding names the key at fault and what is wrong with it. A pack without its
index is an unfinished push, not a fault (remote gc removes it once it is old).
Everything is read back and hashed: this costs a download of the whole remote.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gitexp.core.hashing import ALGORITHM, Oid, oid_from_relpath
from gitexp.errors import NotFoundError
from gitexp.storage.backend import TMP_MARK, Backend, Failure, bounded
from gitexp.storage.chunks import FOLDER as CHUNKS
from gitexp.storage.chunks import parse_chunk_list
from gitexp.storage.packs import FOLDER as PACKS
from gitexp.storage.packs import index_key, is_pack_key, parse_index
from gitexp.storage.transfer import closing, hash_file


@dataclass
class RemoteCheck:
    """What verifying a remote found: counts by kind, and each fault as (key, what)."""

    packs: int = 0
    objects: int = 0
    chunk_lists: int = 0
    unfinished: int = 0
    faults: list[tuple[str, str]] = field(default_factory=list)


def verify_remote(backend: Backend, jobs: int) -> RemoteCheck:
    """Read back and hash everything the remote holds (see the module docstring).

    Raises `StorageError` when the remote fails.
    """
    found = RemoteCheck()
    listed = set(backend.list(PACKS))
    packed: set[Oid] = set()
    for key in sorted(k for k in listed if k.endswith(".idx")):
        pack = key[: -len(".idx")] + ".pack"
        if pack not in listed:
            found.faults.append((key, "index without its pack"))
    packs = sorted(k for k in listed if is_pack_key(k))
    found.unfinished = sum(1 for k in packs if index_key(k) not in listed)
    with closing(
        bounded(lambda k: (k, _check_pack(backend, k)), _indexed(packs, listed), jobs, key=str)
    ) as done:
        for _key, outcome in done:
            if isinstance(outcome, Failure):
                raise outcome
            faults, oids = outcome
            found.packs += 1
            found.objects += len(oids)
            found.faults.extend(faults)
            packed.update(oids)
    _check_chunk_lists(backend, packed, found)
    _check_loose(backend, jobs, found)
    found.faults.sort()
    return found


def _indexed(packs: list[str], listed: set[str]) -> Iterator[str]:
    return (k for k in packs if index_key(k) in listed)


def _check_pack(backend: Backend, pack: str) -> tuple[list[tuple[str, str]], set[Oid]]:
    """The faults of one pack and its index, and the objects found good in it."""
    from blake3 import blake3

    index = index_key(pack)
    entries = parse_index(backend.get_bytes(index), index)
    if entries is None:
        return [(index, "index is damaged (not a version-1 index of its pack)")], set()
    data = backend.get_bytes(pack)
    faults = []
    if blake3(data).hexdigest() != pack.rsplit("/", 1)[-1][: -len(".pack")]:
        faults.append((pack, "pack's bytes do not hash to its name"))
    good = set()
    for oid, offset, size in entries:
        if blake3(data[offset : offset + size]).hexdigest() == oid.hex:
            good.add(oid)
        else:
            faults.append((pack, f"object {oid} at offset {offset} does not match its hash"))
    return faults, good


def _check_chunk_lists(backend: Backend, packed: set[Oid], found: RemoteCheck) -> None:
    for key in sorted(backend.list(CHUNKS)):
        found.chunk_lists += 1
        chunks = parse_chunk_list(backend.get_bytes(key))
        if chunks is None:
            found.faults.append((key, "chunk list is damaged"))
            continue
        lost = sorted({str(c) for c, _ in chunks if c not in packed})
        if lost:
            found.faults.append((key, f"{len(lost)} chunk(s) are in no good pack: {lost[0]}…"))


def _check_loose(backend: Backend, jobs: int, found: RemoteCheck) -> None:
    keys = sorted(backend.list(ALGORITHM))

    def check(key: str) -> tuple[str, bool]:
        oid = oid_from_relpath(key)
        if oid is None:
            return key, False
        with tempfile.TemporaryDirectory(prefix=TMP_MARK) as folder:
            path = Path(folder) / "object"
            backend.get(key, path)
            return key, hash_file(os.fspath(path)) == oid.hex

    with closing(bounded(check, keys, jobs, key=str)) as done:
        for key, outcome in done:
            if isinstance(outcome, NotFoundError):
                continue  # removed since the listing
            if isinstance(outcome, Failure):
                raise outcome
            found.objects += 1
            if not outcome:
                found.faults.append((key, "object does not match its hash"))
