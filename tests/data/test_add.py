from __future__ import annotations

import os
import shutil
from pathlib import Path

from gitexp.api import Repo
from gitexp.core.hashing import hash_bytes
from gitexp.core.manifest import parse_manifest
from tests.conftest import commit_all, git
from tests.data.datahelp import cache_is_sound, make_tree, pointer, store


def test_add_file_writes_pointer_cache_and_gitignore(repo: Path, cli) -> None:
    (repo / "data").mkdir()
    (repo / "data" / "train.csv").write_bytes(b"a,b\n1,2\n")
    result = cli("add", "data/train.csv")
    assert result.code == 0, result.err
    oid = hash_bytes(b"a,b\n1,2\n")
    assert (repo / "data" / "train.csv.gitexp").read_text() == f"version: 1\nhash: {oid}\nsize: 8\n"
    assert store(repo).path(oid).read_bytes() == b"a,b\n1,2\n"
    assert (repo / "data" / ".gitignore").read_text() == "/train.csv\n"
    assert f"added data/train.csv (8 B) {oid}" in result.err
    assert "git add data/train.csv.gitexp data/.gitignore" in result.err
    assert git(repo, "status", "--porcelain", "--untracked-files=all").split() == [
        "??",
        "data/.gitignore",
        "??",
        "data/train.csv.gitexp",
    ]


def test_add_folder_makes_a_manifest(repo: Path, cli) -> None:
    files = make_tree(repo, 30)
    os.chmod(repo / "data/part0/f0.csv", 0o755)  # noqa: S103 - an executable data file
    assert cli("add", "data").code == 0
    ptr = pointer(repo, "data")
    assert (ptr.kind, ptr.files, ptr.size) == ("dir", 30, sum(len(b) for b in files.values()))
    entries = parse_manifest(store(repo).read_bytes(ptr.oid), "m")
    assert [e.path for e in entries] == sorted(p[len("data/") :] for p in files)
    assert [e.exec for e in entries if e.path == "part0/f0.csv"] == [True]
    for entry in entries:
        assert store(repo).path(entry.oid).read_bytes() == files[f"data/{entry.path}"]
    assert (repo / ".gitignore").read_text() == "metrics.json\n/data\n"


def test_identical_content_is_stored_once(repo: Path, cli) -> None:
    (repo / "a").mkdir()
    for name in ("x", "y", "z"):
        (repo / "a" / name).write_bytes(b"same bytes")
    (repo / "copy.bin").write_bytes(b"same bytes")
    assert cli("add", "a", "copy.bin").code == 0
    objects = list(store(repo).oids())
    assert len(objects) == 2  # the file's bytes and the manifest


def test_gitignore_line_is_written_once_and_tidily(repo: Path, cli) -> None:
    (repo / ".gitignore").write_text("metrics.json")  # no final newline
    (repo / "m.bin").write_bytes(b"1")
    assert cli("add", "m.bin").code == 0
    (repo / "m.bin").write_bytes(b"2")
    assert cli("add", "m.bin").code == 0
    assert (repo / ".gitignore").read_text() == "metrics.json\n/m.bin\n"
    (repo / "odd [1]*.bin").write_bytes(b"3")
    assert cli("add", "odd [1]*.bin").code == 0
    assert git(repo, "check-ignore", "odd [1]*.bin").strip() == "odd [1]*.bin"
    assert git(repo, "check-ignore", "odd 1x.bin", check=False) == ""


def test_readding_unchanged_data_changes_nothing(repo: Path, cli) -> None:
    make_tree(repo, 10)
    assert cli("add", "data").code == 0
    commit_all(repo, "track data")
    before = (repo / "data.gitexp").stat().st_mtime_ns
    again = cli("add", "data")
    assert again.code == 0
    assert "unchanged data" in again.err
    assert "git add" not in again.err
    assert (repo / "data.gitexp").stat().st_mtime_ns == before


def test_add_from_a_subfolder_and_json(repo: Path, cli, monkeypatch) -> None:
    make_tree(repo, 3)
    monkeypatch.chdir(repo / "data")
    result = cli("add", "--json", "part0")
    assert result.code == 0
    assert '"path": "data/part0"' in result.out
    assert (repo / "data" / "part0.gitexp").is_file()
    assert (repo / "data" / ".gitignore").read_text() == "/part0\n"


def test_symlinks_inside_a_folder_are_skipped_with_a_warning(repo: Path, cli) -> None:
    make_tree(repo, 2)
    os.symlink("part0/f0.csv", repo / "data" / "link.csv")
    result = cli("add", "data")
    assert result.code == 0
    assert "1 links or special files in data were not added: link.csv" in result.err
    assert pointer(repo, "data").files == 2


def test_parallel_and_serial_reading_agree(repo: Path) -> None:
    from gitexp.cache.scan import PARALLEL_MIN, PARALLEL_MIN_SIZE

    (repo / "big").mkdir()
    for number in range(PARALLEL_MIN):
        (repo / "big" / f"{number}.bin").write_bytes(os.urandom(PARALLEL_MIN_SIZE))
    parallel = Repo(repo).add(["big"])[0].hash
    shutil.rmtree(repo / ".git" / "gitexp")
    (repo / ".git" / "gitexp").mkdir()
    (repo / ".git" / "gitexp" / "config.yaml").write_text("jobs: 1\n")
    assert Repo(repo).add(["big"])[0].hash == parallel
    assert cache_is_sound(repo) == []
