"""The hook commands' usage errors, the ``hooks:`` config section, and init on a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitexp.core.config import HookSettings, parse_project_config
from gitexp.errors import ConfigError
from gitexp.git.hookfiles import shim
from tests import terminal
from tests.hooks.hookhelp import BIN, gitexp, install, project


def test_an_unknown_hook_name_is_a_usage_error(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    result = gitexp(root, "hook", "pre-receive")
    assert result.code == 2
    assert "argument NAME: invalid choice: 'pre-receive'" in result.err


def test_a_hook_outside_a_repository_fails_with_a_message(tmp_path: Path) -> None:
    result = gitexp(tmp_path, "hook", "post-merge", "0")
    assert result.code == 1 and "is not in a git repository" in result.err


def test_the_hooks_section_is_checked() -> None:
    assert parse_project_config(b"hooks:\n  pull: true\n").hooks == HookSettings(pull=True)
    assert parse_project_config(b"").hooks == HookSettings(pull=False)
    with pytest.raises(ConfigError, match="'hooks.pull' in gitexp.yaml must be true or false"):
        parse_project_config(b"hooks:\n  pull: sometimes\n")
    with pytest.raises(ConfigError, match="unknown key 'hooks.push' in gitexp.yaml"):
        parse_project_config(b"hooks:\n  push: true\n")


def on_terminal(root: Path, answer: bytes, *args: str) -> tuple[int, str]:
    """Run ``gitexp init ARGS`` with a terminal as its input and error output."""
    return terminal.on_terminal([str(BIN / "gitexp"), "init", *args], root, answer=answer)


def test_init_on_a_terminal_offers_the_hooks(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    code, text = on_terminal(root, b"n\n")
    assert code == 0 and "Install git hooks" in text
    assert not (root / ".git" / "hooks" / "pre-commit").exists()
    code, text = on_terminal(root, b"\n")
    assert code == 0 and "pre-commit: installed" in text
    assert (root / ".git" / "hooks" / "pre-commit").read_text() == shim("pre-commit")
    code, text = on_terminal(root, b"")
    assert code == 0 and "[Y/n]" not in text  # installed already: no question


def test_installed_hooks_are_listed_with_their_folder(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    result = install(root)
    assert result.err.endswith(f"hooks folder: {root / '.git' / 'hooks'}\n")
