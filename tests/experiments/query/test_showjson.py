"""``show --json`` printed from the summary index is, byte for byte, ``show`` dumped.

The experiments cover what a row can hold: tracked data, a failed run, tags and a
note (with text outside ASCII), a queued run (no index entry), and each query shape
(default order, limit, sort, filter, tag filter, branch), with the index missing
(a fresh clone), built, and damaged.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

import gitexp
from gitexp.experiments.query.index import FILE_NAME, SummaryIndex
from tests.conftest import commit_all, run_gitexp

PY = sys.executable
QUERIES: list[dict[str, object]] = [
    {},
    {"limit": 2},
    {"limit": 0},
    {"sort_by": "train.lr"},
    {"sort_by": "acc", "descending": True, "limit": 3},
    {"filters": ["train.lr>0.001"]},
    {"filters": ["tag==best"]},
    {"branches": ["main"]},
]


@pytest.fixture
def project(repo: Path) -> gitexp.Repo:
    r = gitexp.Repo()
    (repo / "data").mkdir()
    (repo / "data" / "train.csv").write_text("x,y\n1,2\n")
    r.add(["data/train.csv"])
    commit_all(repo, "data")
    r.run([PY, "train.py"], name="base")
    r.run([PY, "train.py"], overrides=["train.lr=0.01,0.1"], name="lr")
    r.run([PY, "-c", "raise SystemExit(3)"], name="broken")
    r.tag("lr-1", ["best", "v1.2"])
    r.note("lr-1", "the one to beat — 0.01")
    r.enqueue([PY, "train.py"], overrides=["train.lr=0.5"], name="later")
    return r


def _dumped(r: gitexp.Repo, query: dict[str, object]) -> bytes:
    return orjson.dumps(r.show(**query).to_json(), option=orjson.OPT_INDENT_2)  # type: ignore[arg-type]


def _index(repo: Path) -> Path:
    return repo / ".git" / "gitexp" / "index" / FILE_NAME


def test_show_json_is_show_dumped_cold_and_warm(project: gitexp.Repo, repo: Path) -> None:
    shown = [row["name"] for row in project.show().to_json()["experiments"]]  # type: ignore[union-attr]
    assert {"base", "lr-1", "lr-2", "broken", "later"} <= set(shown)
    expected = {i: _dumped(project, q) for i, q in enumerate(QUERIES)}
    for i, query in enumerate(QUERIES):
        _index(repo).unlink(missing_ok=True)
        cold = gitexp.Repo().show_json(**query)  # type: ignore[arg-type]
        assert cold == expected[i], query
        assert _index(repo).is_file()
        assert gitexp.Repo().show_json(**query) == expected[i], query  # type: ignore[arg-type]
    doc = orjson.loads(expected[0])["experiments"]
    tagged = next(row for row in doc if row["name"] == "lr-1")
    assert tagged["tags"] == ["best", "v1.2"] and tagged["data"]
    assert next(row for row in doc if row["name"] == "broken")["status"] == "failed"


def test_show_json_cli_prints_the_same_document(project: gitexp.Repo, repo: Path) -> None:
    commits = set(SummaryIndex(_index(repo)).entries)
    _index(repo).unlink()
    done = run_gitexp(repo, "show", "--json", "--limit", "3")
    assert done.returncode == 0
    assert done.stdout.encode() == _dumped(project, {"limit": 3}) + b"\n"
    # the index is written by a process of its own once the answer is out
    deadline = time.monotonic() + 60
    while set(SummaryIndex(_index(repo)).entries) != commits and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(SummaryIndex(_index(repo)).entries) == commits
    assert run_gitexp(repo, "show", "--json", "--limit", "3").stdout == done.stdout


def test_a_torn_index_is_read_up_to_the_tear_and_written_whole(
    project: gitexp.Repo, repo: Path
) -> None:
    expected = _dumped(project, {})
    index = _index(repo)
    commits = set(SummaryIndex(index).entries)
    assert len(commits) >= 4
    whole = index.read_bytes()
    index.write_bytes(whole[: len(whole) - 40])  # the last record cut short
    assert len(SummaryIndex(index).entries) == len(commits) - 1
    assert gitexp.Repo().show_json() == expected
    assert set(SummaryIndex(index).entries) == commits
    index.write_bytes(b"garbage\n" + whole)
    assert gitexp.Repo().show_json() == expected
    assert index.read_bytes() == whole or set(SummaryIndex(index).entries) == commits


def test_an_experiment_ref_at_a_blob_is_named_not_a_traceback(
    project: gitexp.Repo, repo: Path
) -> None:
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], cwd=repo, input="not a commit\n",
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run(["git", "update-ref", "refs/experiments/odd", blob], cwd=repo, check=True)
    for args in (("show",), ("show", "--json")):
        done = run_gitexp(repo, *args)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        first = done.stderr.splitlines()[0]
        assert "refs/experiments/odd points at a blob, not a commit" in first
        assert "git update-ref -d refs/experiments/odd" in done.stderr
    subprocess.run(["git", "update-ref", "-d", "refs/experiments/odd"], cwd=repo, check=True)
    assert run_gitexp(repo, "show", "--json").returncode == 0
