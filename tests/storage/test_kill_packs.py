"""kill -9 during a push to, and a pull from, a layout-2 remote: nothing unreadable, a rerun completes.

The project holds many small files (packs) and one big file (chunks in packs, and
its chunk list); the kills come at seeded random moments.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from gitexp.storage.chunks import CHUNKED
from tests.conftest import commit_all, git
from tests.data.syncsetup import clone, make_origin, make_project, track
from tests.data.test_sync_kill import add_many, check_cache, gitexp_proc, run
from tests.storage.remotecheck import readable_objects, remote_faults

pytestmark = pytest.mark.slow
FILES = 1300  # about 21 MiB of small files: two packs
TOTAL = FILES + 1 + 22 + 1  # and their manifest, the project's own data, the big file
TRIALS = 5


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
    (a / "data" / "big.bin").write_bytes(os.urandom(CHUNKED + 4321))
    track(a, "data/big.bin")
    commit_all(a, "a big file")
    git(a, "push", "-q", "origin", "main")
    storage = tmp_path / "storage"
    for _ in range(TRIALS):
        kill_after(a, rng.uniform(0.3, 2.5), "push", "-j", "2")
        readable_objects(storage)  # fails on anything a reader would find damaged
        assert remote_faults(storage) == []  # fsck --remote: at most unfinished packs
    done = run(a, "push")
    assert done.returncode == 0, done.stderr
    assert readable_objects(storage) >= TOTAL
    b = clone(origin, tmp_path / "b")
    for _ in range(TRIALS):
        kill_after(b, rng.uniform(0.3, 2.0), "pull", "-j", "2")
        check_cache(b)  # every object there is whole and verified
    done = run(b, "pull")
    assert done.returncode == 0, done.stderr
    assert check_cache(b) == TOTAL
    for rel in ["data/train.csv", "data/many/f0007.bin", "data/many/f1299.bin", "data/big.bin"]:
        assert (b / rel).read_bytes() == (a / rel).read_bytes()
