"""What ``plots`` and ``report`` draw, gathered from experiment commits.

`plot_runs` reads the series of chosen experiments; `overview` reads everything the
report shows: every experiment's params, metrics and series, and the code files that
differ among them, found by git tree diffs against one reference tree (identical
subtrees are skipped by id, so thousands of experiments cost little). The text of each
differing file version is kept once, up to a size budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pygit2
from pygit2.enums import DeltaStatus

from gitexp.cache.objects import ObjectStore
from gitexp.core.config import PROJECT_CONFIG, ProjectConfig, parse_project_config
from gitexp.core.runinfo import RUN_DIR
from gitexp.errors import GitexpError, NotFoundError
from gitexp.experiments.query.gallery import Frames, gallery
from gitexp.experiments.query.select import Row
from gitexp.experiments.query.series import Line, SeriesReader, check_selectors, pick
from gitexp.experiments.query.summary import Reader
from gitexp.git.repo import GitRepo

Doc = dict[str, object]
TEXT_LIMIT = 128 * 1024
"""A file version larger than this is listed in the code diff but its text is not kept."""
TEXT_BUDGET = 4 * 1024 * 1024
"""The most file text one report embeds; later versions are listed without text."""


@dataclass
class Run:
    """One experiment as the pictures need it (see `gitexp.report.data`)."""

    name: str
    status: str
    created: str
    branch: str | None
    commit: str
    baseline: str
    params: dict[str, object]
    metrics: dict[str, object]
    series: dict[str, Line]
    files: dict[str, int] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    note: str = ""
    images: Frames = field(default_factory=dict)
    changed: int = 0
    """How many params differ from its baseline commit's (0: a run of the baseline as is)."""


@dataclass
class Overview:
    """The experiments of a report and the text of the file versions they differ in."""

    experiments: list[Run]
    blobs: list[str | None]
    images: list[str | None] = field(default_factory=list)


def plot_runs(git: GitRepo, rows: Sequence[Doc], selectors: Sequence[str]) -> list[Run]:
    """``rows`` with the series ``selectors`` pick (all without selectors).

    Raises `NotFoundError` for a selector no experiment has, or when none has a series.
    """
    reader = SeriesReader(git)
    labels = _labels(rows)
    found: set[str] = set()
    runs = []
    for row, lines in zip(rows, _series_of(reader, rows), strict=True):
        found.update(lines)
        runs.append(_run(row, pick(lines, selectors), labels))
    check_selectors(found, selectors)
    drawn = [run for run in runs if run.series]
    if not drawn:
        names = ", ".join(str(r.get("name")) for r in rows[:5]) + (", …" if len(rows) > 5 else "")
        raise NotFoundError(
            f"no series to plot in {names or 'any experiment'}",
            hint="log one with gitexp.log_metric(key, value, step=…) "
            "or declare series files under plots: in gitexp.yaml",
        )
    return drawn


def overview(
    git: GitRepo, rows: Sequence[Doc], store: ObjectStore | None = None, *, series: bool = True
) -> Overview:
    """Everything the report shows about ``rows``; images come from ``store``.

    Without ``series`` no series are read (the live UI fetches them per experiment,
    which at 10,000 experiments is most of the time saved).
    """
    reader = SeriesReader(git)
    labels = _labels(rows)
    lines = _series_of(reader, rows) if series else [{} for _ in rows]
    runs = [_run(row, found, labels) for row, found in zip(rows, lines, strict=True)]
    blobs = _CodeFiles(git).attach(runs)
    shown = gallery(git, store, [run.commit for run in runs])
    for run, row, frames in zip(runs, rows, shown.frames, strict=True):
        run.tags = [str(t) for t in row.get("tags") or ()]  # type: ignore[attr-defined]
        run.note = str(row.get("note") or "")
        run.images = frames
    baseline_changes(git, runs, rows)
    return Overview(runs, blobs, shown.images)


def baseline_changes(git: GitRepo, runs: Sequence[Run], rows: Sequence[Doc]) -> None:
    """Set each run's ``changed``: how many params differ from its baseline commit's.

    A run with none ran the baseline as it was, so it is what the best is compared
    with. Each baseline commit's params files are read once.
    """
    reader = Reader(git)
    known: dict[str, dict[str, dict[str, object]]] = {}
    for run, row in zip(runs, rows, strict=True):
        if run.baseline not in known:
            try:
                files = reader.params_at(run.baseline)
            except (KeyError, ValueError, GitexpError):
                files = {}
            known[run.baseline] = Row({"params": files}).flat("params")
        base = known[run.baseline]
        mine = Row(row).flat("params")
        keys = {(f, k) for f, v in mine.items() for k in v} | {
            (f, k) for f, v in base.items() for k in v
        }
        run.changed = sum(
            1 for f, k in keys if mine.get(f, {}).get(k, _ABSENT) != base.get(f, {}).get(k, _ABSENT)
        )


_ABSENT = object()


def runs_of(rows: Sequence[Doc], lines: Sequence[dict[str, Line]]) -> list[Run]:
    """``rows`` with their series ``lines`` (one mapping per row), labelled together."""
    labels = _labels(rows)
    return [_run(row, found, labels) for row, found in zip(rows, lines, strict=True)]


def _series_of(reader: SeriesReader, rows: Sequence[Doc]) -> Iterable[dict[str, Line]]:
    for row in rows:
        yield reader.read(str(row["commit"]), str(row.get("name")))


@dataclass
class _Labels:
    """Flat key → column label, per section: the key, or ``FILE:KEY`` where files share it."""

    params: dict[tuple[str, str], str]
    metrics: dict[tuple[str, str], str]


def _labels(rows: Sequence[Doc]) -> _Labels:
    sections = []
    for section in ("params", "metrics"):
        pairs: dict[tuple[str, str], None] = {}
        for row in rows:
            for file, values in Row(row).flat(section).items():
                pairs.update(dict.fromkeys((file, key) for key in values))
        counts: dict[str, int] = {}
        for _file, key in pairs:
            counts[key] = counts.get(key, 0) + 1
        sections.append({(f, k): k if counts[k] == 1 else f"{f}:{k}" for f, k in pairs})
    return _Labels(sections[0], sections[1])


def _run(row: Doc, lines: dict[str, Line], labels: _Labels) -> Run:
    wrapped = Row(row)

    def flat(section: str, names: dict[tuple[str, str], str]) -> dict[str, object]:
        return {
            names[(file, key)]: value
            for file, values in wrapped.flat(section).items()
            for key, value in values.items()
        }

    return Run(
        name=str(row.get("name")),
        status=str(row.get("status") or "unknown"),
        created=str(row.get("created") or ""),
        branch=branch if isinstance(branch := row.get("branch"), str) else None,
        commit=str(row.get("commit") or ""),
        baseline=str(row.get("baseline") or ""),
        params=flat("params", labels.params),
        metrics=flat("metrics", labels.metrics),
        series=lines,
    )


class _CodeFiles:
    """Which code files differ among experiments, and the text of each version."""

    def __init__(self, git: GitRepo) -> None:
        self.git = git
        self._configs: dict[str, tuple[set[str], tuple[str, ...]]] = {}

    def attach(self, runs: Sequence[Run]) -> list[str | None]:
        """Fill each run's ``files``; returns the texts their indexes point to."""
        if not runs:
            return []
        trees = [self.git.lookup_commit(run.commit).tree for run in runs]
        reference = trees[0]
        changed: list[dict[str, str | None]] = [self._changes(reference, tree) for tree in trees]
        paths = list(dict.fromkeys(p for change in changed for p in change))
        base = {path: self.git.blob_id(reference, path) for path in paths}
        blob_index: dict[str, int] = {}
        for run, change in zip(runs, changed, strict=True):
            for path in paths:
                blob = change[path] if path in change else base[path]
                if blob is not None:
                    run.files[path] = blob_index.setdefault(blob, len(blob_index))
        return self._texts(blob_index)

    def _changes(self, reference: pygit2.Tree, tree: pygit2.Tree) -> dict[str, str | None]:
        if reference.id == tree.id:
            return {}
        return code_changes(reference, tree, self._excluded(tree))

    def _excluded(self, tree: pygit2.Tree) -> Excluded:
        blob = self.git.blob_id(tree, PROJECT_CONFIG) or ""
        if blob not in self._configs:
            self._configs[blob] = excluded_paths(self.git, tree, blob)
        return self._configs[blob]

    def _texts(self, blob_index: dict[str, int]) -> list[str | None]:
        texts: list[str | None] = [None] * len(blob_index)
        budget = TEXT_BUDGET
        for blob, index in blob_index.items():
            obj = self.git.repo.get(blob)
            if not isinstance(obj, pygit2.Blob) or obj.size > min(TEXT_LIMIT, budget):
                continue
            if obj.is_binary:
                continue
            try:
                texts[index] = obj.data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            budget -= obj.size
        return texts


Excluded = tuple[set[str], tuple[str, ...]]
"""Paths shown apart from the code (params, metrics, series files) and folders (the
run record, series folders): what a code diff leaves out."""


def excluded_paths(git: GitRepo, tree: pygit2.Tree, config_blob: str) -> Excluded:
    """What the code diff of ``tree`` leaves out, by the gitexp.yaml at ``config_blob``.

    Callers keep the answer by that blob: commits of one project mostly share it.
    """
    config = ProjectConfig()
    if config_blob:
        try:
            config = parse_project_config(git.read_blob(tree, PROJECT_CONFIG) or b"")
        except GitexpError:
            config = ProjectConfig()
    skip = {*config.params, *config.metrics, *(p.rstrip("/") for p in config.plots)}
    folders = (RUN_DIR + "/", *(p.rstrip("/") + "/" for p in config.plots))
    return skip, folders


def code_changes(
    reference: pygit2.Tree, tree: pygit2.Tree, excluded: Excluded
) -> dict[str, str | None]:
    """Code path -> blob where ``tree`` differs from ``reference`` (None: deleted)."""
    skip, folders = excluded
    found: dict[str, str | None] = {}
    for delta in reference.diff_to_tree(tree).deltas:
        deleted = delta.status == DeltaStatus.DELETED
        path = delta.old_file.path if deleted else delta.new_file.path
        if path in skip or path.startswith(folders):
            continue
        found[path] = None if deleted else str(delta.new_file.id)
    return found
