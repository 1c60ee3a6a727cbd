"""Many experiments' summaries at once, read as a few streams of raw git objects.

The first ``show`` in a fresh clone reads every experiment commit. `summary.Reader`
reads one commit at a time through libgit2; here each round is one
``git cat-file --batch`` (`plumbing.read_objects_in_order`) for every commit at once: the
commits, then their root trees, then the configs with each run's ``.gitexp/``
folder (for the params a run logged), then the blobs and any data folders' subtrees
they need. Objects are asked for by id, the cheapest request for git; files named
deeper by a config are found by git itself (`plumbing.resolve_paths`). What is
shared (a config, a params file, a data folder's subtree) is read and parsed once.
The result is `Reader.summary`'s, commit by commit (tests hold them equal).
"""

from __future__ import annotations

import re
from binascii import unhexlify
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from gitexp.core.config import PROJECT_CONFIG, ProjectConfig
from gitexp.core.pointer import SUFFIX, Pointer, parse_pointer, unsafe_reason
from gitexp.core.runinfo import LOGGED_PARAMS, RUN_DIR, RUN_JSON, inherited_paths, parse_trailers
from gitexp.errors import GitexpError
from gitexp.experiments.query.summary import (
    DEFAULTS,
    metrics_paths,
    parse_config,
    parse_file,
    run_facts,
    summary_fields,
)
from gitexp.git.plumbing import read_objects_in_order, resolve_paths
from gitexp.git.rawobjects import GITLINK_MODE, TREE_MODE, Tree, parse_commit, parse_tree
from gitexp.git.repo import GitRepo

_SUFFIX = SUFFIX.encode()
_RUN_DIR = RUN_DIR.encode()
_CONFIG = PROJECT_CONFIG.encode()
_TRAILERS = b"\n\nGitexp-Status: "
_NO_TREE: Tree = {}
_NONE: frozenset[str] = frozenset()
_NOTHING = (b"", b"")
_NO_POINTERS: dict[str, Pointer] = {}
_FOLDER, _, _LOGGED_FILE = LOGGED_PARAMS.partition("/")
assert _FOLDER == RUN_DIR  # noqa: S101 - the logged params live in the run folder
_LOGGED_NAME = _LOGGED_FILE.encode()
_LOGGED_ENTRY = b" " + _LOGGED_NAME + b"\0"
"""How the logged params' entry shows in a raw tree: after its mode, before its id."""

Oid = bytes
"""An object id as trees hold it: 20 raw bytes (hex only to talk to git)."""


class _Plan(NamedTuple):
    """The files a config names, each with its name in a root tree (None: deeper)."""

    config: ProjectConfig
    files: tuple[tuple[str, bytes | None], ...]
    run_json: tuple[tuple[str, bytes | None], ...]
    params: tuple[str, ...]
    """The params files, the run's logged params last."""


class _Found(NamedTuple):
    """What one commit needs, found in its root tree."""

    tree: Oid
    top: Tree
    plan: _Plan
    facts: dict[str, str] | None
    blobs: dict[str, Oid]


class StreamReader:
    """Reads the summaries of many commits in a few ``git cat-file`` streams."""

    def __init__(self, git: GitRepo) -> None:
        self.git = git
        self._trees: dict[Oid, Tree] = {}
        self._blobs: dict[Oid, bytes] = {}
        self._docs: dict[tuple[Oid, str], dict[str, object] | None] = {}
        self._plans: dict[Oid | None, _Plan] = {}
        self._pointers: dict[Oid, dict[str, Pointer]] = {}
        self._parsed_pointers: dict[Oid, Pointer | None] = {}
        self._safe: dict[str, bool] = {}

    def summaries(self, commit_ids: Sequence[str]) -> dict[str, dict[str, object]]:
        """The show fields of each of ``commit_ids`` that is a commit, by id.

        Each is what `Reader.summary` gives for it. Raises `GitexpError` when git fails.
        """
        ids = list(dict.fromkeys(commit_ids))
        commits = {
            oid: found[1]
            for oid, found in zip(ids, read_objects_in_order(self.git.root, ids), strict=True)
            if found is not None and found[0] == b"commit"
        }
        trees = {oid: unhexlify(body[5 : body.index(b"\n")]) for oid, body in commits.items()}
        self._load(set(trees.values()))
        roots = {oid: self._trees.get(t, _NO_TREE) for oid, t in trees.items()}
        logged = self._logged_and_configs(roots)
        found = {
            oid: self._find(trees[oid], roots[oid], body, logged.get(oid))
            for oid, body in commits.items()
        }
        self._resolve_deep(found.values())
        below, pointers, bare = _scan(roots)
        walked = self._walk(below)
        self._load(
            [blob for f in found.values() for blob in f.blobs.values()]
            + pointers
            + _pointer_blobs(walked)
        )
        return {oid: self._summary(oid, commits[oid], f, oid in bare) for oid, f in found.items()}

    def _logged_and_configs(self, roots: dict[str, Tree]) -> dict[str, Oid]:
        """Read the configs, and find the params each run logged: its blob id, by commit.

        One stream reads every config blob and every root's run folder (``.gitexp/``,
        a tree of its own per run); a folder is parsed only if it names the file.
        """
        folders = {oid: _tree_id(top, _RUN_DIR) for oid, top in roots.items()}
        configs = (_blob_id(top, _CONFIG) for top in roots.values())
        wanted = {o for o in configs if o is not None and o not in self._blobs}
        raw = self._read(wanted | {f for f in folders.values() if f is not None})
        for oid in wanted:
            kind, body = raw.get(oid, _NOTHING)
            if kind == b"blob":
                self._blobs[oid] = body
        logged: dict[str, Oid] = {}
        for commit, folder in folders.items():
            kind, body = raw.get(folder, _NOTHING) if folder is not None else _NOTHING
            if kind == b"tree" and _LOGGED_ENTRY in body:
                entry = parse_tree(body).get(_LOGGED_NAME)
                if entry is not None and entry[0] != TREE_MODE and entry[0] != GITLINK_MODE:
                    logged[commit] = entry[2]
        return logged

    def _find(self, tree: Oid, top: Tree, commit: bytes, logged: Oid | None) -> _Found:
        """The plan, trailers and blob ids of one commit (deeper files as requests).

        ``logged`` is the blob of `LOGGED_PARAMS` in the commit, if it has one.
        """
        plan = self._plan(top)
        facts = _trailers(commit)
        blobs: dict[str, Oid] = {}
        deep: dict[str, Oid] = {}
        for path, name in plan.files if facts is not None else plan.run_json:
            if path == LOGGED_PARAMS:
                if logged is not None:
                    blobs[path] = logged
            elif name is None:
                deep[path] = f"{tree.hex()}:{path}".encode()
            else:
                entry = top.get(name)
                if entry is not None and entry[0] != TREE_MODE and entry[0] != GITLINK_MODE:
                    blobs[path] = entry[2]
        if deep:
            blobs.update(deep)  # requests: `_resolve_deep` puts ids in their place
        return _Found(tree, top, plan, facts, blobs)

    def _plan(self, top: Tree) -> _Plan:
        config_blob = _blob_id(top, _CONFIG)
        key = config_blob if config_blob in self._blobs else None
        plan = self._plans.get(key)
        if plan is None:
            config = parse_config(self._blobs[key]) if key is not None else DEFAULTS
            paths = dict.fromkeys([*config.params, LOGGED_PARAMS, *config.metrics])
            files = tuple((p, None if "/" in p else p.encode()) for p in paths)
            params = (*config.params, LOGGED_PARAMS)
            plan = self._plans[key] = _Plan(config, files, (*files, (RUN_JSON, None)), params)
        return plan

    def _summary(self, oid: str, commit: bytes, found: _Found, bare: bool) -> dict[str, object]:
        """``bare``: the root tree holds no folder but ``.gitexp/`` and no pointer."""
        facts = found.facts
        if facts is None:
            run = self._blobs.get(found.blobs.get(RUN_JSON, b""))
            facts = run_facts(run) if run is not None else {}
        listed = facts.get("inherited")
        inherited = inherited_paths(listed) if listed else _NONE
        config = found.plan.config
        files = (
            self._files(found.blobs, found.plan.params),
            self._files(found.blobs, metrics_paths(config, inherited)),
        )
        pointers = _NO_POINTERS if bare else self._root_pointers(found.top)
        data = (
            {
                path: str(p.oid)
                for path, p in sorted(pointers.items())
                if not inherited or path + SUFFIX not in inherited
            }
            if pointers
            else {}
        )
        parents: tuple[str, ...] = ()
        when = 0
        if not (facts.get("baseline") and facts.get("started")):
            raw = parse_commit(commit)
            parents, when = raw.parents, raw.commit_time
        return summary_fields(oid, facts, parents, when, files, data)

    def _read(self, oids: Iterable[Oid]) -> dict[Oid, tuple[bytes, bytes]]:
        """The type and bytes of each of ``oids`` that names an object."""
        wanted = list(oids)
        answers = read_objects_in_order(self.git.root, [o.hex() for o in wanted])
        return {o: found for o, found in zip(wanted, answers, strict=True) if found is not None}

    def _load(self, oids: Iterable[Oid | None]) -> None:
        """Read the trees and blobs ``oids`` names that are not read yet."""
        wanted = {
            o for o in oids if o is not None and o not in self._blobs and o not in self._trees
        }
        for oid, (kind, body) in self._read(wanted).items():
            if kind == b"tree":
                self._trees[oid] = parse_tree(body)
            elif kind == b"blob":
                self._blobs[oid] = body

    def _resolve_deep(self, found: Iterable[_Found]) -> None:
        """Turn each ``TREE:PATH`` request of `_find` into its blob id, or drop it."""
        found = list(found)
        asked = [b.decode() for f in found for b in f.blobs.values() if len(b) != 20]
        if not asked:
            return
        answers = resolve_paths(self.git.root, asked)
        for f in found:
            for path, blob in list(f.blobs.items()):
                if len(blob) != 20:
                    answer = answers.get(blob.decode())
                    if answer is not None and answer[1] == "blob":
                        f.blobs[path] = bytes.fromhex(answer[0])
                    else:
                        del f.blobs[path]

    def _walk(self, level: set[Oid]) -> list[Tree]:
        """Read every tree under the folders ``level`` names, a level at a time (pointers)."""
        seen = set(level)
        walked: list[Tree] = []
        while level:
            self._load(level)
            below: set[Oid] = set()
            for oid in level:
                tree = self._trees.get(oid)
                if tree is not None:
                    walked.append(tree)
                    below.update(e[2] for e in tree.values() if e[0] == TREE_MODE)
            level = below - seen
            seen |= level
        return walked

    def _files(self, blobs: dict[str, Oid], paths: Iterable[str]) -> dict[str, object]:
        found: dict[str, object] = {}
        for path in paths:
            blob = blobs.get(path)
            if blob is None or blob not in self._blobs:
                continue
            key = (blob, path)
            if key not in self._docs:
                self._docs[key] = parse_file(self._blobs[blob], path)
            parsed = self._docs[key]
            if parsed is not None:
                found[path] = parsed
        return found

    def _root_pointers(self, top: Tree) -> dict[str, Pointer]:
        """Every valid pointer under a root tree, ``.gitexp/`` skipped (see `pointers_at`)."""
        found = self._under(top, skip=_RUN_DIR)
        if not found:
            return found
        return {path: pointer for path, pointer in found.items() if self._is_safe(path)}

    def _under(self, tree: Tree, skip: bytes | None = None) -> dict[str, Pointer]:
        found: dict[str, Pointer] = {}
        for name, entry in tree.items():
            if entry[0] == TREE_MODE:
                if name == skip:
                    continue
                inner = self._subtree(entry[2])
                if inner:
                    prefix = name.decode("utf-8", "replace")
                    found.update((f"{prefix}/{path}", p) for path, p in inner.items())
            elif name.endswith(_SUFFIX) and name != _SUFFIX and entry[0] != GITLINK_MODE:
                text = name.decode("utf-8", "replace")
                parsed = self._pointer(entry[2], text)
                if parsed is not None:
                    found[text[: -len(SUFFIX)]] = parsed
        return found

    def _subtree(self, oid: Oid) -> dict[str, Pointer]:
        cached = self._pointers.get(oid)
        if cached is None:
            tree = self._trees.get(oid)
            cached = self._pointers[oid] = self._under(tree) if tree is not None else {}
        return cached

    def _pointer(self, blob: Oid, name: str) -> Pointer | None:
        if blob not in self._parsed_pointers:
            data = self._blobs.get(blob)
            try:
                parsed = parse_pointer(data, name) if data is not None else None
            except GitexpError:
                parsed = None
            self._parsed_pointers[blob] = parsed
        return self._parsed_pointers[blob]

    def _is_safe(self, path: str) -> bool:
        safe = self._safe.get(path)
        if safe is None:
            safe = self._safe[path] = unsafe_reason(path) is None
        return safe


def _trailers(commit: bytes) -> dict[str, str] | None:
    """`parse_trailers` of the message, decoding only its trailers (see `trailers`).

    The trailers as gitexp writes them (plain ASCII values, in its order, at the end)
    are read by one match; anything else goes through `parse_trailers` itself.
    """
    at = commit.rfind(_TRAILERS)
    if at < 0 or at <= commit.find(b"\n\n"):  # none, or at the top of the message
        return None
    match = _AS_WRITTEN.match(commit, at)
    if match is None:
        return parse_trailers(commit[at:].decode("utf-8", "replace"))
    status, started, baseline, branch, inherited = match.groups()
    facts = {
        "status": status.decode().strip(),
        "started": started.decode().strip(),
        "baseline": baseline.decode().strip(),
        "branch": branch.decode().strip(),
    }
    if inherited is not None:
        facts["inherited"] = inherited.decode().strip()
    return facts


_AS_WRITTEN = re.compile(
    rb"\n\nGitexp-Status: ([ -~]*)\nGitexp-Started: ([ -~]*)\nGitexp-Baseline: ([ -~]*)"
    rb"\nGitexp-Branch: ([ -~]*)\n(?:Gitexp-Inherited: ([ -~]*)\n)?\Z"
)
"""The trailers `trailers` writes, ending the message, with printable ASCII values."""


def _scan(roots: dict[str, Tree]) -> tuple[set[Oid], list[Oid], set[str]]:
    """What the root trees hold besides their files, in one pass over their entries.

    The folders at their tops but ``.gitexp/`` (to walk for pointers), the pointer
    files there, and the commits whose root holds neither (bare: no pointer to look for).
    """
    folders: set[Oid] = set()
    pointers: list[Oid] = []
    bare: set[str] = set()
    seen: dict[int, bool] = {}  # commits that share a tree share what it holds
    for commit, top in roots.items():
        plain = seen.get(id(top))
        if plain is None:
            plain = True
            for name, entry in top.items():
                if entry[0] == TREE_MODE:
                    if name != _RUN_DIR:
                        folders.add(entry[2])
                        plain = False
                elif name.endswith(_SUFFIX) and name != _SUFFIX:
                    pointers.append(entry[2])
                    plain = False
            seen[id(top)] = plain
        if plain:
            bare.add(commit)
    return folders, pointers, bare


def _pointer_blobs(trees: Iterable[Tree]) -> list[Oid]:
    """Every pointer file's blob in ``trees``."""
    return [
        e[2]
        for tree in trees
        for name, e in tree.items()
        if name.endswith(_SUFFIX) and name != _SUFFIX and e[0] != TREE_MODE
    ]


def _tree_id(top: Tree, name: bytes) -> Oid | None:
    entry = top.get(name)
    return entry[2] if entry is not None and entry[0] == TREE_MODE else None


def _blob_id(top: Tree, name: bytes) -> Oid | None:
    entry = top.get(name)
    return (
        entry[2]
        if entry is not None and entry[0] != TREE_MODE and entry[0] != GITLINK_MODE
        else None
    )
