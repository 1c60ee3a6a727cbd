"""The queue: runs recorded now as commits, run later by ``gitexp queue start``.

``gitexp run --queue`` writes each point as a commit ready to run (the workspace's
files, the params with the point's overrides applied, and a ``run.json`` with status
``queued``) on the ref ``refs/exps-queue/<name>``, and returns. The queue is refs,
so it survives anything and travels with git.

``queue start`` takes runs oldest first. Taking one is a compare-and-swap of refs:
one transaction deletes ``refs/exps-queue/<name>`` at the commit it was seen at and
creates ``refs/exps-claimed/<name>``, so of any number of ``queue start`` at once,
one wins each run. The winner holds a lock file for the run while it runs; a claim
whose lock is free was left by a ``queue start`` that was killed, and the next one
runs it again (an experiment already recorded under its name is adopted instead).
"""

from __future__ import annotations

import contextlib
import fcntl
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pygit2

from gitexp.core.names import (
    CLAIMED_REF_PREFIX,
    QUEUE_REF_PREFIX,
    ExperimentName,
    check_name,
    generate_name,
    sweep_names,
)
from gitexp.core.params import Override, grid, parse_override
from gitexp.core.runinfo import RUN_JSON, RunRecord, iso_utc, parse_run_json, trailers, utc_now
from gitexp.data.pointers import pointers_at, workspace_pointers
from gitexp.errors import ConflictError, GitexpError, Interrupted, NotFoundError, UsageError
from gitexp.experiments.run.environment import host_facts
from gitexp.experiments.run.overrides import ParamsPlan, plan_params
from gitexp.experiments.run.parallel import remove_abandoned_worktrees, users_params
from gitexp.experiments.run.process import check_command, parse_command
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.runner import Notify, Place, Runner
from gitexp.experiments.run.worktreedata import bring_data, check_data
from gitexp.git.refs import RefUpdate, create_ref, delete_refs, list_refs, read_ref, update_refs
from gitexp.git.snapshot import snapshot
from gitexp.git.worktrees import isolated_worktree
from gitexp.project import Project


@dataclass(frozen=True)
class QueuedRun:
    """One run in the queue: ``queued``, or ``running`` once a ``queue start`` took it."""

    name: str
    commit: str
    status: str
    created: str
    command: tuple[str, ...]
    overrides: dict[str, dict[str, object]]

    def to_json(self) -> dict[str, object]:
        """The ``queue list --json`` object of this run."""
        return {
            "name": self.name,
            "ref": (QUEUE_REF_PREFIX if self.status == "queued" else CLAIMED_REF_PREFIX)
            + self.name,
            "commit": self.commit,
            "status": self.status,
            "created": self.created,
            "command": list(self.command),
            "overrides": self.overrides,
        }


def enqueue(
    project: Project,
    command: Sequence[str] | None,
    overrides: Sequence[str | Override],
    name: str | None,
) -> list[QueuedRun]:
    """Queue every point of the overrides' grid; nothing runs. One run per point.

    Checked first, as ``gitexp run`` checks: the command exists, every key exists,
    every name is valid and free (among experiments and queued runs).
    """
    base = project.git.head_commit()
    workspace_pointers(project)
    parsed = [o if isinstance(o, Override) else parse_override(o) for o in overrides]
    given = users_params(project)
    plans = [plan_params(project.root, project.config, p, given) for p in grid(parsed)]
    words = parse_command(command or project.config.command or [])
    check_command(words, project.root)
    names = _names(project, name, len(plans))
    queued = []
    for plan, run_name in zip(plans, names, strict=True):
        record = RunRecord(
            name=run_name,
            command=words.recorded,
            overrides=plan.record,
            status="queued",
            exit_code=None,
            started=iso_utc(utc_now()),
            duration_s=0.0,
            baseline_commit=str(base.id),
            baseline_branch=project.git.head_branch(),
            **host_facts(),
        )
        extra = {**given, **plan.changed, RUN_JSON: record.to_json()}
        tree = snapshot(project.git, base.tree, extra=extra).tree
        message = f"gitexp: queued {run_name}\n\n{trailers(record)}"
        commit = project.git.write_commit(tree, [str(base.id)], message)
        create_ref(project.git, QUEUE_REF_PREFIX + run_name, commit)
        queued.append(_queued(run_name, commit, record, "queued"))
    return queued


def _names(project: Project, name: str | None, count: int) -> list[str]:
    def taken(candidate: str) -> bool:
        refs = (ExperimentName(candidate).ref, QUEUE_REF_PREFIX + candidate)
        return any(read_ref(project.git, ref) is not None for ref in refs)

    if name is None:
        chosen: list[str] = []
        for _ in range(count):
            chosen.append(generate_name(lambda n: n in chosen or taken(n)))
        return chosen
    names = [check_name(name)] if count == 1 else sweep_names(name, count)
    for candidate in names:
        if taken(candidate):
            raise ConflictError(
                f"experiment or queued run '{candidate}' already exists",
                hint="pick another name with -n (`gitexp queue list` shows the queue)",
            )
    return names


def _queued(name: str, commit: str, record: RunRecord, status: str) -> QueuedRun:
    overrides = {f: dict(v) for f, v in record.overrides.items()}
    return QueuedRun(name, commit, status, record.started, record.command, overrides)


def list_queue(project: Project) -> list[QueuedRun]:
    """Every queued run, then every run taken and not yet recorded, oldest first."""
    found = []
    for prefix, status in ((QUEUE_REF_PREFIX, "queued"), (CLAIMED_REF_PREFIX, "running")):
        for ref, commit in list_refs(project.git, prefix).items():
            name = ref[len(prefix) :]
            with contextlib.suppress(GitexpError, KeyError):
                found.append(_queued(name, commit, _record(project, commit, name), status))
    return sorted(found, key=lambda q: (q.status != "queued", q.created, q.name))


def _record(project: Project, commit: str, name: str) -> RunRecord:
    data = project.git.read_blob(project.git.lookup_commit(commit).tree, RUN_JSON)
    if data is None:
        raise NotFoundError(f"queued run '{name}' has no {RUN_JSON}")
    return parse_run_json(data, f"queued run '{name}'")


def queued_rows(project: Project) -> list[dict[str, object]]:
    """The ``show --json`` objects of queued runs: status queued, no experiment commit."""
    rows: list[dict[str, object]] = []
    for run in list_queue(project):
        if run.status != "queued":
            continue
        rows.append(
            {
                "name": run.name,
                "ref": QUEUE_REF_PREFIX + run.name,
                "commit": None,
                "baseline": str(project.git.lookup_commit(run.commit).parent_ids[0]),
                "branch": None,
                "created": run.created,
                "status": "queued",
                "params": {f: _nested(v) for f, v in run.overrides.items()},
                "metrics": {},
                "data": {},
            }
        )
    return rows


def _nested(flat: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in flat.items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else {}
        node[last] = value
    return out


def remove_queued(project: Project, names: Sequence[str], every: bool = False) -> list[str]:
    """Drop queued runs (not those running); the names removed. `NotFoundError` for unknown."""
    refs = list_refs(project.git, QUEUE_REF_PREFIX)
    if every:
        names = [ref[len(QUEUE_REF_PREFIX) :] for ref in refs]
    if not names and not every:
        raise UsageError("name the queued runs to remove, or use `gitexp queue clear`")
    unknown = [n for n in names if QUEUE_REF_PREFIX + n not in refs]
    if unknown:
        raise NotFoundError(
            f"no queued run named '{unknown[0]}'", hint="`gitexp queue list` shows the queue"
        )
    delete_refs(project.git, [(QUEUE_REF_PREFIX + n, refs[QUEUE_REF_PREFIX + n]) for n in names])
    return list(names)


def start(
    project: Project,
    jobs: int,
    *,
    notify: Notify | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    stop: threading.Event | None = None,
) -> list[RunResult]:
    """Run queued runs, ``jobs`` at a time in worktrees, until the queue is empty.

    Runs queued meanwhile are run too. Raises `Interrupted` after a stop, once the
    runs going on are recorded ``interrupted``; the runs not taken stay queued.
    """
    if jobs < 1:
        raise UsageError("-j needs a number of jobs from 1 up")
    remove_abandoned_worktrees(project)
    stop = stop or threading.Event()
    results: list[RunResult] = []
    lock = threading.Lock()

    def work() -> None:
        while not stop.is_set():
            with _next_claim(project) as claimed:
                if claimed is None:
                    return
                result = _run_claimed(project, claimed, notify, stop)
            with lock:
                results.append(result)
            if on_result is not None:
                on_result(result)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(work) for _ in range(jobs)]
        errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        stop.set()
        raise next((e for e in errors if not isinstance(e, Interrupted)), errors[0])  # type: ignore[misc]
    if stop.is_set():
        raise Interrupted("interrupted; the runs not started stay queued (`gitexp queue list`)")
    return results


@dataclass(frozen=True)
class _Claim:
    name: str
    commit: str


@contextlib.contextmanager
def _next_claim(project: Project) -> Iterator[_Claim | None]:
    """Take the oldest run nobody runs: a stale claim first, else a queued one.

    The run's lock file is taken before its refs move, and held until the block
    ends; its claim ref is deleted then.
    """
    for run in _candidates(project):
        with _run_lock(project, run.name) as held:
            if not held:
                continue
            if run.status == "queued" and not _claim(project, run):
                continue
            if (
                run.status == "running"
                and read_ref(project.git, CLAIMED_REF_PREFIX + run.name) != run.commit
            ):
                continue
            try:
                yield _Claim(run.name, run.commit)
            finally:
                with contextlib.suppress(GitexpError):
                    delete_refs(project.git, [(CLAIMED_REF_PREFIX + run.name, run.commit)])
            return
    yield None


def _candidates(project: Project) -> list[QueuedRun]:
    runs = list_queue(project)
    return [r for r in runs if r.status == "running"] + [r for r in runs if r.status == "queued"]


def _claim(project: Project, run: QueuedRun) -> bool:
    """Move the run from the queue to the claimed refs; False when another took it."""
    try:
        update_refs(
            project.git,
            [
                RefUpdate(QUEUE_REF_PREFIX + run.name, None, run.commit),
                RefUpdate(CLAIMED_REF_PREFIX + run.name, run.commit, None),
            ],
            f"gitexp: queue start {run.name}",
        )
    except ConflictError:
        return False
    return True


@contextlib.contextmanager
def _run_lock(project: Project, name: str) -> Iterator[bool]:
    folder = project.layout.queue
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.lock", "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _run_claimed(
    project: Project, claim: _Claim, notify: Notify | None, stop: threading.Event
) -> RunResult:
    """Run one taken run in a worktree of its commit and record it under its name."""
    git = project.git
    commit = git.lookup_commit(claim.commit)
    record = _record(project, claim.commit, claim.name)
    base = git.lookup_commit(record.baseline_commit)
    done = read_ref(git, ExperimentName(claim.name).ref)
    if done is not None:  # recorded by a queue start killed before it let go of the claim
        return _adopted(project, claim.name, done)
    runner = Runner(
        project, base, parse_command(record.command), None, False, notify or _quiet, None
    )
    runner.stop = stop
    pointers = pointers_at(git, commit.tree)
    check_data(project, pointers)
    path = project.layout.worktrees / f"{claim.name}-{secrets.token_hex(3)}"
    with isolated_worktree(git, path, claim.commit) as worktree:
        bring_data(project, worktree, pointers)
        place = Place(git=worktree, start=commit.tree, cwd=worktree.root, restore=False)
        return runner.run_point(_plan(project, base, commit, record), claim.name, place, None)


def _plan(
    project: Project, base: pygit2.Commit, commit: pygit2.Commit, record: RunRecord
) -> ParamsPlan:
    """The params as queued (already in the commit): nothing more to write."""
    plan = ParamsPlan(record={f: dict(v) for f, v in record.overrides.items()})
    for path in record.overrides:
        new = project.git.read_blob(commit.tree, path) or b""
        old = project.git.read_blob(base.tree, path) or new
        plan.files[path] = (old, new)
    return plan


def _adopted(project: Project, name: str, commit: str) -> RunResult:
    data = project.git.read_blob(project.git.lookup_commit(commit).tree, RUN_JSON) or b""
    record = parse_run_json(data, f"experiment '{name}'")
    return RunResult(
        name, ExperimentName(name).ref, commit, record.status, record.exit_code, record.duration_s
    )


def _quiet(_message: str) -> None:
    return None
