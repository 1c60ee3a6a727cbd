"""``gitexp import dvc``: a DVC project's data, remotes and experiments, brought in.

Each ``.dvc`` file (and each cached output ``dvc.lock`` records) gets a ``.gitexp``
pointer beside it, its content verified against DVC's md5 and stored by BLAKE3; DVC's
remotes are declared as storage remotes at the same places; each DVC experiment
(``refs/exps/…``, a commit on its baseline) becomes a gitexp experiment whose commit is
the DVC experiment's tree plus pointers for its outputs and a ``gitexp.yaml`` that
declares its params, metrics and plots files. DVC's own files are only read.

Everything is read, verified and stored in the cache first; only then are the
pointers, ``gitexp.yaml`` and refs written, so a bad input (an md5 that does not
match, content in neither cache nor remote) leaves the workspace and refs as they
were. Importing again changes nothing: pointers already right are not rewritten,
remotes already declared are kept, experiments already imported are skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitexp.cache.atomic import atomic_write
from gitexp.cache.gitignore import ensure_ignored
from gitexp.cache.locks import folder_lock, storing
from gitexp.core.config import PROJECT_CONFIG
from gitexp.core.pointer import Pointer, check_data_path, pointer_path
from gitexp.core.runinfo import iso_utc
from gitexp.errors import NotFoundError
from gitexp.experiments.importers import dvcformat as fmt
from gitexp.experiments.importers.dvcdata import DvcObjects, OpenRemote
from gitexp.experiments.importers.dvcremotes import Converted, convert
from gitexp.experiments.importers.projectfile import ProjectFile
from gitexp.experiments.importers.record import (
    SourceRun,
    free_name,
    imported_ids,
    taken_names,
    write_experiment,
)
from gitexp.experiments.importers.result import ImportResult
from gitexp.git.plumbing import workspace_files
from gitexp.git.refs import list_refs
from gitexp.project import Project
from gitexp.storage.open import open_backend

if TYPE_CHECKING:
    import pygit2

    from gitexp.git.repo import GitRepo
    from gitexp.storage.backend import Backend

SOURCE = "dvc"
EXP_REFS = "refs/exps/"
_EXP_REF = re.compile(r"refs/exps/[0-9a-f]{2}/[0-9a-f]{38}/(.+)")
"""A DVC experiment's ref: the baseline commit's id, split 2/38, then its name."""


@dataclass
class _Plan:
    """What the import will write, all read and stored before any of it is."""

    pointers: dict[str, Pointer] = field(default_factory=dict)
    config: ProjectFile = field(default_factory=lambda: ProjectFile(None))
    remotes: list[str] = field(default_factory=list)
    runs: list[tuple[str, SourceRun]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    configs: dict[tuple[tuple[str, ...], ...], bytes] = field(default_factory=dict)
    branches: dict[str, str | None] = field(default_factory=dict)


def import_dvc(project: Project, path: str | None = None) -> ImportResult:
    """Import the DVC project at ``path`` (default: the repository root); see the module doc.

    Raises `NotFoundError` when ``path`` holds no ``.dvc`` folder or content is in
    neither DVC's cache nor its remote, `IntegrityError` for an md5 mismatch,
    `FormatError` for a DVC file that does not parse; nothing is written then.
    """
    dvc_root = Path(project.root / (path or "")).resolve()
    prefix = project.relpath(dvc_root)
    prefix = f"{prefix}/" if prefix else ""
    if not (dvc_root / ".dvc").is_dir():
        raise NotFoundError(
            f"'{path or project.root}' is not a DVC repository: it has no .dvc folder",
            hint="give the DVC project's folder: gitexp import dvc PATH",
        )
    config = _dvc_config(dvc_root / ".dvc")
    converted = {
        n: convert(n, o, dvc_root / ".dvc", project.root) for n, o in config.remotes.items()
    }
    store = project.store()
    objects = DvcObjects(
        store,
        _cache_dir(dvc_root / ".dvc", config),
        _opener(project, converted),
        config.default_remote,
    )
    try:
        with storing(store.root):
            plan = _plan(project, prefix, config, converted, objects)
            return _write(project, plan)
    finally:
        objects.close()


def _dvc_config(folder: Path) -> fmt.DvcConfig:
    found = []
    for name in ("config", "config.local"):
        try:
            text = (folder / name).read_text()
        except FileNotFoundError:
            text = ""
        found.append(fmt.parse_config(text, f".dvc/{name}"))
    return fmt.merge_configs(found[0], found[1])


def _cache_dir(folder: Path, config: fmt.DvcConfig) -> Path:
    return (folder / config.cache_dir) if config.cache_dir else folder / "cache"


def _opener(project: Project, converted: dict[str, Converted]) -> OpenRemote:
    def open_remote(name: str) -> Backend:
        remote = converted.get(name)
        if remote is None or not remote.url:
            raise NotFoundError(
                f"DVC remote '{name}' is not one gitexp can read",
                hint="run `dvc pull` first, so the content is in DVC's cache",
            )
        return open_backend(remote.config(), project.root)

    return open_remote


def _plan(
    project: Project,
    prefix: str,
    config: fmt.DvcConfig,
    converted: dict[str, Converted],
    objects: DvcObjects,
) -> _Plan:
    """Read and store everything; decide every write."""
    plan = _Plan(config=ProjectFile(_read(project.root / PROJECT_CONFIG)))
    _plan_remotes(plan, config, converted)
    for dvc_file in workspace_files(project.root, f"{prefix}*.dvc"):
        outs = fmt.parse_dvc_file((project.root / dvc_file).read_bytes(), dvc_file)
        plan.pointers.update(objects.pointers(outs, dvc_file))
    root = project.root / prefix
    pipeline = fmt.parse_pipeline(_read(root / "dvc.yaml"), _read(root / "dvc.lock"), prefix)
    uncached = fmt.uncached_paths(_read(root / "dvc.yaml"), prefix)
    outs = [
        o for o in pipeline.outs if o.path not in uncached and not project.git.is_tracked(o.path)
    ]
    plan.pointers.update(objects.pointers(outs, f"{prefix}dvc.lock"))
    for data in plan.pointers:
        check_data_path(data, pointer_path(data))
    _declare(plan.config, pipeline)
    _plan_experiments(project.git, prefix, plan, objects)
    return plan


def _plan_remotes(plan: _Plan, config: fmt.DvcConfig, converted: dict[str, Converted]) -> None:
    for name, remote in converted.items():
        if remote.note:
            plan.notes.append(remote.note)
        if not remote.url:
            continue
        declared = plan.config.remote(name)
        if declared is None:
            plan.config.add_remote(name, remote.url, remote.options)
            plan.remotes.append(name)
        elif (declared.get("url") if isinstance(declared, dict) else declared) != remote.url:
            plan.notes.append(
                f"storage remote '{name}' already exists with another URL; DVC's "
                f"'{remote.url}' was not added"
            )
    default = config.default_remote
    if default and default in plan.remotes:
        plan.config.set_default(default)


def _declare(config: ProjectFile, pipeline: fmt.Pipeline) -> None:
    config.declare("params", pipeline.params)
    config.declare("metrics", pipeline.metrics)
    config.declare("plots", pipeline.plots)
    config.declare(
        "outs",
        [
            o.path
            for o in pipeline.outs
            if o.path not in pipeline.metrics and o.path not in pipeline.plots
        ],
    )


def _plan_experiments(git: GitRepo, prefix: str, plan: _Plan, objects: DvcObjects) -> None:
    done = imported_ids(git, SOURCE)
    taken = taken_names(git)
    for ref, sha in list_refs(git, EXP_REFS).items():
        match = _EXP_REF.fullmatch(ref)
        if match is None:
            continue
        if sha in done:
            plan.skipped.append(sha)
            continue
        commit = git.lookup_commit(sha)
        if not commit.parents:
            plan.notes.append(f"DVC experiment {match.group(1)} has no baseline; skipped")
            continue
        run = _experiment(git, prefix, commit, match.group(1), plan, objects)
        plan.runs.append((free_name(match.group(1), taken), run))


def _experiment(
    git: GitRepo, prefix: str, commit: pygit2.Commit, name: str, plan: _Plan, objects: DvcObjects
) -> SourceRun:
    """A DVC experiment commit as a gitexp one: its tree plus pointers and a config."""
    tree = commit.tree
    where = f"DVC experiment {name}"
    pointers: dict[str, Pointer] = {}
    for entry in git.walk_tree(tree):
        path = entry.path
        if path.startswith(prefix) and path.endswith(".dvc") and "/.dvc/" not in f"/{path}":
            outs = fmt.parse_dvc_file(git.read_blob(tree, path) or b"", path)
            pointers.update(objects.pointers(outs, f"{where}: {path}"))
    dvc_yaml = git.read_blob(tree, f"{prefix}dvc.yaml")
    pipeline = fmt.parse_pipeline(dvc_yaml, git.read_blob(tree, f"{prefix}dvc.lock"), prefix)
    uncached = fmt.uncached_paths(dvc_yaml, prefix)
    outs = [
        o for o in pipeline.outs if o.path not in uncached and git.blob_id(tree, o.path) is None
    ]
    pointers.update(objects.pointers(outs, f"{where}: dvc.lock"))
    for data in pointers:
        check_data_path(data, f"{where}: {pointer_path(data)}")
    files = {pointer_path(p): ptr.dump() for p, ptr in pointers.items()}
    files[PROJECT_CONFIG] = _config_for(plan, pipeline)
    moment = dt.datetime.fromtimestamp(commit.commit_time, dt.timezone.utc)
    return SourceRun(
        source=SOURCE,
        source_id=str(commit.id),
        name=name,
        baseline=str(commit.parents[0].id),
        start_tree=str(tree.id),
        files=files,
        started=iso_utc(moment),
        branch=_branch_of(git, str(commit.parents[0].id), plan.branches),
        command=pipeline.commands,
        details={"name": name},
    )


def _config_for(plan: _Plan, pipeline: fmt.Pipeline) -> bytes:
    """The ``gitexp.yaml`` of an experiment: the project's, declaring its pipeline's files."""
    key = (pipeline.params, pipeline.metrics, pipeline.plots, tuple(o.path for o in pipeline.outs))
    if key not in plan.configs:
        config = ProjectFile(plan.config.dump() or None)
        _declare(config, pipeline)
        plan.configs[key] = config.dump()
    return plan.configs[key]


def _branch_of(git: GitRepo, baseline: str, memo: dict[str, str | None]) -> str | None:
    """The branch the baseline is on: the current one if it holds it, else one at it."""
    if baseline not in memo:
        memo[baseline] = _find_branch(git, baseline)
    return memo[baseline]


def _find_branch(git: GitRepo, baseline: str) -> str | None:
    head = git.head_branch()
    if head is not None and git.is_ancestor(baseline, str(git.head_commit().id)):
        return head
    for ref, sha in list_refs(git, "refs/heads/").items():
        if sha == baseline:
            return ref[len("refs/heads/") :]
    return None


def _write(project: Project, plan: _Plan) -> ImportResult:
    """Write what ``plan`` decided: pointers, ``gitexp.yaml``, then experiments."""
    written, unchanged = [], []
    for data, pointer in sorted(plan.pointers.items()):
        full = project.root / pointer_path(data)
        new = pointer.dump()
        if _read(full) == new:
            unchanged.append(data)
            continue
        atomic_write(full, new)
        ensure_ignored(project.root / data)
        written.append(data)
    if plan.config.changed():
        with folder_lock(project.root):
            atomic_write(project.root / PROJECT_CONFIG, plan.config.dump())
    made = [write_experiment(project.git, run, name) for name, run in plan.runs]
    return ImportResult(
        source=SOURCE,
        pointers=tuple(written),
        unchanged=tuple(unchanged),
        remotes=tuple(plan.remotes),
        experiments=tuple(made),
        skipped=tuple(plan.skipped),
        notes=tuple(plan.notes),
    )


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
