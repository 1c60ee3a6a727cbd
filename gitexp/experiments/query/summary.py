"""Reading an experiment's summary (what ``show`` lists) from its commit.

The work for a commit is shared with its siblings: a params file, a config or a
pointer that many commits hold as the same blob is parsed once, and a subtree they
share is walked once. Status, start time and baseline come from the commit message's
trailers, so only the commit, its tree and the params and metrics blobs are read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import orjson

from gitexp.core.config import PROJECT_CONFIG, ProjectConfig, parse_project_config
from gitexp.core.formats import load_mapping
from gitexp.core.pointer import pointer_path
from gitexp.core.runinfo import LOGGED_PARAMS, RUN_JSON, inherited_paths, parse_trailers
from gitexp.core.runinfo import VERSION as RUN_VERSION
from gitexp.errors import FormatError, GitexpError
from gitexp.git.repo import GitRepo

if TYPE_CHECKING:  # loaded when a commit is read through it: the stream reader needs none
    import pygit2


class NotACommitError(FormatError):
    """An experiment ref that names a blob, tree or tag instead of a commit."""

    def __init__(self, oid: str, kind: str) -> None:
        super().__init__(f"object {oid} is a {kind}, not an experiment commit")
        self.oid, self.kind = oid, kind


class Reader:
    """Reads experiment summaries from commits, sharing work across commits."""

    def __init__(self, git: GitRepo) -> None:
        self.git = git
        self._configs: dict[pygit2.Oid, ProjectConfig] = {}
        self._docs: dict[tuple[pygit2.Oid, str], dict[str, object] | None] = {}

    @property
    def repo(self) -> pygit2.Repository:
        """The pygit2 repository, opened on first use (a warm ``show`` needs none)."""
        return self.git.repo

    def summary(self, commit_id: str) -> dict[str, object]:
        """The show fields of one experiment commit (without name and ref).

        The root tree is listed once; the config, params and metrics files at its top
        are found in that list (a missing one costs no failed lookup), and files
        shared with earlier commits are not parsed again.
        """
        import pygit2

        commit = self.repo[commit_id]
        if not isinstance(commit, pygit2.Commit):  # a ref set by hand, or a hostile one
            raise NotACommitError(commit_id, commit.type_str)
        tree = commit.tree
        top = {entry.name: entry for entry in tree}
        facts = parse_trailers(commit.message) or self._run_facts(tree)
        inherited = inherited_paths(facts.get("inherited"))
        config = self._config(top)
        files = (
            self._files(tree, top, [*config.params, LOGGED_PARAMS]),
            self._files(tree, top, metrics_paths(config, inherited)),
        )
        data = self._data(tree, inherited)
        return summary_fields(commit_id, facts, commit.parent_ids, commit.commit_time, files, data)

    def params_at(self, commit_id: str) -> dict[str, object]:
        """The params files of any commit (a baseline, say), parsed, by path."""
        tree = self.git.lookup_commit(commit_id).tree
        top = {entry.name: entry for entry in tree}
        return self._files(tree, top, self._config(top).params)

    def _blob(self, tree: pygit2.Tree, path: str) -> tuple[str, bytes] | None:
        """The id and bytes of the blob at ``path``, or None."""
        try:
            entry = tree[path]
        except KeyError:
            return None
        if entry.type_str != "blob":
            return None
        return str(entry.id), self.repo.odb.read(entry.id)[1]

    def _run_facts(self, tree: pygit2.Tree) -> dict[str, str]:
        """What show needs from ``run.json``, for commits without gitexp's trailers."""
        found = self._blob(tree, RUN_JSON)
        return run_facts(found[1]) if found is not None else {}

    def _config(self, top: dict[str | None, pygit2.Object]) -> ProjectConfig:
        """The commit's ``gitexp.yaml`` (see `config_at`), parsed once per blob."""
        entry = top.get(PROJECT_CONFIG)
        if entry is None or entry.type_str != "blob":
            return DEFAULTS
        config = self._configs.get(entry.id)
        if config is None:
            config = self._configs[entry.id] = parse_config(self.repo.odb.read(entry.id)[1])
        return config

    def _files(
        self, tree: pygit2.Tree, top: dict[str | None, pygit2.Object], paths: Iterable[str]
    ) -> dict[str, object]:
        found: dict[str, object] = {}
        for path in paths:
            entry = top.get(path) if "/" not in path else _entry(tree, path)
            if entry is None:
                continue
            key = (entry.id, path)
            if key not in self._docs:
                self._docs[key] = parse_file(self.repo.odb.read(entry.id)[1], path)
            cached = self._docs[key]
            if cached is not None:
                found[path] = cached
        return found

    def _data(self, tree: pygit2.Tree, inherited: frozenset[str]) -> dict[str, str]:
        """Every content-addressed path in the commit with its hash (see `pointers_at`).

        An out the run did not write (its pointer inherited from the baseline) is left out.
        """
        from gitexp.data.pointers import pointers_at

        return {
            path: str(p.oid)
            for path, p in sorted(pointers_at(self.git, tree).items())
            if pointer_path(path) not in inherited
        }


def run_facts(data: bytes) -> dict[str, str]:
    """What show needs from the bytes of ``run.json`` (empty when they do not parse)."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(doc, dict) or doc.get("version") != RUN_VERSION:
        return {}
    baseline = doc.get("baseline") or {}
    facts = {
        "status": doc.get("status"),
        "started": doc.get("started"),
        "baseline": baseline.get("commit"),
        "branch": baseline.get("branch"),
        "inherited": orjson.dumps(doc.get("inherited") or []).decode(),
    }
    return {k: str(v) for k, v in facts.items() if v}


DEFAULTS = ProjectConfig()
"""The config of a commit without ``gitexp.yaml`` (or with one that does not parse)."""


def parse_config(data: bytes) -> ProjectConfig:
    """A commit's ``gitexp.yaml`` from its bytes; the defaults when it does not parse."""
    try:
        return parse_project_config(data, PROJECT_CONFIG)
    except GitexpError:
        return DEFAULTS


def parse_file(data: bytes, path: str) -> dict[str, object] | None:
    """A params or metrics file as ``show --json`` gives it; None when it does not parse.

    Values are JSON values whatever the format (a YAML date becomes its string).
    """
    try:
        parsed = load_mapping(data, path)
        if not path.endswith(".json"):  # JSON parses to JSON values already
            parsed = orjson.loads(orjson.dumps(parsed))
    except (GitexpError, TypeError, orjson.JSONEncodeError):
        return None
    return parsed


def summary_fields(
    commit_id: str,
    facts: dict[str, str],
    parents: Sequence[object],
    commit_time: int,
    files: tuple[dict[str, object], dict[str, object]],
    data: dict[str, str],
) -> dict[str, object]:
    """The show fields of one commit, in their designed order, from what was read."""
    return {
        "commit": commit_id,
        "baseline": facts.get("baseline") or (str(parents[0]) if parents else ""),
        "branch": facts.get("branch") or None,
        "created": facts.get("started") or iso_seconds(commit_time),
        "status": facts.get("status") or "unknown",
        "params": files[0],
        "metrics": files[1],
        "data": data,
    }


def metrics_paths(config: ProjectConfig, inherited: frozenset[str]) -> Sequence[str]:
    """The metrics files a commit's run wrote: those it inherited are not its own."""
    return [m for m in config.metrics if m not in inherited] if inherited else config.metrics


def _entry(tree: pygit2.Tree, path: str) -> pygit2.Object | None:
    try:
        return tree[path]
    except KeyError:
        return None


def inherited_in(commit: pygit2.Commit) -> frozenset[str]:
    """The result paths ``commit`` holds that its run did not write (see `RunRecord`).

    Read from the commit message's trailers, else from ``run.json``; a commit that is
    not an experiment has none.
    """
    import pygit2

    facts = parse_trailers(commit.message)
    if facts is not None:
        return inherited_paths(facts.get("inherited"))
    try:
        blob = commit.tree / RUN_JSON
        doc = orjson.loads(blob.data) if isinstance(blob, pygit2.Blob) else None
    except (KeyError, orjson.JSONDecodeError):
        return frozenset()
    return inherited_paths(doc.get("inherited") if isinstance(doc, dict) else None)


def iso_seconds(seconds: int) -> str:
    """A commit time as ``show`` writes it: ISO 8601 in UTC, to the second, with ``Z``."""
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
