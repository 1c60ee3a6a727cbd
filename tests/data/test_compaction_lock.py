"""``gc --compact`` lets go of the cache between files: a checkout waits for one file at most.

Two processes on one repository: a ``gc --compact`` of several big versions nothing
needs (each written as new chunks and flushed to disk, so the run is long), and
checkouts started once it has begun. A checkout of a file compaction leaves alone
ends before the compaction does; a checkout of a version compaction is about to
compact, or has just compacted, gives that version byte for byte; at the end every
version reads back whole or reassembled, and ``fsck`` finds nothing wrong.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

from gitexp.api import Repo
from gitexp.cache.chunkstore import LISTS_DIR
from tests.cache.test_compact import cache_dir, readable
from tests.conftest import commit_all, git
from tests.data.test_sync_kill import gitexp_proc

MIB = 1 << 20
SIZE = 17 * MIB
"""Above the 16 MiB chunking threshold."""
VERSIONS = 12


def _done(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for ``proc``; it must succeed."""
    _out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err


def _versions(repo: Path) -> list[tuple[str, bytes]]:
    """``VERSIONS`` commits of ``big.bin``, each all new bytes (no chunk in common)."""
    rng = random.Random(3)
    made = []
    for version in range(VERSIONS):
        data = rng.randbytes(SIZE)
        (repo / "big.bin").unlink(missing_ok=True)
        (repo / "big.bin").write_bytes(data)
        (repo / "small.txt").unlink(missing_ok=True)
        (repo / "small.txt").write_text(f"small {version}\n")
        Repo(repo).add(["big.bin", "small.txt"])
        made.append((commit_all(repo, f"v{version}"), data))
    return made


def _lists(repo: Path) -> int:
    """The chunk lists in the cache: files compacted so far."""
    return sum(1 for path in (cache_dir(repo) / LISTS_DIR).rglob("*") if path.is_file())


def _compacting(repo: Path, gc: subprocess.Popen[bytes]) -> None:
    """Wait until ``gc`` has written its first chunk list (it is compacting)."""
    deadline = time.monotonic() + 120
    while _lists(repo) == 0:
        assert gc.poll() is None, gc.communicate()[1]
        assert time.monotonic() < deadline, "gc --compact did not start compacting"
        time.sleep(0.01)


def test_a_checkout_during_a_long_compaction_ends_first_and_nothing_is_lost(repo: Path) -> None:
    versions = _versions(repo)
    first, first_data = versions[0]
    gc = gitexp_proc(repo, "gc", "--compact", "--now")
    try:
        _compacting(repo, gc)
        # a file compaction leaves alone: done while the compaction goes on
        git(repo, "checkout", "-q", first, "--", "small.txt.gitexp")
        small = gitexp_proc(repo, "checkout", "small.txt")
        _done(small, 120)
        assert _lists(repo) < VERSIONS - 1, "the checkout waited for the whole compaction"
        assert (repo / "small.txt").read_text() == "small 0\n"
        # a version compaction is about to compact or has compacted: given back whole
        git(repo, "checkout", "-q", first, "--", "big.bin.gitexp")
        big = gitexp_proc(repo, "checkout", "big.bin")
        _done(big, 120)
        assert (repo / "big.bin").read_bytes() == first_data
        _done(gc, 300)
    finally:
        if gc.returncode is None:
            gc.kill()
            gc.communicate()
    assert readable(repo, versions) == []
    assert (repo / "big.bin").read_bytes() == first_data
    fsck = subprocess.run(
        [sys.executable, "-m", "gitexp", "fsck"], cwd=repo, capture_output=True, check=False
    )
    assert fsck.returncode == 0, fsck.stderr
    status = subprocess.run(
        [sys.executable, "-m", "gitexp", "status"], cwd=repo, capture_output=True, check=False
    )
    assert status.returncode == 0, status.stderr
