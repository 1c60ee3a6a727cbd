"""A crafted pointer under real git with hooks: refused at commit, harmless on checkout."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import git
from tests.hooks.hookhelp import add_data, commit, install, project, run_git


def test_hooks_never_touch_git_s_folder(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    install(root)
    add_data(root, "x", {"f": b"payload"})
    assert commit(root, "data").code == 0
    git(root, "switch", "-q", "-c", "evil")
    (root / ".git.gitexp").write_bytes((root / "x.gitexp").read_bytes())
    git(root, "add", ".git.gitexp")
    refused = run_git(root, "commit", "-q", "-m", "crafted")
    assert refused.code == 1
    assert "commit refused: the staged pointer .git.gitexp: unsafe data path '.git'" in refused.err
    assert run_git(root, "commit", "-q", "--no-verify", "-m", "crafted").code == 0
    git(root, "switch", "-q", "main")
    head = (root / ".git" / "HEAD").read_bytes()
    switched = run_git(root, "switch", "-q", "evil")
    assert switched.code == 0
    assert ".git.gitexp: unsafe data path '.git'" in switched.err
    assert "--force" not in switched.err
    assert (root / ".git" / "HEAD").read_bytes() != head  # git itself moved HEAD
    assert (root / ".git" / "config").is_file()
    assert git(root, "status", "--porcelain") == ""
