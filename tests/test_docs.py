"""The README is the front door: its CLI reference is current and its commands exist."""

from __future__ import annotations

from pathlib import Path

from gitexp.cli.main import COMMANDS
from gitexp.cli.reference import BEGIN, END, reference

ROOT = Path(__file__).resolve().parent.parent


def test_readme_cli_reference_is_current() -> None:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    assert section.strip() == reference().strip(), (
        "the README's CLI reference is stale: run `python -m gitexp.cli.reference --write README.md`"
    )


def test_every_command_appears_in_the_readme_with_its_help() -> None:
    text = (ROOT / "README.md").read_text()
    for name, _module, help_text in COMMANDS:
        assert f"### gitexp {name}" in text
        assert help_text[:30].lower() in text.lower()


def test_the_two_readme_commands_exist_and_ci_runs_the_test_command() -> None:
    text = (ROOT / "README.md").read_text()
    assert "scripts/demo" in text and "scripts/test" in text
    assert (ROOT / "scripts" / "demo").stat().st_mode & 0o111
    assert (ROOT / "scripts" / "test").stat().st_mode & 0o111
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
