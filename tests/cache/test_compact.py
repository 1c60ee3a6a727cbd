"""``gc --compact``: older versions of big files kept as shared chunks, made whole on demand."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitexp.api import Repo
from gitexp.cache.chunkstore import read_chunks, read_list
from gitexp.cache.links import Linker
from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import Oid, hash_bytes
from tests.conftest import commit_all, git, run_gitexp

MIB = 1 << 20
SIZE = 17 * MIB
"""Above the 16 MiB chunking threshold, small enough to be quick."""
EDIT = SIZE // 400
"""Four edits of this many bytes: 1% of the file changes from one version to the next."""


def cache_dir(repo: Path) -> Path:
    return repo / ".git" / "gitexp" / "cache"


def cache_bytes(repo: Path) -> int:
    """Bytes of objects, chunk lists and chunks in the cache."""
    total = 0
    for folder in ("blake3", "chunks", "chunklists"):
        for path in (cache_dir(repo) / folder).rglob("*"):
            if path.is_file():
                total += path.stat().st_size
    return total


def make_versions(repo: Path, count: int = 5, seed: int = 7) -> list[tuple[str, bytes]]:
    """``count`` commits of ``big.bin``, each with 1% of the bytes of the one before changed."""
    rng = random.Random(seed)
    data = bytearray(rng.randbytes(SIZE))
    made = []
    for version in range(count):
        if version:
            for _ in range(4):
                at = rng.randrange(SIZE - EDIT)
                data[at : at + EDIT] = rng.randbytes(EDIT)
        target = repo / "big.bin"
        if target.exists():
            target.unlink()
        target.write_bytes(data)
        Repo(repo).add(["big.bin"])
        made.append((commit_all(repo, f"v{version}"), bytes(data)))
    return made


def oid_of(data: bytes) -> Oid:
    return hash_bytes(data)


def content(store: ObjectStore, oid: Oid) -> bytes | None:
    """The object's bytes, whole or reassembled in memory (the cache is left as it is)."""
    if store.has_whole(oid):
        return store.path(oid).read_bytes()
    chunks = read_list(store.root, oid)
    return None if chunks is None else b"".join(read_chunks(store.root, oid, chunks))


def readable(repo: Path, versions: list[tuple[str, bytes]]) -> list[str]:
    """The versions the cache cannot give back byte for byte (whole or reassembled)."""
    store = ObjectStore(cache_dir(repo))
    return [commit for commit, data in versions if content(store, oid_of(data)) != data]


def test_compacting_five_versions_keeps_near_the_unique_bytes(repo: Path, cli) -> None:
    versions = make_versions(repo)
    before = cache_bytes(repo)
    assert before >= 5 * SIZE
    dry = cli("gc", "--compact", "--now", "--dry-run", "--json")
    assert dry.code == 0, dry.err
    assert json.loads(dry.out)["compacted"] == 4
    assert "would compact 4 file(s), 68.0 MiB -> " in dry.err
    assert cache_bytes(repo) == before
    done = cli("gc", "--compact", "--now")
    assert done.code == 0, done.err
    assert "compacted 4 file(s), 68.0 MiB -> " in done.err
    after = cache_bytes(repo)
    # the workspace's version stays whole; the four others share one version's chunks
    # plus the chunks around each version's edits
    assert after < 2 * SIZE + 4 * MIB, after
    assert readable(repo, versions) == []
    status = cli("status", "--json")
    assert [row["state"] for row in json.loads(status.out)["data"]] == ["unchanged"]
    fsck = cli("fsck")
    assert fsck.code == 0, fsck.err
    assert "0 corrupt" in fsck.err
    assert json.loads((cache_dir(repo) / "gitexp-cache.json").read_bytes()) == {"layout": 2}
    again = cli("gc", "--compact", "--now")
    assert "compacted 0 file(s)" in again.err and cache_bytes(repo) == after


def test_each_version_checks_out_byte_identical_from_the_compacted_cache(repo: Path, cli) -> None:
    versions = make_versions(repo, count=3)
    assert cli("gc", "--compact", "--now").code == 0
    for commit, data in versions:
        git(repo, "checkout", "-q", commit)
        checkout = cli("checkout")
        assert checkout.code == 0, checkout.err
        assert (repo / "big.bin").read_bytes() == data
        states = json.loads(cli("status", "--json").out)["data"]
        assert [row["state"] for row in states] == ["unchanged"]
    # what the checkouts made whole again is compacted again, all but the workspace's
    assert "compacted 2 file(s)" in cli("gc", "--compact", "--now").err
    assert cache_bytes(repo) < 2 * SIZE + 4 * MIB
    assert readable(repo, versions) == []


def test_a_compacted_object_counts_as_cached_and_a_link_to_it_reassembles_it(
    repo: Path, cli, tmp_path: Path
) -> None:
    versions = make_versions(repo, count=2)
    assert "compacted 1 file(s)" in cli("gc", "--compact", "--now").err
    store = ObjectStore(cache_dir(repo))
    oid = oid_of(versions[0][1])
    assert not store.has_whole(oid) and store.has(oid)
    git(repo, "checkout", "-q", versions[0][0])
    (repo / "big.bin").unlink()
    states = json.loads(cli("status", "--json").out)["data"]
    assert [row["state"] for row in states] == ["missing"]  # not "not_in_cache"
    # what a checkout that planned while the object was whole meets if a compaction
    # drops the whole copy before it links: the link reassembles it
    Linker(store, "copy").write(oid, str(tmp_path / "copy.bin"))
    assert (tmp_path / "copy.bin").read_bytes() == versions[0][1]
    assert store.has_whole(oid)


def test_a_big_file_in_a_tracked_folder_is_compacted_and_checked_out(repo: Path, cli) -> None:
    folder = repo / "data"
    folder.mkdir()
    (folder / "small.csv").write_text("a,b\n1,2\n")
    first = random.Random(3).randbytes(SIZE)
    (folder / "big.bin").write_bytes(first)
    Repo(repo).add(["data"])
    old = commit_all(repo, "first")
    (folder / "big.bin").unlink()
    (folder / "big.bin").write_bytes(first[:1000] + b"edited" + first[1006:])
    Repo(repo).add(["data"])
    commit_all(repo, "second")
    assert "compacted 1 file(s)" in cli("gc", "--compact", "--now").err
    git(repo, "checkout", "-q", old)
    assert cli("checkout").code == 0
    assert (folder / "big.bin").read_bytes() == first
    assert (folder / "small.csv").read_text() == "a,b\n1,2\n"


def test_gc_drops_compacted_versions_nothing_needs_and_their_chunks(repo: Path, cli) -> None:
    versions = make_versions(repo, count=3)
    git(repo, "checkout", "-q", "-b", "side", versions[0][0])
    side = bytearray(os.urandom(SIZE))  # shares nothing with the others
    (repo / "big.bin").unlink()
    (repo / "big.bin").write_bytes(side)
    Repo(repo).add(["big.bin"])
    commit_all(repo, "side")
    git(repo, "checkout", "-q", "main")
    assert cli("checkout").code == 0
    assert "compacted 3 file(s)" in cli("gc", "--compact", "--now").err
    compacted = cache_bytes(repo)
    git(repo, "branch", "-q", "-D", "side")
    result = cli("gc", "--now")
    assert result.code == 0, result.err
    assert "removed 1 objects" in result.err
    assert cache_bytes(repo) < compacted - SIZE + MIB  # the side version's chunks went
    assert not ObjectStore(cache_dir(repo)).has(oid_of(bytes(side)))
    assert readable(repo, versions) == []
    assert cli("fsck").code == 0


def test_a_damaged_chunk_is_refused_and_fsck_sets_it_aside(repo: Path, cli) -> None:
    versions = make_versions(repo, count=2)
    assert cli("gc", "--compact", "--now").code == 0
    chunks = sorted((cache_dir(repo) / "chunks").rglob("*"))
    victim = next(p for p in chunks if p.is_file())
    victim.chmod(0o644)
    data = bytearray(victim.read_bytes())
    data[10] ^= 0xFF
    victim.write_bytes(data)
    current = (repo / "big.bin").read_bytes()
    git(repo, "checkout", "-q", versions[0][0])
    refused = cli("checkout")
    assert refused.code == 1
    assert "cannot be reassembled" in refused.err.splitlines()[0]
    assert (repo / "big.bin").read_bytes() == current  # nothing wrong reached the workspace
    fsck = cli("fsck")
    assert fsck.code == 1
    assert "corrupt" in fsck.err and "missing" in fsck.err
    assert not ObjectStore(cache_dir(repo)).has(oid_of(versions[0][1]))


def test_a_version_another_worktree_points_to_stays_whole(repo: Path, cli) -> None:
    (repo / ".git" / "gitexp").mkdir(parents=True, exist_ok=True)
    (repo / ".git" / "gitexp" / "config.yaml").write_text("link: hardlink\n")
    versions = make_versions(repo, count=2)
    worktree = repo.parent / "other"
    git(repo, "worktree", "add", "-q", "--detach", str(worktree), versions[0][0])
    assert cli("gc", "--compact", "--now").err.count("compacted 0 file(s)") == 1
    git(repo, "worktree", "remove", "--force", str(worktree))
    assert "compacted 1 file(s)" in cli("gc", "--compact", "--now").err
    assert readable(repo, versions) == []


@pytest.mark.parametrize("link", ["hardlink", "symlink"])
def test_a_version_a_workspace_file_links_to_stays_whole(repo: Path, cli, link: str) -> None:
    (repo / ".git" / "gitexp").mkdir(parents=True, exist_ok=True)
    (repo / ".git" / "gitexp" / "config.yaml").write_text(f"link: {link}\n")
    versions = make_versions(repo, count=2)
    git(repo, "checkout", "-q", versions[0][0])
    assert cli("checkout").code == 0  # big.bin is now a link to the first version
    git(repo, "checkout", "-q", "main")  # its pointer names the second; the file is as it was
    kept = cli("gc", "--compact", "--now", "--json")
    assert json.loads(kept.out)["compacted"] == 0
    assert (repo / "big.bin").read_bytes() == versions[0][1]
    assert cli("checkout").code == 0
    assert "compacted 1 file(s)" in cli("gc", "--compact", "--now").err
    assert readable(repo, versions) == []


def test_a_corrupt_version_is_never_compacted(repo: Path, cli) -> None:
    versions = make_versions(repo, count=2)
    oid = oid_of(versions[0][1])
    path = ObjectStore(cache_dir(repo)).path(oid)
    path.chmod(0o644)
    with open(path, "r+b") as handle:
        handle.seek(5 * MIB)
        handle.write(b"rot")
    result = cli("gc", "--compact", "--now")
    assert result.code == 0
    assert "compacted 0 file(s)" in result.err
    assert f"1 big files were left whole: their bytes do not match their id ({oid})" in result.err
    assert not (cache_dir(repo) / "chunklists").exists() or not any(
        (cache_dir(repo) / "chunklists").rglob(oid.hex[2:])
    )
    fsck = cli("fsck")
    assert fsck.code == 1 and f"corrupt: {oid}" in fsck.err


def test_compact_is_for_the_local_cache_only(repo: Path, cli) -> None:
    result = cli("gc", "--remote", "shared", "--compact")
    assert result.code == 2
    assert result.err.startswith("error: --compact works on the local cache")


def _gitexp(cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gitexp", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_a_killed_compaction_or_checkout_leaves_every_version_readable(repo: Path) -> None:
    rng = random.Random(20)
    versions = make_versions(repo, count=3)
    saved = repo.parent / "saved-cache"
    shutil.copytree(cache_dir(repo), saved, symlinks=True)
    started = time.monotonic()
    assert _gitexp(repo, "gc", "--compact", "--now").wait() == 0
    duration = time.monotonic() - started
    for _ in range(3):
        shutil.rmtree(cache_dir(repo))
        shutil.copytree(saved, cache_dir(repo), symlinks=True)
        proc = _gitexp(repo, "gc", "--compact", "--now")
        time.sleep(rng.uniform(0.05, duration))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert readable(repo, versions) == []
        again = _gitexp(repo, "gc", "--compact", "--now")
        assert again.wait() == 0
        assert readable(repo, versions) == []
    git(repo, "checkout", "-q", versions[0][0])
    for _ in range(2):
        proc = _gitexp(repo, "checkout")
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert readable(repo, versions) == []
    done = subprocess.run(
        [sys.executable, "-m", "gitexp", "checkout"], cwd=repo, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (repo / "big.bin").read_bytes() == versions[0][1]
    fsck = subprocess.run(
        [sys.executable, "-m", "gitexp", "fsck"], cwd=repo, capture_output=True, check=False
    )
    assert fsck.returncode == 0, fsck.stderr


TRAIN_BIG = """\
import random, gitexp
seed = gitexp.params()["train"]["seed"]
data = bytearray(random.Random(0).randbytes(17 << 20))
data[seed * 1000 : seed * 1000 + 100000] = random.Random(seed).randbytes(100000)
open("big.bin", "wb").write(data)
gitexp.log_metric("acc", 0.5)
"""


def test_a_compacted_experiment_is_pushed_pulled_and_applied_whole(
    repo: Path, cli, tmp_path: Path
) -> None:
    (repo / "params.yaml").write_text("train:\n  seed: 1\n")
    (repo / "train.py").write_text(TRAIN_BIG)
    (repo / "gitexp.yaml").write_text(
        f"command: {sys.executable} train.py\nouts: [big.bin]\n"
        "remote: shared\nremotes:\n  shared: ../storage\n"
    )
    commit_all(repo, "a training that writes a big out")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    for seed in (1, 2):
        assert cli("run", "-n", f"e{seed}", "-S", f"train.seed={seed}").code == 0
    wanted = (repo / "big.bin").read_bytes()  # e2's
    assert "compacted 2 file(s)" in cli("gc", "--compact", "--now").err
    compacted = cache_bytes(repo)
    pushed = cli("push", "origin", "e2")
    assert pushed.code == 0, pushed.err
    assert cache_bytes(repo) == compacted  # made whole for the push, then compacted again
    again = cli("push", "origin", "e2")  # the remote has its chunk list: nothing to rebuild
    assert again.code == 0, again.err
    assert "uploaded 0 object(s)" in again.err and cache_bytes(repo) == compacted
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "main", str(origin), str(other))
    pulled = run_gitexp(other, "pull", "origin", "e2")
    assert pulled.returncode == 0, pulled.stderr
    assert run_gitexp(other, "apply", "e2").returncode == 0
    assert (other / "big.bin").read_bytes() == wanted
    (repo / "big.bin").unlink()
    applied = cli("apply", "--force", "e2")
    assert applied.code == 0, applied.err
    assert (repo / "big.bin").read_bytes() == wanted
