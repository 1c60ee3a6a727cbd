"""Names that git cannot take, given to ``run -n``: a usage error (exit 2), never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import git, run_gitexp


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name=--"], "-n/--name needs a name, and '--' is not one"),
        (["-n", "-x"], "argument -n/--name: expected one argument"),
        (["--name="], "argument -n/--name: '' is not a valid experiment name: use letters"),
        (["-n", ".."], "argument -n/--name: '..' is not a valid experiment name"),
        (["-n", "a..b"], "'a..b' is not a valid experiment name"),
        (["--name=x.lock"], "'x.lock' is not a valid experiment name"),
        (["-n", "-"], "argument -n/--name: '-' is not a valid experiment name"),
    ],
)
def test_bad_run_names_are_usage_errors(
    repo: Path, cli: object, args: list[str], message: str
) -> None:
    result = cli("run", *args, "--", sys.executable, "-c", "pass")  # type: ignore[operator]
    assert result.code == 2, result.err
    assert message in result.err
    assert "Traceback" not in result.err
    assert git(repo, "for-each-ref", "refs/experiments/") == ""


def test_the_installed_command_says_the_same(repo: Path) -> None:
    proc = run_gitexp(repo, "run", "--name=--", "--", sys.executable, "-c", "pass")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: -n/--name needs a name"), proc.stderr
