"""``gc --compact`` as a long command: its progress, and checkouts kept out while it runs."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitexp.api import Progress, Repo
from gitexp.cache.chunkstore import chunk_path, read_list
from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import hash_bytes
from tests.cache.test_compact import SIZE, cache_dir, make_versions, readable
from tests.conftest import git


def test_the_api_tells_progress_file_by_file(repo: Path) -> None:
    versions = make_versions(repo, count=3)
    seen: list[tuple[str, Progress]] = []
    result = Repo(repo).gc(compact=True, now=True, progress=lambda *a: seen.append(a))
    assert result.compacted == 2
    phases = {phase for phase, _ in seen}
    assert phases == {"compact"}
    last = seen[-1][1]
    assert (last.done, last.total) == (2, 2)
    assert last.bytes_done == last.bytes_total == 2 * SIZE
    assert seen[0][1].done == 0
    store = ObjectStore(cache_dir(repo))
    assert not store.has_whole(hash_bytes(versions[0][1]))


def _on_a_terminal(cwd: Path, *args: str) -> tuple[int, str]:
    """Run ``gitexp ARGS`` with its stderr on a pseudo-terminal; exit code and what it drew."""
    main, other = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitexp", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=other,
        env=env,
    )
    os.close(other)
    drawn = b""
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the terminal's other end closed: the process is done
            break
        if not data:
            break
        drawn += data
    os.close(main)
    return proc.wait(), drawn.decode(errors="replace")


def test_on_a_terminal_a_bar_shows_and_piped_only_the_summary(repo: Path) -> None:
    make_versions(repo, count=2)
    code, drawn = _on_a_terminal(repo, "gc", "--compact", "--now")
    assert code == 0
    assert "compact 1/1 objects" in drawn
    assert "compacted 1 file(s)" in drawn
    make_versions(repo, count=2, seed=8)
    piped = subprocess.run(
        [sys.executable, "-m", "gitexp", "gc", "--compact", "--now"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert piped.returncode == 0
    assert "compact " not in piped.stderr.replace("compacted", "")
    assert "compacted 2 file(s)" in piped.stderr


def _blocked_on_a_lock(pid: int) -> bool:
    """Whether the process waits for a file lock (the kernel's own list says so)."""
    with open("/proc/locks") as locks:
        for line in locks:
            fields = line.split()  # "1: -> FLOCK ADVISORY WRITE <pid> ..." for a waiter
            if len(fields) > 5 and fields[1] == "->" and fields[5] == str(pid):
                return True
    return False


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's /proc/locks")
def test_a_checkout_waits_while_gc_holds_the_cache_and_then_links_a_whole_file(
    repo: Path,
) -> None:
    (repo / ".git" / "gitexp").mkdir(parents=True, exist_ok=True)
    (repo / ".git" / "gitexp" / "config.yaml").write_text("link: symlink\n")
    versions = make_versions(repo, count=2)
    assert Repo(repo).gc(compact=True, now=True).compacted == 1
    git(repo, "checkout", "-q", versions[0][0])
    lock = os.open(cache_dir(repo) / "store.lock", os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a gc (compacting) holds it
        proc = subprocess.Popen(
            [sys.executable, "-m", "gitexp", "checkout"],
            cwd=repo,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        while not _blocked_on_a_lock(proc.pid):
            assert proc.poll() is None, "checkout went on while gc held the cache"
            time.sleep(0.01)  # pacing only: the kernel says when it waits
        assert (repo / "big.bin").read_bytes() == versions[1][1]
    finally:
        os.close(lock)
    _out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert b"waiting for a gc that holds the cache to finish" in err
    assert (repo / "big.bin").is_symlink()
    assert (repo / "big.bin").read_bytes() == versions[0][1]


def test_fsck_checks_every_compacted_version_by_its_chunks_and_sets_aside_only_the_bad(
    repo: Path, cli
) -> None:
    versions = make_versions(repo, count=4)
    assert "compacted 3 file(s)" in cli("gc", "--compact", "--now").err
    root = cache_dir(repo)
    oids = [hash_bytes(data) for _, data in versions[:3]]
    lists = [read_list(root, oid) or [] for oid in oids]
    others = {c for chunks in lists[1:] for c, _ in chunks}
    chunk, length = next((c, n) for c, n in lists[0] if c not in others)
    path = Path(chunk_path(root, chunk))
    path.chmod(0o644)
    path.write_bytes(bytes(length))
    checked = cli("fsck", "--json")
    assert checked.code == 1
    corrupt = {row["hash"] for row in json.loads(checked.out)["corrupt"]}
    assert corrupt == {str(oids[0])}  # its list; the chunk is set aside too
    assert not path.exists()
    store = ObjectStore(root)
    assert not store.has(oids[0])
    assert all(store.is_compacted(oid) and not store.has_whole(oid) for oid in oids[1:])
    assert readable(repo, versions[1:]) == []
