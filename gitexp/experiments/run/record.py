"""Making the experiment commit and its ref from a workspace after a run.

The commit's tree is the baseline tree plus the workspace's changes, the params as
run, the metrics and series files (even ignored ones), pointer files for outs and
large files, and ``.gitexp/`` (run record, output log, logged series, the list of
logged images). The user's HEAD, index, branches and files are not touched.

A run's record is what that run did: a metrics file, series file or out that the
command did not write (see `freshness`) is never taken from the workspace. The commit
holds the baseline's version of that path, listed in ``run.json`` as ``inherited`` so
readers do not count it as the run's, or, where the baseline has none, nothing. So
``git diff`` against the baseline stays truthful (the run changed nothing there) and
``show`` learns it from the commit message's trailer without reading more objects.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from gitexp.cache.add import store_path
from gitexp.cache.locks import storing
from gitexp.cache.objects import ObjectStore
from gitexp.core.config import ProjectConfig
from gitexp.core.formats import format_of
from gitexp.core.metrics import load_metrics, parse_series, series_format
from gitexp.core.names import ExperimentName
from gitexp.core.pointer import SUFFIX, pointer_path
from gitexp.core.runinfo import OUTPUT_LOG, RUN_DIR, SERIES_DIR, RunRecord, trailers
from gitexp.core.sizes import format_size
from gitexp.data.leftovers import LeftoverData
from gitexp.errors import FormatError, GitexpError
from gitexp.experiments.run.freshness import ResultsWatch, files_under, left_over_note
from gitexp.experiments.run.media import media_list
from gitexp.experiments.run.outignore import commit_ignores, exclude_locally
from gitexp.git.refs import create_ref
from gitexp.git.repo import GitRepo
from gitexp.git.snapshot import snapshot

LOG_LIMIT = 8 * 1024 * 1024


@dataclass
class RunResult:
    """One recorded experiment, as ``gitexp run`` reports it."""

    name: str
    ref: str
    commit: str
    status: str
    exit_code: int | None
    duration_s: float
    overrides: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Recording:
    """What a finished run hands over to be recorded."""

    name: ExperimentName
    base: pygit2.Commit
    record: RunRecord
    params_as_run: Mapping[str, bytes]
    log: bytes
    run_dir: Path
    watch: ResultsWatch
    """Tells the result files the run wrote from those left over from before it."""
    artifacts: list[str] = field(default_factory=list)
    message: str | None = None
    force: bool = False
    start: pygit2.Tree | None = None
    """The tree the run's files started from, when not the baseline's (a worktree run)."""
    stopped: Callable[[], bool] | None = None
    """Whether the run was asked to stop; asked once more just before the commit is
    written, so a stop that came while recording makes it ``interrupted`` too."""


def record_experiment(
    git: GitRepo, config: ProjectConfig, store: ObjectStore, rec: Recording
) -> RunResult:
    """`_record` under the store lock: ``gc`` keeps the outs it stores until the ref names them."""
    with storing(store.root):
        return _record(git, config, store, rec)


def _record(git: GitRepo, config: ProjectConfig, store: ObjectStore, rec: Recording) -> RunResult:
    """Write the experiment commit for ``rec`` and create its ref (create-only).

    Problems found in what the command wrote (a metrics file that is not a mapping, a
    series that is not numeric, a declared out that is missing or that it did not
    write) mark it failed, with a message naming the file. Result files the command
    did not write are not recorded as its own (see `_gather`). Raises `ConflictError`
    if the name was taken meanwhile.
    """
    found = _gather(git, config, store, rec)
    notes, problems = found.notes, found.problems
    extra = found.extra
    status = rec.record.status
    if problems and status != "interrupted":  # an interrupted run may well lack its outs
        status = "failed"
    record = dataclasses.replace(rec.record, status=status, inherited=found.inherited)
    extra[OUTPUT_LOG] = _trim_log(rec.log, problems)
    extra[f"{RUN_DIR}/run.json"] = record.to_json()

    diverted: list[str] = []

    def divert(path: str, size: int) -> tuple[str, bytes] | None:
        if size <= config.large_file_threshold or path.startswith(RUN_DIR + "/"):
            return None
        pointer = store_path(store, git.root / path)
        diverted.append(
            f"'{path}' ({format_size(size)}) is over large_file_threshold: stored in the "
            f"cache and recorded as {pointer_path(path)}"
        )
        return pointer_path(path), pointer.dump()

    start = rec.start if rec.start is not None else rec.base.tree
    extra.update(commit_ignores(git, start, found.outs))
    exclude_locally(git, found.outs)
    leftover = LeftoverData(git, rec.record.started)

    def take() -> str:
        diverted.clear()
        leftover.found.clear()
        return snapshot(
            git,
            start,
            extra=extra,
            exclude=found.exclude,
            drop_dirs=[RUN_DIR],
            divert=divert,
            leave_out=lambda path: path not in extra and leftover(path),
        ).tree

    tree = take()
    if status != "interrupted" and rec.stopped is not None and rec.stopped():
        status = "interrupted"  # the status is sealed here: a later stop is too late
        record = dataclasses.replace(record, status=status)
        extra[f"{RUN_DIR}/run.json"] = record.to_json()
        tree = take()
    notes.extend(diverted)
    notes += [_left_out_note(path) for path in sorted(leftover.found)]
    message = _message(rec, problems) + "\n" + trailers(record)
    commit = git.write_commit(tree, [str(rec.base.id)], message)
    create_ref(git, rec.name.ref, commit, force=rec.force)
    return RunResult(
        name=rec.name.value,
        ref=rec.name.ref,
        commit=commit,
        status=status,
        exit_code=record.exit_code,
        duration_s=record.duration_s,
        overrides=record.overrides,
        notes=notes,
        problems=problems,
    )


@dataclass
class _Gathered:
    """What goes into the commit besides the workspace, and what was said about it."""

    extra: dict[str, bytes]
    exclude: list[str]
    outs: list[str]
    inherited: tuple[str, ...]
    notes: list[str]
    problems: list[str]


def _gather(git: GitRepo, config: ProjectConfig, store: ObjectStore, rec: Recording) -> _Gathered:
    """The run's own results, checked; a note for each result file left from before.

    A result file the run did not write is never taken from the workspace: the commit
    holds the baseline's version of it (listed as inherited) or nothing.
    """
    problems: list[str] = []
    left: list[str] = []
    extra: dict[str, bytes] = dict(rec.params_as_run)
    extra.update(_metrics_files(git.root, config, rec.watch, problems, left))
    extra.update(_plot_files(git.root, config, rec.watch, problems, left))
    extra.update(_logged_series(rec.run_dir, problems))
    extra.update(media_list(rec.run_dir, git.root, config, rec.watch, store))
    outs, out_paths = _store_outs(git.root, store, config, rec, problems, left)
    extra.update(outs)
    declared = {o.rstrip("/") for o in config.outs}
    notes = left_over_note(p for p in left if not p.endswith(SUFFIX) and p not in declared)
    inherited, stale = _settle(git, rec.base.tree, left, extra)
    return _Gathered(extra, [*out_paths, *stale], out_paths, inherited, notes, problems)


def _left_out_note(path: str) -> str:
    return (
        f"'{path}' was left out of the experiment: a branch tracks it with a pointer file, "
        "so it is data left in the workspace by a checkout; remove it, or track it here "
        f"with `gitexp add {path}`"
    )


def _message(rec: Recording, problems: list[str]) -> str:
    title = rec.message or f"gitexp: {rec.name.value}"
    body = [" ".join(rec.record.command)]
    for path, keys in rec.record.overrides.items():
        body += [f"  {path}: {key}={value!r}" for key, value in keys.items()]
    body += [f"problem: {p}" for p in problems]
    return f"{title}\n\n" + "\n".join(body) + "\n"


def _metrics_files(
    root: Path, config: ProjectConfig, watch: ResultsWatch, problems: list[str], left: list[str]
) -> dict[str, bytes]:
    """The metrics files the run wrote, checked; one left from before goes to ``left``."""
    found: dict[str, bytes] = {}
    for path in config.metrics:
        if not watch.written(path):
            if (root / path).is_file():
                left.append(path)
            continue
        try:
            data = (root / path).read_bytes()
            format_of(path)
            load_metrics(data, path)
        except FileNotFoundError:
            continue
        except FormatError as exc:
            problems.append(f"metrics file {exc.message}")
            data = (root / path).read_bytes()
        found[path] = data
    return found


def _plot_files(
    root: Path, config: ProjectConfig, watch: ResultsWatch, problems: list[str], left: list[str]
) -> dict[str, bytes]:
    """Series files the run wrote under the declared ``plots:`` folders (or files), checked."""
    found: dict[str, bytes] = {}
    for declared in config.plots:
        for rel in files_under(root, declared.rstrip("/")):
            if series_format(rel) is None:
                continue
            if not watch.written(rel):
                left.append(rel)
                continue
            data = (root / rel).read_bytes()
            _check_series(data, rel, problems)
            found[rel] = data
    return found


def _settle(
    git: GitRepo, base: pygit2.Tree, left: list[str], extra: dict[str, bytes]
) -> tuple[tuple[str, ...], list[str]]:
    """Keep the run's record to what it did: each left-over path gets the baseline's version.

    Where the baseline has the path, its blob goes into ``extra`` and the path is
    listed as inherited (readers skip it); elsewhere the path is left out of the tree.
    Returns (inherited paths, paths to exclude).
    """
    inherited: list[str] = []
    stale: list[str] = []
    for path in dict.fromkeys(left):
        blob = git.read_blob(base, path)
        if blob is None:
            stale.append(path)
        else:
            extra[path] = blob
            inherited.append(path)
    return tuple(sorted(inherited)), stale


def _logged_series(run_dir: Path, problems: list[str]) -> dict[str, bytes]:
    """Series logged through the API, stored under ``.gitexp/series/``."""
    folder = run_dir / "series"
    found: dict[str, bytes] = {}
    if folder.is_dir():
        for file in sorted(folder.iterdir()):
            rel = f"{SERIES_DIR}/{file.name}"
            data = file.read_bytes()
            _check_series(data, rel, problems)
            found[rel] = data
    return found


def _check_series(data: bytes, rel: str, problems: list[str]) -> None:
    try:
        parse_series(data, rel)
    except FormatError as exc:
        problems.append(exc.message)


def _store_outs(
    root: Path,
    store: ObjectStore,
    config: ProjectConfig,
    rec: Recording,
    problems: list[str],
    left: list[str],
) -> tuple[dict[str, bytes], list[str]]:
    """Put each out the run wrote in the cache; its pointer goes in the tree instead.

    An out the run did not write (left from before) is not stored: a declared one is
    a problem, a logged one a note. The workspace's ``.gitignore`` files are not
    written (see `outignore`).
    """
    pointers: dict[str, bytes] = {}
    paths: list[str] = []
    for out in dict.fromkeys([*config.outs, *rec.artifacts]):
        rel = out.rstrip("/")
        full = root / rel
        if not full.exists():
            problems.append(f"out '{rel}' was not produced by the run")
            left.append(pointer_path(rel))  # a pointer in the baseline is not this run's
            continue
        if not rec.watch.written_any(rel):
            if out in config.outs:
                problems.append(f"out '{rel}' was not written by this run (it is left from before)")
            left.extend([rel, pointer_path(rel)])
            continue
        try:
            pointers[pointer_path(rel)] = store_path(store, full).dump()
        except OSError as exc:
            raise GitexpError(f"could not store out '{rel}' in the cache: {exc}") from exc
        paths.append(rel)
    return pointers, paths


def _trim_log(log: bytes, problems: list[str]) -> bytes:
    tail = "".join(f"gitexp: {p}\n" for p in problems).encode()
    if len(log) > LOG_LIMIT:
        cut = len(log) - LOG_LIMIT
        log = f"[gitexp: the first {cut} bytes of output were dropped]\n".encode() + log[cut:]
    return log + tail
