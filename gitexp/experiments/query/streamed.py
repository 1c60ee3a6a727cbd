"""Many experiments' summaries at once, read as a few streams of raw git objects.

The first ``show`` in a fresh clone reads every experiment commit. `summary.Reader`
reads one commit at a time through libgit2; here all commits are read by one
``git cat-file --batch``, then all their root trees, then the blobs and the
subtrees they need (`plumbing.read_objects`); files deeper than the root (the
params a run logged, in ``.gitexp/``) are found by git itself
(`plumbing.resolve_paths`), so their trees are never parsed here. A handful of git
processes in all, which decompress on a core of their own while Python parses.
What is shared (a config, a params file, a data folder's subtree) is read and
parsed once. The result is `Reader.summary`'s, commit by commit (tests hold them
equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
from gitexp.git.plumbing import read_objects, resolve_paths
from gitexp.git.rawobjects import RawCommit, Tree, is_blob, is_tree, parse_commit, parse_tree
from gitexp.git.repo import GitRepo

_SUFFIX = SUFFIX.encode()
_RUN_DIR = RUN_DIR.encode()
_CONFIG = PROJECT_CONFIG.encode()


class StreamReader:
    """Reads the summaries of many commits in a few ``git cat-file`` streams."""

    def __init__(self, git: GitRepo) -> None:
        self.git = git
        self._trees: dict[str, Tree] = {}
        self._blobs: dict[str, bytes] = {}
        self._docs: dict[tuple[str, str], dict[str, object] | None] = {}
        self._configs: dict[str, ProjectConfig] = {}
        self._pointers: dict[str, dict[str, Pointer]] = {}
        self._parsed_pointers: dict[str, Pointer | None] = {}
        self._safe: dict[str, bool] = {}

    def summaries(self, commit_ids: Sequence[str]) -> dict[str, dict[str, object]]:
        """The show fields of each of ``commit_ids`` that is a commit, by id.

        Each is what `Reader.summary` gives for it. Raises `GitexpError` when git fails.
        """
        commits = {
            oid: parse_commit(body)
            for oid, (kind, body) in self._read(commit_ids).items()
            if kind == "commit"
        }
        self._load_trees(c.tree for c in commits.values())
        roots = {oid: self._trees.get(c.tree, {}) for oid, c in commits.items()}
        self._load_blobs(_blob_id(top, _CONFIG) for top in roots.values())
        configs = {oid: self._config(top) for oid, top in roots.items()}
        facts = {oid: parse_trailers(c.message) for oid, c in commits.items()}
        files = {
            oid: self._locate(
                commit.tree,
                roots[oid],
                [*configs[oid].params, LOGGED_PARAMS, *configs[oid].metrics]
                + ([RUN_JSON] if facts[oid] is None else []),
            )
            for oid, commit in commits.items()
        }
        self._resolve_deep(files)
        walked = self._walk(list(roots.values()))
        self._load_blobs(
            [blob for found in files.values() for blob in found.values()]
            + self._pointer_blobs([*roots.values(), *walked])
        )
        return {
            oid: self._summary(oid, commit, facts[oid], configs[oid], files[oid], roots[oid])
            for oid, commit in commits.items()
        }

    def _summary(
        self,
        oid: str,
        commit: RawCommit,
        trailers: dict[str, str] | None,
        config: ProjectConfig,
        blobs: dict[str, str],
        top: Tree,
    ) -> dict[str, object]:
        facts = trailers
        if facts is None:
            run = self._blobs.get(blobs.get(RUN_JSON, ""))
            facts = run_facts(run) if run is not None else {}
        inherited = inherited_paths(facts.get("inherited"))
        files = (
            self._files(blobs, [*config.params, LOGGED_PARAMS]),
            self._files(blobs, metrics_paths(config, inherited)),
        )
        pointers = self._root_pointers(top)
        data = {
            path: str(p.oid)
            for path, p in sorted(pointers.items())
            if not inherited or path + SUFFIX not in inherited
        }
        return summary_fields(oid, facts, commit.parents, commit.commit_time, files, data)

    def _read(self, oids: Iterable[str]) -> dict[str, tuple[str, bytes]]:
        return read_objects(self.git.root, oids)

    def _load_trees(self, oids: Iterable[str]) -> None:
        for oid, (kind, body) in self._read(o for o in oids if o not in self._trees).items():
            if kind == "tree":
                self._trees[oid] = parse_tree(body)

    def _load_blobs(self, oids: Iterable[str | None]) -> None:
        wanted = (o for o in oids if o is not None and o not in self._blobs)
        for oid, (kind, body) in self._read(wanted).items():
            if kind == "blob":
                self._blobs[oid] = body

    def _config(self, top: Tree) -> ProjectConfig:
        blob = _blob_id(top, _CONFIG)
        if blob is None or blob not in self._blobs:
            return DEFAULTS
        config = self._configs.get(blob)
        if config is None:
            config = self._configs[blob] = parse_config(self._blobs[blob])
        return config

    def _locate(self, tree: str, top: Tree, paths: Iterable[str]) -> dict[str, str]:
        """The blob id of each of ``paths`` in the commit; deeper ones are asked of git later.

        A deeper path is kept as a request (``TREE:PATH``) that `_resolve_deep` turns
        into its blob id.
        """
        found: dict[str, str] = {}
        for path in paths:
            if "/" in path:
                found[path] = f"{tree}:{path}"
                continue
            blob = _blob_id(top, path.encode())
            if blob is not None:
                found[path] = blob
        return found

    def _resolve_deep(self, files: dict[str, dict[str, str]]) -> None:
        """Turn each ``TREE:PATH`` request of `_locate` into its blob id, or drop it."""
        asked = [blob for found in files.values() for blob in found.values() if ":" in blob]
        if not asked:
            return
        answers = resolve_paths(self.git.root, asked)
        for found in files.values():
            for path, blob in list(found.items()):
                if ":" in blob:
                    answer = answers.get(blob)
                    if answer is not None and answer[1] == "blob":
                        found[path] = answer[0]
                    else:
                        del found[path]

    def _walk(self, roots: Sequence[Tree]) -> list[Tree]:
        """Read every tree under the roots but ``.gitexp/``, a level at a time (pointers)."""
        level = {
            e[2].hex() for top in roots for e in top.values() if is_tree(e) and e[1] != _RUN_DIR
        }
        seen = set(level)
        walked: list[Tree] = []
        while level:
            self._load_trees(level)
            below: set[str] = set()
            for oid in level:
                tree = self._trees.get(oid)
                if tree is not None:
                    walked.append(tree)
                    below.update(e[2].hex() for e in tree.values() if is_tree(e))
            level = below - seen
            seen |= level
        return walked

    def _files(self, blobs: dict[str, str], paths: Iterable[str]) -> dict[str, object]:
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

    def _pointer_blobs(self, trees: Iterable[Tree]) -> list[str]:
        """Every pointer file's blob in ``trees``, not parsed yet."""
        return [
            e[2].hex()
            for tree in trees
            for name, e in tree.items()
            if name.endswith(_SUFFIX) and name != _SUFFIX and is_blob(e)
        ]

    def _root_pointers(self, top: Tree) -> dict[str, Pointer]:
        """Every valid pointer under a root tree, ``.gitexp/`` skipped (see `pointers_at`)."""
        return {
            path: pointer
            for path, pointer in self._under(top, skip=_RUN_DIR).items()
            if self._is_safe(path)
        }

    def _under(self, tree: Tree, skip: bytes | None = None) -> dict[str, Pointer]:
        found: dict[str, Pointer] = {}
        for name, entry in tree.items():
            if is_tree(entry):
                if name == skip:
                    continue
                inner = self._subtree(entry[2].hex())
                if inner:
                    prefix = name.decode("utf-8", "replace")
                    found.update((f"{prefix}/{path}", p) for path, p in inner.items())
            elif name.endswith(_SUFFIX) and name != _SUFFIX and is_blob(entry):
                text = name.decode("utf-8", "replace")
                parsed = self._pointer(entry[2].hex(), text)
                if parsed is not None:
                    found[text[: -len(SUFFIX)]] = parsed
        return found

    def _subtree(self, oid: str) -> dict[str, Pointer]:
        cached = self._pointers.get(oid)
        if cached is None:
            tree = self._trees.get(oid)
            cached = self._pointers[oid] = self._under(tree) if tree is not None else {}
        return cached

    def _pointer(self, blob: str, name: str) -> Pointer | None:
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


def _blob_id(top: Tree, name: bytes) -> str | None:
    entry = top.get(name)
    return entry[2].hex() if entry is not None and is_blob(entry) else None
