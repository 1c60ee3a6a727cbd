"""``gc --now`` racing commands that store objects never removes what they stored.

Real processes: a ``gitexp add`` of a folder of new files and a ``gitexp gc --now``
are started together, at staggered moments. Whatever the order, once both ended the
folder's pointer names only objects in the cache (``fsck`` finds nothing missing).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_repo

ROUNDS = 5
FILES = 300


def _gitexp(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gitexp", *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "r", {"README": "r\n"})


@pytest.mark.slow
def test_gc_now_never_removes_what_a_running_add_stored(root: Path) -> None:
    lost: set[str] = set()
    for number in range(ROUNDS):
        folder = root / f"d{number}"
        folder.mkdir()
        for n in range(FILES):
            (folder / f"f{n}.txt").write_text(f"round {number} file {n}\n")
        add = _gitexp(root, "add", folder.name)
        time.sleep(0.1 * number)  # gc starts at another moment of the add each round
        gc = _gitexp(root, "gc", "--now")
        _finish(add)
        _finish(gc)
        out, _err = _gitexp(root, "fsck", "--json").communicate(timeout=120)
        lost |= {entry["path"] for entry in json.loads(out)["missing"]}
    assert sorted(lost) == []


def test_gc_says_it_waits_for_a_command_storing_objects(root: Path) -> None:
    from gitexp.cache.locks import storing

    messages: list[str] = []
    cache = root / ".git" / "gitexp" / "cache"
    with storing(cache):
        waiter = subprocess.Popen(
            [sys.executable, "-m", "gitexp", "gc", "--now"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert waiter.stderr is not None
        messages.append(waiter.stderr.readline())
        assert waiter.poll() is None  # still waiting while the store lock is held
    _out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    assert messages[0].startswith("waiting for commands that are storing data")
