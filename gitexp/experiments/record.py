"""Making the experiment commit and its ref from a workspace after a run.

The commit's tree is the baseline tree plus the workspace's changes, the params as
run, the metrics and series files (even ignored ones), pointer files for outs and
large files, and ``.gitexp/`` (run record, output log, logged series). The user's
HEAD, index, branches and files are not touched.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from gitexp.cache.add import store_path
from gitexp.cache.gitignore import ensure_ignored
from gitexp.cache.locks import storing
from gitexp.cache.objects import ObjectStore
from gitexp.core.config import ProjectConfig
from gitexp.core.formats import format_of
from gitexp.core.metrics import load_metrics, parse_series, series_format
from gitexp.core.names import ExperimentName
from gitexp.core.pointer import pointer_path
from gitexp.core.runinfo import OUTPUT_LOG, RUN_DIR, SERIES_DIR, RunRecord, trailers
from gitexp.core.sizes import format_size
from gitexp.errors import FormatError, GitexpError
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
    fresh_metrics: set[str]
    artifacts: list[str] = field(default_factory=list)
    message: str | None = None
    force: bool = False
    start: pygit2.Tree | None = None
    """The tree the run's files started from, when not the baseline's (a worktree run)."""


def record_experiment(
    git: GitRepo, config: ProjectConfig, store: ObjectStore, rec: Recording
) -> RunResult:
    """`_record` under the store lock: ``gc`` keeps the outs it stores until the ref names them."""
    with storing(store.root):
        return _record(git, config, store, rec)


def _record(git: GitRepo, config: ProjectConfig, store: ObjectStore, rec: Recording) -> RunResult:
    """Write the experiment commit for ``rec`` and create its ref (create-only).

    Problems found in what the command wrote (a metrics file that is not a mapping, a
    series that is not numeric, a declared out that is missing) mark it failed, with
    a message naming the file. Raises `ConflictError` if the name was taken meanwhile.
    """
    notes: list[str] = []
    problems: list[str] = []
    extra: dict[str, bytes] = dict(rec.params_as_run)
    extra.update(_metrics_files(git.root, config, rec.fresh_metrics, problems))
    extra.update(_plot_files(git.root, config, problems))
    extra.update(_logged_series(rec.run_dir, problems))
    outs, out_paths = _store_outs(git.root, store, config, rec.artifacts, problems)
    extra.update(outs)
    status = rec.record.status if not problems else "failed"
    record = dataclasses.replace(rec.record, status=status)
    extra[OUTPUT_LOG] = _trim_log(rec.log, problems)
    extra[f"{RUN_DIR}/run.json"] = record.to_json()

    def divert(path: str, size: int) -> tuple[str, bytes] | None:
        if size <= config.large_file_threshold or path.startswith(RUN_DIR + "/"):
            return None
        pointer = store_path(store, git.root / path)
        notes.append(
            f"'{path}' ({format_size(size)}) is over large_file_threshold: stored in the "
            f"cache and recorded as {pointer_path(path)}"
        )
        return pointer_path(path), pointer.dump()

    start = rec.start if rec.start is not None else rec.base.tree
    stale = [m for m in config.metrics if m not in extra and m not in start]
    snap = snapshot(
        git,
        start,
        extra=extra,
        exclude=[*out_paths, *stale],
        drop_dirs=[RUN_DIR],
        divert=divert,
    )
    message = _message(rec, problems) + "\n" + trailers(record)
    commit = git.write_commit(snap.tree, [str(rec.base.id)], message)
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


def _message(rec: Recording, problems: list[str]) -> str:
    title = rec.message or f"gitexp: {rec.name.value}"
    body = [" ".join(rec.record.command)]
    for path, keys in rec.record.overrides.items():
        body += [f"  {path}: {key}={value!r}" for key, value in keys.items()]
    body += [f"problem: {p}" for p in problems]
    return f"{title}\n\n" + "\n".join(body) + "\n"


def _metrics_files(
    root: Path, config: ProjectConfig, fresh: set[str], problems: list[str]
) -> dict[str, bytes]:
    """The metrics files the run wrote, checked; a stale one from before is left out."""
    found: dict[str, bytes] = {}
    for path in config.metrics:
        if path not in fresh:
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


def _plot_files(root: Path, config: ProjectConfig, problems: list[str]) -> dict[str, bytes]:
    """Series files under the declared ``plots:`` folders (or files), checked."""
    found: dict[str, bytes] = {}
    for declared in config.plots:
        for rel in _files_under(root, declared.rstrip("/")):
            if series_format(rel) is None:
                continue
            data = (root / rel).read_bytes()
            _check_series(data, rel, problems)
            found[rel] = data
    return found


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
    logged: Iterable[str],
    problems: list[str],
) -> tuple[dict[str, bytes], list[str]]:
    """Put each out in the cache; its pointer goes in the tree instead of the data.

    Each out is also listed in the ``.gitignore`` beside it (once), so a later
    ``git add -A`` leaves it to gitexp.
    """
    pointers: dict[str, bytes] = {}
    paths: list[str] = []
    for out in dict.fromkeys([*config.outs, *logged]):
        rel = out.rstrip("/")
        full = root / rel
        if not full.exists():
            problems.append(f"out '{rel}' was not produced by the run")
            continue
        try:
            pointers[pointer_path(rel)] = store_path(store, full).dump()
            ensure_ignored(full)  # the artifact is gitexp's to keep, not git's
        except OSError as exc:
            raise GitexpError(f"could not store out '{rel}' in the cache: {exc}") from exc
        paths.append(rel)
    return pointers, paths


def _files_under(root: Path, declared: str) -> list[str]:
    full = root / declared
    if full.is_file():
        return [declared]
    found = []
    for dirpath, dirnames, filenames in os.walk(full):
        dirnames.sort()
        for name in sorted(filenames):
            found.append(Path(dirpath, name).relative_to(root).as_posix())
    return found


def _trim_log(log: bytes, problems: list[str]) -> bytes:
    tail = "".join(f"gitexp: {p}\n" for p in problems).encode()
    if len(log) > LOG_LIMIT:
        cut = len(log) - LOG_LIMIT
        log = f"[gitexp: the first {cut} bytes of output were dropped]\n".encode() + log[cut:]
    return log + tail
