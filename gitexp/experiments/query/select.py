"""``gitexp show``: every experiment's params, metrics and data, filtered and ordered.

Each experiment commit is read once per machine (`summary.Reader`, or many at once
`streamed.StreamReader`, on every core by `workers`); its summary is kept in the index
(`index.SummaryIndex`) for every later command.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from gitexp.core.filters import Filter, sort_key
from gitexp.core.formats import flatten
from gitexp.core.heap import kept_objects, no_collection
from gitexp.core.names import EXPERIMENT_REF_PREFIX, name_from_ref
from gitexp.errors import FormatError, NotFoundError
from gitexp.experiments import tagindex, tags
from gitexp.experiments.query.index import (
    FILE_NAME,
    HEADER,
    Entry,
    SummaryIndex,
    in_background,
)
from gitexp.git.reffiles import ref_files
from gitexp.git.refs import ref_may_exist, start_listing
from gitexp.git.repo import GitRepo
from gitexp.project import Project

if TYPE_CHECKING:
    from gitexp.core.tagnote import TagNote
    from gitexp.experiments.query.workers import Started

_MISSING = object()
BUILTIN_KEYS = ("name", "status", "created", "branch", "commit", "baseline", "note")
TAG_KEY = "tag"
"""``--filter tag==best`` keeps experiments tagged ``best``; ``tag!=best`` the others."""


@dataclass
class Query:
    """What to show: filters (ANDed), order, branches, how many."""

    filters: Sequence[Filter] = ()
    sort_by: str | None = None
    descending: bool = False
    branches: Sequence[str] = ()
    limit: int | None = None


def project_experiments(project: Project) -> list[dict[str, object]]:
    """Every experiment of ``project``, through its summary index (see `experiments`).

    Each row carries its ``tags`` and ``note`` too: they live in git notes, which
    change without the commit changing, so they are never kept in the index.
    """
    listed = project_listing(project)
    rows = listed.docs()
    listed.save()
    return rows


def project_listing(project: Project) -> Listing:
    """Every experiment of ``project`` as its index entry, with its tags and note."""
    return _with_notes(project, listing(project.git, project.layout.index / FILE_NAME))


def listing_ahead(project: Project) -> Callable[[], Listing]:
    """`project_listing`, begun now: call what this gives for the listing.

    In a fresh clone of many experiments the readers (`workers`) are forked at once,
    so that they read while this process does other work (the live UI loads its web
    server); a thread of its own takes in what they send as soon as they do, so
    that none waits on a listing nobody asks for. Elsewhere (the summary index built,
    few experiments, other threads running) the listing is made when asked for.
    """
    path = project.layout.index / FILE_NAME
    if not _no_entries(path):
        return partial(project_listing, project)
    index = SummaryIndex(path)
    started = _first_readers(project.git, index)
    if started is None:
        return partial(project_listing, project)
    import threading

    threading.Thread(target=started.collect, name="gitexp-listing", daemon=True).start()

    def ahead() -> Listing:
        listed = _first_listing_of(started, index)
        return project_listing(project) if listed is None else _with_notes(project, listed)

    return ahead


def _with_notes(project: Project, listed: Listing) -> Listing:
    """``listed`` with the experiments' tags and notes attached."""
    if ref_may_exist(project.git, tags.NOTES_REF):  # else libgit2 need not even load
        index = project.layout.index / tagindex.FILE_NAME
        listed.notes = tags.tags_by_commit(project.git, index)
    return listed


def experiments(git: GitRepo, index_path: Path | None) -> list[dict[str, object]]:
    """Every experiment as the JSON objects of ``show --json``, in ref-name order."""
    listed = listing(git, index_path)
    rows = listed.docs()
    listed.save()
    return rows


@dataclass
class Listing:
    """Every experiment ref, its commit's index entry, and the notes on the commits.

    What ``show --json`` prints is put together from the entries' JSON as it is
    (`showjson`); the other readers parse it (`docs`), all at once.
    """

    refs: dict[str, str]
    """Commit id by ref name, in name order."""
    entries: dict[str, Entry]
    """The entry of every commit of ``refs``."""
    index: SummaryIndex | None = None
    notes: Mapping[str, TagNote] = field(default_factory=dict)

    def docs(self) -> list[dict[str, object]]:
        """Each experiment's ``show --json`` object, tags and note attached, in ref order."""
        if not self.refs:
            return []
        entries = self.entries
        parts = [
            b'{"name":%s,"ref":%s,%s'
            % (orjson.dumps(name_from_ref(ref)), orjson.dumps(ref), entries[commit].compact[1:])
            for ref, commit in self.refs.items()
        ]
        with kept_objects():  # many small objects that all live on
            rows: list[dict[str, object]] = orjson.loads(b"[" + b",".join(parts) + b"]")
        if self.notes:
            tags.attach(rows, self.notes)
        return rows

    def save(self, *, background: bool = False) -> None:
        """Keep the entries read from commits in the index, for the next command.

        ``background``: in a process of its own that nobody waits for
        (`index.in_background`), when there is anything to write.
        """
        index = self.index
        if index is None:
            return
        live = self.refs.values()
        if not (background and index.pending(live) and in_background(lambda: index.save(live))):
            index.save(live)


def listing(git: GitRepo, index_path: Path | None) -> Listing:
    """Every experiment ref with its entry: from the index, else read from its commit.

    What was read is kept in the index by `Listing.save`, which a command calls once
    its answer is out, or by the forked readers that read it (`workers`).
    """
    if index_path is not None and _no_entries(index_path):
        first = _first_listing(git, SummaryIndex(index_path))
        if first is not None:
            return first
    listed = start_listing(git, EXPERIMENT_REF_PREFIX)  # git reads the refs meanwhile
    index = SummaryIndex(index_path) if index_path else None
    refs = listed()
    known = index.entries if index else {}
    unread = [c for c in dict.fromkeys(refs.values()) if c not in known]
    if not unread:
        return Listing(refs, known, index)
    from gitexp.experiments.query.summary import NotACommitError
    from gitexp.experiments.query.workers import PER_PART, read_entries

    if len(unread) >= STREAM_FROM:
        import gitexp.experiments.query.streamed  # noqa: F401 - once, before any reader forks
    shared = index is not None and len(unread) >= 2 * PER_PART  # read by forked readers
    index_file = index.appendable(refs.values()) if index is not None and shared else None
    try:
        with no_collection():  # many small objects, none of them garbage yet
            read = read_entries(git, unread, read_summaries, index_file=index_file)
    except NotACommitError as exc:
        ref = min(r for r, c in refs.items() if c == exc.oid)
        raise FormatError(
            f"{ref} points at a {exc.kind}, not a commit: it is no experiment",
            hint=f"remove the ref with `git update-ref -d {ref}`",
        ) from None
    if index is None:
        return Listing(refs, read.entries)
    index.add_all(read.entries, read.saved)
    return Listing(refs, index.entries, index)


def _no_entries(index_path: Path) -> bool:
    """Whether the index holds no entry yet (a fresh clone's), as far as its size tells."""
    try:
        return index_path.stat().st_size <= len(HEADER)
    except OSError:
        return True


def _first_listing(git: GitRepo, index: SummaryIndex) -> Listing | None:
    """A fresh clone's refs and their entries, read together by forked readers.

    None when there are too few, the refs are not plain files, or a reader failed:
    then `listing` lists and reads as usual (and raises what there is to raise).
    """
    started = _first_readers(git, index)
    return _first_listing_of(started, index) if started is not None else None


def _first_readers(git: GitRepo, index: SummaryIndex) -> Started | None:
    """The readers of `_first_listing`, forked; None when there are too few refs."""
    from gitexp.experiments.query.workers import PER_PART, start_refs_and_entries

    files = ref_files(git, EXPERIMENT_REF_PREFIX)
    if files is None or len(files.loose) + len(files.packed) < 2 * PER_PART:
        return None
    import gitexp.experiments.query.streamed  # noqa: F401 - once, before the readers fork

    with no_collection():  # in the readers too: many small objects, none of them garbage yet
        return start_refs_and_entries(
            git,
            EXPERIMENT_REF_PREFIX,
            files,
            read_summaries,
            index_file=index.appendable(()),
            per_part=PER_PART,
        )


def _first_listing_of(started: Started, index: SummaryIndex) -> Listing | None:
    """The listing the readers of `_first_readers` read; None when one failed."""
    with no_collection():  # many small objects, none of them garbage
        got = started.collect()
    if got is None:
        return None
    refs, read = got
    index.add_all(read.entries, read.saved)
    return Listing(refs, index.entries, index)


STREAM_FROM = 8
"""From this many unread commits on, they are read as streams (`StreamReader`)."""


def read_summaries(git: GitRepo, commits: list[str]) -> dict[str, dict[str, object]]:
    """The summaries of ``commits``, none of which the index holds.

    Many (a fresh clone's) are read in a few ``git cat-file`` streams; a few (the
    runs recorded since the last command) through libgit2, which costs no process.
    A commit the stream did not give (not a commit) goes the other way, which
    raises as it always has.
    """
    from gitexp.experiments.query.streamed import StreamReader
    from gitexp.experiments.query.summary import Reader

    found: dict[str, dict[str, object]] = {}
    if len(commits) >= STREAM_FROM:
        found = StreamReader(git).summaries(commits)
    rest = [c for c in commits if c not in found]
    if rest:
        reader = Reader(git)
        found.update((c, reader.summary(c)) for c in rest)
    return found


@dataclass
class Row:
    """One experiment's JSON object, with its keys flattened on demand for lookups."""

    doc: dict[str, object]
    _flat: dict[str, dict[str, object]] = field(default_factory=dict)

    def flat(self, section: str) -> dict[str, dict[str, object]]:
        """``params`` or ``metrics`` of this row, per file, with dotted keys."""
        if section not in self._flat:
            files = self.doc.get(section) or {}
            assert isinstance(files, dict)  # noqa: S101 - built by Reader
            self._flat[section] = {f: flatten(v) for f, v in files.items()}
        return self._flat[section]  # type: ignore[return-value]

    def value(self, key: str) -> object:
        """The value at ``key`` (metrics first, then params, then built-ins), or missing."""
        if key.startswith("data:"):
            data = self.doc.get("data") or {}
            return data.get(key[5:], _MISSING)  # type: ignore[attr-defined]
        file, sep, inner = key.partition(":")
        for section in ("metrics", "params"):
            files = self.flat(section)
            if sep and file in files:
                return files[file].get(inner, _MISSING)
            if not sep:
                for values in files.values():
                    if key in values:
                        return values[key]
        if key in BUILTIN_KEYS:
            return self.doc.get(key, _MISSING)
        return _MISSING


def is_missing(value: object) -> bool:
    """Whether `Row.value` found nothing."""
    return value is _MISSING


def select(git: GitRepo, rows: list[dict[str, object]], query: Query) -> list[dict[str, object]]:
    """Filter, order and cut ``rows`` as ``query`` says.

    Default order is newest first; ``sort_by`` orders ascending (``descending``
    reverses) and puts experiments without the key last.
    """
    wrapped = [Row(doc) for doc in rows]
    if query.branches:
        tips = [str(git.resolve_commit(b).id) for b in query.branches]
        memo: dict[str, bool] = {}

        def on_branch(baseline: str) -> bool:
            if baseline not in memo:
                memo[baseline] = bool(baseline) and any(
                    _reachable(git, baseline, tip) for tip in tips
                )
            return memo[baseline]

        wrapped = [r for r in wrapped if on_branch(str(r.doc.get("baseline") or ""))]
    for flt in query.filters:
        wrapped = [r for r in wrapped if _passes(r, flt)]
    wrapped.sort(key=lambda r: (str(r.doc.get("created") or ""), str(r.doc["name"])), reverse=True)
    if query.sort_by:
        present = [r for r in wrapped if not is_missing(r.value(query.sort_by))]
        absent = [r for r in wrapped if is_missing(r.value(query.sort_by))]
        present.sort(key=lambda r: sort_key(r.value(query.sort_by or "")), reverse=query.descending)
        wrapped = present + absent
    if query.limit is not None:
        wrapped = wrapped[: query.limit]
    return [r.doc for r in wrapped]


def _passes(row: Row, flt: Filter) -> bool:
    if flt.key == TAG_KEY:
        tagged = str(flt.value) in (row.doc.get("tags") or ())  # type: ignore[operator]
        return tagged if flt.op == "==" else not tagged
    value = row.value(flt.key)
    return not is_missing(value) and flt.matches(value)


def _reachable(git: GitRepo, commit: str, tip: str) -> bool:
    import pygit2  # loaded only for --branch: a plain show reads no git object through it

    try:
        return git.is_ancestor(commit, tip)
    except (KeyError, ValueError, pygit2.GitError):
        return False


def known_keys(rows: Iterable[dict[str, object]]) -> set[str]:
    """Every params and metrics key the rows have, plain and ``FILE:KEY``."""
    keys: set[str] = {*BUILTIN_KEYS, TAG_KEY}
    for doc in rows:
        row = Row(doc)
        for section in ("params", "metrics"):
            for file, values in row.flat(section).items():
                keys.update(values)
                keys.update(f"{file}:{k}" for k in values)
    return keys


def check_keys(rows: list[dict[str, object]], keys: Sequence[str]) -> None:
    """`NotFoundError` for a sort or filter key that no experiment has (a typo)."""
    if not rows or not keys:
        return
    known = known_keys(rows)
    for key in keys:
        if key == TAG_KEY:
            continue
        if key not in known and not key.startswith("data:"):
            raise NotFoundError(
                f"no experiment has the key '{key}'",
                hint="keys are dotted params or metrics keys, e.g. train.lr or acc; "
                "see `gitexp show`",
            )


def latest_name(rows: list[dict[str, object]]) -> str:
    """The name of the newest experiment; `NotFoundError` when there is none."""
    if not rows:
        raise NotFoundError("there are no experiments to diff", hint="run one with `gitexp run`")
    newest = max(rows, key=lambda r: (str(r.get("created") or ""), str(r.get("name"))))
    return str(newest["name"])


def rows_named(rows: list[dict[str, object]], names: Sequence[str]) -> list[dict[str, object]]:
    """The rows of experiments ``names``, in that order, once each."""
    by_name = {str(row["name"]): row for row in rows}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise NotFoundError(
            f"experiment '{missing[0]}' does not exist", hint="see `gitexp list` for the names"
        )
    return [by_name[n] for n in dict.fromkeys(names)]
