"""The live UI's recorded experiments, read once per commit and kept while it runs.

`gitexp.experiments.query.live.LiveSource` reads every experiment again whenever one
is added, moved or removed: at 10,000 experiments that is seconds for one new run.
`CachedSource` answers the same questions but keeps, per experiment commit (a commit
never changes), what the page shows of it: its ``show`` fields, its params and metrics
flattened and how many params differ from its baseline. A change reads only the
commits not seen before; the rest is put together from what is kept, in one pass.

The code files and images of an experiment are read only when a page compares it
(`CachedSource.details`, for the experiments ticked), and kept then: reading them for
every experiment costs three git objects per commit, about 2 s of CPU at 10,000, which
neither the table nor a new run should wait for.

Column labels depend on the whole set, so they are worked out again on each change
from the kept parts (cheap: no git reads). Tags and notes change without their commit
changing, so they are never kept.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pygit2

from gitexp.core.config import PROJECT_CONFIG
from gitexp.core.heap import kept_objects
from gitexp.core.media import MEDIA_FILE, MediaEntry, parse_media
from gitexp.core.names import EXPERIMENT_REF_PREFIX, name_from_ref
from gitexp.errors import GitexpError
from gitexp.experiments import tagindex, tags
from gitexp.experiments.query import overview as overview_mod
from gitexp.experiments.query import select as query
from gitexp.experiments.query.live import IMAGE_URL, LiveSource, Stamp, refs_seen
from gitexp.experiments.query.summary import Reader
from gitexp.git.refs import list_refs, ref_may_exist
from gitexp.project import Project

Doc = dict[str, object]
Flat = dict[tuple[str, str], object]
READ_ALONE = 8
"""Fewer unseen commits than this are read one by one, more through the summary index."""
_ABSENT = object()
_NOT_SUMMARY = frozenset({"name", "ref", "tags", "note"})
"""What a ``show --json`` object holds beyond its commit's fields (they change, it does not)."""
_SAME: dict[str, str | None] = {}
"""The changes of a commit whose code is the reference's (one mapping, never written)."""
TEXT_LIMIT = overview_mod.TEXT_LIMIT
TEXT_BUDGET = overview_mod.TEXT_BUDGET


@dataclass(slots=True)
class Kept:
    """What the page shows of one experiment commit, read once."""

    summary: Doc
    params: Flat
    metrics: Flat
    changes: dict[str, str | None] | None = None
    """Code path → blob id (None: deleted) where the commit differs from the reference
    (None: not compared yet)."""
    images: list[MediaEntry] = field(default_factory=list)
    media_read: bool = False
    """Whether ``images`` was read (they do not depend on the reference)."""
    changed: int | None = None
    """How many params differ from its baseline's (None: not worked out yet)."""
    labelled: tuple[int, dict[str, object], dict[str, object]] | None = None
    """Its params and metrics by column label, and the labels' generation they follow."""


class CachedSource(LiveSource):
    """`LiveSource` whose recorded experiments are read once per commit.

    `recorded` (the watcher's thread) and `details` (a page's request) may run at
    once; one lock keeps what is kept consistent between them.
    """

    def __init__(self, project: Project) -> None:
        super().__init__(project)
        self._kept: dict[str, Kept] = {}
        self._reference: pygit2.Tree | None = None
        self._reference_commit = ""
        self._excluded: dict[str, tuple[set[str], tuple[str, ...]]] = {}
        self._texts: dict[str, tuple[str | None, int]] = {}
        self._diffs: dict[tuple[tuple[str, str], ...], dict[str, str | None]] = {}
        self._baselines: dict[str, Flat] = {}
        self._labelled: tuple[dict[tuple[str, str], str], ...] = ({}, {})
        self._generation = 0
        self._lock = threading.RLock()
        self._stamp: tuple[tuple[str, ...] | None, Stamp] = (None, ())
        self._listed: query.Listing | None = None
        self._ahead: Callable[[], query.Listing] | None = None

    def read_ahead(self) -> None:
        """Begin the first listing now (`query.listing_ahead`): call it on the only thread.

        In a fresh clone its readers are forked at once and read while the web server
        loads; the first `recorded_stamp` takes their listing.
        """
        if self._stamp[0] is None and self._ahead is None:
            self._ahead = query.listing_ahead(self.project)

    def recorded_stamp(self) -> Stamp:
        """Changes whenever an experiment ref is made, moved or removed.

        As `LiveSource.recorded_stamp` (the refs, listed again only when
        ``packed-refs`` or the loose refs' folder changed), but before anything is
        read the refs come from the summary index's own listing
        (`query.project_listing`), which `experiments` then reads: the first look
        lists the refs once, not twice (a ``git for-each-ref`` of 10,000 loose refs
        waits 0.15-0.4 s on a busy machine).
        """
        common = self.project.git.common_dir
        seen = refs_seen(common)
        if self._stamp[0] is None:  # the first call
            ahead, self._ahead = self._ahead, None
            self._listed = ahead() if ahead is not None else query.project_listing(self.project)
            self._stamp = (seen, tuple(self._listed.refs.items()))
        elif seen != self._stamp[0]:
            refs = list_refs(self.project.git, EXPERIMENT_REF_PREFIX)
            self._stamp = (seen, tuple(refs.items()))
        return self._stamp[1]

    def experiments(self) -> list[Doc]:
        """Every recorded experiment as a ``show --json`` object, new commits read alone.

        The first call goes through the summary index (the listing `recorded_stamp`
        began), as do later ones with many unseen commits (a pull); otherwise the
        refs of `recorded_stamp` are taken and only the unseen commits read, each alone.
        """
        refs = self.recorded_stamp()
        listed, self._listed = self._listed, None
        if listed is not None:
            rows = listed.docs()
            listed.save()
            self._keep_summaries(rows)
            return rows
        unseen = sum(1 for _ref, commit in refs if commit not in self._kept)
        if not self._kept or unseen >= READ_ALONE:
            rows = query.project_experiments(self.project)
            self._keep_summaries(rows)
            return rows
        git = self.project.git
        reader = Reader(git)
        rows = []
        for ref, commit in refs:
            kept = self._kept.get(commit)
            summary = kept.summary if kept is not None else reader.summary(commit)
            rows.append({"name": name_from_ref(ref), "ref": ref, **summary})
        self._keep_summaries(rows)
        if ref_may_exist(git, tags.NOTES_REF):
            index = self.project.layout.index / tagindex.FILE_NAME
            tags.attach(rows, tags.tags_by_commit(git, index))
        return rows

    def recorded(self) -> overview_mod.Overview:
        """Every recorded experiment as the report shows it, unseen commits read alone.

        Newest first, as `query.select` orders them. No code files and no images: a
        page asks for those of the experiments it compares (`details`).
        """
        with self._lock, kept_objects():  # what is made here lives on in `_kept`
            rows = self.experiments()
            rows.sort(key=lambda r: (str(r.get("created") or ""), str(r["name"])), reverse=True)
            live = {str(row["commit"]) for row in rows}
            for commit in [c for c in self._kept if c not in live]:
                del self._kept[commit]  # removed: read again if it comes back
            if rows and self._reference_commit not in live:
                self._reset_reference(str(rows[0]["commit"]))
            kept = [self._complete(row) for row in rows]
            return self._assemble(rows, kept)

    def details(self, commits: Mapping[str, str]) -> dict[str, object]:
        """The code files and images of the recorded experiments ``commits`` (name → commit).

        In the page data's own form, for just these experiments: ``paths`` (where any
        of them differs from the newest experiment's code), ``blobs`` (each file's
        text, None when binary or too large), ``files`` (name → blob index per path,
        -1: absent), ``images`` (their addresses) and ``frames`` (name → image key →
        ``[step, image index]`` in the order logged). What is read is kept, and the
        images listed become servable (`image`). A commit not recorded (any more) is
        left out.
        """
        with self._lock:
            found = {name: self._kept[c] for name, c in commits.items() if c in self._kept}
            for commit in {c for c in commits.values() if c in self._kept}:
                self._read_details(commit, self._kept[commit])
            changes = [k.changes or _SAME for k in found.values()]
            paths = list(dict.fromkeys(p for change in changes for p in change))
            base = {p: self._base_blob(p) for p in paths}
            blob_index: dict[str, int] = {}
            files: dict[str, list[int]] = {}
            for name, change in zip(found, changes, strict=True):
                blobs = [change[p] if p in change else base[p] for p in paths]
                files[name] = [
                    -1 if b is None else blob_index.setdefault(b, len(blob_index)) for b in blobs
                ]
            image_index: dict[str, int] = {}
            frames: dict[str, dict[str, list[tuple[float | None, int]]]] = {}
            for name, kept in found.items():
                frames[name] = {}
                for entry in kept.images:
                    digest = entry.oid.hex
                    self._images.setdefault(digest, entry)
                    at = image_index.setdefault(digest, len(image_index))
                    frames[name].setdefault(entry.key, []).append((entry.step, at))
            return {
                "paths": paths,
                "blobs": self._blob_texts(blob_index),
                "files": files,
                "images": [IMAGE_URL + digest for digest in image_index],
                "frames": frames,
            }

    def _keep_summaries(self, rows: Sequence[Doc]) -> None:
        kept = self._kept
        for row in rows:
            commit = str(row["commit"])
            if commit not in kept:
                summary = dict(row)
                for key in _NOT_SUMMARY.intersection(summary):
                    del summary[key]
                kept[commit] = Kept(summary, _flat(row, "params"), _flat(row, "metrics"))

    def _reset_reference(self, commit: str) -> None:
        """Diff every kept commit again, against ``commit``'s tree."""
        self._reference_commit = commit
        self._diffs.clear()
        self._reference = self.project.git.lookup_commit(commit).tree
        for kept in self._kept.values():
            kept.changes = None

    def _complete(self, row: Doc) -> Kept:
        """The kept parts of ``row``'s commit, its params changed worked out if missing."""
        kept = self._kept[str(row["commit"])]
        if kept.changed is None:
            kept.changed = self._changed_params(kept, str(row.get("baseline") or ""))
        return kept

    def _read_details(self, commit: str, kept: Kept) -> None:
        """Read ``commit``'s code changes and images into ``kept``, if not read yet."""
        if kept.changes is not None:
            return
        git = self.project.git
        tree = git.lookup_commit(commit).tree
        kept.changes = self._changes(tree)
        if kept.media_read:
            return
        kept.media_read = True
        media = git.read_blob(tree, MEDIA_FILE)
        with contextlib.suppress(GitexpError):  # a broken list shows no images
            kept.images = parse_media(media, f"{MEDIA_FILE} of {commit[:12]}") if media else []

    def _changed_params(self, kept: Kept, baseline: str) -> int:
        """How many params of ``kept`` differ from its baseline commit's (each read once)."""
        if baseline not in self._baselines:
            try:
                files = Reader(self.project.git).params_at(baseline)
            except (KeyError, ValueError, GitexpError):
                files = {}
            self._baselines[baseline] = _flat({"params": files}, "params")
        base = self._baselines[baseline]
        mine = kept.params
        if mine.keys() == base.keys():  # the usual case: overrides change values only
            return sum(1 for key, value in mine.items() if base[key] != value)
        return sum(
            1
            for key in mine.keys() | base.keys()
            if mine.get(key, _ABSENT) != base.get(key, _ABSENT)
        )

    def _changes(self, tree: pygit2.Tree) -> dict[str, str | None]:
        """Code path → blob where ``tree`` differs from the reference tree.

        Trees whose code entries at the top are the same (experiments of one baseline
        differ in params, metrics and their run record only) share one diff.
        """
        reference = self._reference
        if reference is None or reference.id == tree.id:
            return {}
        skip, folders = self._excluded_paths(tree)
        top = tuple(
            (name, str(entry.id))
            for entry in tree
            if (name := str(entry.name)) not in skip and not (name + "/").startswith(folders)
        )
        if top in self._diffs:
            return self._diffs[top]
        found = overview_mod.code_changes(reference, tree, (skip, folders))
        self._diffs[top] = found
        return found

    def _excluded_paths(self, tree: pygit2.Tree) -> overview_mod.Excluded:
        """Paths shown elsewhere (params, metrics, series, the run record), not as code."""
        blob = self.project.git.blob_id(tree, PROJECT_CONFIG) or ""
        if blob not in self._excluded:
            self._excluded[blob] = overview_mod.excluded_paths(self.project.git, tree, blob)
        return self._excluded[blob]

    def _assemble(self, rows: Sequence[Doc], kept: Sequence[Kept]) -> overview_mod.Overview:
        """The overview of ``rows`` from their kept parts, in one pass (no code, no images).

        A run's labelled params and metrics are kept until the column labels change.
        """
        labels = (_labels(k.params for k in kept), _labels(k.metrics for k in kept))
        if labels != self._labelled:
            self._labelled, self._generation = labels, self._generation + 1
        params, metrics = self._labelled
        generation = self._generation
        run = overview_mod.Run
        runs = []
        for row, k in zip(rows, kept, strict=True):
            labelled = k.labelled
            if labelled is None or labelled[0] != generation:
                labelled = k.labelled = (
                    generation,
                    {params[key]: value for key, value in k.params.items()},
                    {metrics[key]: value for key, value in k.metrics.items()},
                )
            get = row.get
            branch, tags = get("branch"), get("tags")
            runs.append(
                run(
                    _text_of(get("name"), ""),
                    _text_of(get("status"), "unknown"),
                    _text_of(get("created"), ""),
                    branch if isinstance(branch, str) else None,
                    _text_of(get("commit"), ""),
                    _text_of(get("baseline"), ""),
                    labelled[1],
                    labelled[2],
                    {},
                    {},
                    [str(t) for t in tags] if tags else [],  # type: ignore[attr-defined]
                    _text_of(get("note"), ""),
                    {},
                    k.changed or 0,
                )
            )
        return overview_mod.Overview(runs, [], [])

    def _base_blob(self, path: str) -> str | None:
        reference = self._reference
        return None if reference is None else self.project.git.blob_id(reference, path)

    def _blob_texts(self, blob_index: dict[str, int]) -> list[str | None]:
        """The text of each blob, up to the report's size budget (read once each)."""
        texts: list[str | None] = [None] * len(blob_index)
        budget = TEXT_BUDGET
        for blob, index in blob_index.items():
            if blob not in self._texts:
                self._texts[blob] = _text(self.project.git.repo.get(blob))
            text, size = self._texts[blob]
            if text is None or size > min(TEXT_LIMIT, budget):
                continue
            texts[index] = text
            budget -= size
        return texts


def _text_of(value: object, empty: str) -> str:
    """``value`` as text, ``empty`` for none (a string, as ``show --json`` gives, as it is)."""
    return value if type(value) is str and value else str(value or empty)


def _flat(doc: Doc, section: str) -> Flat:
    """``(file, dotted key) → value`` of a ``show --json`` object's params or metrics.

    What `gitexp.core.formats.flatten` makes of each file (nested mappings as dotted
    keys; lists, scalars and empty mappings are leaves), in one pass: at 10,000
    experiments the first look does this 20,000 times.
    """
    flat: Flat = {}
    files = doc.get(section)
    if isinstance(files, dict):
        for file, values in files.items():
            for key, value in values.items():  # the top level inline: most keys are there
                if isinstance(value, dict) and value:
                    _flatten_into(flat, file, value, f"{key}.")
                else:
                    flat[(file, key)] = value
    return flat


def _flatten_into(flat: Flat, file: str, tree: Mapping[str, object], prefix: str) -> None:
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:  # parsed files hold dicts (no ABC check: faster)
            _flatten_into(flat, file, value, dotted + ".")
        else:
            flat[(file, dotted)] = value


def _labels(flats: Iterable[Flat]) -> dict[tuple[str, str], str]:
    """Flat key → column label: the key, or ``FILE:KEY`` where files share the key."""
    pairs: dict[tuple[str, str], object] = {}
    for flat in flats:
        pairs.update(flat)  # the keys in the order first seen (the values do not matter)
    counts: dict[str, int] = {}
    for _file, key in pairs:
        counts[key] = counts.get(key, 0) + 1
    return {(f, k): k if counts[k] == 1 else f"{f}:{k}" for f, k in pairs}


def _text(obj: object) -> tuple[str | None, int]:
    """A blob's text and size in bytes (None: too large, binary or not UTF-8)."""
    if not isinstance(obj, pygit2.Blob) or obj.size > TEXT_LIMIT or obj.is_binary:
        return None, 0
    try:
        return obj.data.decode("utf-8"), obj.size
    except UnicodeDecodeError:
        return None, 0
