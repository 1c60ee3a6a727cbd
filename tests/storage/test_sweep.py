"""Remote gc in two phases: marked first, removed after the grace period, never what a push relies on."""

from __future__ import annotations

import os
from pathlib import Path

from gitexp.cache.objects import ObjectStore
from gitexp.storage.layout import PACKED
from gitexp.storage.local import LocalBackend
from gitexp.storage.packs import FOLDER
from gitexp.storage.sweep import GRACE_SECONDS, read_notes, sweep_remote
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
