"""A project: the git repository, its ``gitexp.yaml``, and gitexp's state on disk.

`Layout` is the one definition of the state folder's layout: every module that
reads or writes gitexp's local state asks it for the path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitexp.core.config import (
    DEFAULT_PROJECT_YAML,
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

    from gitexp.cache.objects import ObjectStore
    from gitexp.cache.statindex import StatIndex

STATE_FOLDER = "gitexp"
"""gitexp's folder in the git common dir."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each part of gitexp's local state lives, under ``state``.

    ``state`` is in the git common dir, so every worktree of a repository shares the
    cache, the indexes, the local config and the journals of the runs going on.
    """

    state: Path

    @classmethod
    def of(cls, common_dir: Path) -> Layout:
        """The layout of the repository whose git common dir is ``common_dir``."""
        return cls(common_dir / STATE_FOLDER)

    @property
    def cache(self) -> Path:
        """The local object cache."""
        return self.state / "cache"

    @property
    def index(self) -> Path:
        """The stat index, and the experiments' summary index beside it."""
        return self.state / "index"

    @property
    def runs(self) -> Path:
        """One journal folder per run going on."""
        return self.state / "runs"

    @property
    def cluster_runs(self) -> Path:
        """One folder per ``dask://`` driver going on: the runs it took, as they run."""
        return self.state / "cluster-runs"

    @property
    def worktrees(self) -> Path:
        """The isolated worktrees that parallel runs use."""
        return self.state / "worktrees"

    @property
    def queue(self) -> Path:
        """One lock file per queued run taken by a ``queue start``, held while it runs."""
        return self.state / "queue"

    @property
    def remote_objects(self) -> Path:
        """What each storage remote is known to hold."""
        return self.state / "remote-objects"

    @property
    def local_config(self) -> Path:
        """The per-machine config file (never tracked)."""
        return self.state / "config.yaml"


@dataclass
class Project:
    """Everything a command needs to know about where it runs.

    ``root`` is the working tree (of this worktree); ``layout`` says where gitexp's
    state lives, in the git common dir shared by every worktree.
    """

    git: GitRepo
    config: ProjectConfig
    local: LocalConfig = field(default_factory=LocalConfig)

    @property
    def root(self) -> Path:
        """The working tree's root folder."""
        return self.git.root

    @property
    def layout(self) -> Layout:
        """Where gitexp's local state lives (in the git common dir)."""
        return Layout.of(self.git.common_dir)

    def store(self, index: StatIndex | None = None) -> ObjectStore:
        """The local cache; with ``index``, what it writes is recorded there as verified.

        The one place a store is built. Raises `LayoutError` (nothing written) when
        the cache is marked with a layout this gitexp does not know.
        """
        from gitexp.cache.layout import check_cache
        from gitexp.cache.objects import ObjectStore

        check_cache(self.layout.cache)
        return ObjectStore(self.layout.cache, index, self.layout.index)

    def stat_index(self) -> StatIndex:
        """The stat index, opened (the caller closes it)."""
        from gitexp.cache.statindex import StatIndex

        return StatIndex(self.layout.index)

    @classmethod
    def open(cls, start: str | os.PathLike[str] = ".") -> Project:
        """The project around ``start``: its repository and configs, checked."""
        git = GitRepo.discover(start)
        config = load_config(git.root)
        local_path = Layout.of(git.common_dir).local_config
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


def init_config(root: Path) -> list[str]:
    """``gitexp init``: write the default ``gitexp.yaml`` at ``root``; the files written.

    A config already there is never replaced.
    """
    path = root / PROJECT_CONFIG
    if path.exists():
        return []
    path.write_text(DEFAULT_PROJECT_YAML)
    return [PROJECT_CONFIG]


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
