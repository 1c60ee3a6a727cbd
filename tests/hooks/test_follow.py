"""post-checkout, post-merge and post-rewrite under real checkout, switch, merge, rebase, clone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import git
from tests.data.syncsetup import make_origin
from tests.hooks.hookhelp import (
    REPO,
    add_data,
    cache_dir,
    commit,
    gitexp,
    install,
    project,
    run_git,
)

V1 = {"a.csv": b"a,1\n" * 100, "sub/b.csv": b"b,1\n" * 50}
V2 = {"a.csv": b"a,2\n" * 100, "c.csv": b"c,2\n" * 70}


def folder(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """main: data v1 and model m1; branch v2: data v2 and model m2. On main, hooks installed."""
    path = project(tmp_path / "p")
    install(path)
    add_data(path, "data", V1)
    add_data(path, "model.bin", b"m1" * 1000)
    assert commit(path, "v1").code == 0
    git(path, "switch", "-q", "-c", "v2")
    shutil.rmtree(path / "data")
    add_data(path, "data", V2)
    add_data(path, "model.bin", b"m2" * 1000)
    assert commit(path, "v2").code == 0
    assert run_git(path, "switch", "-q", "main").code == 0
    return path


def test_checkout_and_switch_bring_the_data_of_the_branch(root: Path) -> None:
    assert folder(root / "data") == V1 and (root / "model.bin").read_bytes() == b"m1" * 1000
    switched = run_git(root, "switch", "-q", "v2")
    assert switched.code == 0
    assert switched.err == "gitexp: checked out data, model.bin (3 files written)\n"
    assert folder(root / "data") == V2 and (root / "model.bin").read_bytes() == b"m2" * 1000
    back = run_git(root, "checkout", "-q", "main")
    assert back.code == 0 and folder(root / "data") == V1
    same = run_git(root, "checkout", "-q", "-b", "copy")
    assert same.code == 0 and same.err == ""
    status = gitexp(root, "status", "--json")
    assert '"modified"' not in status.out and '"missing"' not in status.out


def test_modified_data_not_in_the_cache_is_kept_and_git_succeeds(root: Path) -> None:
    (root / "model.bin").write_bytes(b"my own training run")
    switched = run_git(root, "switch", "-q", "v2")
    assert switched.code == 0
    assert (root / "model.bin").read_bytes() == b"my own training run"
    assert folder(root / "data") == V2
    assert (
        "gitexp: warning: model.bin has changes that are not in the cache, so it was left as "
        "it was (its pointer now names other data); keep them with `gitexp add model.bin`, or "
        "replace them with `gitexp checkout --force model.bin`"
    ) in switched.err
    forced = gitexp(root, "checkout", "--force", "model.bin")
    assert forced.code == 0 and (root / "model.bin").read_bytes() == b"m2" * 1000


def test_merges_fast_forward_three_way_and_squash_bring_the_data(root: Path) -> None:
    git(root, "switch", "-q", "-c", "ff")
    merged = run_git(root, "merge", "-q", "v2")
    assert merged.code == 0 and folder(root / "data") == V2
    assert "gitexp: checked out data, model.bin" in merged.err

    git(root, "switch", "-q", "main")
    assert folder(root / "data") == V1
    (root / "train.py").write_text("print('main moved on')\n")
    assert commit(root, "main moves").code == 0
    three_way = run_git(root, "merge", "-q", "--no-edit", "v2")
    assert three_way.code == 0 and folder(root / "data") == V2

    git(root, "reset", "-q", "--hard", "HEAD~1")
    assert run_git(root, "checkout", "-q", "-f", "main").code == 0
    gitexp(root, "checkout", "--force")
    squashed = run_git(root, "merge", "-q", "--squash", "v2")
    assert squashed.code == 0 and folder(root / "data") == V2


def test_a_rebase_keeps_the_branch_data_and_takes_the_new_base_data(root: Path) -> None:
    (root / "train.py").write_text("print('main moved on')\n")
    assert commit(root, "main moves").code == 0
    git(root, "switch", "-q", "v2")
    rebased = run_git(root, "rebase", "-q", "main")
    assert rebased.code == 0, rebased.err
    assert folder(root / "data") == V2 and (root / "model.bin").read_bytes() == b"m2" * 1000

    git(root, "switch", "-q", "-c", "code", "main")
    (root / "train.py").write_text("print('code only')\n")
    assert commit(root, "code").code == 0
    git(root, "switch", "-q", "v2")
    git(root, "switch", "-q", "code")
    assert folder(root / "data") == V1
    onto = run_git(root, "rebase", "-q", "v2")
    assert onto.code == 0 and folder(root / "data") == V2


def test_missing_objects_are_named_and_git_still_succeeds(root: Path) -> None:
    shutil.rmtree(cache_dir(root))
    switched = run_git(root, "switch", "-q", "v2")
    assert switched.code == 0
    assert (
        "gitexp: warning: the cache lacks the data of data, model.bin; run `gitexp pull` to "
        "fetch it (or set `hooks: {pull: true}` in gitexp.yaml to pull on checkout)\n"
    ) in switched.err
    assert folder(root / "data") == V1  # left as it was


def test_an_amend_touches_nothing(root: Path) -> None:
    (root / "train.py").write_text("print('amended')\n")
    git(root, "add", "train.py")
    amended = run_git(root, "commit", "-q", "--amend", "--no-edit")
    assert amended.code == 0 and amended.err == ""


def test_a_new_worktree_gets_its_data(root: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    added = run_git(root, "worktree", "add", "-q", str(tree), "v2")
    assert added.code == 0, added.err
    assert folder(tree / "data") == V2 and (tree / "model.bin").read_bytes() == b"m2" * 1000
    assert folder(root / "data") == V1


def shared_project(tmp_path: Path) -> tuple[Path, Path]:
    """A pushed project whose data is on a storage remote beside it: (origin, storage)."""
    storage = tmp_path / "storage"
    root = project(tmp_path / "a", storage, pull=True)
    origin = make_origin(tmp_path)
    git(root, "remote", "add", "origin", str(origin))
    install(root)
    add_data(root, "data", V1)
    assert commit(root, "v1").code == 0
    git(root, "switch", "-q", "-c", "v2")
    shutil.rmtree(root / "data")
    add_data(root, "data", V2)
    assert commit(root, "v2").code == 0
    assert run_git(root, "push", "-q", "origin", "main", "v2").code == 0
    return origin, storage


def test_a_clone_with_the_hooks_folder_pulls_and_checks_out_its_data(tmp_path: Path) -> None:
    origin, _storage = shared_project(tmp_path)
    hooks = REPO / "hooks"
    cloned = run_git(tmp_path, "-c", f"core.hooksPath={hooks}", "clone", "-q", str(origin), "b")
    assert cloned.code == 0, cloned.err
    clone = tmp_path / "b"
    assert folder(clone / "data") == V1
    assert "gitexp: pulled 3 object(s) from the storage remote" in cloned.err


def test_a_clone_then_install_then_checkout_follows_the_branch(tmp_path: Path) -> None:
    origin, _storage = shared_project(tmp_path)
    git(tmp_path, "clone", "-q", str(origin), "b")
    clone = tmp_path / "b"
    assert not (clone / "data").exists()
    install(clone)
    switched = run_git(clone, "checkout", "-q", "v2")
    assert switched.code == 0, switched.err
    assert folder(clone / "data") == V2


def test_pull_on_checkout_without_a_storage_remote_warns(root: Path) -> None:
    (root / "gitexp.yaml").write_text("hooks:\n  pull: true\n")
    shutil.rmtree(cache_dir(root))
    switched = run_git(root, "switch", "-q", "v2")
    assert switched.code == 0
    assert "(pulling failed: no storage remote is set; add one with" in switched.err


def test_a_folder_with_a_new_file_is_not_overwritten(root: Path) -> None:
    (root / "data" / "notes.txt").write_text("mine\n")
    os.sync()
    switched = run_git(root, "switch", "-q", "v2")
    assert switched.code == 0
    assert "gitexp: warning: data has changes that are not in the cache" in switched.err
    assert (root / "data" / "notes.txt").read_text() == "mine\n"
    assert (root / "model.bin").read_bytes() == b"m2" * 1000


def test_a_file_checkout_leaves_the_data_alone(root: Path) -> None:
    restored = run_git(root, "checkout", "v2", "--", "model.bin.gitexp")
    assert restored.code == 0 and restored.err == ""
    assert (root / "model.bin").read_bytes() == b"m1" * 1000
    assert '"modified"' in gitexp(root, "status", "--json").out
