"""A project: the git repository, its ``gitexp.yaml`` and its local state folders."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitexp.core.config import (
    PROJECT_CONFIG,
    LocalConfig,
    ProjectConfig,
    parse_local_config,
    parse_project_config,
)
from gitexp.errors import GitexpError, PathError
from gitexp.git.repo import GitRepo

if TYPE_CHECKING:
    import pygit2


@dataclass
class Project:
    """Everything a command needs to know about where it runs.

    ``root`` is the working tree (of this worktree); ``state`` is gitexp's folder in
    the git common dir, shared by every worktree: the cache, the local config, the
    indexes and the run journals live there.
    """

    git: GitRepo
    config: ProjectConfig
    local: LocalConfig = field(default_factory=LocalConfig)

    @property
    def root(self) -> Path:
        """The working tree's root folder."""
        return self.git.root

    @property
    def state(self) -> Path:
        """The folder of gitexp's state in the git common dir, shared by every worktree."""
        return self.git.common_dir / "gitexp"

    @property
    def cache_dir(self) -> Path:
        """The local object cache."""
        return self.state / "cache"

    @property
    def local_config_path(self) -> Path:
        """The per-machine config file (never tracked)."""
        return self.state / "config.yaml"

    @classmethod
    def open(cls, start: str | os.PathLike[str] = ".") -> Project:
        """The project around ``start``: its repository and configs, checked."""
        git = GitRepo.discover(start)
        config = load_config(git.root)
        local_path = git.common_dir / "gitexp" / "config.yaml"
        local = (
            parse_local_config(local_path.read_bytes(), str(local_path))
            if local_path.is_file()
            else LocalConfig()
        )
        return cls(git, config, local)

    def relpath(self, path: str | os.PathLike[str], cwd: str | os.PathLike[str] = ".") -> str:
        """``path`` (absolute, or relative to ``cwd``) relative to the root, ``/``-separated.

        Raises `PathError` when it lies outside the working tree.
        """
        full = Path(os.path.abspath(Path(cwd) / path))
        try:
            rel = full.relative_to(self.root)
        except ValueError as exc:
            raise PathError(
                f"'{path}' is outside the repository at '{self.root}'",
                hint="gitexp tracks only paths inside the repository",
            ) from exc
        return rel.as_posix() if str(rel) != "." else ""


def load_config(root: Path) -> ProjectConfig:
    """The ``gitexp.yaml`` at ``root``, or the defaults when there is none."""
    path = root / PROJECT_CONFIG
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ProjectConfig()
    return parse_project_config(data, PROJECT_CONFIG)


def config_at(
    git: GitRepo, tree: pygit2.Tree, memo: dict[str, ProjectConfig] | None = None
) -> ProjectConfig:
    """The ``gitexp.yaml`` recorded in a commit's tree; the defaults when it has none.

    A config that does not parse also gives the defaults: an old commit's broken file
    must not stop ``show`` or ``diff`` from reading the rest. ``memo`` keeps parsed
    configs by blob id, for callers that read many commits.
    """
    blob = git.blob_id(tree, PROJECT_CONFIG)
    if blob is None:
        return ProjectConfig()
    if memo is not None and blob in memo:
        return memo[blob]
    try:
        config = parse_project_config(git.repo[blob].read_raw(), PROJECT_CONFIG)
    except GitexpError:
        config = ProjectConfig()
    if memo is not None:
        memo[blob] = config
    return config
