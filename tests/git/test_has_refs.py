"""`has_refs`: whether a prefix holds refs, answered from disk, loose or packed."""

from __future__ import annotations

from pathlib import Path

from gitexp.git.refs import has_refs
from gitexp.git.repo import GitRepo
from tests.conftest import git, make_repo


def test_loose_packed_and_deleted_refs_are_seen_as_they_are(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"a.txt": "a"})
    repo = GitRepo.discover(root)
    head = git(root, "rev-parse", "HEAD").strip()
    assert not has_refs(repo, "refs/exps-queue/")
    git(root, "update-ref", "refs/exps-queue/one", head)
    assert has_refs(repo, "refs/exps-queue/")
    assert not has_refs(repo, "refs/exps-queu/")  # a prefix is a folder, not a string
    git(root, "pack-refs", "--all")
    assert not (root / ".git" / "refs" / "exps-queue" / "one").exists()
    assert has_refs(repo, "refs/exps-queue/")
    git(root, "update-ref", "-d", "refs/exps-queue/one")
    assert not has_refs(repo, "refs/exps-queue/")


def test_show_lists_a_queued_run_only_while_it_is_queued(tmp_path: Path) -> None:
    """The cheap test in front of the queue's rows: packed or not, a queued run shows."""
    import gitexp

    root = make_repo(tmp_path / "r", {"params.yaml": "lr: 0.1\n", "gitexp.yaml": "{}\n"})
    project = gitexp.Repo(root)
    assert [r.status for r in project.show().experiments] == []
    project.enqueue(["true"], overrides=["lr=0.2"], name="later")
    git(root, "pack-refs", "--all")
    assert [(r.name, r.status) for r in project.show().experiments] == [("later", "queued")]
    git(root, "update-ref", "-d", "refs/exps-queue/later")
    assert [r.status for r in project.show().experiments] == []
