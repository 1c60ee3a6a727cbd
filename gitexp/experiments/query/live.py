"""What the live UI shows, read from the repository and from the runs going on now.

`LiveSource` answers the UI's questions (see `gitexp.report.ui.source.UiSource`):
the recorded experiments as the report sees them, rebuilt only when the experiment
refs change, and the running experiments from their journals, read again whenever a
journal's files change. Both checks are cheap stamps (one ``for-each-ref``; one stat
per journal file), so the UI can ask twice a second.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from gitexp.core.goals import Direction
from gitexp.core.media import MediaEntry
from gitexp.core.metrics import parse_series, series_format
from gitexp.core.names import EXPERIMENT_REF_PREFIX
from gitexp.errors import FormatError, GitexpError, IntegrityError, NotFoundError
from gitexp.experiments import tags
from gitexp.experiments.query import overview as overview_mod
from gitexp.experiments.query import select as query
from gitexp.experiments.query.media import image_data, images_of
from gitexp.experiments.query.series import Line, SeriesReader
from gitexp.experiments.run import journal
from gitexp.experiments.run.executors import clusterjournal
from gitexp.git.refs import list_refs, read_ref
from gitexp.project import Project

CRASHED = "crashed"
"""The status of a run whose process died before it was recorded."""
SERIES = "series"
"""In a run's journal folder: the series logged so far, one TSV per key."""

Stamp = tuple[tuple[str, ...], ...]
IMAGE_URL = "/api/image/"
"""Where the UI serves an image, followed by its BLAKE3 digest."""


class LiveSource:
    """The experiments of ``project`` for the UI: recorded ones and running ones."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._refs_seen: tuple[str, ...] | None = None
        self._refs: Stamp = ()
        self._images: dict[str, MediaEntry] = {}

    @property
    def title(self) -> str:
        """The repository's folder name: the page's title."""
        return f"{self.project.root.name}: experiments"

    @property
    def goals(self) -> Mapping[str, Direction]:
        """``goals:`` of gitexp.yaml."""
        return self.project.config.goals

    def recorded_stamp(self) -> Stamp:
        """Changes whenever an experiment ref is made, moved or removed.

        The refs are listed only when ``packed-refs`` or the folder of loose experiment
        refs changed (a ref is written by renaming a file into that folder, which
        changes the folder), so asking costs two stats while nothing happens.
        """
        common = self.project.git.common_dir
        seen = refs_seen(common)
        if seen != self._refs_seen:
            refs = list_refs(self.project.git, EXPERIMENT_REF_PREFIX)
            self._refs, self._refs_seen = tuple(refs.items()), seen
        return self._refs

    def notes_stamp(self) -> str:
        """Changes whenever a tag or note is added, edited or removed: the notes ref."""
        return read_ref(self.project.git, tags.NOTES_REF) or ""

    def notes(self) -> dict[str, tuple[tuple[str, ...], str]]:
        """Every experiment commit's tags and note, by commit id."""
        found = tags.tags_by_commit(self.project.git)
        return {commit: (tuple(note.tags), note.note) for commit, note in found.items()}

    def recorded(self) -> overview_mod.Overview:
        """Every recorded experiment as the report shows it (empty when there is none).

        Images are not embedded, as the report does: each is the address the UI
        serves it at (`image`), so a page loads only the images it shows.
        """
        git = self.project.git
        rows = query.select(git, self.experiments(), query.Query())
        view = overview_mod.overview(git, rows, None, series=False)
        found: dict[str, MediaEntry] = {}
        for row in rows:
            with contextlib.suppress(GitexpError):
                for entry in images_of(git, str(row["commit"])):
                    found.setdefault(entry.oid.hex, entry)
        self._images = found
        view.images = [IMAGE_URL + digest for digest in found]
        return view

    def series(self, commits: Mapping[str, str]) -> dict[str, dict[str, Line]]:
        """The series of the recorded experiments ``commits`` (name → commit), by name."""
        reader = SeriesReader(self.project.git)
        return {name: reader.read(commit, name) for name, commit in commits.items()}

    def image(self, digest: str) -> tuple[bytes, str] | None:
        """The bytes and MIME type of an image some recorded experiment logged, or None.

        Only images listed by an experiment are served, never other cache objects.
        """
        entry = self._images.get(digest)
        if entry is None:
            return None
        try:
            return image_data(self.project.store(), entry.oid), entry.type
        except (NotFoundError, IntegrityError):
            return None

    def annotate(
        self, name: str, *, add: Sequence[str], remove: Sequence[str], note: str | None
    ) -> dict[str, object]:
        """Edit experiment ``name``'s tags and note (git notes); its new tags and note.

        Raises `NotFoundError` for an unknown experiment and `UsageError` for a bad tag.
        """
        git = self.project.git
        state = tags.note_of(git, name)
        if add:
            state = tags.add_tags(git, name, add)
        if remove:
            state = tags.remove_tags(git, name, remove)
        if note is not None:
            state = tags.set_note(git, name, note)
        return state.to_json()

    def experiments(self) -> list[dict[str, object]]:
        """Every recorded experiment as a ``show --json`` object."""
        return query.project_experiments(self.project)

    def running_stamp(self) -> Stamp:
        """Changes whenever a run starts, ends or dies, or logs a metric or a series point."""
        stamps = []
        for folder in _folders(self.project.layout.runs) + clusterjournal.folders(self.project):
            files = [folder / journal.RUNNING, folder / journal.METRICS]
            files += sorted(_series_files(folder / SERIES))
            found = journal.read(folder)
            alive = "-" if found is None else str(found.alive())
            stamps.append((folder.name, alive, *(_stat(path) for path in files)))
        return tuple(stamps)

    def running(self) -> overview_mod.Overview:
        """The runs going on now, and those whose process died, not yet recorded.

        Params as run, metrics and series logged so far. A run whose process is gone
        (SIGKILL, the machine down) shows as ``crashed`` until a gitexp command records
        it so (`gitexp.experiments.run.crashed`): the UI writes nothing but tags and
        notes, so it does not record it itself, but it does not hide it either. Runs
        that a ``dask://`` driver's workers run are listed from the driver's journal
        of them, with what the workers reported.
        """
        found = list(journal.journals(self.project.layout.runs))
        rows = []
        for run in found:
            row = journal.running_row(run)
            if not run.alive():
                row["status"] = CRASHED
            rows.append(row)
        on_cluster = clusterjournal.running(self.project)  # what a `dask://` driver's workers run
        rows += [journal.running_row(run) for run in on_cluster]
        found += on_cluster
        lines = [journal_series(j.folder) for j in found]
        return overview_mod.Overview(overview_mod.runs_of(rows, lines), [])


def journal_series(folder: Path) -> dict[str, Line]:
    """The series a running experiment logged so far, by key.

    A file being written that has no whole row yet is left out until it has one.
    """
    lines: dict[str, Line] = {}
    root = folder / SERIES
    for path in sorted(_series_files(root)):
        key = path.relative_to(root).as_posix().rsplit(".", 1)[0]
        try:
            series = parse_series(path.read_bytes(), path.name)
        except (OSError, FormatError):
            continue
        values = series.columns.get("value")
        if values is not None:
            lines[key] = Line(key, series.steps, values)
    return lines


def _folders(runs: Path) -> list[Path]:
    try:
        return sorted(Path(entry.path) for entry in os.scandir(runs) if entry.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def _series_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for top, _dirs, files in os.walk(root):
        found.extend(Path(top) / name for name in files if series_format(name) is not None)
    return found


def refs_seen(common: Path) -> tuple[str, ...]:
    """What changes when an experiment ref of the repository at ``common`` is written.

    The stamps of ``packed-refs`` and of the loose refs' folder (a ref is written by
    renaming a file into it, which changes the folder).
    """
    return tuple(_stat(common / p) for p in ("packed-refs", EXPERIMENT_REF_PREFIX.rstrip("/")))


def _stat(path: Path) -> str:
    try:
        info = path.stat()
    except OSError:
        return "-"
    return f"{info.st_mtime_ns}:{info.st_size}"
