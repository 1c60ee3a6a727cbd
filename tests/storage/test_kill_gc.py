"""kill -9 during a remote gc that repacks: nothing needed is ever gone, a rerun completes."""

from __future__ import annotations

import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import commit_all, git
from tests.data.syncsetup import clone, make_origin, make_project, track
from tests.data.test_sync_kill import add_many, gitexp_proc, run
from tests.storage.remotecheck import cached, held, remote_faults

pytestmark = pytest.mark.slow
TRIALS = 5
GC = ("gc", "--remote", "shared", "-w", "--now")


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_killed_remote_gcs_keep_everything_needed(tmp_path: Path) -> None:
    rng = random.Random(22)
    origin = make_origin(tmp_path)
    a = make_project(tmp_path / "a", origin, "../storage")
    add_many(a, 700, 16_000)  # about 11 MiB: one pack
    assert run(a, "push").returncode == 0
    for path in sorted((a / "data" / "many").iterdir())[70:]:
        path.unlink()  # nine files in ten dropped: their pack is mostly garbage
    track(a, "data/many")
    commit_all(a, "fewer files")
    assert run(a, "push").returncode == 0
    git(a, "push", "-q", "origin", "main")
    b = clone(origin, tmp_path / "b")
    assert run(b, "pull").returncode == 0
    needed = cached(b)
    storage = tmp_path / "storage"
    before = tmp_path / "before"
    shutil.copytree(storage, before)
    started = time.monotonic()
    assert run(a, *GC).returncode == 0
    duration = time.monotonic() - started
    shrunk = size_of(storage)
    assert shrunk < size_of(before) - 8 * (1 << 20)
    for _ in range(TRIALS):
        shutil.rmtree(storage)
        shutil.copytree(before, storage)
        proc = gitexp_proc(a, *GC)
        time.sleep(rng.uniform(0.1, duration))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert remote_faults(storage) == []
        assert needed <= held(storage)
        done = run(a, *GC)
        assert done.returncode == 0, done.stderr
        assert remote_faults(storage) == [] and needed <= held(storage)
        assert size_of(storage) <= shrunk + (64 << 10)  # about as small as an unkilled gc
    c = clone(origin, tmp_path / "c")
    assert run(c, "pull").returncode == 0
    assert cached(c) == needed
    for path in (a / "data" / "many").iterdir():
        assert (c / "data" / "many" / path.name).read_bytes() == path.read_bytes()
