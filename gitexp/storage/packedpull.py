"""What a pull from a layout-2 remote reads beyond loose objects: packed objects, chunked files.

The packs' indexes are read once; objects they list come out of packs
(`gitexp.storage.unpacking`), big files with a chunk list are rebuilt from their
chunks (`gitexp.storage.chunkpull`), and everything else is read loose by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gitexp.core.hashing import Oid
from gitexp.errors import NotFoundError
from gitexp.storage.backend import Backend, Failure
from gitexp.storage.chunkpull import download_chunked
from gitexp.storage.chunks import CHUNKED, chunk_list_key
from gitexp.storage.packs import PackMap, list_packs, read_pack_map
from gitexp.storage.transfer import LocalObjects, Meter, TransferResult, closing, moved
from gitexp.storage.unpacking import download_packed


def pull_packed(
    objects: LocalObjects,
    backend: Backend,
    todo: list[Oid],
    tmp_dir: Path,
    jobs: int,
    meter: Meter,
    result: TransferResult,
    sizes: Mapping[Oid, int],
) -> list[Oid]:
    """Fetch the objects of ``todo`` held in packs or as chunks; the others, to read loose.

    Damaged indexes, packs and chunk lists are reported in ``result.damaged``; the
    objects they hold in ``corrupt`` or ``missing``. A pack that went away after its
    index was read (remote gc removes a repacked pack once its objects are in new
    packs) is no error: the indexes are read again, and its objects fetched from
    where they are now. Raises `StorageError` when the remote fails.
    """
    packs = read_pack_map(backend, list_packs(backend), jobs)
    result.damaged.extend(packs.damaged)
    rest, lost = _fetch(objects, backend, todo, packs, tmp_dir, jobs, meter, result, sizes)
    if lost:
        packs = read_pack_map(backend, list_packs(backend), jobs)
        more, lost = _fetch(objects, backend, lost, packs, tmp_dir, jobs, meter, result, sizes)
        rest.extend(more)
        result.missing.extend(lost)
        for _ in lost:
            meter.step(0)
    return rest


def _fetch(
    objects: LocalObjects,
    backend: Backend,
    todo: list[Oid],
    packs: PackMap,
    tmp_dir: Path,
    jobs: int,
    meter: Meter,
    result: TransferResult,
    sizes: Mapping[Oid, int],
) -> tuple[list[Oid], list[Oid]]:
    """One try with the map ``packs``: the objects to read loose, and those whose pack is gone."""
    wanted = [(oid, packs.objects[oid]) for oid in todo if oid in packs.objects]
    tried = TransferResult()
    download_packed(
        objects, backend, wanted, jobs, tried, lambda oid, size: moved(result, meter, oid, size)
    )
    result.corrupt.extend(tried.corrupt)
    result.damaged.extend(k for k in tried.damaged if k not in result.damaged)
    for _ in tried.corrupt:
        meter.step(0)  # refused: dealt with all the same
    lost = tried.missing
    rest = [oid for oid in todo if oid not in packs.objects]
    big = [oid for oid in rest if sizes.get(oid, CHUNKED) >= CHUNKED]
    chunked = _pull_chunked(objects, backend, big, packs, tmp_dir, jobs, meter, result, sizes, lost)
    return [oid for oid in rest if oid not in chunked], lost


def _pull_chunked(
    objects: LocalObjects,
    backend: Backend,
    oids: list[Oid],
    packs: PackMap,
    tmp_dir: Path,
    jobs: int,
    meter: Meter,
    result: TransferResult,
    sizes: Mapping[Oid, int],
    lost: list[Oid],
) -> set[Oid]:
    """Rebuild the files of ``oids`` that have a chunk list; those dealt with.

    A file some of whose chunks are in no pack (or in a pack gone since its index
    was read) goes to ``lost`` and is not counted as done.
    """
    if not oids:
        return set()
    by_key = {chunk_list_key(oid): oid for oid in oids}
    lists: dict[Oid, bytes] = {}
    with closing(backend.get_many(list(by_key), jobs)) as outcomes:
        for key, outcome in outcomes:
            if isinstance(outcome, NotFoundError):
                continue
            if isinstance(outcome, Failure):
                raise outcome
            lists[by_key[key]] = outcome
    for oid, listing in sorted(lists.items()):
        got = download_chunked(objects, backend, oid, listing, packs, tmp_dir, jobs, result)
        if got == "stored":
            moved(result, meter, oid, sizes.get(oid, 0))
        elif got == "corrupt":
            result.corrupt.append(oid)
            meter.step(0)
        else:
            lost.append(oid)
    return set(lists)
