"""Remote gc repacks packs that are mostly garbage; readers never fail while it does."""

from __future__ import annotations

import os
import re
from pathlib import Path

from gitexp.cache.objects import ObjectStore
from gitexp.storage.chunks import CHUNKED
from gitexp.storage.download import pull
from gitexp.storage.layout import PACKED
from gitexp.storage.local import LocalBackend
from gitexp.storage.packs import list_packs, read_pack_map
from gitexp.storage.sweep import GRACE_SECONDS, sweep_remote
from gitexp.storage.upload import push

SMALL = 200  # objects of 100-odd KiB: two packs


def remote_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def filled(tmp_path: Path) -> tuple[ObjectStore, LocalBackend, list, object]:
    store = ObjectStore(tmp_path / "a")
    remote = LocalBackend(tmp_path / "remote")
    small = [store.put_bytes(os.urandom((100 << 10) + i)) for i in range(SMALL)]
    path = tmp_path / "big"
    path.write_bytes(os.urandom(CHUNKED + 12345))
    big, _ = store.put_file(path)
    push(store, remote, [[*small, big]], layout=PACKED)
    return store, remote, small, big


def pulled_whole(store: ObjectStore, remote: LocalBackend, oids: list, tmp: Path) -> None:
    fresh = ObjectStore(tmp / "fresh")
    got = pull(fresh, remote, oids, tmp_dir=tmp / "tmp", layout=PACKED)
    assert sorted(got.transferred) == sorted(oids) and not got.missing and not got.corrupt
    for oid in oids:
        assert fresh.read_bytes(oid) == store.read_bytes(oid)


def test_sparse_packs_are_repacked_and_the_remote_shrinks(tmp_path: Path) -> None:
    store, remote, small, big = filled(tmp_path)
    keep = [*small[::10], big]  # a tenth of the small objects, and the big file
    before = remote_bytes(tmp_path / "remote")
    first = sweep_remote(remote, set(keep), now=True)
    assert first.repacked == 2 and 0 < first.copied_bytes < (SMALL // 10 + 1) * (101 << 10)
    after = remote_bytes(tmp_path / "remote")
    assert after < before - 15 * (1 << 20)  # 18 of every 20 small objects' bytes are gone
    again = sweep_remote(remote, set(keep), now=True)
    assert again.repacked == 0 and again.removed == []  # nothing left to do: it settles
    assert remote_bytes(tmp_path / "remote") == after
    pulled_whole(store, remote, keep, tmp_path)


def test_in_two_phases_the_old_packs_stay_readable_until_the_grace_period(tmp_path: Path) -> None:
    store, remote, small, big = filled(tmp_path)
    held = read_pack_map(remote, list_packs(remote), 1).objects
    old = {held[oid].pack for oid in small}
    assert len(old) == 2
    keep = [*[o for o in small if held[o].pack == min(old)][:4], big]
    keep += [o for o in small if held[o].pack == max(old)][:4]
    first = sweep_remote(remote, set(keep), clock=lambda: 1000.0)
    assert first.repacked == 2 and first.removed == []
    assert old <= set(list_packs(remote))  # still there, beside the new pack
    pulled_whole(store, remote, keep, tmp_path / "1")
    late = sweep_remote(remote, set(keep), clock=lambda: 1000.0 + GRACE_SECONDS + 1)
    assert old <= set(late.removed) and not old & set(list_packs(remote))
    assert late.repacked == 0  # the objects are in a dense pack now
    pulled_whole(store, remote, keep, tmp_path / "2")


class GcMidPull(LocalBackend):
    """A folder remote on which a gc with ``--now`` runs just before the first ranged read.

    So a pull has read the indexes, and then the packs they name go away: the race a
    pull meets when a remote gc removes repacked packs while it runs.
    """

    keep: set = set()
    done = False

    def get_range(self, key: str, start: int, end: int) -> bytes:
        if not self.done:
            self.done = True
            sweep_remote(LocalBackend(self.root), self.keep, now=True)
        return super().get_range(key, start, end)


def test_a_pull_whose_packs_are_repacked_away_reads_the_new_ones(tmp_path: Path) -> None:
    store, _, small, big = filled(tmp_path)
    keep = [*small[::20], big]
    racing = GcMidPull(tmp_path / "remote")
    racing.keep = set(keep)
    fresh = ObjectStore(tmp_path / "fresh")
    got = pull(fresh, racing, keep, tmp_dir=tmp_path / "tmp", layout=PACKED)
    assert racing.done
    assert sorted(got.transferred) == sorted(keep) and not got.missing and not got.corrupt
    for oid in keep:
        assert fresh.read_bytes(oid) == store.read_bytes(oid)


TRAIN = """\
import os, gitexp
gitexp.params()
open("model.pkl", "wb").write(os.urandom(200_000))
gitexp.log_metric("acc", 0.5)
"""


def test_removing_most_experiments_then_gc_twice_shrinks_the_remote(
    tmp_path: Path, monkeypatch, cli
) -> None:
    from tests.conftest import commit_all, git
    from tests.data.syncsetup import clone, make_origin, make_project
    from tests.storage.remotecheck import cached, remote_faults

    origin = make_origin(tmp_path)
    a = make_project(tmp_path / "a", origin, "../storage")
    (a / "train.py").write_text(TRAIN)
    commit_all(a, "a bigger model")
    monkeypatch.chdir(a)
    names = [f"e{i}" for i in range(10)]
    for i, name in enumerate(names):
        assert cli("run", "-n", name, "-S", f"train.lr={i / 100}").code == 0
    assert cli("push", "--all").code == 0
    storage = tmp_path / "storage"
    before = remote_bytes(storage)
    kept = {name: git(a, "rev-parse", f"refs/experiments/{name}").strip() for name in names[:2]}
    assert cli("remove", *names[2:]).code == 0
    said = ""
    for _ in range(2):
        swept = cli("gc", "--remote", "shared", "-e", "-w", "--now")
        assert swept.code == 0, swept.err
        said += swept.err
    assert re.search(r"repacked [1-9]\d* sparse pack\(s\)", said), said
    assert remote_bytes(storage) < before - 7 * 200_000  # eight models' bytes and more
    assert remote_faults(storage) == []
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    assert cli("pull", "origin", *kept).code == 0
    models = {
        git(a, "show", f"{commit}:model.pkl.gitexp").split("hash: blake3:")[1].split()[0]
        for commit in kept.values()
    }
    assert len(models) == 2 and models <= cached(b)
    for hex_ in models:
        rel = Path(".git/gitexp/cache/blake3") / hex_[:2] / hex_[2:]
        assert (b / rel).read_bytes() == (a / rel).read_bytes()
