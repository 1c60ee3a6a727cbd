"""Tags and notes travel with push and pull; two people tagging at once keep both tags."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.conftest import git
from tests.data.syncsetup import clone, make_origin, make_project


def tags_of(cli, name: str) -> list[str]:
    return orjson.loads(cli("tag", name, "--json").out)["tags"]  # type: ignore[no-any-return]


def test_concurrent_tags_from_two_clones_both_survive(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin = make_origin(tmp_path)
    a = make_project(tmp_path / "a", origin, "../storage")
    monkeypatch.chdir(a)
    assert cli("run", "-n", "e1").code == 0
    assert cli("tag", "e1", "shared").code == 0
    assert cli("push", "origin", "--all").code == 0
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    assert cli("pull", "--all").code == 0
    assert tags_of(cli, "e1") == ["shared"]  # the tag came with the experiment

    # both tag the same experiment at the same time, neither has seen the other's
    assert cli("tag", "e1", "good").code == 0
    assert cli("tag", "e1", "shared", "-d").code == 0
    monkeypatch.chdir(a)
    assert cli("tag", "e1", "best").code == 0
    assert cli("note", "e1", "from a").code == 0
    assert cli("push", "origin", "--all").code == 0
    monkeypatch.chdir(b)
    pushed = cli("push", "origin", "--all")  # the remote moved: merged, then pushed
    assert pushed.code == 0, pushed.err
    assert tags_of(cli, "e1") == ["best", "good"]
    monkeypatch.chdir(a)
    assert cli("pull", "--all").code == 0
    assert tags_of(cli, "e1") == ["best", "good"]  # b's removal of "shared" holds too
    assert cli("note", "e1").out == "from a\n"
    # a third person's plain git sees the same note
    c = clone(origin, tmp_path / "c")
    git(c, "fetch", "-q", "origin", "refs/notes/gitexp:refs/notes/gitexp")
    commit = git(c, "ls-remote", str(origin), "refs/experiments/e1").split()[0]
    note = orjson.loads(git(c, "notes", "--ref=gitexp", "show", commit))
    assert note == {"version": 1, "tags": ["best", "good"], "note": "from a"}
    # and everything is stable: again, nothing moves
    again = cli("push", "origin", "--all", "--json")
    assert again.code == 0 and orjson.loads(again.out)["refs"]["moved"] == []
