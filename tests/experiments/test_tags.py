"""Tags and notes: git notes under refs/notes/gitexp, the experiment's commit unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import git, run_gitexp


@pytest.fixture
def two(repo: Path, cli) -> Path:
    """Two experiments, 'a' and 'b', in the repo fixture."""
    for name, lr in (("a", "0.1"), ("b", "0.2")):
        done = cli("run", "-n", name, "-S", f"train.lr={lr}", "--", sys.executable, "train.py")
        assert done.code == 0, done.err
    return repo


def note_json(root: Path, name: str) -> dict[str, object]:
    commit = git(root, "rev-parse", f"refs/experiments/{name}").strip()
    return orjson.loads(git(root, "notes", "--ref=gitexp", "show", commit))  # type: ignore[no-any-return]


def test_tag_writes_a_git_note_and_leaves_the_commit(two: Path, cli) -> None:
    before = git(two, "rev-parse", "refs/experiments/a").strip()
    done = cli("tag", "a", "best", "baseline")
    assert done.code == 0, done.err
    assert done.out.split() == ["baseline", "best"]
    assert git(two, "rev-parse", "refs/experiments/a").strip() == before
    assert note_json(two, "a") == {"version": 1, "tags": ["baseline", "best"], "note": ""}
    again = cli("tag", "a", "best", "--json")  # idempotent
    assert orjson.loads(again.out)["tags"] == ["baseline", "best"]
    removed = cli("tag", "a", "baseline", "-d")
    assert removed.code == 0 and removed.out.split() == ["best"]
    assert cli("tag", "a").out.split() == ["best"]  # no tags given: print them


def test_note_sets_prints_and_clears(two: Path, cli) -> None:
    assert cli("tag", "b", "keep").code == 0
    assert cli("note", "b", "lr 0.2 overfits after epoch 2").code == 0
    assert cli("note", "b").out == "lr 0.2 overfits after epoch 2\n"
    assert note_json(two, "b") == {
        "version": 1,
        "tags": ["keep"],
        "note": "lr 0.2 overfits after epoch 2",
    }
    assert cli("note", "b", "").code == 0
    assert note_json(two, "b")["note"] == "" and note_json(two, "b")["tags"] == ["keep"]
    assert cli("tag", "b", "keep", "-d").code == 0
    commit = git(two, "rev-parse", "refs/experiments/b").strip()
    assert git(two, "notes", "--ref=gitexp", "list", commit, check=False) == ""  # empty: gone


def test_show_lists_and_filters_by_tag(two: Path, cli) -> None:
    assert cli("tag", "a", "best").code == 0
    assert cli("note", "a", "the one").code == 0
    rows = orjson.loads(cli("show", "--json").out)["experiments"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["a"]["tags"] == ["best"] and by_name["a"]["note"] == "the one"
    assert by_name["b"]["tags"] == [] and by_name["b"]["note"] == ""
    best = orjson.loads(cli("show", "--json", "--filter", "tag==best").out)["experiments"]
    assert [r["name"] for r in best] == ["a"]
    other = orjson.loads(cli("show", "--json", "--filter", "tag!=best").out)["experiments"]
    assert [r["name"] for r in other] == ["b"]
    table = cli("show")
    header = table.out.splitlines()[0].split()
    assert header[:5] == ["Experiment", "Created", "Status", "Tags", "train.lr"] or "Tags" in header
    assert "best" in table.out


def test_errors_say_what_to_do(two: Path, cli) -> None:
    missing = cli("tag", "nope", "best")
    assert missing.code == 1 and "experiment 'nope' does not exist" in missing.err
    bad = cli("tag", "a", "-bad tag")
    assert bad.code == 2 and "is not a valid tag" in bad.err
    assert cli("tag", "a", "-d").code == 2
    compare = cli("show", "--filter", "tag>best")
    assert compare.code == 2 and "== or !=" in compare.err
    assert cli("note", "nope", "x").code == 1
    assert git(two, "notes", "--ref=gitexp", "list", check=False) == ""  # nothing written


def test_a_plain_text_note_written_with_git_is_kept_as_text(two: Path, cli) -> None:
    commit = git(two, "rev-parse", "refs/experiments/a").strip()
    git(two, "notes", "--ref=gitexp", "add", "-m", "written by hand", commit)
    assert cli("note", "a").out == "written by hand\n"
    assert cli("tag", "a", "x").code == 0
    assert note_json(two, "a") == {"version": 1, "tags": ["x"], "note": "written by hand"}


def test_concurrent_taggers_lose_nothing(two: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gitexp", "tag", "a" if i % 2 else "b", f"t{i}"],
            cwd=two,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(8)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert note_json(two, "a")["tags"] == ["t1", "t3", "t5", "t7"]
    assert note_json(two, "b")["tags"] == ["t0", "t2", "t4", "t6"]
    assert run_gitexp(two, "tag", "a").stdout.split() == ["t1", "t3", "t5", "t7"]
