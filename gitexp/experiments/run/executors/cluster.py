"""``--executor dask://HOST:PORT``: the queue's runs on an existing Dask cluster.

The driver (this process) takes the runs here first, as a local ``queue start``
does (a lock file, then a compare-and-swap of refs), so no other ``queue start``
runs them meanwhile. It then pushes what the workers need to the project's
remotes: the queued commits to the git remote (as ``refs/exps-claimed/NAME``; their
baseline comes with them), their data to the storage remote. Each worker runs its
run in a repository of its own (`worker.run_task`) and creates the experiment's
ref on the git remote create-only; the driver fetches each ref as its task ends
and records it here, as a local run would have.

A task that Dask runs again (its worker died) runs the run again, and adopts the
experiment if the git remote refuses its create-only push (a first attempt recorded
it): a run is recorded once. On a stop the driver
tells every worker (`stopping`): running commands' process groups are
signalled and their runs recorded ``interrupted``; runs not started go back to the
queue. A driver killed outright leaves its claims stale: the next ``queue start``
takes them, and adopts what the workers recorded meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from gitexp.core.names import (
    CLAIMED_REF_PREFIX,
    EXPERIMENT_REF_PREFIX,
    QUEUE_REF_PREFIX,
    ExperimentName,
)
from gitexp.core.remotes import SECRET_OPTIONS
from gitexp.data.pointers import pointers_at
from gitexp.data.sync import DataResult, Storage, Wants, push_data
from gitexp.data.targets import check_remotes, storage_config
from gitexp.errors import ConflictError, GitexpError, Interrupted, NotFoundError, UsageError
from gitexp.experiments.run.executors.clusterjournal import ClusterJournal, ClusterRun
from gitexp.experiments.run.executors.local import (
    adopted,
    candidates,
    claim_queued,
    give_back,
    run_lock,
)
from gitexp.experiments.run.executors.stopping import stop_all
from gitexp.experiments.run.executors.worker import Outcome, Task, run_task
from gitexp.experiments.run.queue import QueuedRun, queued_record
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.runner import Notify, remember
from gitexp.experiments.run.worktreedata import check_data
from gitexp.git import transport
from gitexp.git.refs import RefUpdate, read_ref, update_refs
from gitexp.project import Project
from gitexp.storage.hosts import local_folder

GIT_REMOTE = "origin"
"""The git remote the workers clone and record on when none is named (as for push)."""
BATCH_WAIT = 0.5
"""Seconds a finished run waits for others, so that one fetch brings them all."""
_ADDRESS = re.compile(r"dask://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})")


def scheduler_address(executor: str) -> str:
    """The scheduler's address (``tcp://HOST:PORT``) of ``dask://HOST:PORT``; else `UsageError`."""
    match = _ADDRESS.fullmatch(executor)
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise UsageError(
            f"executor '{executor}': give the Dask scheduler as dask://HOST:PORT",
            hint="for example --executor dask://127.0.0.1:8786",
        )
    return f"tcp://{match.group(1)}:{match.group(2)}"


def start_cluster(
    project: Project,
    executor: str,
    only: Sequence[str] | None = None,
    *,
    notify: Notify | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    stop: threading.Event | None = None,
    git_remote: str | None = None,
    client: Any = None,
    task: Callable[[Task], Outcome] = run_task,
) -> list[RunResult]:
    """Run the runs queued now (or ``only`` those) on the cluster at ``executor``.

    The workers use ``git_remote`` (default: origin, as for ``push``) and the default
    storage remote. Checks first, before anything moves: the address (`UsageError`),
    Dask's distributed (`MissingExtraError`), the git remote and the storage remote
    (`NotFoundError`), the scheduler (`TransportError`). Raises `Interrupted` after a
    stop, once the runs going on are recorded; the runs not started stay queued.
    ``client``: one connected already, kept open (a search's driver runs one trial a
    call); ``task``: what a worker runs, `run_task` or a function that calls it.
    """
    address = scheduler_address(executor)
    distributed = _distributed()
    git_url = git_remote_url(project, git_remote)
    storage = storage_settings(project)
    own = client is None
    client = _connect(distributed, address, executor) if own else client
    try:
        if own:  # `connect` registered it on a client given
            _register_sweep(client)
        with _Claims.taken(project, only) as claims:
            if not claims.runs:
                return []
            driver = _Driver(project, distributed, client, claims, git_url, storage)
            driver.notify, driver.on_result, driver.task = notify, on_result, task
            return driver.run(stop or threading.Event())
    finally:
        if own:
            client.close()


def _register_sweep(client: Any) -> None:
    """Have every worker end, as it (re)starts, the commands a killed worker left running."""
    from gitexp.experiments.run.executors.workerplugin import OrphanSweep

    client.register_plugin(OrphanSweep())


def _distributed() -> ModuleType:
    from gitexp.experiments.run.executors.dask import distributed_module

    return distributed_module()


def git_remote_url(project: Project, git_remote: str | None = None) -> str:
    """The URL of the git remote the workers use, a local path made absolute.

    The remote is chosen as `push` and `pull` choose it: ``git_remote`` (a remote's
    name, a URL or a path), else origin; a name that is not one of the project's
    remotes is `NotFoundError`, never a fallback to another remote.
    """
    try:
        check_remotes(project, git_remote, None, refs=True)
    except NotFoundError as exc:
        raise NotFoundError(
            f"{exc.message}: a Dask cluster's workers get the runs through it",
            hint=exc.hint,
        ) from exc
    name = git_remote or GIT_REMOTE
    url = name if transport.is_location(name) else str(project.git.repo.remotes[name].url or "")
    if "://" in url or re.match(r"[^/]+:", url):  # a URL, or scp-like host:path
        return url
    return str((project.root / url).resolve())


def storage_settings(project: Project) -> dict[str, object]:
    """The default storage remote as the workers open it: name, absolute URL, public options."""
    try:
        remote = storage_config(project, None)
    except NotFoundError as exc:
        raise NotFoundError(
            f"{exc.message}: a Dask cluster's workers get and keep the runs' data there",
            hint="add one they can reach: `gitexp remote add NAME URL --default`",
        ) from exc
    url = remote.url
    if remote.scheme == "file":
        url = str(local_folder(url, project.root).resolve())
    options = {k: v for k, v in remote.options.items() if k not in SECRET_OPTIONS}
    return {**options, "name": remote.name, "url": url}


def connect(executor: str) -> Any:
    """A client of the scheduler at ``executor`` (``dask://HOST:PORT``), checked first."""
    client = _connect(_distributed(), scheduler_address(executor), executor)
    _register_sweep(client)
    return client


def _connect(distributed: ModuleType, address: str, executor: str) -> Any:
    """A client of the scheduler; a port nobody listens on fails at once, not after retries."""
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as exc:
        raise transport_error(executor, exc) from exc
    logging.getLogger("distributed").setLevel(logging.CRITICAL)  # its chatter is not ours
    try:
        return distributed.Client(address, timeout=30)
    except (OSError, TimeoutError) as exc:
        raise transport_error(executor, exc) from exc


def transport_error(executor: str, exc: BaseException) -> GitexpError:
    """The error for a scheduler that cannot be reached."""
    from gitexp.errors import TransportError

    return TransportError(
        f"cannot reach the Dask scheduler at {executor.removeprefix('dask://')}: "
        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
        hint="start it (`dask scheduler`) and its workers, or check the host and port; "
        "nothing was run",
    )


@dataclass
class _Claims:
    """The runs this driver took: held (lock files) until each is recorded or given back."""

    project: Project
    runs: dict[str, QueuedRun] = field(default_factory=dict)
    locks: dict[str, contextlib.ExitStack] = field(default_factory=dict)

    @classmethod
    @contextlib.contextmanager
    def taken(cls, project: Project, only: Sequence[str] | None) -> Iterator[_Claims]:
        """Take every run nobody runs; at the end, give back each one not recorded.

        The queued runs move to the claimed refs in one transaction; when another
        ``queue start`` took one meanwhile, each is taken on its own instead.
        """
        claims = cls(project)
        try:
            runs = [r for r in candidates(project) if only is None or r.name in only]
            held = [run for run in runs if claims._lock(run)]
            queued = [run for run in held if run.status == "queued"]
            try:
                update_refs(
                    project.git, [u for r in queued for u in _claiming(r)], "gitexp: queue start"
                )
            except ConflictError:
                queued = [run for run in queued if claim_queued(project, run)]
            for run in held:
                if run.status == "queued" and run not in queued:
                    claims.locks.pop(run.name).close()
                else:
                    claims.runs[run.name] = run
            yield claims
        finally:
            for name in list(claims.runs):
                claims.give_back(name)
            for stack in claims.locks.values():
                stack.close()

    def _lock(self, run: QueuedRun) -> bool:
        stack = contextlib.ExitStack()
        if not stack.enter_context(run_lock(self.project, run.name)):
            stack.close()
            return False
        claimed = read_ref(self.project.git, CLAIMED_REF_PREFIX + run.name)
        if run.status == "running" and claimed != run.commit:  # a stale claim, gone meanwhile
            stack.close()
            return False
        self.locks[run.name] = stack
        return True

    def releasing(self, names: Sequence[str]) -> list[RefUpdate]:
        """The updates that drop the claims of runs ``names``, recorded now."""
        return [RefUpdate(CLAIMED_REF_PREFIX + n, None, self.runs[n].commit) for n in names]

    def unlock(self, names: Sequence[str]) -> None:
        """Runs ``names`` are recorded and their claims gone: let go of them."""
        for name in names:
            del self.runs[name]
            self.locks.pop(name).close()

    def give_back(self, name: str) -> None:
        """Run ``name`` did not run: back to the queue, as it was."""
        run = self.runs.pop(name)
        give_back(self.project, name, run.commit)
        self.locks.pop(name).close()


def _claiming(run: QueuedRun) -> list[RefUpdate]:
    return [
        RefUpdate(QUEUE_REF_PREFIX + run.name, None, run.commit),
        RefUpdate(CLAIMED_REF_PREFIX + run.name, run.commit, None),
    ]


class _Driver:
    """Pushes the claimed runs, submits one task each, and records what comes back."""

    def __init__(
        self,
        project: Project,
        distributed: ModuleType,
        client: Any,
        claims: _Claims,
        git_url: str,
        storage: dict[str, object],
    ) -> None:
        self.project, self.distributed, self.client = project, distributed, client
        self.claims, self.git_url, self.storage = claims, git_url, storage
        self.token = secrets.token_hex(4)
        self.notify: Notify | None = None
        self.on_result: Callable[[RunResult], None] | None = None
        self.task: Callable[[Task], Outcome] = run_task
        self.results: list[RunResult] = []
        self.noted: set[str] = set()
        self.journal = ClusterJournal(project, self.token)
        self.events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()

    @property
    def topic(self) -> str:
        """The Dask event topic the workers report this driver's runs on."""
        return f"gitexp-{self.token}"

    def key(self, name: str) -> str:
        """The Dask key of run ``name``'s task, unique to this driver."""
        return f"gitexp-{self.token}-{name}"

    def run(self, stop: threading.Event) -> list[RunResult]:
        taken = list(self.claims.runs.values())
        runs = self._not_recorded(taken)
        if not runs:
            self._unpublish(taken)  # what a driver killed outright left there
            return self.results
        self._publish(runs)
        self.client.subscribe_topic(self.topic, lambda event: self.events.put(event[1]))
        try:
            self.journal.open({r.name: (r.commit, self._journaled(r)) for r in runs})
            futures = {
                self.client.submit(
                    self.task, self._task(r), key=self.key(r.name), pure=False
                ): r.name
                for r in runs
            }
            self._collect(futures, stop)
        finally:
            self.client.unsubscribe_topic(self.topic)
            self.journal.close()
            self._unpublish(taken)
        if stop.is_set():
            raise Interrupted("interrupted; the runs not started stay queued (`gitexp queue list`)")
        return self.results

    def _task(self, run: QueuedRun) -> Task:
        key, url = self.key(run.name), self.git_url
        return Task(key, run.name, run.commit, url, self.storage, topic=self.topic)

    def _not_recorded(self, runs: list[QueuedRun]) -> list[QueuedRun]:
        """Adopt the runs whose experiment the git remote holds already; the others.

        A driver killed outright left its claims while its workers went on and
        recorded some: those are adopted at once, with no task. (A task that Dask
        runs again after its first worker pushed adopts from its push's refusal.)
        """
        there = transport.ls_remote(self.project.git, self.git_url, EXPERIMENT_REF_PREFIX)
        found = {r.name: there.get(ExperimentName(r.name).ref) for r in runs}
        adopted = [Outcome(n, c, adopted=True) for n, c in found.items() if c is not None]
        if adopted:
            self._record(adopted)
        return [r for r in runs if found[r.name] is None]

    def _journaled(self, run: QueuedRun) -> ClusterRun:
        """What `show` lists of ``run`` while it waits and runs (see `clusterjournal`)."""
        git, config = self.project.git, self.project.config
        tree = git.lookup_commit(run.commit).tree
        params = {p: data for p in config.params if (data := git.read_blob(tree, p)) is not None}
        record = queued_record(self.project, run.commit, run.name)
        metrics = config.metrics[0] if config.metrics else None
        return ClusterRun(record, str(tree.id), params, metrics)

    def _take_events(self) -> None:
        """What the workers reported since the last look, into the cluster journal."""
        while True:
            try:
                message = self.events.get_nowait()
            except queue.Empty:
                return
            name = message.get("name") if isinstance(message, dict) else None
            if not isinstance(name, str):
                continue
            if "host" in message:
                self.journal.started(name, str(message["host"]))
            else:
                metrics, series = message.get("metrics"), message.get("series")
                self.journal.logged(
                    name,
                    metrics if isinstance(metrics, dict) else None,
                    series if isinstance(series, dict) else {},
                )

    def _publish(self, runs: Sequence[QueuedRun]) -> None:
        """Data first, then the commits: a worker that sees a run finds its data."""
        git = self.project.git
        wants = Wants()
        checked: set[frozenset[tuple[str, object]]] = set()
        for run in runs:
            pointers = pointers_at(git, git.lookup_commit(run.commit).tree)
            if frozenset(pointers.items()) not in checked:
                check_data(self.project, pointers)
                checked.add(frozenset(pointers.items()))
            wants.add(run.name, pointers)
        if wants.pointers:
            push_data(self.project, Storage(), wants, DataResult())
        there = transport.ls_remote(git, self.git_url, CLAIMED_REF_PREFIX)
        pushes = [
            transport.RefPush(
                CLAIMED_REF_PREFIX + r.name, r.commit, there.get(CLAIMED_REF_PREFIX + r.name)
            )
            for r in runs
            if there.get(CLAIMED_REF_PREFIX + r.name) != r.commit
        ]
        transport.push_refs(git, self.git_url, pushes)

    def _unpublish(self, runs: Sequence[QueuedRun]) -> None:
        """Drop the runs' commits from the git remote (their experiments hold what counts).

        Only those there at the commit this driver took: one push for all, atomic.
        """
        git = self.project.git
        with contextlib.suppress(GitexpError):
            there = transport.ls_remote(git, self.git_url, CLAIMED_REF_PREFIX)
            refs = {CLAIMED_REF_PREFIX + r.name: r.commit for r in runs}
            pushes = [
                transport.RefPush(ref, "", c) for ref, c in refs.items() if there.get(ref) == c
            ]
            transport.push_refs(git, self.git_url, pushes)

    def _collect(self, futures: dict[Any, str], stop: threading.Event) -> None:
        """Record results as tasks end, a few at a time: one fetch brings a whole batch.

        A result waits at most `BATCH_WAIT` seconds for others to join it.
        """
        pending = dict(futures)
        waiting: list[Outcome] = []
        since = 0.0
        while pending:
            self._take_events()
            if stop.is_set():
                self._record(waiting)
                self._stop(pending)
                return
            done = self._done(pending)
            try:
                outcomes = list(self.client.gather(done)) if done else []  # one round trip
            except BaseException:  # one failure stops the others, as on local worktrees
                self._record(waiting)
                self._stop(pending)
                raise
            for future in done:
                del pending[future]
            if outcomes and not waiting:
                since = time.monotonic()
            waiting += outcomes
            if waiting and (not pending or time.monotonic() - since >= BATCH_WAIT):
                self._record(waiting)
                waiting = []

    def _done(self, pending: dict[Any, str]) -> list[Any]:
        """The futures done now, after waiting a moment for one (so a stop is seen soon)."""
        try:
            return list(
                self.distributed.wait(
                    list(pending), timeout=0.2, return_when="FIRST_COMPLETED"
                ).done
            )
        except TimeoutError:
            return []

    def _stop(self, pending: dict[Any, str]) -> None:
        """Stop every task: those not started never run, those running record ``interrupted``."""
        keys = {name: self.key(name) for name in pending.values()}
        finished = stop_all(self.distributed, self.client, pending, keys)
        self._record([future.result() for future in finished])

    def _record(self, outcomes: Sequence[Outcome]) -> None:
        """Fetch the experiments the outcomes name, make them local refs, report each.

        The experiments' refs are created and the runs' claims dropped in one
        transaction: one git process for a whole batch of results.
        """
        git = self.project.git
        made = {o.name: o.commit for o in outcomes if o.commit is not None}
        try:
            fetched = transport.fetch_refs(git, self.git_url, [ExperimentName(n).ref for n in made])
            made = {n: fetched.get(ExperimentName(n).ref) or c for n, c in made.items()}
            updates = [u for name, commit in made.items() for u in self._creating(name, commit)]
            update_refs(git, updates + self.claims.releasing(list(made)), "gitexp: queue start")
        finally:
            transport.clear_incoming(git)
        self.claims.unlock(list(made))
        self.journal.end(list(made))
        for name, commit in made.items():
            remember(self.project, commit)
            result = adopted(self.project, name, commit)
            self.results.append(result)
            if self.on_result is not None:
                self.on_result(result)
        for outcome in outcomes:
            for note in outcome.notes:
                if note not in self.noted and self.notify is not None:
                    self.noted.add(note)
                    self.notify(note)

    def _creating(self, name: str, commit: str) -> list[RefUpdate]:
        """The update that makes experiment ``name`` here (none when it is here already)."""
        ref = ExperimentName(name).ref
        here = read_ref(self.project.git, ref)
        if here == commit:
            return []
        if here is not None:
            raise ConflictError(
                f"experiment '{name}' exists here at another commit than the cluster recorded",
                hint=f"rename or remove it here, then `gitexp pull {name}`",
            )
        return [RefUpdate(ref, commit, None)]
