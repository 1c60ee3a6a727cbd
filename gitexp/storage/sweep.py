"""Remote gc in two phases with a grace period, so it never removes what a push relies on.

Phase one marks: everything no kept object needs (loose objects, chunk lists, packs
none of whose objects are needed, packs a push never indexed) is written into a plan,
``gc/plan-<unix time>-<random>.json`` (``{"version":1,"created":T,"keys":[…]}``);
nothing is removed. Phase two, in a later gc once the plan is older than the grace
period, removes the keys of the plan that are still not needed and that no keep note
written since names, then the plan.

A push reads the plans (one listing of ``gc/``, empty as a rule) and, before it
relies on any key a plan names, writes a keep note, ``gc/keep-<unix time>-<random>.json``
(same shape), naming those keys. A push that began before a plan was written never
saw it: the grace period (an hour) is the time it has to finish. ``now`` sweeps at
once (no plan, no grace): only when nothing else writes to the remote. A keep note
also lists the objects the push relied on (``"objects": [hex…]``), so a pack it saved
still goes in the next ripe sweep once every such object it holds is in a pack that
stays: after a repack, the copies are all that is left. A pack some
of whose objects are needed is kept whole, unless they are less than half its bytes:
then they are first copied into new packs (`gitexp.storage.repack`), and the old
pack becomes garbage like any other key. An index is removed before its pack, so a
reader never finds an index whose pack is gone.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field

from gitexp.core.hashing import ALGORITHM, Oid, oid_from_relpath
from gitexp.errors import NotFoundError
from gitexp.storage.backend import Backend
from gitexp.storage.chunks import FOLDER as CHUNKS
from gitexp.storage.chunks import chunk_list_key, file_of, parse_chunk_list
from gitexp.storage.packs import FOLDER as PACKS
from gitexp.storage.packs import index_key, is_pack_key, parse_index
from gitexp.storage.repack import Entries, copy_live, plan_repack

FOLDER = "gc"
GRACE_SECONDS = 3600.0
VERSION = 1
_HEX = frozenset("0123456789abcdef")


@dataclass
class RemoteSweep:
    """What a remote gc did: keys removed (with their bytes), newly planned, kept, waiting.

    ``repacked``: sparse packs whose needed objects are now in new packs (the old
    ones are garbage from then on); ``copied_bytes``: the bytes copied to do so.
    """

    removed: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    planned: list[str] = field(default_factory=list)
    waiting: int = 0
    kept: int = 0
    repacked: int = 0
    copied_bytes: int = 0


@dataclass(frozen=True, slots=True)
class _Note:
    key: str
    created: float
    keys: frozenset[str]
    objects: frozenset[Oid] | None = None
    """A keep note's objects the push relied on; None in notes that do not list them."""


def read_notes(backend: Backend, kind: str) -> list[_Note]:
    """The plans (``kind="plan"``) or keep notes on the remote; a damaged one is skipped."""
    notes = []
    for key in backend.list(FOLDER):
        name = key.rsplit("/", 1)[-1]
        if not (name.startswith(f"{kind}-") and name.endswith(".json")):
            continue
        try:
            value = json.loads(backend.get_bytes(key))
        except (NotFoundError, ValueError):
            continue
        if isinstance(value, dict) and value.get("version") == VERSION:
            keys = value.get("keys")
            created = value.get("created")
            if isinstance(keys, list) and isinstance(created, (int, float)):
                objects = _objects(value.get("objects"))
                notes.append(_Note(key, float(created), frozenset(map(str, keys)), objects))
    return sorted(notes, key=lambda n: n.created)


def _objects(value: object) -> frozenset[Oid] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    found = frozenset(Oid(v) for v in value if len(v) == 64 and set(v) <= _HEX)
    return found if len(found) == len(set(value)) else None


def write_note(
    backend: Backend,
    kind: str,
    keys: Iterable[str],
    created: float,
    objects: Iterable[Oid] | None = None,
) -> str:
    """Store a plan or keep note naming ``keys`` (and, in a keep note, ``objects``); its key."""
    key = f"{FOLDER}/{kind}-{int(created)}-{os.urandom(4).hex()}.json"
    body: dict[str, object] = {"version": VERSION, "created": created, "keys": sorted(keys)}
    if objects is not None:
        body["objects"] = sorted(oid.hex for oid in objects)
    backend.put_bytes(json.dumps(body, separators=(",", ":")).encode(), key)
    return key


def sweep_remote(
    backend: Backend,
    keep: set[Oid],
    *,
    dry_run: bool = False,
    now: bool = False,
    clock: Callable[[], float] = time.time,
) -> RemoteSweep:
    """Phase two for ripe plans, then phase one for what is newly unneeded (see above).

    Raises `StorageError` when the remote fails; what was removed stays removed, and
    a rerun picks up the rest.
    """
    sizes = dict(backend.sizes(ALGORITHM))
    sizes.update(backend.sizes(PACKS))
    sizes.update(backend.sizes(CHUNKS))
    garbage, live, kept = _unneeded(backend, keep, sizes)
    indexes = _read_indexes(backend, sizes, garbage)
    entries = dict(indexes)  # `_repack` leaves out the dead packs
    retired, repacked, copied_bytes = _repack(backend, indexes, sizes, live, dry_run=dry_run)
    kept += sum(1 for pack, entries in indexes.items() if pack not in retired and entries)
    garbage.update(retired)
    garbage.update(index_key(pack) for pack in retired)
    result = RemoteSweep(kept=kept, repacked=len(repacked), copied_bytes=copied_bytes)
    plans = read_notes(backend, "plan")
    notes = read_notes(backend, "keep")
    start = clock()
    ripe = [p for p in plans if now or p.created <= start - GRACE_SECONDS]
    doomed: set[str] = set(garbage) if now else set()
    stays = _Holders(backend, sizes, entries, garbage)
    for plan in ripe:
        savers = [n for n in notes if n.created >= plan.created]
        saved = set().union(*(n.keys for n in savers))
        doomed |= (plan.keys & garbage) - saved
        doomed |= stays.released(plan.keys & garbage & saved, savers)
    pending = set().union(*(p.keys for p in plans if p not in ripe))
    new = sorted(garbage - doomed - pending)
    result.waiting = len(pending & garbage) + (0 if now else len(new))
    result.removed = sorted(doomed)
    result.freed_bytes = sum(max(0, sizes.get(k, 0)) for k in doomed)
    if dry_run:
        result.planned = [] if now else new
        return result
    _remove(backend, doomed)
    for plan in ripe:
        backend.delete(plan.key)
    if not pending:  # every plan is swept: the keep notes read protect nothing any more
        for note in notes:
            backend.delete(note.key)
    if new and not now:
        write_note(backend, "plan", new, start)
        result.planned = new
    return result


def _unneeded(
    backend: Backend, keep: set[Oid], sizes: dict[str, int]
) -> tuple[set[str], set[Oid], int]:
    """The loose objects and chunk lists ``keep`` does not need; the live objects; the needed count.

    Live: ``keep`` and the chunks of its chunk lists. Packs are looked at in `_read_indexes`.
    """
    garbage: set[str] = set()
    needed = 0
    live = set(keep)
    for key in sizes:
        if key.startswith(f"{ALGORITHM}/"):
            oid = oid_from_relpath(key)
            if oid is not None and oid not in keep:
                garbage.add(key)
            else:
                needed += 1
        elif key.startswith(f"{CHUNKS}/"):
            oid = file_of(key)
            if oid is None or oid not in keep:
                garbage.add(key)
                continue
            needed += 1
            chunks = parse_chunk_list(backend.get_bytes(key)) or []
            live.update(chunk for chunk, _ in chunks)
    return garbage, live, needed


def _read_indexes(backend: Backend, sizes: dict[str, int], garbage: set[str]) -> dict[str, Entries]:
    """Each indexed pack's entries (empty for a damaged index: kept, for fsck to name).

    Packs without an index (unfinished pushes, once old) and packs whose index names
    no live object go into ``garbage``; the others are returned.
    """
    indexes: dict[str, Entries] = {}
    for key in sizes:
        if not is_pack_key(key):
            continue
        index = index_key(key)
        if index not in sizes:
            garbage.add(key)  # an unfinished push, once it is old
            continue
        entries = parse_index(backend.get_bytes(index), index)
        indexes[key] = [] if entries is None else entries
    return indexes


def _repack(
    backend: Backend,
    indexes: dict[str, Entries],
    sizes: dict[str, int],
    live: set[Oid],
    *,
    dry_run: bool,
) -> tuple[set[str], set[str], int]:
    """Retire the packs no live object needs, and the sparse ones once their objects are copied.

    Returns the packs retired (their keys now garbage), the packs copied from now,
    and the bytes copied. A damaged
    index (no entries) is never retired. A dry run copies nothing and says what a
    real run would retire.
    """
    damaged = {pack for pack, entries in indexes.items() if not entries}
    dead = {
        pack
        for pack, entries in indexes.items()
        if entries and not any(oid in live for oid, _, _ in entries)
    }
    for pack in dead:
        del indexes[pack]
    plan = plan_repack({p: e for p, e in indexes.items() if p not in damaged}, sizes, live)
    wanted = plan.copy
    copied = set(wanted) if dry_run else copy_live(backend, wanted, backend.default_jobs)
    retired = {
        pack
        for pack, needed in plan.sparse.items()
        if all(oid in copied or oid not in wanted for oid in needed)
    }
    repacked = {where.pack for oid, where in wanted.items() if oid in copied}
    return dead | retired, repacked, sum(wanted[oid].size for oid in copied)


def _remove(backend: Backend, keys: set[str]) -> None:
    """Delete ``keys``, each index before its pack."""
    for key in sorted(keys, key=lambda k: (k.endswith(".pack"), k)):
        backend.delete(key)


def protect(
    backend: Backend, needed: Iterable[str], clock: Callable[[], float] = time.time
) -> None:
    """Before a push relies on ``needed`` keys: a keep note for those a gc plan names.

    The note also lists the objects among ``needed`` (their loose keys name them), so
    a gc can tell a pack the push found an object in from one it relies on: after a
    repack the same object is in the old pack and in the new one, and the old pack
    may still go once the new one holds every object the push relied on.
    """
    plans = read_notes(backend, "plan")
    if not plans:
        return
    needed = set(needed)
    held = set().union(*(p.keys for p in plans)) & needed
    if held:
        objects = {oid for oid in map(oid_from_relpath, needed) if oid is not None}
        write_note(backend, "keep", held, clock(), objects)


class _Holders:
    """Which objects stay on the remote after this gc: in a pack or loose key it keeps.

    `released` lets a ripe plan's pack go although a keep note saved it, when every
    object the saving pushes relied on that the pack holds is held by a key that stays
    (typically the pack a repack copied them into), and the chunks of the files they
    relied on too. A note that lists no objects (an older gitexp's) releases nothing.
    """

    def __init__(
        self,
        backend: Backend,
        sizes: dict[str, int],
        entries: dict[str, Entries],
        garbage: set[str],
    ) -> None:
        self.backend, self.sizes, self.entries = backend, sizes, entries
        self.held: set[Oid] = set()
        for pack, found in entries.items():
            if pack not in garbage:
                self.held.update(oid for oid, _, _ in found)
        for key in sizes:
            oid = oid_from_relpath(key) if key not in garbage else None
            if oid is not None:
                self.held.add(oid)

    def released(self, saved: Set[str], savers: list[_Note]) -> set[str]:
        """The saved packs (with their indexes) that no saving push needs any more."""
        free: set[str] = set()
        for pack in sorted(k for k in saved if is_pack_key(k) and k in self.entries):
            naming = [n for n in savers if pack in n.keys]
            if any(n.objects is None for n in naming):
                continue
            relied = self._relied(naming)
            inside = {oid for oid, _, _ in self.entries[pack]} & relied
            if inside <= self.held:
                free |= {pack, index_key(pack)}
        return free

    def _relied(self, notes: list[_Note]) -> set[Oid]:
        relied: set[Oid] = set().union(*(n.objects or () for n in notes))
        for oid in list(relied):
            key = chunk_list_key(oid)
            if key in self.sizes:
                try:
                    relied.update(c for c, _ in parse_chunk_list(self.backend.get_bytes(key)) or [])
                except NotFoundError:
                    continue
        return relied
