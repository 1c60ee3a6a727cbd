"""Pushing a file ``gc --compact`` keeps as chunks: its own chunks go, never a whole copy."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitexp.api import Repo
from gitexp.cache.chunkstore import chunk_oids, chunk_path, list_path, read_list
from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import Oid, hash_bytes
from gitexp.core.pointer import Pointer
from gitexp.data.sync import Storage, push_pointers
from gitexp.errors import IntegrityError
from gitexp.project import Project
from gitexp.storage.chunks import chunk_list_key, parse_chunk_list
from gitexp.storage.local import LocalBackend
from tests.cache.test_compact import cache_bytes, cache_dir
from tests.conftest import commit_all, git

MIB = 1 << 20
SIZE = 17 * MIB
"""Above the 16 MiB chunking threshold, small enough to be quick."""


def two_versions(repo: Path) -> tuple[bytes, bytes]:
    """``big.bin`` committed twice, 1% changed between; the workspace holds the second."""
    rng = random.Random(11)
    first = rng.randbytes(SIZE)
    second = bytearray(first)
    for at in (SIZE // 5, SIZE // 2, 4 * SIZE // 5):
        second[at : at + SIZE // 300] = rng.randbytes(SIZE // 300)
    for data in (first, bytes(second)):
        target = repo / "big.bin"
        if target.exists():
            target.unlink()
        target.write_bytes(data)
        Repo(repo).add(["big.bin"])
        commit_all(repo)
    return first, bytes(second)


def push_file(repo: Path, data: bytes, remote: str) -> None:
    """Push the object of ``data`` (whole or compacted) to the storage remote ``remote``."""
    pointer = Pointer(hash_bytes(data), len(data))
    push_pointers(Project.open(repo), Storage(remote=remote), {"big.bin": pointer}, "a test")


@pytest.fixture
def compacted(repo: Path, cli, tmp_path: Path) -> tuple[bytes, bytes]:
    """Two versions, the first compacted; storage remotes ``whole`` and ``fresh`` declared."""
    versions = two_versions(repo)
    for name in ("whole", "fresh"):
        assert cli("remote", "add", name, str(tmp_path / name)).code == 0
    return versions


def compact(cli, repo: Path, data: bytes) -> Oid:
    assert "compacted 1 file(s)" in cli("gc", "--compact", "--now").err
    oid = hash_bytes(data)
    store = ObjectStore(cache_dir(repo))
    assert not store.has_whole(oid) and store.is_compacted(oid)
    return oid


def test_the_remote_gets_the_chunk_list_a_whole_push_gives_and_the_cache_stays_compact(
    repo: Path, cli, compacted: tuple[bytes, bytes], tmp_path: Path
) -> None:
    first, _second = compacted
    push_file(repo, first, "whole")  # pushed from the whole file, before compaction
    oid = compact(cli, repo, first)
    before = cache_bytes(repo)
    push_file(repo, first, "fresh")
    assert cache_bytes(repo) == before
    key = chunk_list_key(oid)
    listing = (tmp_path / "fresh" / key).read_bytes()
    assert listing == (tmp_path / "whole" / key).read_bytes()
    assert listing == list_path(cache_dir(repo), oid).read_bytes()
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    git(other, "checkout", "-q", "HEAD~1")
    Repo(other).remote_add("fresh", str(tmp_path / "fresh"))
    Repo(other).pull(remote="fresh")
    assert (other / "big.bin").read_bytes() == first


def test_a_new_version_sends_only_the_chunks_the_remote_lacks(
    repo: Path, cli, compacted: tuple[bytes, bytes], tmp_path: Path
) -> None:
    first, second = compacted
    push_file(repo, second, "fresh")
    oid = compact(cli, repo, first)
    remote = LocalBackend(tmp_path / "fresh")
    packs = sorted(p for p in (tmp_path / "fresh" / "packs").rglob("*.pack"))
    push_file(repo, first, "fresh")
    new = [p for p in (tmp_path / "fresh" / "packs").rglob("*.pack") if p not in packs]
    sent = sum(p.stat().st_size for p in new)
    assert 0 < sent < SIZE // 10  # the chunks around three edits, not the file
    assert remote.exists(chunk_list_key(oid))


def test_with_symlinked_data_a_push_leaves_no_whole_copy_behind(
    repo: Path, cli, tmp_path: Path
) -> None:
    (repo / ".git" / "gitexp").mkdir(parents=True, exist_ok=True)
    (repo / ".git" / "gitexp" / "config.yaml").write_text("link: symlink\n")
    first, _second = two_versions(repo)
    assert cli("remote", "add", "fresh", str(tmp_path / "fresh")).code == 0
    oid = compact(cli, repo, first)
    before = cache_bytes(repo)
    push_file(repo, first, "fresh")
    assert not ObjectStore(cache_dir(repo)).has_whole(oid)
    assert cache_bytes(repo) == before


def test_to_a_layout_1_remote_the_whole_file_goes_verified_and_the_cache_stays_compact(
    repo: Path, cli, compacted: tuple[bytes, bytes], tmp_path: Path
) -> None:
    first, _second = compacted
    (tmp_path / "fresh" / "blake3").mkdir(parents=True)  # a remote made before layout 2
    oid = compact(cli, repo, first)
    before = cache_bytes(repo)
    push_file(repo, first, "fresh")
    assert (tmp_path / "fresh" / oid.relpath).read_bytes() == first
    assert not (tmp_path / "fresh" / chunk_list_key(oid)).exists()
    assert cache_bytes(repo) == before


def test_a_damaged_chunk_is_never_sent_and_no_chunk_list_is_written(
    repo: Path, cli, compacted: tuple[bytes, bytes], tmp_path: Path
) -> None:
    first, _second = compacted
    oid = compact(cli, repo, first)
    root = cache_dir(repo)
    chunks = read_list(root, oid)
    assert chunks is not None
    chunk, length = chunks[len(chunks) // 2]
    path = Path(chunk_path(root, chunk))
    path.chmod(0o644)
    damage = random.Random(3).randbytes(length)
    path.write_bytes(damage)
    with pytest.raises(IntegrityError, match=f"compacted cache object {oid} cannot be pushed"):
        push_file(repo, first, "fresh")
    assert not (tmp_path / "fresh" / chunk_list_key(oid)).exists()
    sent = b"".join(p.read_bytes() for p in (tmp_path / "fresh").rglob("*.pack"))
    assert damage not in sent
    pushed = cli("push", "-r", "fresh")  # the workspace's version is not touched by it
    assert pushed.code == 0, pushed.err


def test_a_missing_chunk_is_named_and_nothing_is_listed(
    repo: Path, cli, compacted: tuple[bytes, bytes], tmp_path: Path
) -> None:
    first, _second = compacted
    oid = compact(cli, repo, first)
    root = cache_dir(repo)
    gone = next(iter(chunk_oids(root)))  # every chunk is the compacted version's
    Path(chunk_path(root, gone)).unlink()
    with pytest.raises(IntegrityError, match=f"its chunk {gone.hex} is missing"):
        push_file(repo, first, "fresh")
    assert not (tmp_path / "fresh" / chunk_list_key(oid)).exists()


@pytest.mark.slow
def test_a_killed_push_of_a_compacted_file_leaves_the_remote_readable_and_a_rerun_completes(
    repo: Path, cli, compacted: tuple[bytes, bytes], tmp_path: Path
) -> None:
    first, _second = compacted
    oid = compact(cli, repo, first)
    script = (
        "import sys\n"
        "from gitexp.core.hashing import Oid\n"
        "from gitexp.core.pointer import Pointer\n"
        "from gitexp.data.sync import Storage, push_pointers\n"
        "from gitexp.project import Project\n"
        f"pointer = Pointer(Oid('{oid.hex}'), {len(first)})\n"
        "push_pointers(Project.open('.'), Storage(remote=sys.argv[1]), {'big.bin': pointer}, 'k')\n"
    )
    started = time.monotonic()
    whole = subprocess.run([sys.executable, "-c", script, "whole"], cwd=repo, check=False)
    assert whole.returncode == 0
    duration = time.monotonic() - started
    rng = random.Random(4)
    key = tmp_path / "fresh" / chunk_list_key(oid)
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", script, "fresh"], cwd=repo)
        time.sleep(rng.uniform(0.05, duration))  # pacing only: where the kill lands
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if key.exists():  # a list is there only once every chunk it names is
            assert parse_chunk_list(key.read_bytes()) is not None
            break
    done = subprocess.run([sys.executable, "-c", script, "fresh"], cwd=repo, check=False)
    assert done.returncode == 0
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    git(other, "checkout", "-q", "HEAD~1")
    Repo(other).remote_add("fresh", str(tmp_path / "fresh"))
    Repo(other).pull(remote="fresh")
    assert (other / "big.bin").read_bytes() == first
    assert Repo(other).fsck_remote("fresh").faults == ()
