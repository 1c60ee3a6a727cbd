"""Moving a layout-1 remote to layout 2 with no moment where an object is unreadable.

1. Every loose object under `PACKABLE` bytes is read, verified and packed; each pack
   is stored before its index, and the loose copies stay meanwhile.
2. The marker is written: from now on readers look in packs first.
3. The loose copies that an index now lists are deleted.

At every step each object is readable, loose or packed or both; a kill at any point
leaves a remote that a rerun finishes (objects already in an indexed pack are not
packed again). Bigger loose objects stay loose, as layout 2 keeps them. A corrupt
loose object is left where it is, unpacked, for `gitexp fsck --remote` to name.
"""

from __future__ import annotations

from collections.abc import Iterator

from gitexp.core.hashing import ALGORITHM, Oid, oid_from_relpath
from gitexp.errors import NotFoundError
from gitexp.storage.backend import Backend, Failure
from gitexp.storage.layout import MARKER, PACKED, marker_bytes
from gitexp.storage.packing import upload_packs
from gitexp.storage.packs import PACKABLE, list_packs, read_pack_map
from gitexp.storage.transfer import closing


def upgrade(backend: Backend, jobs: int) -> int:
    """Run the three steps above; the number of objects packed now.

    Raises `StorageError` when the remote fails (run it again to finish).
    """
    in_packs = read_pack_map(backend, list_packs(backend), jobs).objects
    small: list[Oid] = []
    for key, size in backend.sizes(ALGORITHM):
        oid = oid_from_relpath(key)
        if oid is not None and 0 <= size < PACKABLE and oid not in in_packs:
            small.append(oid)
    packed: list[Oid] = []
    upload_packs(
        backend, _verified(backend, sorted(small), jobs), jobs, lambda o, _: packed.append(o)
    )
    backend.put_bytes(marker_bytes(PACKED), MARKER)
    in_packs = read_pack_map(backend, list_packs(backend), jobs).objects
    for key, _size in list(backend.sizes(ALGORITHM)):
        oid = oid_from_relpath(key)
        if oid is not None and oid in in_packs:
            backend.delete(key)
    return len(packed)


def _verified(backend: Backend, oids: list[Oid], jobs: int) -> Iterator[tuple[Oid, bytes]]:
    """Each loose object with its bytes, if they match its id (others are skipped)."""
    from blake3 import blake3

    by_key = {oid.relpath: oid for oid in oids}
    with closing(backend.get_many(list(by_key), jobs)) as outcomes:
        for key, outcome in outcomes:
            if isinstance(outcome, NotFoundError):
                continue
            if isinstance(outcome, Failure):
                raise outcome
            oid = by_key[key]
            if blake3(outcome).hexdigest() == oid.hex:
                yield oid, outcome
