from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from gitexp.errors import ConflictError
from gitexp.git.refs import RefUpdate, create_ref, delete_refs, list_refs, read_ref, update_refs
from gitexp.git.repo import GitRepo
from gitexp.git.snapshot import snapshot
from tests.conftest import commit_all, git, make_repo


@pytest.fixture
def g(tmp_path: Path) -> GitRepo:
    root = make_repo(tmp_path / "r", {"a.txt": "a\n", "keep.txt": "k\n", ".gitignore": "*.log\n"})
    return GitRepo.discover(root)


def test_create_ref_is_create_only_and_idempotent(g: GitRepo) -> None:
    head = str(g.head_commit().id)
    assert create_ref(g, "refs/experiments/x", head) is True
    assert create_ref(g, "refs/experiments/x", head) is False
    (g.root / "a.txt").write_text("b\n")
    other = commit_all(g.root)
    with pytest.raises(ConflictError, match="already exists"):
        create_ref(g, "refs/experiments/x", other)
    assert read_ref(g, "refs/experiments/x") == head
    assert create_ref(g, "refs/experiments/x", other, force=True) is True
    assert read_ref(g, "refs/experiments/x") == other


def test_update_refs_is_compare_and_swap_and_atomic(g: GitRepo) -> None:
    head = str(g.head_commit().id)
    create_ref(g, "refs/experiments/a", head)
    create_ref(g, "refs/experiments/b", head)
    wrong = "1" * 40
    with pytest.raises(ConflictError):
        update_refs(
            g,
            [
                RefUpdate("refs/experiments/a", None, head),
                RefUpdate("refs/experiments/b", None, wrong),
            ],
        )
    assert set(list_refs(g, "refs/experiments/")) == {"refs/experiments/a", "refs/experiments/b"}
    delete_refs(g, [("refs/experiments/a", head), ("refs/experiments/b", head)])
    assert list_refs(g, "refs/experiments/") == {}


def test_snapshot_takes_workspace_changes_and_touches_nothing(g: GitRepo) -> None:
    root = g.root
    (root / "a.txt").write_text("changed\n")
    (root / "keep.txt").unlink()
    (root / "new").mkdir()
    (root / "new" / "n.txt").write_text("n\n")
    (root / "staged.txt").write_text("s\n")
    git(root, "add", "staged.txt")
    (root / "ignored.log").write_text("no\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    before_index = (g.git_dir / "index").read_bytes()
    before_head = str(g.head_commit().id)
    before_status = git(root, "status", "--porcelain")
    snap = snapshot(g, g.head_commit().tree, extra={"extra/x.json": b"{}"})
    tree = g.repo[snap.tree]
    assert isinstance(tree, pygit2.Tree)
    paths = {e.path: e.mode for e in g.walk_tree(tree)}
    assert set(paths) == {
        ".gitignore",
        "a.txt",
        "new/n.txt",
        "staged.txt",
        "run.sh",
        "extra/x.json",
    }
    assert paths["run.sh"] == pygit2.enums.FileMode.BLOB_EXECUTABLE
    assert g.read_blob(tree, "a.txt") == b"changed\n"
    assert (g.git_dir / "index").read_bytes() == before_index
    assert str(g.head_commit().id) == before_head
    assert git(root, "status", "--porcelain") == before_status


def test_snapshot_excludes_and_drops(g: GitRepo) -> None:
    (g.root / "model.bin").write_bytes(b"m")
    snap = snapshot(g, g.head_commit().tree, exclude=["model.bin"], drop_dirs=["nothing"])
    tree = g.repo[snap.tree]
    assert isinstance(tree, pygit2.Tree)
    assert "model.bin" not in {e.path for e in g.walk_tree(tree)}
