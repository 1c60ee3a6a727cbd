from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from gitexp.api import Repo
from gitexp.cache.statindex import StatIndex
from gitexp.core.hashing import hash_bytes
from tests.conftest import commit_all, git
from tests.data.datahelp import make_tree, pointer, store


def test_checkout_restores_everything_into_an_empty_workspace(repo: Path, cli) -> None:
    files = make_tree(repo, 12)
    os.chmod(repo / "data/part1/f3.csv", 0o755)  # noqa: S103 - an executable data file
    (repo / "model.bin").write_bytes(b"weights")
    assert cli("add", "data", "model.bin").code == 0
    shutil.rmtree(repo / "data")
    os.unlink(repo / "model.bin")
    result = cli("checkout")
    assert result.code == 0, result.err
    assert result.err.strip() == "checked out data, model.bin (13 files)"
    for rel, content in files.items():
        assert (repo / rel).read_bytes() == content
    assert os.stat(repo / "data/part1/f3.csv").st_mode & stat.S_IXUSR
    assert not os.stat(repo / "data/part0/f0.csv").st_mode & stat.S_IXUSR
    assert (repo / "model.bin").read_bytes() == b"weights"
    assert [p.name for p in repo.iterdir() if "gitexp-tmp" in p.name] == []
    again = cli("checkout")
    assert (again.code, again.err.strip()) == (
        0,
        "the workspace's data already matches its pointers",
    )


def test_checkout_a_commit_s_data_after_git_checkout(repo: Path, cli) -> None:
    (repo / "data.csv").write_bytes(b"v1")
    cli("add", "data.csv")
    commit_all(repo, "v1")
    (repo / "data.csv").write_bytes(b"version two")
    cli("add", "data.csv")
    commit_all(repo, "v2")
    git(repo, "checkout", "-q", "HEAD~1")
    assert Repo(repo).status().data[0].state == "modified"
    assert cli("checkout", "data.csv.gitexp").code == 0
    assert (repo / "data.csv").read_bytes() == b"v1"
    git(repo, "checkout", "-q", "main")
    assert cli("checkout", "data.csv").code == 0
    assert (repo / "data.csv").read_bytes() == b"version two"


def test_partial_update_of_a_folder(repo: Path) -> None:
    make_tree(repo, 6)
    Repo(repo).add(["data"])
    (repo / "data/part0/f0.csv").write_bytes(b"edited")
    Repo(repo).add(["data"])
    v2 = pointer(repo, "data")
    commit_all(repo, "v2")
    os.unlink(repo / "data/part1/f1.csv")
    (repo / "data/part0/extra.csv").write_bytes(b"will be stored")
    with pytest.raises(Exception) as info:
        Repo(repo).checkout(["data"])
    assert "data/part0/extra.csv" in str(info.value)
    result = Repo(repo).checkout(["data"], force=True)
    assert result.to_json()["saved"] == [
        {"path": "data/part0/extra.csv", "hash": str(hash_bytes(b"will be stored"))}
    ]
    assert result.files == 1
    assert not (repo / "data/part0/extra.csv").exists()
    assert store(repo).read_bytes(hash_bytes(b"will be stored")) == b"will be stored"
    assert Repo(repo).status().to_json()["data"] == [
        {"path": "data", "state": "unchanged", "changed": []}
    ]
    assert pointer(repo, "data") == v2


def test_modified_data_not_in_cache_is_never_overwritten(repo: Path, cli) -> None:
    (repo / "m.bin").write_bytes(b"original")
    cli("add", "m.bin")
    (repo / "m.bin").write_bytes(b"my precious edit")
    result = cli("checkout")
    assert result.code == 1
    assert result.err.strip() == (
        "error: checkout would overwrite data that is not in the cache: m.bin; run `gitexp add` "
        "on it to keep it, or pass --force to store it in the cache and check out anyway"
    )
    assert (repo / "m.bin").read_bytes() == b"my precious edit"
    forced = cli("checkout", "--force")
    assert forced.code == 0
    edit = hash_bytes(b"my precious edit")
    assert (
        f"stored your version of m.bin in the cache as {edit} before overwriting it" in forced.err
    )
    assert (repo / "m.bin").read_bytes() == b"original"
    assert store(repo).read_bytes(edit) == b"my precious edit"


def test_modified_data_already_in_cache_is_replaced_without_force(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"one")
    Repo(repo).add(["m.bin"])
    one = (repo / "m.bin.gitexp").read_bytes()
    (repo / "m.bin").write_bytes(b"two")
    Repo(repo).add(["m.bin"])
    (repo / "m.bin.gitexp").write_bytes(one)
    assert Repo(repo).checkout().written == ("m.bin",)
    assert (repo / "m.bin").read_bytes() == b"one"


def test_file_and_folder_swap_kinds(repo: Path) -> None:
    make_tree(repo, 3, prefix="thing")
    Repo(repo).add(["thing"])
    folder = (repo / "thing.gitexp").read_bytes()
    shutil.rmtree(repo / "thing")
    (repo / "thing").write_bytes(b"now a file")
    Repo(repo).add(["thing"])
    (repo / "thing.gitexp").write_bytes(folder)
    assert Repo(repo).checkout().written == ("thing",)
    assert (repo / "thing").is_dir()
    assert Repo(repo).status().data[0].state == "unchanged"


def test_missing_objects_are_reported_and_the_rest_checked_out(repo: Path, cli) -> None:
    (repo / "a.bin").write_bytes(b"a")
    (repo / "b.bin").write_bytes(b"b")
    cli("add", "a.bin", "b.bin")
    os.unlink(repo / "a.bin")
    os.unlink(repo / "b.bin")
    store(repo).remove(hash_bytes(b"a"))
    result = cli("checkout", "--json")
    assert result.code == 1
    assert (
        "the cache lacks the data of a.bin; it was left as it was; run `gitexp pull`" in result.err
    )
    assert json.loads(result.out)["written"] == ["b.bin"]
    assert (repo / "b.bin").read_bytes() == b"b"
    assert not (repo / "a.bin").exists()


def test_checkout_unknown_path(repo: Path, cli) -> None:
    result = cli("checkout", "nothing")
    assert result.code == 1
    assert "error: 'nothing' is not tracked data" in result.err


def test_checkout_of_named_data_reads_its_pointer_alone(repo: Path, cli) -> None:
    files = make_tree(repo, 4)
    (repo / "other.bin").write_bytes(b"other")
    assert cli("add", "data", "other.bin").code == 0
    shutil.rmtree(repo / "data")
    (repo / "other.bin.gitexp").write_text("not: [a pointer\n")
    result = cli("checkout", "data.gitexp")
    assert result.code == 0, result.err
    assert all((repo / rel).read_bytes() == content for rel, content in files.items())
    everything = cli("checkout")
    assert everything.code == 1
    assert "other.bin.gitexp" in everything.err.splitlines()[0]


def test_checkout_of_a_folder_finds_pointers_inside_it(repo: Path, cli) -> None:
    (repo / "models").mkdir()
    (repo / "models" / "a.bin").write_bytes(b"a")
    (repo / "models" / "b.bin").write_bytes(b"b")
    assert cli("add", "models/a.bin", "models/b.bin").code == 0
    os.unlink(repo / "models" / "a.bin")
    os.unlink(repo / "models" / "b.bin")
    result = cli("checkout", "models")
    assert result.code == 0, result.err
    assert (repo / "models" / "a.bin").read_bytes() == b"a"
    assert (repo / "models" / "b.bin").read_bytes() == b"b"


def test_the_stat_index_knows_what_checkout_wrote(repo: Path, cli) -> None:
    # the first status after a checkout reads no file: every one is known by its stat data
    # (enough files, and a big enough one, that checkout waits for its clock to tick)
    files = make_tree(repo, 300)
    weights = os.urandom(5 << 20)
    (repo / "model.bin").write_bytes(weights)
    assert cli("add", "data", "model.bin").code == 0
    shutil.rmtree(repo / "data")
    os.unlink(repo / "model.bin")
    assert cli("checkout").code == 0
    with StatIndex(repo / ".git" / "gitexp" / "index") as index:
        rows, manifest = index.folder(str(repo / "data"))
        assert manifest == pointer(repo, "data").oid.hex
        assert sorted(rows) == sorted(rel.removeprefix("data/") for rel in files)
        model = repo / "model.bin"
        assert index.known_hash(str(model), model.stat()) == hash_bytes(weights).hex
    # and a change made after the checkout is still seen
    with open(repo / "data/part0/f0.csv", "ab") as handle:
        handle.write(b"more\n")
    status = json.loads(cli("status", "--json").out)
    assert [(d["path"], d["state"]) for d in status["data"]] == [
        ("data", "modified"),
        ("model.bin", "unchanged"),
    ]


def test_corrupt_object_is_never_copied(repo: Path, cli) -> None:
    (repo / "f.bin").write_bytes(b"good content")
    cli("add", "f.bin")
    os.unlink(repo / "f.bin")
    shutil.rmtree(repo / ".git" / "gitexp" / "index")  # forget that the object was verified
    oid = hash_bytes(b"good content")
    os.chmod(store(repo).path(oid), 0o644)
    store(repo).path(oid).write_bytes(b"evil content")
    result = cli("checkout")
    assert result.code == 1
    assert (
        f"error: cache object {oid} is corrupt (its bytes hash differently) (for f.bin)"
        in result.err
    )
    assert not (repo / "f.bin").exists()
    assert [p.name for p in repo.iterdir() if "gitexp-tmp" in p.name] == []


def test_checkout_writes_the_gitignore_line(repo: Path, cli) -> None:
    (repo / "x.bin").write_bytes(b"x")
    cli("add", "x.bin")
    commit_all(repo, "track x")
    git(repo, "rm", "-q", "--cached", ".gitignore")
    os.unlink(repo / ".gitignore")
    assert cli("checkout").code == 0
    assert (repo / ".gitignore").read_text() == "/x.bin\n"


def test_folder_with_a_missing_object_is_not_half_built(repo: Path, cli) -> None:
    make_tree(repo, 4)
    cli("add", "data")
    shutil.rmtree(repo / "data")
    gone = hash_bytes(b"row,3\n" * 4)
    store(repo).remove(gone)
    result = cli("checkout", "--json")
    assert result.code == 1
    assert json.loads(result.out)["missing"] == [{"path": "data", "objects": [str(gone)]}]
    assert not (repo / "data").exists()
    assert [p.name for p in repo.iterdir() if "gitexp-tmp" in p.name] == []


def test_corrupt_object_in_a_big_folder_leaves_nothing(repo: Path, cli) -> None:
    files = make_tree(repo, 300)
    cli("add", "data")
    shutil.rmtree(repo / "data")
    shutil.rmtree(repo / ".git" / "gitexp" / "index")
    victim = hash_bytes(files["data/part1/f7.csv"])
    os.chmod(store(repo).path(victim), 0o644)
    store(repo).path(victim).write_bytes(b"rotten")
    result = cli("checkout")
    assert result.code == 1
    assert f"cache object {victim} is corrupt" in result.err
    assert not (repo / "data").exists()
    assert [p.name for p in repo.iterdir() if "gitexp-tmp" in p.name] == []
    store(repo).path(victim).write_bytes(files["data/part1/f7.csv"])
    assert cli("checkout").code == 0
    assert Repo(repo).status().data[0].state == "unchanged"


def test_empty_folder_round_trip(repo: Path) -> None:
    (repo / "empty").mkdir()
    result = Repo(repo).add(["empty"])[0]
    assert (result.kind, result.files, result.size) == ("dir", 0, 0)
    assert Repo(repo).status().data[0].state == "unchanged"
    (repo / "empty").rmdir()
    assert Repo(repo).status().data[0].state == "missing"
    assert Repo(repo).checkout().written == ("empty",)
    assert (repo / "empty").is_dir() and not any((repo / "empty").iterdir())


def test_a_checkout_reads_a_folder_s_known_objects_in_one_go(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = make_tree(repo, 20)
    Repo(repo).add(["data"])
    shutil.rmtree(repo / "data")
    Repo(repo).checkout()  # every object checked against its stamp: recorded together
    shutil.rmtree(repo / "data")
    asked: list[int] = []
    lookup = StatIndex.verified_objects

    def counted(self: StatIndex, hexes: object) -> object:
        wanted = list(hexes)  # type: ignore[call-overload]
        asked.append(len(wanted))
        return lookup(self, wanted)

    monkeypatch.setattr(StatIndex, "verified_objects", counted)
    assert Repo(repo).checkout().files == 20
    assert asked == [1]  # the manifest alone; its 20 objects came in one record
    for rel, content in files.items():
        assert (repo / rel).read_bytes() == content


def test_add_and_checkout_where_the_kernel_cannot_copy(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``copy_file_range`` (macOS) files are copied through a buffer."""
    monkeypatch.delattr(os, "copy_file_range")
    files = make_tree(repo, 6)
    big = os.urandom(3 << 20)
    (repo / "big.bin").write_bytes(big)
    Repo(repo).add(["data", "big.bin"])
    shutil.rmtree(repo / "data")
    os.unlink(repo / "big.bin")
    assert Repo(repo).checkout().files == 7
    assert (repo / "big.bin").read_bytes() == big
    for rel, content in files.items():
        assert (repo / rel).read_bytes() == content
