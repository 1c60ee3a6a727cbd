"""Create-only experiment refs against real processes racing for one name.

Each process makes its own commit, then all of them are released at once to create
the same ref: exactly one wins, the others see a conflict, and the ref holds the
winner's commit. Run in the main worktree and in linked worktrees alike, with the
ref loose or already packed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import git, make_repo

RACERS = 8
ROUNDS = 6

_RACER = """
import sys, time
from pathlib import Path
from gitexp.errors import ConflictError
from gitexp.git.refs import create_ref
from gitexp.git.repo import GitRepo

root, prefix, folder, tag, rounds = sys.argv[1:6]
g = GitRepo.discover(root)
for number in range(int(rounds)):
    head = g.head_commit()
    commit = g.write_commit(str(head.tree.id), [str(head.id)], f"racer {tag}\\n")
    (Path(folder) / f"ready-{number}-{tag}").touch()
    while not (Path(folder) / f"go-{number}").exists():
        time.sleep(0.001)
    try:
        made = create_ref(g, f"{prefix}{number}", commit)
    except ConflictError as exc:
        print(f"{number} conflict {commit} {exc.message}", flush=True)
    except Exception as exc:  # anything else is a failure the test reports
        print(f"{number} error {commit} {exc!r}", flush=True)
    else:
        print(f"{number} {'created' if made else 'same'} {commit}", flush=True)
"""


def _race(roots: list[Path], prefix: str, folder: Path, between: object = None) -> list[list[str]]:
    """Every round's lines: RACERS processes create ``prefix<round>`` at once."""
    folder.mkdir()

    def args(n: int) -> list[str]:
        return [str(folder), str(n), str(ROUNDS)]

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(roots[n % len(roots)]), prefix, *args(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(RACERS)
    ]
    for number in range(ROUNDS):
        if callable(between):
            between(number)
        deadline = time.monotonic() + 60
        while len(list(folder.glob(f"ready-{number}-*"))) < RACERS:
            assert time.monotonic() < deadline, "racers did not get ready"
            time.sleep(0.01)  # every racer has made its commit and is waiting
        (folder / f"go-{number}").touch()
    lines: list[list[str]] = [[] for _ in range(ROUNDS)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        for line in out.splitlines():
            number, rest = line.split(" ", 1)
            lines[int(number)].append(rest)
    return lines


def _check_one_winner(root: Path, name: str, lines: list[str]) -> None:
    winners = [line.split()[1] for line in lines if line.startswith("created")]
    assert len(winners) == 1, lines
    assert git(root, "rev-parse", name).strip() == winners[0]
    losers = [line for line in lines if line.startswith("conflict")]
    assert len(losers) == RACERS - 1, lines
    assert all("experiment 'same" in line and "already exists" in line for line in losers), lines


@pytest.mark.parametrize("packed", [False, True])
def test_one_name_has_one_winner_among_racing_processes(tmp_path: Path, packed: bool) -> None:
    root = make_repo(tmp_path / "r", {"a.txt": "a\n"})
    linked = tmp_path / "linked"
    git(root, "worktree", "add", "-q", "--detach", str(linked))

    def pack(number: int) -> None:  # a packed sibling: git consults packed-refs on create
        git(root, "update-ref", f"refs/experiments/other-{number}", "HEAD")
        git(root, "pack-refs", "--all")

    rounds = _race([root, linked], "refs/experiments/same-", tmp_path / "sync", packed and pack)
    for number, lines in enumerate(rounds):
        _check_one_winner(root, f"refs/experiments/same-{number}", lines)


def test_the_same_commit_again_is_a_no_op_and_force_replaces(tmp_path: Path) -> None:
    from gitexp.git.refs import create_ref
    from gitexp.git.repo import GitRepo

    root = make_repo(tmp_path / "r", {"a.txt": "a\n"})
    g = GitRepo.discover(root)
    head = str(g.head_commit().id)
    git(root, "update-ref", "refs/experiments/p", head)
    git(root, "pack-refs", "--all")
    assert create_ref(g, "refs/experiments/p", head) is False
    other = g.write_commit(str(g.head_commit().tree.id), [head], "other\n")
    assert create_ref(g, "refs/experiments/p", other, force=True) is True
    assert git(root, "rev-parse", "refs/experiments/p").strip() == other
