from __future__ import annotations

import json
import os
import time
from pathlib import Path

from gitexp.api import Repo
from gitexp.cache.gc import sweep
from gitexp.core.hashing import hash_bytes
from tests.conftest import commit_all, git
from tests.data.datahelp import make_tree, store


def versions(repo: Path) -> None:
    """v1 committed on main, v2 committed on a branch, v3 only in the workspace, and an
    object nobody needs (an add that was replaced before any commit)."""
    (repo / "d.bin").write_bytes(b"v1")
    Repo(repo).add(["d.bin"])
    commit_all(repo, "v1")
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "d.bin").write_bytes(b"v2")
    Repo(repo).add(["d.bin"])
    commit_all(repo, "v2")
    git(repo, "checkout", "-q", "main")
    (repo / "d.bin").write_bytes(b"orphan")
    Repo(repo).add(["d.bin"])
    (repo / "d.bin").write_bytes(b"v3")
    Repo(repo).add(["d.bin"])


def present(repo: Path) -> set[bytes]:
    objects = store(repo)
    return {objects.path(o).read_bytes() for o in objects.oids()}


def test_recent_objects_are_kept_unless_now(repo: Path, cli) -> None:
    versions(repo)
    result = cli("gc")
    assert result.code == 0
    assert result.err.strip() == "removed 0 objects (0 B); kept 3, and 1 written in the last hour"
    assert b"orphan" in present(repo)


def test_gc_now_keeps_every_ref_and_the_workspace(repo: Path, cli) -> None:
    versions(repo)
    dry = cli("gc", "--now", "--dry-run", "--json")
    assert dry.code == 0
    assert json.loads(dry.out)["objects"] == [str(hash_bytes(b"orphan"))]
    assert "would remove 1 objects (6 B)" in dry.err
    assert b"orphan" in present(repo)
    assert cli("gc", "--now").code == 0
    assert present(repo) == {b"v1", b"v2", b"v3"}


def test_history_of_branches_is_kept(repo: Path) -> None:
    versions(repo)
    (repo / "d.bin").write_bytes(b"v4")
    Repo(repo).add(["d.bin"])
    commit_all(repo, "v4 on main")
    Repo(repo).gc(now=True)
    assert {b"v1", b"v2", b"v4"} <= present(repo)


def test_narrowing_options(repo: Path) -> None:
    versions(repo)
    assert Repo(repo).gc(workspace=True, now=True).removed == 3
    assert present(repo) == {b"v3"}


def test_all_branches_keeps_branches_not_experiments(repo: Path) -> None:
    versions(repo)
    git(repo, "tag", "old", "HEAD")
    Repo(repo).gc(all_branches=True, now=True)
    assert present(repo) == {b"v1", b"v2", b"v3"}


def test_experiments_and_folder_contents_are_kept(repo: Path) -> None:
    files = make_tree(repo, 4)
    Repo(repo).add(["data"])
    result = Repo(repo).run(["python", "-c", "print('ran')"], name="with-data")[0]
    assert result.status == "success"
    for rel in files:
        os.chmod(repo / rel, 0o644)
    import shutil

    shutil.rmtree(repo / "data")
    os.unlink(repo / "data.gitexp")
    Repo(repo).gc(experiments=True, now=True)
    assert {store(repo).path(o).read_bytes() for o in store(repo).oids()} >= set(files.values())
    Repo(repo).gc(workspace=True, now=True)
    assert list(store(repo).oids()) == []


def test_stale_temporary_files_are_removed(repo: Path) -> None:
    tmp = repo / ".git" / "gitexp" / "cache" / "tmp"
    bucket = repo / ".git" / "gitexp" / "cache" / "blake3" / "ab"
    for folder in (tmp, bucket):
        folder.mkdir(parents=True)
        (folder / ".tmp-12345-dead-0").write_bytes(b"partial")
        os.utime(folder / ".tmp-12345-dead-0", (time.time() - 7200, time.time() - 7200))
        (folder / ".tmp-fresh").write_bytes(b"in progress")
    Repo(repo).gc()
    assert os.listdir(tmp) == os.listdir(bucket) == [".tmp-fresh"]


def test_sweep_grace_uses_the_clock(tmp_path: Path) -> None:
    from gitexp.cache.objects import ObjectStore

    objects = ObjectStore(tmp_path / "cache")
    oid = objects.put_bytes(b"x")
    assert sweep(objects, set(), clock=lambda: time.time()).removed == []
    assert sweep(objects, set(), clock=lambda: time.time() + 3601).removed == [oid]


def test_stash_refs_keep_their_data(repo: Path) -> None:
    (repo / "d.bin").write_bytes(b"saved in a stash")
    Repo(repo).add(["d.bin"])
    git(repo, "checkout", "-q", "-b", "tmp")
    stashed = commit_all(repo, "stash-like commit")
    git(repo, "update-ref", "refs/gitexp/stash/20260101-abc", stashed)
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "tmp")
    (repo / "d.bin").write_bytes(b"current")
    Repo(repo).add(["d.bin"])
    Repo(repo).gc(now=True)
    assert present(repo) == {b"saved in a stash", b"current"}
    Repo(repo).gc(workspace=True, now=True)
    assert present(repo) == {b"current"}
