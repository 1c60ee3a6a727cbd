"""``python -m gitexp`` runs the CLI."""

from gitexp.cli.main import entry

entry()
