"""kill -9 during a push to, and a pull from, a layout-2 remote: nothing unreadable, a rerun completes."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import git
from tests.data.syncsetup import clone, make_origin, make_project
from tests.data.test_sync_kill import add_many, check_cache, gitexp_proc, run
from tests.storage.remotecheck import readable_objects

pytestmark = pytest.mark.slow
FILES = 1300  # about 21 MiB of small files: two packs
TOTAL = FILES + 1 + 22  # and their manifest, and the project's own data


def kill_after(cwd: Path, delay: float, *args: str) -> None:
    proc = gitexp_proc(cwd, *args)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()


def test_killed_pushes_and_pulls_leave_nothing_unreadable(tmp_path: Path) -> None:
    rng = random.Random(20)
    origin = make_origin(tmp_path)
    a = make_project(tmp_path / "a", origin, "../storage")
    add_many(a, FILES, 16_000)
    git(a, "push", "-q", "origin", "main")
    storage = tmp_path / "storage"
    for _ in range(3):
        kill_after(a, rng.uniform(0.3, 2.5), "push", "-j", "2")
        readable_objects(storage)  # fails on anything a reader would find damaged
    done = run(a, "push")
    assert done.returncode == 0, done.stderr
    assert readable_objects(storage) >= TOTAL
    b = clone(origin, tmp_path / "b")
    for _ in range(3):
        kill_after(b, rng.uniform(0.3, 2.0), "pull", "-j", "2")
        check_cache(b)  # every object there is whole and verified
    done = run(b, "pull")
    assert done.returncode == 0, done.stderr
    assert check_cache(b) == TOTAL
    for rel in ["data/train.csv", "data/many/f0007.bin", "data/many/f1299.bin"]:
        assert (b / rel).read_bytes() == (a / rel).read_bytes()
