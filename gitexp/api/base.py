"""What every part of `gitexp.Repo` holds: the project and its git repository."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitexp.git.repo import GitRepo
    from gitexp.project import Project


class Calls:
    """The state `Repo`'s calls share; `Repo.__init__` sets it."""

    project: Project
    git: GitRepo

    @property
    def root(self) -> Path:
        """The working tree's root folder."""
        return self.project.root
