"""The names gitexp gives its own files in a working tree, defined once.

A module of constants alone: git hooks import it on every commit and checkout.
"""

SUFFIX = ".gitexp"
"""A pointer file is its data's path with this suffix."""
RUN_DIR = ".gitexp"
"""gitexp's own folder in an experiment's tree (run.json, series, the output log)."""
PROJECT_CONFIG = "gitexp.yaml"
"""The project config at the repository root."""
