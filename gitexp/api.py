"""The public Python API: `Repo`, the facade the CLI calls and users import.

Every method returns plain values (the same data the CLI prints as JSON) and raises
`gitexp.errors.GitexpError` subclasses; long work reports through optional callbacks.

>>> repo = gitexp.Repo(".")  # doctest: +SKIP
>>> [e["name"] for e in repo.show(sort_by="acc", descending=True)["experiments"]][:3]  # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from gitexp.core.config import DEFAULT_PROJECT_YAML, PROJECT_CONFIG
from gitexp.core.filters import Filter, parse_filter
from gitexp.core.params import Override
from gitexp.errors import NotFoundError, UsageError
from gitexp.experiments import apply as apply_mod
from gitexp.experiments import diff as diff_mod
from gitexp.experiments import manage, query
from gitexp.experiments.apply import ApplyResult
from gitexp.experiments.process import OutputSink
from gitexp.experiments.project import Project
from gitexp.experiments.record import RunResult
from gitexp.experiments.run import Notify, RunRequest
from gitexp.experiments.run import run as run_experiments


class Repo:
    """A gitexp project: the git repository at or above ``path``.

    Raises `NotARepositoryError` when ``path`` is not inside a git working tree.
    """

    def __init__(self, path: str | os.PathLike[str] = ".") -> None:
        self.project = Project.open(path)
        self.git = self.project.git

    @property
    def root(self) -> Path:
        """The working tree's root folder."""
        return self.project.root

    def init(self) -> list[str]:
        """Write ``gitexp.yaml`` if it is absent; returns the files written."""
        written = []
        config = self.root / PROJECT_CONFIG
        if not config.exists():
            config.write_text(DEFAULT_PROJECT_YAML)
            written.append(PROJECT_CONFIG)
        return written

    def run(
        self,
        command: Sequence[str] | str | None = None,
        *,
        overrides: Sequence[str | Override] = (),
        name: str | None = None,
        message: str | None = None,
        force: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        on_output: OutputSink | None = None,
        notify: Notify | None = None,
        env: Mapping[str, str] | None = None,
    ) -> list[RunResult]:
        """Run the command once per grid point and record each run as an experiment.

        >>> repo.run(["python", "train.py"], overrides=["lr=0.1,0.01"])  # doctest: +SKIP
        """
        words = [command] if isinstance(command, str) else command
        request = RunRequest(
            command=words,
            overrides=overrides,
            name=name,
            message=message,
            force=force,
            cwd=Path(cwd) if cwd is not None else None,
        )
        return run_experiments(self.project, request, on_output=on_output, notify=notify, env=env)

    def experiments(self) -> list[dict[str, object]]:
        """Every experiment as a ``show --json`` object, in name order."""
        return query.experiments(self.git, self.project.state / "index" / "experiments-v1.json")

    def show(
        self,
        *,
        filters: Sequence[str | Filter] = (),
        sort_by: str | None = None,
        descending: bool = False,
        branches: Sequence[str] = (),
        limit: int | None = None,
    ) -> dict[str, list[dict[str, object]]]:
        """The experiments, filtered and ordered: ``{"experiments": [...]}``.

        Raises `NotFoundError` when a sort or filter key is found in no experiment.
        """
        parsed = [f if isinstance(f, Filter) else parse_filter(f) for f in filters]
        rows = self.experiments()
        keys = [f.key for f in parsed] + ([sort_by] if sort_by else [])
        _check_keys(rows, keys)
        if limit is not None and limit < 0:
            raise UsageError("--limit must be 0 or more")
        q = query.Query(parsed, sort_by, descending, branches, limit)
        return {"experiments": query.select(self.git, rows, q)}

    def diff(self, a: str | None = None, b: str | None = None) -> dict[str, object]:
        """What differs between two experiments or commits (``b`` alone: against ``a``'s
        baseline; neither: the latest experiment against its baseline)."""
        if a is None:
            if b is not None:
                raise UsageError("give A to diff against B")
            a = _latest(self.experiments())
        first = diff_mod.resolve(self.git, a)
        if b is None:
            return diff_mod.diff_sides(self.git, diff_mod.baseline_of(first), diff_mod.side_of(first))
        second = diff_mod.resolve(self.git, b)
        return diff_mod.diff_sides(self.git, diff_mod.side_of(first), diff_mod.side_of(second))

    def list(self) -> list[dict[str, object]]:
        """Name, status, created time, baseline and branch of every experiment, newest first."""
        rows = query.select(self.git, self.experiments(), query.Query())
        fields = ("name", "status", "created", "baseline", "branch", "commit")
        return [{k: row.get(k) for k in fields} for row in rows]

    def remove(
        self, names: Sequence[str] = (), *, failed: bool = False, everything: bool = False
    ) -> list[str]:
        """Delete experiments by name, every failed one, or all; returns the names removed."""
        chosen = list(names)
        if failed or everything:
            chosen += [
                str(row["name"])
                for row in self.experiments()
                if everything or row.get("status") != "success"
            ]
        if not chosen and (failed or everything):
            return []
        return manage.remove(self.git, list(dict.fromkeys(chosen)))

    def apply(self, name: str, *, force: bool = False) -> ApplyResult:
        """Make the workspace's files match experiment ``name`` (see `gitexp apply`)."""
        commit = self.git.lookup_commit(manage.experiment_commit(self.git, name))
        return apply_mod.apply_with_data(self.project, commit, force=force)

    def branch(self, name: str, branch: str) -> str:
        """Create ``branch`` at experiment ``name``'s commit; returns the commit id."""
        return manage.branch(self.git, name, branch)

    def add(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        cwd: str | os.PathLike[str] | None = None,
        on_file: Callable[[str, str], None] | None = None,
    ) -> builtins.list[dict[str, object]]:
        """Track files or folders by content: store them in the cache, write ``PATH.gitexp``.

        Paths are relative to ``cwd`` (default: the repository root). One result per
        path: ``path``, ``pointer``, ``hash``, ``size``, ``kind``, ``files``, ``changed``,
        ``skipped`` (links inside a folder) and ``gitignore`` (the file changed, if any).

        >>> repo.add(["data/train.csv"])[0]["hash"]  # doctest: +SKIP
        'blake3:…'
        """
        from gitexp.experiments import datasets

        given = [os.fspath(p) for p in paths]
        return datasets.add(self.project, given, cwd or self.root, on_file)

    def status(self) -> dict[str, builtins.list[dict[str, object]]]:
        """The ``status --json`` object: ``{"data": [{"path", "state", "changed"}]}``."""
        from gitexp.experiments import datastatus

        return datastatus.status(self.project)

    def checkout(
        self,
        paths: Sequence[str | os.PathLike[str]] = (),
        *,
        force: bool = False,
        cwd: str | os.PathLike[str] | None = None,
    ) -> dict[str, object]:
        """Make the workspace's data match its pointers (all, or those under ``paths``).

        Returns ``written`` and ``unchanged`` data paths, ``files`` written, ``saved``
        (data stored before ``force`` overwrote it) and ``missing`` (data whose objects
        are not in the cache, left as it was).
        """
        from gitexp.experiments import datasets

        given = [os.fspath(p) for p in paths]
        return datasets.checkout(self.project, given, force=force, cwd=cwd or self.root)

    def gc(
        self,
        *,
        workspace: bool = False,
        all_branches: bool = False,
        experiments: bool = False,
        dry_run: bool = False,
        now: bool = False,
    ) -> dict[str, object]:
        """Remove cache objects nothing needs (see `gitexp gc`); what was freed."""
        from gitexp.experiments import upkeep

        return upkeep.gc(
            self.project, workspace=workspace, all_branches=all_branches,
            experiments=experiments, dry_run=dry_run, now=now,
        )

    def fsck(self, *, jobs: int | None = None) -> dict[str, object]:
        """Re-hash every cache object; ``corrupt`` ones are moved aside, ``missing`` listed."""
        from gitexp.experiments import upkeep

        return upkeep.fsck(self.project, jobs=jobs)


def _check_keys(rows: list[dict[str, object]], keys: Sequence[str]) -> None:
    if not rows or not keys:
        return
    known = query.known_keys(rows)
    for key in keys:
        if key not in known and not key.startswith("data:"):
            raise NotFoundError(
                f"no experiment has the key '{key}'",
                hint="keys are dotted params or metrics keys, e.g. train.lr or acc; "
                "see `gitexp show`",
            )


def _latest(rows: list[dict[str, object]]) -> str:
    if not rows:
        raise NotFoundError("there are no experiments to diff", hint="run one with `gitexp run`")
    newest = max(rows, key=lambda r: (str(r.get("created") or ""), str(r.get("name"))))
    return str(newest["name"])
