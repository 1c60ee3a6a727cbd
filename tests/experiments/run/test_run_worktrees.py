"""Runs in worktrees (``-j N``): tracked data, the user's own params, nothing left behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

import gitexp
from gitexp.errors import IntegrityError, NotFoundError
from tests.conftest import commit_all, git
from tests.data.datahelp import make_tree, store
from tests.experiments.run.test_run import interruptible, slow_run, tree_of

PY = sys.executable
SLEEP = [PY, "-c", "import time; time.sleep(60)"]

CHECK_DATA = """\
import json, os, pathlib, stat, sys
expected = json.loads(pathlib.Path(sys.argv[1]).read_text())
for rel, text in expected.items():
    assert pathlib.Path(rel).read_text() == text, rel
mode = os.stat("vocab.txt").st_mode
print("writable" if mode & stat.S_IWUSR else "read-only")
"""


def track_data(repo: Path, count: int = 20) -> dict[str, str]:
    """A tracked folder and a tracked file, their pointers committed; path → text."""
    files = {rel: data.decode() for rel, data in make_tree(repo, count).items()}
    (repo / "vocab.txt").write_text("a b c\n")
    files["vocab.txt"] = "a b c\n"
    gitexp.Repo().add(["data", "vocab.txt"])
    commit_all(repo, "track data")
    return files


def expected_file(repo: Path, files: dict[str, str]) -> str:
    """The data a job must find, in a file outside the repository."""
    path = repo.parent / "expected.json"
    path.write_bytes(orjson.dumps(files))
    return str(path)


def worktrees(repo: Path) -> int:
    """Worktrees git has registered besides the main one.

    `git worktree list` fails on a worktree that `git worktree add` is still writing:
    then it is asked again a moment later.
    """
    for _ in range(100):
        proc = subprocess.run(
            ["git", "worktree", "list", "--porcelain"], cwd=repo, capture_output=True, text=True
        )
        if proc.returncode == 0:
            return proc.stdout.count("worktree ") - 1
        time.sleep(0.01)
    raise AssertionError(proc.stderr)


def leftover_folders(repo: Path) -> list[str]:
    """What is left where gitexp keeps its worktrees: their folders and owner files."""
    folder = repo / ".git" / "gitexp" / "worktrees"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_grid_in_worktrees_gets_the_tracked_data_without_hooks(repo: Path) -> None:
    files = track_data(repo)
    (repo / "check.py").write_text(CHECK_DATA)
    expected = expected_file(repo, files)
    assert not (repo / ".git" / "hooks" / "post-checkout").exists()
    results = gitexp.Repo().run(
        [PY, "check.py", expected], overrides=["seed=1,2"], jobs=2, name="d"
    )
    assert [r.status for r in results] == ["success", "success"], [r.problems for r in results]
    workspace = gitexp.Repo().run([PY, "check.py", expected], name="w")[0]
    assert workspace.status == "success"
    for name in ("d-1", "d-2"):
        tree, plain = tree_of(repo, name), tree_of(repo, "w")
        assert {p: b for p, b in tree.items() if p.endswith(".gitexp")} == {
            p: b for p, b in plain.items() if p.endswith(".gitexp")
        }
        assert tree[".gitignore"] == plain[".gitignore"] == (repo / ".gitignore").read_bytes()
        assert not [p for p in tree if p.startswith("data/") or p == "vocab.txt"]
        assert b"writable" in tree[".gitexp/output.log"]  # copies, as the link config says
    assert worktrees(repo) == 0
    assert git(repo, "status", "--porcelain") == "?? check.py\n"


def test_grid_gets_the_same_data_with_the_hooks_installed(repo: Path) -> None:
    files = track_data(repo)
    gitexp.Repo().install_hooks()
    (repo / "check.py").write_text(CHECK_DATA)
    expected = expected_file(repo, files)
    results = gitexp.Repo().run([PY, "check.py", expected], overrides=["seed=1,2"], jobs=2)
    assert [r.status for r in results] == ["success", "success"], [r.problems for r in results]
    assert worktrees(repo) == 0


def test_grid_links_data_read_only_when_the_link_config_says_so(repo: Path) -> None:
    files = track_data(repo)
    (repo / ".git" / "gitexp" / "config.yaml").write_text("link: hardlink\n")
    (repo / "check.py").write_text(CHECK_DATA)
    expected = expected_file(repo, files)
    results = gitexp.Repo().run(
        [PY, "check.py", expected], overrides=["seed=1,2"], jobs=2, name="h"
    )
    assert [r.status for r in results] == ["success", "success"], [r.problems for r in results]
    assert b"read-only" in tree_of(repo, "h-1")[".gitexp/output.log"]


def test_data_in_the_workspace_but_not_in_the_cache_is_used(repo: Path) -> None:
    files = track_data(repo)
    shutil.rmtree(repo / ".git" / "gitexp" / "cache")
    (repo / "check.py").write_text(CHECK_DATA)
    expected = expected_file(repo, files)
    results = gitexp.Repo().run([PY, "check.py", expected], overrides=["seed=1,2"], jobs=2)
    assert [r.status for r in results] == ["success", "success"], [r.problems for r in results]


def test_data_nowhere_to_be_found_fails_before_any_point_runs(repo: Path) -> None:
    track_data(repo)
    shutil.rmtree(repo / ".git" / "gitexp" / "cache")
    shutil.rmtree(repo / "data")
    marker = repo.parent / "ran"
    with pytest.raises(NotFoundError, match=r"'data'.*not in the cache") as caught:
        gitexp.Repo().run(
            [PY, "-c", f"open({str(marker)!r}, 'a').write('x')"], overrides=["seed=1,2"], jobs=2
        )
    assert "gitexp pull" in (caught.value.hint or "")
    assert not marker.exists()
    assert git(repo, "for-each-ref", "refs/experiments/") == ""
    assert worktrees(repo) == 0


def test_grid_with_a_corrupt_object_fails_and_leaves_nothing(repo: Path) -> None:
    track_data(repo, count=3)
    objects = store(repo)
    for oid in list(objects.oids()):
        path = objects.path(oid)
        os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
        path.write_bytes(b"corrupt")
    shutil.rmtree(repo / "data")
    (repo / "vocab.txt").unlink()
    with pytest.raises(IntegrityError):
        gitexp.Repo().run([PY, "-c", "pass"], overrides=["seed=1,2"], jobs=2)
    assert git(repo, "for-each-ref", "refs/experiments/") == ""
    assert worktrees(repo) == 0
    assert leftover_folders(repo) == []


def grid(repo: Path, name: str, *extra: str) -> subprocess.Popen[bytes]:
    """``gitexp run -j 2`` of three slow points, in a session of its own."""
    return subprocess.Popen(
        [
            PY,
            "-m",
            "gitexp",
            "run",
            "-n",
            name,
            "-j",
            "2",
            "-S",
            "seed=1,2,3",
            *extra,
            "--",
            *SLEEP,
        ],
        cwd=repo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=interruptible,
    )


def kill_gitexp_alone(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL gitexp itself; its commands go on (ended later by `end_session`)."""
    proc.kill()
    proc.communicate(timeout=30)


def end_session(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def wait_for_worktrees(repo: Path, count: int) -> None:
    deadline = time.monotonic() + 30
    while worktrees(repo) < count and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.slow
def test_grid_killed_at_any_moment_leaves_no_worktree_after_the_next_run(repo: Path) -> None:
    track_data(repo, count=3)
    # (worktrees to wait for, then seconds): early kills land while gitexp starts or
    # adds worktrees, later ones while the points run
    moments = [(0, 0.3), (0, 0.6), (1, 0.0), (1, 0.02), (1, 0.05), (2, 0.0), (2, 0.2), (2, 0.5)]
    leaks = []
    for number, (count, delay) in enumerate(moments):
        proc = grid(repo, f"k{number}")
        try:
            wait_for_worktrees(repo, count)
            time.sleep(delay)
            kill_gitexp_alone(proc)
            gitexp.Repo().run([PY, "-c", "pass"], name=f"after{number}")
            if worktrees(repo) or leftover_folders(repo):
                leaks.append((count, delay, worktrees(repo), leftover_folders(repo)))
        finally:
            end_session(proc)
    assert leaks == []
    assert git(repo, "worktree", "prune", "--dry-run", "-v") == ""


def test_gc_removes_the_worktrees_of_a_killed_grid(repo: Path) -> None:
    proc = grid(repo, "g")
    try:
        wait_for_worktrees(repo, 2)
        assert worktrees(repo) == 2
        kill_gitexp_alone(proc)
        gitexp.Repo().gc()
        assert (worktrees(repo), leftover_folders(repo)) == (0, [])
    finally:
        end_session(proc)
    assert snapshot_commits_after_git_gc(repo) == []


def test_a_sweep_never_removes_the_worktrees_of_a_running_one(repo: Path) -> None:
    (repo / "job.py").write_text("import sys, time\ntime.sleep(float(sys.argv[1]))\n")
    slow = subprocess.Popen(
        [
            PY,
            "-m",
            "gitexp",
            "run",
            "-n",
            "slow",
            "-j",
            "2",
            "-S",
            "seed=1,2",
            "--",
            PY,
            "job.py",
            "3",
        ],
        cwd=repo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_worktrees(repo, 2)
        quick = gitexp.Repo().run([PY, "job.py", "0"], overrides=["seed=5,6"], jobs=2)
        assert [r.status for r in quick] == ["success", "success"]
        gitexp.Repo().gc()
        gitexp.Repo().run([PY, "job.py", "0"])
        _out, err = slow.communicate(timeout=60)
    finally:
        if slow.poll() is None:
            slow.kill()
            slow.communicate()
    assert slow.returncode == 0, err
    assert "refs/experiments/slow-1" in git(repo, "for-each-ref", "refs/experiments/")
    assert "refs/experiments/slow-2" in git(repo, "for-each-ref", "refs/experiments/")
    assert (worktrees(repo), leftover_folders(repo)) == (0, [])


def test_grid_records_the_users_params_not_a_running_workspace_runs_override(repo: Path) -> None:
    proc = slow_run(repo, "-n", "slow", "-S", "train.epochs=99", session=False)
    try:
        assert b"epochs: 99" in (repo / "params.yaml").read_bytes()
        gitexp.Repo().run([PY, "-c", "pass"], overrides=["train.lr=0.5,0.6"], name="par", jobs=2)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    for number, lr in ((1, b"lr: 0.5"), (2, b"lr: 0.6")):
        params = tree_of(repo, f"par-{number}")["params.yaml"]
        assert b"epochs: 3" in params and lr in params, params


def test_grid_keeps_the_users_own_edit_made_during_a_workspace_run(repo: Path) -> None:
    proc = slow_run(repo, "-n", "slow", "-S", "train.epochs=99", session=False)
    try:
        edited = (repo / "params.yaml").read_text().replace("seed: 1", "seed: 42")
        (repo / "params.yaml").write_text(edited)
        gitexp.Repo().run([PY, "-c", "pass"], overrides=["train.lr=0.5,0.6"], name="par", jobs=2)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    params = tree_of(repo, "par-1")["params.yaml"]
    assert b"seed: 42" in params, params


def snapshot_commits_after_git_gc(repo: Path) -> list[str]:
    """The grids' snapshot commits that ``git gc`` keeps (none should be reachable)."""
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    listing = git(
        repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)"
    )
    commits = [line.split()[0] for line in listing.splitlines() if line.endswith(" commit")]
    return [sha for sha in commits if "parallel runs" in git(repo, "log", "-1", "--format=%s", sha)]


def test_snapshot_commits_of_a_grid_are_left_for_git_gc(repo: Path) -> None:
    gitexp.Repo().run([PY, "-c", "pass"], overrides=["seed=1,2"], jobs=2)
    assert snapshot_commits_after_git_gc(repo) == []


GRID = [PY, "-m", "gitexp", "run", "-j", "2", "-S", "seed=1,2"]
NEEDS_DATA = "import pathlib; assert pathlib.Path('vocab.txt').exists()"


@pytest.mark.slow
def test_grids_started_at_once_all_record_and_leave_nothing(repo: Path) -> None:
    track_data(repo, count=3)
    for round_ in range(2):
        procs = [
            subprocess.Popen(
                [*GRID, "-n", f"r{round_}g{n}", "--", PY, "-c", NEEDS_DATA],
                cwd=repo,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for n in range(3)
        ]
        errors = [proc.communicate(timeout=120)[1] for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0, 0], errors
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/experiments/").split()
    assert len(refs) == 12
    assert (worktrees(repo), leftover_folders(repo)) == (0, [])


@pytest.mark.slow
def test_ctrl_c_while_worktrees_are_added_leaves_none(repo: Path) -> None:
    """Ctrl-C reaches `git worktree add` too; a record it leaves half made must go."""
    leaks = []
    for number, delay in enumerate([0.0, 0.01, 0.03, 0.06, 0.1, 0.2]):
        proc = grid(repo, f"c{number}")
        try:
            wait_for_worktrees(repo, 1)
            time.sleep(delay)
            os.killpg(proc.pid, signal.SIGINT)
            _out, err = proc.communicate(timeout=60)
        finally:
            end_session(proc)
        if worktrees(repo) or leftover_folders(repo):
            leaks.append((delay, proc.returncode, worktrees(repo), leftover_folders(repo), err))
            gitexp.Repo().gc(dry_run=False)
    assert leaks == []


def test_recovery_after_a_killed_grid_puts_back_nothing_of_its_worktrees(repo: Path) -> None:
    """Worktree runs write their params through the guard, journaled as not to put back."""
    before = (repo / "params.yaml").read_bytes()
    runs = repo / ".git" / "gitexp" / "runs"
    proc = grid(repo, "w")
    said: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while not list(runs.glob("*/journal.json")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert list(runs.glob("*/journal.json")), "no point wrote its params"
        kill_gitexp_alone(proc)
        gitexp.Repo().run([PY, "-c", "pass"], name="after", notify=said.append)
    finally:
        end_session(proc)
    assert [m for m in said if "restore" in m] == []
    assert (repo / "params.yaml").read_bytes() == before
