"""Step series recorded in experiment commits, which ``plots``, ``report`` and ``show`` draw.

A commit holds two kinds of series files, both parsed by `gitexp.core.metrics.parse_series`:

- ``.gitexp/series/<key>.tsv``, logged by ``gitexp.log_metric(key, value, step=…)``:
  its series key is ``<key>``;
- the TSV, CSV and JSON-lines files under the ``plots:`` paths of the ``gitexp.yaml``
  in that commit: each value column is a series keyed ``<path>:<column>``.

A selector (``--metric KEY``) picks a series by its whole key, by its column name or
by its file's path (every column of that file).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pygit2

from gitexp.core.config import ProjectConfig
from gitexp.core.metrics import Series, parse_series, series_format
from gitexp.core.runinfo import SERIES_DIR
from gitexp.errors import FormatError, NotFoundError
from gitexp.experiments.query.summary import inherited_in
from gitexp.git.repo import GitRepo
from gitexp.project import config_at

_LOGGED_PREFIX = SERIES_DIR + "/"


@dataclass(frozen=True, slots=True)
class Line:
    """One series of one experiment: its key and its points in step order as recorded."""

    key: str
    steps: list[float]
    values: list[float]


class SeriesReader:
    """Reads the series of experiment commits; a file shared by commits is parsed once."""

    def __init__(self, git: GitRepo) -> None:
        self.git = git
        self._parsed: dict[tuple[str, str], Series] = {}
        self._configs: dict[str, ProjectConfig] = {}

    def read(self, commit_id: str, experiment: str) -> dict[str, Line]:
        """Every series in ``commit_id``, by key, in file order.

        Raises `FormatError` naming ``experiment`` and the file when a series file has
        no rows or a value that is not a number.
        """
        commit = self.git.lookup_commit(commit_id)
        inherited = inherited_in(commit)  # series the run did not write
        lines: dict[str, Line] = {}
        for path, blob in self._series_files(commit.tree):
            if path in inherited:
                continue
            series = self._parse(path, blob, experiment)
            for column, values in series.columns.items():
                key = _key(path, column)
                lines[key] = Line(key, series.steps, values)
        return lines

    def _parse(self, path: str, blob: str, experiment: str) -> Series:
        cached = self._parsed.get((blob, path))
        if cached is not None:
            return cached
        try:
            series = parse_series(_blob_bytes(self.git, blob), path)
        except FormatError as exc:
            raise FormatError(
                f"experiment '{experiment}': {exc.message}",
                hint="fix the file in a new run, or drop the experiment: "
                f"gitexp remove {experiment}",
            ) from exc
        self._parsed[(blob, path)] = series
        return series

    def _series_files(self, tree: pygit2.Tree) -> list[tuple[str, str]]:
        found = [
            (entry.path, entry.oid)
            for entry in self._walk(tree, SERIES_DIR)
            if series_format(entry.path) is not None
        ]
        seen = {path for path, _ in found}
        for declared in self._config(tree).plots:
            for entry in self._walk(tree, declared.strip("/")):
                if series_format(entry.path) is not None and entry.path not in seen:
                    seen.add(entry.path)
                    found.append((entry.path, entry.oid))
        return found

    def _walk(self, tree: pygit2.Tree, path: str) -> list[_Entry]:
        try:
            obj = self.git.repo[tree[path].id] if path else tree
        except KeyError:
            return []
        if isinstance(obj, pygit2.Blob):
            return [_Entry(path, str(obj.id))]
        if not isinstance(obj, pygit2.Tree):
            return []
        return [_Entry(e.path, e.oid) for e in self.git.walk_tree(obj, path + "/")]

    def _config(self, tree: pygit2.Tree) -> ProjectConfig:
        return config_at(self.git, tree, self._configs)


@dataclass(frozen=True, slots=True)
class _Entry:
    path: str
    oid: str


def _blob_bytes(git: GitRepo, oid: str) -> bytes:
    obj = git.repo.get(oid)
    return obj.data if isinstance(obj, pygit2.Blob) else b""


def _key(path: str, column: str) -> str:
    if path.startswith(_LOGGED_PREFIX) and column == "value":
        name = path[len(_LOGGED_PREFIX) :]
        return name.rsplit(".", 1)[0]
    return f"{path}:{column}"


def matches(key: str, selector: str) -> bool:
    """Whether ``selector`` picks series ``key``: the whole key, its column or its file."""
    if key == selector:
        return True
    path, sep, column = key.rpartition(":")
    return bool(sep) and selector in (path, column)


def pick(lines: dict[str, Line], selectors: Sequence[str]) -> dict[str, Line]:
    """The lines ``selectors`` pick (all of them when there are no selectors)."""
    if not selectors:
        return lines
    return {k: v for k, v in lines.items() if any(matches(k, s) for s in selectors)}


def check_selectors(found: Iterable[str], selectors: Sequence[str]) -> None:
    """`NotFoundError` for the first selector that picks none of the ``found`` keys."""
    keys = sorted(set(found))
    for selector in selectors:
        if not any(matches(k, selector) for k in keys):
            shown = ", ".join(keys[:8]) + (", …" if len(keys) > 8 else "")
            raise NotFoundError(
                f"no experiment has a series '{selector}'",
                hint=f"series found: {shown}"
                if keys
                else "log one with "
                "gitexp.log_metric(key, value, step=…) or declare files under plots: "
                "in gitexp.yaml",
            )
