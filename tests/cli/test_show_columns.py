"""``show``'s columns and empty results: --only-changed with --limit, filters that
match nothing; and ``run --help``'s usage line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gitexp.api import Repo


@pytest.fixture
def three(repo: Path) -> Path:
    """lr 0.001, 0.01, 0.1 (acc 0.501, 0.51, 0.6); epochs and seed the same everywhere."""
    results = Repo(repo).run(
        [sys.executable, "train.py"], overrides=["train.lr=0.001,0.01,0.1"], name="lr"
    )
    assert [r.status for r in results] == ["success"] * 3
    return repo


def test_only_changed_with_limit_keeps_the_columns_that_vary_among_all_matches(
    cli, three: Path
) -> None:
    result = cli("show", "--only-changed", "--limit", "1", "--sort-by", "acc", "--desc")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["Experiment", "Created", "Status", "train.lr", "loss", "acc"]
    assert len(lines) == 2 and lines[1].split()[0] == "lr-3"


def test_only_changed_drops_the_same_columns_without_a_limit(cli, three: Path) -> None:
    result = cli("show", "--only-changed")
    assert result.out.splitlines()[0].split() == [
        "Experiment",
        "Created",
        "Status",
        "train.lr",
        "loss",
        "acc",
    ]


def test_only_changed_keeps_every_column_when_none_differs(cli, three: Path) -> None:
    result = cli("show", "--only-changed", "--filter", "train.lr==0.01")
    assert result.code == 0, result.err
    header = result.out.splitlines()[0].split()
    assert header == [
        *["Experiment", "Created", "Status"],
        *["train.lr", "train.epochs", "seed", "loss", "acc"],
    ]


def test_a_filter_that_matches_nothing_says_so_and_exits_0(cli, three: Path) -> None:
    result = cli("show", "--filter", "acc>0.9", "--filter", "train.lr<1")
    assert result.code == 0
    assert result.out == ""
    assert (
        result.err
        == "no experiment matches --filter 'acc>0.9' --filter 'train.lr<1' (of 3 experiments)\n"
    )


def test_a_branch_that_has_no_experiments_says_so(cli, three: Path) -> None:
    from tests.conftest import git

    git(three, "checkout", "-q", "--orphan", "other")
    git(three, "commit", "-q", "--allow-empty", "-m", "unrelated")
    result = cli("show", "--branch", "other")
    assert result.code == 0
    assert result.err == "no experiment matches --branch other (of 3 experiments)\n"


def test_no_experiments_at_all_says_how_to_run_one(cli, repo: Path) -> None:
    result = cli("show")
    assert result.code == 0
    assert result.err == "no experiments to show; run one with `gitexp run -- COMMAND`\n"


def test_run_help_usage_names_every_option(cli) -> None:
    result = cli("run", "--help")
    assert result.code == 0
    usage = result.out.split("\n\n")[0]
    for option in ("-n NAME", "-S KEY=VALUE", "-j N", "-m MESSAGE", "--force", "-- COMMAND"):
        assert option in usage, usage
