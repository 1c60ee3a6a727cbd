"""Repacking on remote gc: the live objects of packs that are mostly garbage, copied into new packs.

Remote gc drops a pack only when nothing in it is needed, so a pack whose objects
are mostly unneeded would hold its dead bytes forever. A pack whose needed objects
take less than `LIVE_SHARE` of its bytes is *sparse*: its needed objects that no
other (dense) pack holds are read with ranged reads, verified, and written into new
packs, each pack before its index (`gitexp.storage.packing`). Only then is the
sparse pack garbage, removed by remote gc's two phases like any other key
(`gitexp.storage.sweep`): a reader that listed the old pack keeps finding it for the
grace period, and one that finds it gone reads the new index instead.

An object whose bytes do not match its id is not copied, and its pack is kept:
`gitexp fsck --remote` names it, and nothing corrupt is spread to a new pack.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from gitexp.core.hashing import Oid
from gitexp.errors import NotFoundError
from gitexp.storage.backend import Backend
from gitexp.storage.packs import Location
from gitexp.storage.unpacking import spans

LIVE_SHARE = 0.5
"""A pack whose needed objects hold less than this share of its bytes is repacked."""

Entries = list[tuple[Oid, int, int]]


@dataclass
class Repack:
    """What repacking plans: the sparse packs, and the objects to copy out of them."""

    sparse: dict[str, list[Oid]] = field(default_factory=dict)
    """Each sparse pack and its needed objects."""
    copy: dict[Oid, Location] = field(default_factory=dict)
    """Needed objects that no dense pack holds, and where to read each."""


def plan_repack(indexes: Mapping[str, Entries], sizes: Mapping[str, int], live: set[Oid]) -> Repack:
    """The sparse packs among ``indexes`` (pack key to entries) and what to copy out of them.

    ``sizes`` gives each pack's bytes; ``live`` is every object something needs.
    Packs none of whose objects are needed are not sparse: they are plain garbage.
    """
    found = Repack()
    dense: set[Oid] = set()
    for pack, entries in indexes.items():
        needed = [(oid, size) for oid, _, size in entries if oid in live]
        if not needed:
            continue
        total = max(sizes.get(pack, 0), sum(size for _, _, size in entries), 1)
        if sum(size for _, size in needed) < LIVE_SHARE * total:
            found.sparse[pack] = [oid for oid, _ in needed]
        else:
            dense.update(oid for oid, _ in needed)
    for pack in sorted(found.sparse):
        for oid, offset, size in indexes[pack]:
            if oid in live and oid not in dense:
                found.copy.setdefault(oid, Location(pack, offset, size))
    return found


def copy_live(backend: Backend, wanted: Mapping[Oid, Location], jobs: int) -> set[Oid]:
    """Copy ``wanted`` into new packs, each verified on the way; those now in an indexed pack.

    Raises `StorageError` when the remote fails; packs already indexed stay (they
    are harmless duplicates until a later gc).
    """
    from gitexp.storage.packing import upload_packs

    copied: set[Oid] = set()
    upload_packs(backend, _verified(backend, wanted), jobs, lambda oid, _size: copied.add(oid))
    return copied


def _verified(backend: Backend, wanted: Mapping[Oid, Location]) -> Iterator[tuple[Oid, bytes]]:
    """Each wanted object whose bytes match its id, read in coalesced ranges, in pack order."""
    from blake3 import blake3

    for span in spans(wanted.items()):
        try:
            data = memoryview(backend.get_range(span.pack, span.start, span.end))
        except NotFoundError:
            continue  # removed since the listing: its objects stay where they are needed
        for oid, where in span.objects:
            blob = data[where.offset - span.start : where.offset - span.start + where.size]
            if len(blob) == where.size and blake3(blob).hexdigest() == oid.hex:
                yield oid, bytes(blob)
