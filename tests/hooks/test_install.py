"""``gitexp hooks install|uninstall|status``: where the hooks go, chaining, restoring."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from gitexp.git.hookfiles import HOOK_NAMES, shim
from tests.conftest import git
from tests.hooks.hookhelp import REPO, gitexp, install, project, run_git

USER_HOOK = """#!/bin/sh
echo "user $(basename "$0" .gitexp-saved) args: $*" >> "$(git rev-parse --git-common-dir)/hook.log"
cat >> "$(git rev-parse --git-common-dir)/hook.log"
exit ${USER_HOOK_EXIT:-0}
"""


def test_the_hooks_folder_holds_exactly_the_shims_that_install_writes() -> None:
    for name in HOOK_NAMES:
        path = REPO / "hooks" / name
        assert path.read_text() == shim(name), (
            f"hooks/{name} is stale: regenerate it from gitexp.git.hookfiles.shim"
        )
        assert path.stat().st_mode & stat.S_IXUSR
    assert sorted(p.name for p in (REPO / "hooks").iterdir()) == sorted(HOOK_NAMES)


def test_install_writes_executable_shims_and_twice_is_a_no_op(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    first = install(root)
    for name in HOOK_NAMES:
        assert f"{name}: installed" in first.err
        hook = root / ".git" / "hooks" / name
        assert hook.read_text() == shim(name) and os.access(hook, os.X_OK)
    stamps = {n: (root / ".git" / "hooks" / n).stat().st_mtime_ns for n in HOOK_NAMES}
    again = install(root)
    assert all(f"{n}: already installed" in again.err for n in HOOK_NAMES)
    assert stamps == {n: (root / ".git" / "hooks" / n).stat().st_mtime_ns for n in HOOK_NAMES}
    status = json.loads(gitexp(root, "hooks", "status", "--json").out)
    assert {h["name"]: h["state"] for h in status["hooks"]} == dict.fromkeys(
        HOOK_NAMES, "installed"
    )


def test_a_users_hook_is_chained_with_args_stdin_and_exit_code_then_restored_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "p")
    hooks = root / ".git" / "hooks"
    for name in ("pre-commit", "post-checkout", "pre-push"):
        (hooks / name).write_text(USER_HOOK)
        (hooks / name).chmod(0o750)
    os.utime(hooks / "pre-commit", ns=(1_000_000_000, 1_000_000_000))
    before = {n: ((hooks / n).read_bytes(), (hooks / n).stat()) for n in ("pre-commit",)}
    result = install(root)
    assert "pre-commit: installed; your hook is kept as pre-commit.gitexp-saved" in result.err

    (root / "a.txt").write_text("a\n")
    git(root, "add", "a.txt")
    assert run_git(root, "commit", "-q", "-m", "a").code == 0
    git(root, "switch", "-q", "-c", "side")
    log = (root / ".git" / "hook.log").read_text()
    assert "user pre-commit args: \n" in log
    assert "user post-checkout args: " in log and log.rstrip().endswith(" 1")

    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(root, "remote", "add", "origin", str(bare))
    assert run_git(root, "push", "-q", "origin", "side").code == 0
    log = (root / ".git" / "hook.log").read_text()
    head = git(root, "rev-parse", "HEAD").strip()
    assert f"user pre-push args: origin {bare}" in log
    assert f"refs/heads/side {head} refs/heads/side {'0' * 40}\n" in log

    monkeypatch.setenv("USER_HOOK_EXIT", "3")
    (root / "b.txt").write_text("b\n")
    git(root, "add", "b.txt")
    refused = run_git(root, "commit", "-q", "-m", "b")
    assert refused.code != 0 and git(root, "log", "-1", "--format=%s").strip() == "a"
    switched = run_git(root, "switch", "-q", "main")
    assert switched.code == 1  # a failing post-checkout hook makes git switch fail
    monkeypatch.delenv("USER_HOOK_EXIT")

    done = gitexp(root, "hooks", "uninstall")
    assert done.code == 0 and "pre-commit: removed; your hook is back" in done.err
    data, info = before["pre-commit"]
    after = (hooks / "pre-commit").stat()
    assert (hooks / "pre-commit").read_bytes() == data
    assert (stat.S_IMODE(after.st_mode), after.st_mtime_ns, after.st_ino) == (
        stat.S_IMODE(info.st_mode),
        info.st_mtime_ns,
        info.st_ino,
    )
    assert not (hooks / "post-merge").exists()
    assert not list(hooks.glob("*.gitexp-saved"))
    assert gitexp(root, "hooks", "uninstall").code == 0


def test_a_hook_that_is_a_symbolic_link_is_kept_as_a_link(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    script = root / "tools" / "check.sh"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    link = root / ".git" / "hooks" / "pre-commit"
    link.symlink_to("../../tools/check.sh")
    install(root)
    assert (root / ".git" / "hooks" / "pre-commit.gitexp-saved").is_symlink()
    gitexp(root, "hooks", "uninstall")
    assert link.is_symlink() and os.readlink(link) == "../../tools/check.sh"


def test_status_names_other_and_outdated_hooks(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    hooks = root / ".git" / "hooks"
    (hooks / "post-merge").write_text("#!/bin/sh\n")
    (hooks / "pre-push").write_text(shim("pre-push").replace("(version 1)", "(version 0)"))
    status = gitexp(root, "hooks", "status")
    assert "post-merge: another hook, not gitexp's" in status.out
    assert "pre-push: installed by an older gitexp" in status.out
    assert "pre-commit: not installed" in status.out
    result = install(root)
    assert "pre-push: updated" in result.err
    assert (hooks / "pre-push").read_text() == shim("pre-push")


def test_install_refuses_when_a_foreign_hook_and_a_saved_one_are_both_there(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "p")
    hooks = root / ".git" / "hooks"
    (hooks / "pre-commit").write_text("#!/bin/sh\n")
    (hooks / "pre-commit.gitexp-saved").write_text("#!/bin/sh\n")
    result = gitexp(root, "hooks", "install")
    assert result.code == 1
    assert "has both pre-commit and pre-commit.gitexp-saved" in result.err
    assert not (hooks / "pre-push").exists()  # nothing was changed


def test_core_hooks_path_is_honoured_relative_and_absolute(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    git(root, "config", "core.hooksPath", ".githooks")
    install(root)
    assert sorted(p.name for p in (root / ".githooks").iterdir()) == sorted(HOOK_NAMES)
    assert not (root / ".git" / "hooks" / "pre-commit").exists()
    (root / "big.bin").write_bytes(os.urandom(6 << 20))
    git(root, "add", "big.bin")
    refused = run_git(root, "commit", "-q", "-m", "big")
    assert refused.code == 1 and "commit refused" in refused.err

    elsewhere = tmp_path / "shared-hooks"
    git(root, "config", "core.hooksPath", str(elsewhere))
    status = gitexp(root, "hooks", "status", "--json")
    assert {h["state"] for h in json.loads(status.out)["hooks"]} == {"absent"}
    install(root)
    assert (elsewhere / "pre-commit").read_text() == shim("pre-commit")


def test_a_worktree_installs_into_the_common_hooks_folder_and_runs_them(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    tree = tmp_path / "tree"
    git(root, "worktree", "add", "-q", "-b", "wt", str(tree))
    result = install(tree)
    assert f"hooks folder: {root / '.git' / 'hooks'}" in result.err
    (tree / "big.bin").write_bytes(os.urandom(6 << 20))
    git(tree, "add", "big.bin")
    refused = run_git(tree, "commit", "-q", "-m", "big")
    assert refused.code == 1 and "big.bin" in refused.err


def test_without_gitexp_on_path_each_hook_says_so_in_one_line_and_git_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "p")
    install(root)
    path = os.pathsep.join(
        d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "gitexp").exists()
    )
    monkeypatch.setenv("PATH", path)
    assert shutil.which("gitexp") is None
    (root / "big.bin").write_bytes(os.urandom(6 << 20))
    git(root, "add", "big.bin")
    done = run_git(root, "commit", "-q", "-m", "big")
    assert done.code == 0
    assert done.err == (
        "gitexp: not found on PATH, so the check of large files and pointers was skipped\n"
    )
    switched = run_git(root, "switch", "-q", "-c", "other")
    assert switched.code == 0
    assert switched.err == (
        "gitexp: not found on PATH, so the data was not checked out (run: gitexp checkout)\n"
    )
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    pushed = run_git(root, "push", "-q", str(bare), "other")
    assert pushed.code == 0 and "the data of the pushed commits was not uploaded" in pushed.err

    git(root, "config", "gitexp.requireHooks", "true")
    (root / "c.txt").write_text("c\n")
    git(root, "add", "c.txt")
    refused = run_git(root, "commit", "-q", "-m", "c")
    assert refused.code == 1
    assert "gitexp.requireHooks is true, so the commit is refused" in refused.err


def test_init_hooks_installs_and_init_never_prompts_without_a_terminal(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "gitexp.yaml").unlink()
    plain = gitexp(root, "init")
    assert plain.code == 0 and "[Y/n]" not in plain.err
    assert not (root / ".git" / "hooks" / "pre-commit").exists()
    with_hooks = gitexp(root, "init", "--hooks")
    assert with_hooks.code == 0 and "pre-commit: installed" in with_hooks.err
    assert (root / ".git" / "hooks" / "pre-commit").read_text() == shim("pre-commit")


def test_pre_commit_framework_manifest_names_each_hook() -> None:
    manifest = YAML(typ="safe").load((REPO / ".pre-commit-hooks.yaml").read_text())
    by_id = {hook["id"]: hook for hook in manifest}
    assert set(by_id) == {f"gitexp-{name}" for name in HOOK_NAMES}
    for name in HOOK_NAMES:
        hook = by_id[f"gitexp-{name}"]
        assert hook["entry"] == f"gitexp hook {name}"
        assert hook["stages"] == [name] and hook["pass_filenames"] is False


def test_hooks_outside_a_repository_is_an_error(tmp_path: Path) -> None:
    result = gitexp(tmp_path, "hooks", "install")
    assert result.code == 1 and "not in a git repository" in result.err
