"""Reading an experiment's summary (what ``show`` lists) from its commit.

The work for a commit is shared with its siblings: a params file, a config or a
pointer that many commits hold as the same blob is parsed once, and a subtree they
share is walked once. Status, start time and baseline come from the commit message's
trailers, so only the commit, its tree and the params and metrics blobs are read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import orjson
import pygit2

from gitexp.core.config import ProjectConfig
from gitexp.core.formats import load_mapping
from gitexp.core.pointer import pointer_path
from gitexp.core.runinfo import RUN_JSON, inherited_paths, parse_trailers
from gitexp.core.runinfo import VERSION as RUN_VERSION
from gitexp.data.pointers import pointers_at
from gitexp.errors import GitexpError
from gitexp.git.repo import GitRepo
from gitexp.project import config_at


class Reader:
    """Reads experiment summaries from commits, sharing work across commits."""

    def __init__(self, git: GitRepo) -> None:
        self.git = git
        self.repo = git.repo
        self._configs: dict[str, ProjectConfig] = {}
        self._docs: dict[tuple[str, str], dict[str, object] | None] = {}

    def summary(self, commit_id: str) -> dict[str, object]:
        """The show fields of one experiment commit (without name and ref)."""
        commit = self.repo.get(pygit2.Oid(hex=commit_id))
        assert isinstance(commit, pygit2.Commit)  # noqa: S101 - refs point at commits
        tree = commit.tree
        facts = parse_trailers(commit.message) or self._run_facts(tree)
        inherited = inherited_paths(facts.get("inherited"))
        config = self._config(tree)
        parents = commit.parent_ids
        return {
            "commit": commit_id,
            "baseline": facts.get("baseline") or (str(parents[0]) if parents else ""),
            "branch": facts.get("branch") or None,
            "created": facts.get("started") or _commit_time(commit),
            "status": facts.get("status") or "unknown",
            "params": self._files(tree, config.params),
            "metrics": self._files(tree, [m for m in config.metrics if m not in inherited]),
            "data": self._data(tree, inherited),
        }

    def params_at(self, commit_id: str) -> dict[str, object]:
        """The params files of any commit (a baseline, say), parsed, by path."""
        commit = self.git.lookup_commit(commit_id)
        return self._files(commit.tree, self._config(commit.tree).params)

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
        if found is None:
            return {}
        try:
            doc = orjson.loads(found[1])
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

    def _config(self, tree: pygit2.Tree) -> ProjectConfig:
        return config_at(self.git, tree, self._configs)

    def _files(self, tree: pygit2.Tree, paths: Iterable[str]) -> dict[str, object]:
        found: dict[str, object] = {}
        for path in paths:
            try:
                entry = tree[path]
            except KeyError:
                continue
            key = (str(entry.id), path)
            if key not in self._docs:
                try:
                    parsed = load_mapping(self.repo.odb.read(entry.id)[1], path)
                    self._docs[key] = orjson.loads(orjson.dumps(parsed))
                except (GitexpError, TypeError, orjson.JSONEncodeError):
                    self._docs[key] = None
            cached = self._docs[key]
            if cached is not None:
                found[path] = cached
        return found

    def _data(self, tree: pygit2.Tree, inherited: frozenset[str]) -> dict[str, str]:
        """Every content-addressed path in the commit with its hash (see `pointers_at`).

        An out the run did not write (its pointer inherited from the baseline) is left out.
        """
        return {
            path: str(p.oid)
            for path, p in sorted(pointers_at(self.git, tree).items())
            if pointer_path(path) not in inherited
        }


def inherited_in(commit: pygit2.Commit) -> frozenset[str]:
    """The result paths ``commit`` holds that its run did not write (see `RunRecord`).

    Read from the commit message's trailers, else from ``run.json``; a commit that is
    not an experiment has none.
    """
    facts = parse_trailers(commit.message)
    if facts is not None:
        return inherited_paths(facts.get("inherited"))
    try:
        blob = commit.tree / RUN_JSON
        doc = orjson.loads(blob.data) if isinstance(blob, pygit2.Blob) else None
    except (KeyError, orjson.JSONDecodeError):
        return frozenset()
    return inherited_paths(doc.get("inherited") if isinstance(doc, dict) else None)


def _commit_time(commit: pygit2.Commit) -> str:
    moment = dt.datetime.fromtimestamp(commit.commit_time, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
