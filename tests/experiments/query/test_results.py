"""What `gitexp.Repo` returns for show, list, diff, remotes and hooks: typed, frozen values
whose ``to_json()`` is exactly what the CLI prints with ``--json``."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import orjson
import pytest

import gitexp
from gitexp.api import DiffResult, ExperimentRow, ListRow, ShowResult

PY = sys.executable


def test_show_list_and_diff_are_typed_and_print_as_the_cli_does(repo: Path, cli) -> None:
    r = gitexp.Repo()
    r.run([PY, "train.py"], overrides=["train.lr=0.01,0.1"], name="lr")
    shown = r.show()
    assert isinstance(shown, ShowResult)
    assert [type(row) for row in shown.experiments] == [ExperimentRow, ExperimentRow]
    best = shown.experiments[0]
    assert best.name == "lr-2" and best.status == "success" and best.commit
    assert best.params["params.yaml"]["train"]["lr"] == 0.1  # type: ignore[index]
    assert shown.to_json() == orjson.loads(cli("show", "--json").out)
    assert best["name"] == "lr-2" and list(best)[:2] == ["name", "ref"]  # read as the dict
    with pytest.raises(dataclasses.FrozenInstanceError):
        best.name = "other"  # type: ignore[misc]

    listed = r.list()
    assert all(isinstance(row, ListRow) for row in listed)
    assert [row.name for row in listed] == ["lr-2", "lr-1"]
    assert {"experiments": [row.to_json() for row in listed]} == orjson.loads(
        cli("list", "--json").out
    )

    d = r.diff("lr-1", "lr-2")
    assert isinstance(d, DiffResult) and not d.empty
    assert d.params["params.yaml"]["train.lr"].new == 0.1
    assert [f.path for f in d.files] == ["metrics.json", "params.yaml"]
    assert d.files[0] == {"path": "metrics.json", "status": "modified"}
    assert d.to_json() == orjson.loads(cli("diff", "lr-1", "lr-2", "--json").out)


def test_remote_and_hook_rows_are_typed(repo: Path, cli) -> None:
    gitexp.Repo().remote_add("store", str(repo.parent / "store"), default=True)
    r = gitexp.Repo()
    (row,) = r.remote_list()
    assert (row.name, row.default) == ("store", True)
    assert {"remotes": [row.to_json()]} == orjson.loads(cli("remote", "list", "--json").out)
    installed = r.install_hooks()
    assert {h.done for h in installed} == {"installed"}
    assert {h.state for h in r.hooks_status()} == {"installed"}
    assert [h.to_json() for h in r.hooks_status()] == orjson.loads(
        cli("hooks", "status", "--json").out
    )["hooks"]
