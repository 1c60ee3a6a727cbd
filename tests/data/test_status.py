from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from gitexp.api import Repo
from tests.data.datahelp import age, make_tree, pointer, store


def test_status_json_states(repo: Path, cli) -> None:
    make_tree(repo, 6)
    (repo / "model.bin").write_bytes(b"weights")
    (repo / "gone.bin").write_bytes(b"bye")
    (repo / "lost.bin").write_bytes(b"no cache")
    assert cli("add", "data", "model.bin", "gone.bin", "lost.bin").code == 0
    os.unlink(repo / "gone.bin")
    store(repo).remove(pointer(repo, "lost.bin").oid)
    (repo / "data/part0/f0.csv").write_bytes(b"changed")
    os.unlink(repo / "data/part1/f1.csv")
    (repo / "data/new.csv").write_bytes(b"new")
    result = cli("status", "--json")
    assert result.code == 0
    assert json.loads(result.out) == {
        "data": [
            {
                "path": "data",
                "state": "modified",
                "changed": ["new.csv", "part0/f0.csv", "part1/f1.csv"],
            },
            {"path": "gone.bin", "state": "missing", "changed": []},
            {"path": "lost.bin", "state": "not_in_cache", "changed": []},
            {"path": "model.bin", "state": "unchanged", "changed": []},
        ]
    }
    text = cli("status")
    assert text.code == 0
    assert text.out.splitlines()[:4] == [
        "modified      data",
        "                new.csv",
        "                part0/f0.csv",
        "                part1/f1.csv",
    ]
    assert "not in cache  lost.bin" in text.out


def test_modified_file_and_same_size_change(repo: Path) -> None:
    (repo / "w.bin").write_bytes(b"aaaa")
    Repo(repo).add(["w.bin"])
    age(repo / "w.bin")
    assert Repo(repo).status().data[0].state == "unchanged"
    (repo / "w.bin").write_bytes(b"bbbb")
    assert Repo(repo).status().data[0].state == "modified"


def test_folder_missing_and_not_in_cache(repo: Path) -> None:
    make_tree(repo, 3)
    Repo(repo).add(["data"])
    shutil.rmtree(repo / "data")
    assert Repo(repo).status().data[0].state == "missing"
    first = next(o for o in store(repo).oids() if o != pointer(repo, "data").oid)
    store(repo).remove(first)
    assert Repo(repo).status().data[0].state == "not_in_cache"


def test_unchanged_files_are_not_read_again(repo: Path) -> None:
    make_tree(repo, 4)
    Repo(repo).add(["data"])
    age(repo / "data")
    Repo(repo).status()  # records the aged stats
    target = repo / "data/part0/f0.csv"
    info = target.stat()
    os.chmod(target, 0)  # unreadable: only the stat index can know its hash
    try:
        assert Repo(repo).status().data[0].state == "unchanged"
    finally:
        os.chmod(target, 0o644)
        os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_stat_index_is_rebuilt_when_deleted(repo: Path) -> None:
    make_tree(repo, 4)
    Repo(repo).add(["data"])
    shutil.rmtree(repo / ".git" / "gitexp" / "index")
    assert Repo(repo).status().data[0].state == "unchanged"
    assert any((repo / ".git" / "gitexp" / "index").iterdir())


def test_status_with_no_data(repo: Path, cli) -> None:
    result = cli("status")
    assert (result.code, result.out) == (0, "")
    assert "no tracked data here" in result.err
    assert json.loads(cli("status", "--json").out) == {"data": []}


def test_status_reports_a_bad_pointer(repo: Path, cli) -> None:
    (repo / "bad.bin.gitexp").write_text("version: 1\nhash: [oops\n")
    result = cli("status")
    assert result.code == 1
    assert "error: 'bad.bin.gitexp'" in result.err
