"""``gitexp show``: every experiment's params, metrics and data, read from its commit.

Reading is fast because each experiment commit is read once per machine: summaries
are kept in an index file (``<state>/index/experiments-v1.json``) keyed by commit id
(a commit never changes, so an entry never goes stale), and the work for a new commit
is shared with its siblings: a params file, a config or a pointer that many commits
hold as the same blob is parsed once, and a subtree they share is walked once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pygit2

from gitexp.cache.atomic import atomic_write
from gitexp.core.config import PROJECT_CONFIG, ProjectConfig, parse_project_config
from gitexp.core.filters import Filter, sort_key
from gitexp.core.formats import flatten, load_mapping, to_json_value
from gitexp.core.names import EXPERIMENT_REF_PREFIX, name_from_ref
from gitexp.core.runinfo import RUN_JSON, parse_run_json
from gitexp.errors import GitexpError
from gitexp.experiments.data import pointers_at
from gitexp.git.refs import list_refs
from gitexp.git.repo import GitRepo

INDEX_VERSION = 1
_MISSING = object()
BUILTIN_KEYS = ("name", "status", "created", "branch", "commit", "baseline")


@dataclass
class Query:
    """What to show: filters (ANDed), order, branches, how many."""

    filters: Sequence[Filter] = ()
    sort_by: str | None = None
    descending: bool = False
    branches: Sequence[str] = ()
    limit: int | None = None


class Reader:
    """Reads experiment summaries from commits, sharing work across commits."""

    def __init__(self, git: GitRepo) -> None:
        self.git = git
        self.repo = git.repo
        self._configs: dict[str, ProjectConfig] = {}
        self._docs: dict[tuple[str, str], dict[str, object] | None] = {}

    def summary(self, commit_id: str) -> dict[str, object]:
        """The show fields of one experiment commit (without name and ref)."""
        commit = self.repo[commit_id]
        assert isinstance(commit, pygit2.Commit)  # noqa: S101 - refs point at commits
        tree = commit.tree
        run = self._run(tree, commit_id)
        config = self._config(tree)
        baseline = run.baseline_commit if run else (str(commit.parent_ids[0]) if commit.parent_ids else "")
        return {
            "commit": commit_id,
            "baseline": baseline,
            "branch": run.baseline_branch if run else None,
            "created": run.started if run else _commit_time(commit),
            "status": run.status if run else "unknown",
            "params": self._files(tree, config.params),
            "metrics": self._files(tree, config.metrics),
            "data": self._data(tree),
        }

    def _run(self, tree: pygit2.Tree, commit_id: str) -> object:
        data = self.git.read_blob(tree, RUN_JSON)
        if data is None:
            return None
        try:
            return parse_run_json(data, f"commit {commit_id[:12]}")
        except GitexpError:
            return None

    def _config(self, tree: pygit2.Tree) -> ProjectConfig:
        blob = self.git.blob_id(tree, PROJECT_CONFIG)
        if blob is None:
            return ProjectConfig()
        if blob not in self._configs:
            try:
                self._configs[blob] = parse_project_config(self.repo[blob].data)  # type: ignore[attr-defined]
            except GitexpError:
                self._configs[blob] = ProjectConfig()
        return self._configs[blob]

    def _files(self, tree: pygit2.Tree, paths: Iterable[str]) -> dict[str, object]:
        found: dict[str, object] = {}
        for path in paths:
            blob = self.git.blob_id(tree, path)
            if blob is None:
                continue
            key = (blob, path)
            if key not in self._docs:
                try:
                    self._docs[key] = load_mapping(self.repo[blob].data, path)  # type: ignore[attr-defined]
                except GitexpError:
                    self._docs[key] = None
            doc = self._docs[key]
            if doc is not None:
                found[path] = to_json_value(doc)
        return found

    def _data(self, tree: pygit2.Tree) -> dict[str, str]:
        """Every content-addressed path in the commit with its hash (see `pointers_at`)."""
        return {path: str(p.oid) for path, p in sorted(pointers_at(self.git, tree).items())}


def _commit_time(commit: pygit2.Commit) -> str:
    import datetime as dt

    moment = dt.datetime.fromtimestamp(commit.commit_time, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class SummaryIndex:
    """Summaries by commit id, kept in a file between commands."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, object]] = {}
        self.dirty = False
        with contextlib.suppress(FileNotFoundError, orjson.JSONDecodeError, OSError):
            doc = orjson.loads(path.read_bytes())
            if isinstance(doc, dict) and doc.get("version") == INDEX_VERSION:
                self.entries = doc.get("entries") or {}

    def save(self, keep: Iterable[str]) -> None:
        """Write the index back with only the commits in ``keep``, if anything changed."""
        keep = set(keep)
        if not self.dirty and keep >= set(self.entries):
            return
        entries = {c: e for c, e in self.entries.items() if c in keep}
        doc = {"version": INDEX_VERSION, "entries": entries}
        with contextlib.suppress(OSError):
            atomic_write(self.path, orjson.dumps(doc))


def experiments(git: GitRepo, index_path: Path | None) -> list[dict[str, object]]:
    """Every experiment as the JSON objects of ``show --json``, in ref-name order."""
    refs = list_refs(git, EXPERIMENT_REF_PREFIX)
    index = SummaryIndex(index_path) if index_path else None
    reader = Reader(git)
    rows: list[dict[str, object]] = []
    for ref, commit in refs.items():
        entry = index.entries.get(commit) if index else None
        if entry is None:
            entry = reader.summary(commit)
            if index:
                index.entries[commit] = entry
                index.dirty = True
        rows.append({"name": name_from_ref(ref), "ref": ref, **entry})
    if index:
        index.save(refs.values())
    return rows


@dataclass
class Row:
    """One experiment's JSON object, with its keys flattened on demand for lookups."""

    doc: dict[str, object]
    _flat: dict[str, dict[str, object]] = field(default_factory=dict)

    def flat(self, section: str) -> dict[str, dict[str, object]]:
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
    value = row.value(flt.key)
    return not is_missing(value) and flt.matches(value)


def _reachable(git: GitRepo, commit: str, tip: str) -> bool:
    try:
        return git.is_ancestor(commit, tip)
    except (KeyError, ValueError, pygit2.GitError):
        return False


def known_keys(rows: Iterable[dict[str, object]]) -> set[str]:
    """Every params and metrics key the rows have, plain and ``FILE:KEY``."""
    keys: set[str] = set(BUILTIN_KEYS)
    for doc in rows:
        row = Row(doc)
        for section in ("params", "metrics"):
            for file, values in row.flat(section).items():
                keys.update(values)
                keys.update(f"{file}:{k}" for k in values)
    return keys


def dumps_show(rows: Sequence[dict[str, object]]) -> bytes:
    """``show --json``: one object with the experiments in order."""
    return orjson.dumps({"experiments": list(rows)}, option=orjson.OPT_INDENT_2)
