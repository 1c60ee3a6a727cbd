"""Remote gc in two phases: marked first, removed after the grace period, never what a push relies on."""

from __future__ import annotations

import os
from pathlib import Path

from gitexp.cache.objects import ObjectStore
from gitexp.storage.download import pull
from gitexp.storage.layout import PACKED
from gitexp.storage.local import LocalBackend
from gitexp.storage.packs import FOLDER, index_key, parse_index
from gitexp.storage.sweep import GRACE_SECONDS, protect, read_notes, sweep_remote, write_note
from gitexp.storage.upload import push

HOUR = GRACE_SECONDS


def remote_with(tmp_path: Path) -> tuple[ObjectStore, LocalBackend, list, list]:
    store = ObjectStore(tmp_path / "cache")
    remote = LocalBackend(tmp_path / "remote")
    old = [store.put_bytes(os.urandom(100 + i)) for i in range(5)]
    new = [store.put_bytes(os.urandom(200 + i)) for i in range(5)]
    big = store.put_bytes(os.urandom((1 << 20) + 5))
    push(store, remote, [old], layout=PACKED)
    push(store, remote, [[*new, big]], layout=PACKED)
    return store, remote, old, [*new, big]


def test_unneeded_keys_are_marked_then_removed_after_the_grace_period(tmp_path: Path) -> None:
    _, remote, _, new = remote_with(tmp_path)
    first = sweep_remote(remote, set(new), clock=lambda: 1000.0)
    assert first.removed == [] and len(first.planned) == 2  # the old pack and its index
    again = sweep_remote(remote, set(new), clock=lambda: 1000.0 + HOUR / 2)
    assert again.removed == [] and again.planned == [] and again.waiting == 2
    late = sweep_remote(remote, set(new), clock=lambda: 1000.0 + HOUR + 1)
    assert sorted(k.rsplit(".", 1)[1] for k in late.removed) == ["idx", "pack"]
    assert len(list(remote.list(FOLDER))) == 2 and remote.exists(new[-1].relpath)
    assert read_notes(remote, "plan") == []


def test_a_push_that_relies_on_a_marked_key_keeps_it(tmp_path: Path) -> None:
    store, remote, old, new = remote_with(tmp_path)
    sweep_remote(remote, set(new), clock=lambda: 1000.0)
    again = push(store, remote, [old], layout=PACKED)  # relies on the marked pack
    assert again.present == 5 and len(read_notes(remote, "keep")) == 1
    late = sweep_remote(remote, set(new), clock=lambda: 1000.0 + HOUR + 1)
    assert late.removed == []
    assert len(list(remote.list(FOLDER))) == 4


def test_now_removes_at_once_and_a_dry_run_nothing(tmp_path: Path) -> None:
    _, remote, _, new = remote_with(tmp_path)
    dry = sweep_remote(remote, set(new), now=True, dry_run=True)
    assert len(dry.removed) == 2 and len(list(remote.list(FOLDER))) == 4
    assert sweep_remote(remote, {new[0]}, now=True).removed.count(new[-1].relpath) == 1
    assert not remote.exists(new[-1].relpath) and len(list(remote.list(FOLDER))) == 2


def packed_remote(tmp_path: Path) -> tuple[ObjectStore, LocalBackend, list, str]:
    """One pack of 60 objects of 100-odd KiB on a layout-2 remote; the objects, the pack."""
    store = ObjectStore(tmp_path / "cache")
    remote = LocalBackend(tmp_path / "remote")
    oids = [store.put_bytes(os.urandom((100 << 10) + i)) for i in range(60)]
    push(store, remote, [oids], layout=PACKED)
    (pack,) = packs_of(remote)
    return store, remote, oids, pack


def packs_of(remote: LocalBackend) -> list[str]:
    return sorted(k for k in remote.list(FOLDER) if k.endswith(".pack"))


def holders(remote: LocalBackend) -> dict:
    """Each object on the remote and the packs that hold it."""
    found: dict = {}
    for pack in packs_of(remote):
        for oid, _, _ in parse_index(remote.get_bytes(index_key(pack)), index_key(pack)) or []:
            found.setdefault(oid, []).append(pack)
    return found


def pulled(store: ObjectStore, remote: LocalBackend, oids: list, tmp: Path) -> bool:
    fresh = ObjectStore(tmp)
    got = pull(fresh, remote, oids, tmp_dir=tmp / "tmp", layout=PACKED)
    return not got.missing and all(fresh.read_bytes(o) == store.read_bytes(o) for o in oids)


def test_gc_twice_after_a_repack_leaves_each_object_in_one_pack(tmp_path: Path) -> None:
    store, remote, oids, old = packed_remote(tmp_path)
    keep = oids[::10]
    first = sweep_remote(remote, set(keep), clock=lambda: 1000.0)
    assert first.repacked == 1 and old in first.planned
    assert all(len(held) == 2 for oid, held in holders(remote).items() if oid in keep)
    # a push meanwhile finds the kept objects in the old pack, and says it relies on it
    assert push(store, remote, [keep], layout=PACKED).present == len(keep)
    protect(remote, [old, index_key(old), *(o.relpath for o in keep)], clock=lambda: 2000.0)
    assert pulled(store, remote, keep, tmp_path / "1")
    second = sweep_remote(remote, set(keep), clock=lambda: 1000.0 + HOUR + 1)
    assert old in second.removed and index_key(old) in second.removed
    assert {oid: len(held) for oid, held in holders(remote).items()} == dict.fromkeys(keep, 1)
    assert pulled(store, remote, keep, tmp_path / "2")


def test_a_push_that_relies_on_what_only_the_old_pack_holds_keeps_it(tmp_path: Path) -> None:
    store, remote, oids, old = packed_remote(tmp_path)
    keep = oids[::10]
    sweep_remote(remote, set(keep), clock=lambda: 1000.0)
    theirs = oids[1:4]  # objects another clone pushes, which this gc knows nothing of
    assert push(store, remote, [theirs], layout=PACKED).present == len(theirs)
    protect(remote, [old, index_key(old), *(o.relpath for o in theirs)], clock=lambda: 2000.0)
    second = sweep_remote(remote, set(keep), clock=lambda: 1000.0 + HOUR + 1)
    assert old not in second.removed and old in packs_of(remote)
    assert pulled(store, remote, [*keep, *theirs], tmp_path / "1")


def test_a_keep_note_of_an_older_gitexp_keeps_what_it_names(tmp_path: Path) -> None:
    _store, remote, oids, old = packed_remote(tmp_path)
    keep = oids[::10]
    sweep_remote(remote, set(keep), clock=lambda: 1000.0)
    write_note(remote, "keep", [old, index_key(old)], 2000.0)  # no objects listed
    second = sweep_remote(remote, set(keep), clock=lambda: 1000.0 + HOUR + 1)
    assert old not in second.removed and old in packs_of(remote)
