"""``gitexp import dvc`` on a project that real DVC made: data, remotes, experiments."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import git
from tests.experiments.importers.dvcproject import DvcProject, build, dvc_experiments

pytest.importorskip("dvc", reason="the DVC tests need dvc (the test extra)")
pytestmark = pytest.mark.slow  # real DVC builds the project: tens of seconds


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> DvcProject:
    return build(tmp_path_factory.mktemp("dvc-built"))


@pytest.fixture
def project(built: DvcProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = built.copy(tmp_path / "copy")
    monkeypatch.chdir(root)
    return root


def fingerprint(root: Path) -> dict[str, str]:
    """Every file DVC owns (its folder, .dvc files, dvc.yaml/lock), by content."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        owned = rel.startswith(".dvc/") or rel.endswith((".dvc", "dvc.lock", "dvc.yaml"))
        if path.is_file() and owned and not rel.startswith(".dvc/tmp/"):
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def refs(root: Path) -> str:
    return git(root, "for-each-ref")


def test_import_brings_data_remotes_and_experiments_as_dvc_sees_them(
    project: Path, built: DvcProject, cli
) -> None:
    before = fingerprint(project)
    result = cli("import", "dvc", "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["pointers"] == ["data/imgs", "data/train.csv", "model.bin"]
    assert doc["remotes"] == ["store"]
    assert sorted(e["name"] for e in doc["experiments"]) == ["exp-a", "exp-b"]
    assert fingerprint(project) == before  # DVC's files are only read
    assert "kind: dir\nfiles: 2" in (project / "data/imgs.gitexp").read_text()
    config = (project / "gitexp.yaml").read_text()
    assert "store: ../dvc-remote" in config and "remote: store" in config

    shown = json.loads(cli("show", "--json").out)["experiments"]
    by_name = {row["name"]: row for row in shown}
    for name, dvc in dvc_experiments(built.exp_show).items():
        row = by_name[name]
        assert row["params"] == dvc["params"]
        assert row["metrics"] == dvc["metrics"]
        assert row["status"] == "success"
        assert "model.bin" in row["data"] and "data/imgs" in row["data"]
    diff = json.loads(cli("diff", "exp-a", "exp-b", "--json").out)
    assert diff["params"]["params.yaml"]["train.lr"] == {"old": 0.2, "new": 0.05}
    assert diff["metrics"]["metrics.json"]["acc"]["new"] == pytest.approx(0.95)
    from gitexp import Repo

    series = Repo(".").series(["exp-b"])["exp-b"]
    assert [list(v["values"]) for v in series.values()] == [[0.05, 0.025, 0.05 / 3, 0.0125]]


def test_second_import_changes_nothing(project: Path, cli) -> None:
    assert cli("import", "dvc").code == 0
    state = (refs(project), (project / "gitexp.yaml").read_bytes(), fingerprint(project))
    pointers = {p: p.read_bytes() for p in project.rglob("*.gitexp")}
    again = cli("import", "dvc", "--json")
    assert again.code == 0, again.err
    doc = json.loads(again.out)
    assert doc["pointers"] == [] and doc["experiments"] == [] and doc["remotes"] == []
    assert len(doc["skipped"]) == 2
    assert "nothing new to import from dvc" in again.err
    assert (refs(project), (project / "gitexp.yaml").read_bytes(), fingerprint(project)) == state
    assert {p: p.read_bytes() for p in project.rglob("*.gitexp")} == pointers


def test_checkout_gives_back_the_same_bytes(project: Path, cli) -> None:
    originals = {
        p.relative_to(project).as_posix(): p.read_bytes()
        for p in [project / "data/train.csv", *sorted((project / "data/imgs").iterdir())]
    }
    assert cli("import", "dvc").code == 0
    status = json.loads(cli("status", "--json").out)["data"]
    assert {row["path"]: row["state"] for row in status} == {
        "data/imgs": "unchanged",
        "data/train.csv": "unchanged",
        "model.bin": "unchanged",
    }
    shutil.rmtree(project / "data/imgs")
    (project / "data/train.csv").unlink()
    result = cli("checkout")
    assert result.code == 0, result.err
    for rel, data in originals.items():
        assert (project / rel).read_bytes() == data


def test_content_missing_from_the_cache_is_read_from_the_remote(project: Path, cli) -> None:
    cache = project / ".dvc/cache/files/md5"
    for folder in list(cache.iterdir()):
        for obj in folder.iterdir():
            if not obj.name.endswith(".dir") and obj.stat().st_size > 100:
                obj.chmod(0o644)
                obj.unlink()  # the 1 KiB image: only the remote has it now
    assert cli("import", "dvc").code == 0
    shutil.rmtree(project / "data/imgs")
    assert cli("checkout", "data/imgs").code == 0
    assert (project / "data/imgs/a.bin").read_bytes() == bytes(range(256)) * 4


def _object(root: Path, data: bytes) -> Path:
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return root / "files/md5" / md5[:2] / md5[2:]


def _nothing_written(project: Path) -> None:
    assert not list(project.rglob("*.gitexp"))
    assert not (project / "gitexp.yaml").exists()
    assert "refs/experiments/" not in refs(project)


def test_an_md5_mismatch_is_refused_and_nothing_is_written(project: Path, cli) -> None:
    obj = _object(project / ".dvc/cache", b"x,y\n1,2\n3,4\n")
    obj.chmod(0o644)
    obj.write_bytes(b"x,y\n1,2\n3,5\n")
    result = cli("import", "dvc")
    assert result.code == 1
    assert "data/train.csv' read from DVC's cache does not have the md5 DVC recorded" in result.err
    _nothing_written(project)


def test_content_in_neither_cache_nor_remote_is_an_error(
    project: Path, built: DvcProject, cli
) -> None:
    data = b"second image\n"
    for root in (project / ".dvc/cache", project.parent / built.remote.name):
        obj = _object(root, data)
        obj.chmod(0o644)
        obj.unlink()
    result = cli("import", "dvc")
    assert result.code == 1
    assert "is not in DVC's cache nor on its remote 'store'" in result.err
    assert "dvc pull" in result.err
    _nothing_written(project)


def test_a_folder_without_dvc_is_refused(repo: Path, cli) -> None:
    result = cli("import", "dvc")
    assert result.code == 1
    assert "is not a DVC repository: it has no .dvc folder" in result.err
    assert not os.path.exists(repo / "gitexp.yaml")
