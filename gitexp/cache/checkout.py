"""Making one data path in the workspace match its pointer, losing nothing.

Checkout is planned before anything is written: which files to write, which to
delete, and which of those hold content that is not in the cache ("at risk"); the
caller refuses, or saves them first. A path that does not exist yet is built as a
hidden temporary sibling and renamed into place, so a killed checkout leaves either
nothing or the whole result; files changed inside an existing folder are each written
to a temporary name and renamed. Nothing is written through a symbolic link.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gitexp.cache.chunkstore import SMALLEST
from gitexp.cache.links import Linker
from gitexp.cache.objects import ObjectStore
from gitexp.cache.scan import Hashes, Listing, WorkspaceFile, list_folder, stale_tmp, tmp_name
from gitexp.cache.statindex import FolderRows, StatIndex, filesystem_clock
from gitexp.core.hashing import Oid
from gitexp.core.manifest import Entry
from gitexp.core.pointer import Pointer
from gitexp.errors import PathError

HELPED_FILES = 1000
"""Files each writer of a new folder gets at least (a helper process takes a few ms to start)."""
MAX_WRITERS = 8
"""Writers of one new folder at most, however many cores: the disk is shared."""
OnPath = Callable[[str, str], None]
"""Called with (data path, file inside it) as each file is written."""
CLOCK_WAITS = 50
"""Milliseconds at most to wait for the filesystem's clock to tick past a checkout."""
WAIT_FILES = 256
WAIT_BYTES = 4 << 20
"""Files just written, in number or bytes, worth waiting a tick for (see `_rebuild`)."""


@dataclass
class Plan:
    """What checking out one pointer will do."""

    rel: str
    full: str
    pointer: Pointer
    target: list[Entry]
    rebuild: bool = False
    """Build the whole path anew (it is absent, or of the other kind) and swap it in."""
    writes: list[Entry] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    at_risk: list[WorkspaceFile] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    @property
    def needed(self) -> bool:
        """Whether anything is to be written or removed."""
        return self.rebuild or bool(self.writes or self.deletes or self.stale)


def plan_checkout(
    store: ObjectStore,
    index: StatIndex,
    rel: str,
    full: str,
    pointer: Pointer,
    target: list[Entry],
) -> Plan:
    """Compare the workspace at ``full`` with ``target`` (a file's single entry has path "")."""
    plan = Plan(rel, full, pointer, target)
    try:
        info = os.lstat(full)
    except FileNotFoundError:
        plan.rebuild = True
        return plan
    hashes = Hashes(index)
    if pointer.kind == "file":
        _plan_file(plan, store, hashes, info)
    elif stat.S_ISDIR(info.st_mode):
        if hashes.unchanged_manifest(full) != pointer.oid:
            _plan_folder(plan, store, hashes)
    else:
        plan.rebuild = True
        if stat.S_ISREG(info.st_mode):
            _risk(plan, store, [(WorkspaceFile("", full, info), hashes.one(full, info))])
    return plan


def _plan_file(plan: Plan, store: ObjectStore, hashes: Hashes, info: os.stat_result) -> None:
    entry = plan.target[0]
    if stat.S_ISLNK(info.st_mode):
        plan.rebuild = not store.is_linked(plan.full, entry.oid)
    elif stat.S_ISREG(info.st_mode):
        current = hashes.one(plan.full, info)
        if current != entry.oid:
            plan.rebuild = True
            _risk(plan, store, [(WorkspaceFile("", plan.full, info), current)])
    elif stat.S_ISDIR(info.st_mode):
        plan.rebuild = True
        listing = list_folder(plan.full)
        found = hashes.entries(plan.full, listing.files)
        _risk(plan, store, list(zip(listing.files, (e.oid for e in found), strict=True)))
    else:
        plan.rebuild = True


def _plan_folder(plan: Plan, store: ObjectStore, hashes: Hashes) -> None:
    listing = list_folder(plan.full)
    current = {
        e.path: (f, e)
        for f, e in zip(listing.files, hashes.entries(plan.full, listing.files), strict=True)
    }
    wanted = {e.path: e for e in plan.target}
    linked = {
        rel
        for rel in listing.skipped
        if rel in wanted and store.is_linked(os.path.join(plan.full, rel), wanted[rel].oid)
    }
    touched: list[tuple[WorkspaceFile, Oid]] = []
    for entry in plan.target:
        have = current.get(entry.path)
        if entry.path in linked:
            continue
        if have is None:
            plan.writes.append(entry)
        elif have[1].oid != entry.oid or have[1].exec != entry.exec:
            plan.writes.append(entry)
            touched.append((have[0], have[1].oid))
    for path, (item, found) in current.items():
        if path not in wanted:
            plan.deletes.append(path)
            touched.append((item, found.oid))
    plan.stale = [t for t in listing.temporary if stale_tmp(os.path.basename(t))]
    _check_links(plan, listing)
    _risk(plan, store, touched)


def _check_links(plan: Plan, listing: Listing) -> None:
    """Refuse to write anything under a symbolic link (or other non-folder) in the way."""
    blocked = set(listing.skipped)
    if not blocked:
        return
    for entry in plan.writes:
        parts = entry.path.split("/")
        for depth in range(1, len(parts)):
            head = "/".join(parts[:depth])
            if head in blocked:
                raise PathError(
                    f"'{plan.rel}/{head}' is a symbolic link or special file; gitexp will not "
                    f"write '{plan.rel}/{entry.path}' through it",
                    hint=f"remove '{plan.rel}/{head}' and run the checkout again",
                )


def _risk(plan: Plan, store: ObjectStore, touched: list[tuple[WorkspaceFile, Oid]]) -> None:
    """Files about to be replaced or deleted whose content the cache does not hold."""
    for item, oid in touched:
        if not store.has(oid):
            plan.at_risk.append(item)


def missing_objects(store: ObjectStore, plan: Plan) -> list[Entry]:
    """Entries the plan writes in place whose objects are not in the cache.

    A rebuild is not checked here: it is built aside, so a missing object there only
    discards the build (`apply_plan` raises `NotFoundError` and nothing is visible).
    """
    if plan.rebuild:
        return [] if store.has(plan.pointer.oid) else list(plan.target[:1])
    return [e for e in plan.writes if not store.has(e.oid)]


def apply_plan(
    plan: Plan, linker: Linker, index: StatIndex | None = None, on_file: OnPath | None = None
) -> int:
    """Carry out ``plan``; returns how many files were written.

    ``on_file(path, file)`` is told of each file written (from several threads at once).

    Raises `IntegrityError` for a corrupt object and `PathError` for a symbolic link in
    the way; what was being built is removed, and the workspace keeps its old state
    for the file (or, for a whole path, entirely).
    """
    manifest = plan.pointer.oid if plan.pointer.kind == "dir" else None
    entries = plan.target if plan.rebuild else plan.writes
    linker.store.restore_many(e.oid for e in entries if e.size >= SMALLEST)
    linker.prepare((e.oid for e in entries), manifest)
    _clean_stale_siblings(plan.full)
    if plan.rebuild:
        return _rebuild(plan, linker, index, on_file)
    for rel in plan.stale:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(plan.full, rel))
    for rel in plan.deletes:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(plan.full, rel))
    _prune_empty(plan.full, plan.deletes)
    made: set[str] = set()
    for entry in plan.writes:
        dst = os.path.join(plan.full, entry.path)
        _make_parents(plan.full, entry.path, made)
        tmp = tmp_name(dst)
        linker.write(entry.oid, tmp, executable=entry.exec, where=f" (for {plan.rel}/{entry.path})")
        _replace(tmp, dst)
        if on_file is not None:
            on_file(plan.rel, entry.path)
    return len(plan.writes)


def _rebuild(plan: Plan, linker: Linker, index: StatIndex | None, on_file: OnPath | None) -> int:
    """Build the path aside, then swap it in; the stat index learns what was written.

    The files are recorded with the stat data they had when written, if their mtime
    is older than the filesystem's clock just before the swap (see
    `_recordable_before`): until then only this process could see them, and any later
    change gets a later mtime. So the first `status` after a checkout need not hash
    them.
    """
    tmp = tmp_name(plan.full)
    info: os.stat_result | None = None
    rows: FolderRows = {}
    try:
        if plan.pointer.kind == "file":
            entry = plan.target[0]
            info = linker.write(entry.oid, tmp, executable=entry.exec, where=f" (for {plan.rel})")
            if on_file is not None:
                on_file(plan.rel, "")
        else:
            os.mkdir(tmp)
            rows = _fill(tmp, plan, linker, on_file)
        stamps = (
            [(info.st_mtime_ns, info.st_size)]
            if info is not None
            else [(r[2], r[1]) for r in rows.values()]
        )
        before_ns = _recordable_before(plan.full, stamps) if index is not None else 0
        _replace(tmp, plan.full)
    except BaseException:
        _remove_any(tmp)
        raise
    if index is not None and info is not None:
        index.record_file(plan.full, info, plan.pointer.oid.hex, before_ns)
    elif index is not None and rows and len(rows) == len(plan.target):
        index.record_folder(plan.full, rows, plan.pointer.oid.hex, before_ns)
    if plan.pointer.kind == "dir":
        linker.record_manifest(plan.pointer.oid, plan.target)
    return len(plan.target)


def _recordable_before(beside: str, stamps: list[tuple[int, int]]) -> int:
    """The filesystem's clock now: files (mtime, size) written before it can be recorded.

    Those written within its current tick cannot be yet. For data big enough (in files
    or bytes) that hashing it later costs more than a tick, this waits for the next
    tick (a few milliseconds), so all of it is recorded; a few small files are left to
    be hashed instead. The clock is read from a probe file beside ``beside``, under a
    temporary name (a killed process's probe is cleaned up like its other ones).
    """
    now = filesystem_clock(tmp_name(beside))
    newest = max((mtime for mtime, _size in stamps), default=0)
    if now > newest or (len(stamps) < WAIT_FILES and sum(s for _m, s in stamps) < WAIT_BYTES):
        return now
    for _ in range(CLOCK_WAITS):
        time.sleep(0.001)
        now = filesystem_clock(tmp_name(beside))
        if now > newest:
            break
    return now


def _fill(folder: str, plan: Plan, linker: Linker, on_file: OnPath | None) -> FolderRows:
    """Write every file of a new folder: its folders first, then its files in path order.

    Creating files is the cost. With many files and more than one core, the files are
    cut into consecutive shares, one for this process and one for each helper process
    (`Linker.write_shared`): threads of one Python process wait on each other at every
    system call, processes do not. Measured on ext4, two processes write 10,000 small
    files in about 60% of one's time, into many folders or into one; path order (as
    ``cp -r`` goes) beat reading the cache bucket by bucket, with the objects in the
    page cache or not.
    """
    entries = plan.target
    for head in sorted({e.path.rpartition("/")[0] for e in entries} - {""}):
        os.makedirs(os.path.join(folder, head), exist_ok=True)
    writers = min(linker.jobs, len(entries) // HELPED_FILES, MAX_WRITERS)
    rel = plan.rel
    tell = None if on_file is None else (lambda path: on_file(rel, path))
    if writers <= 1:
        return linker.write_all(folder, entries, rel, tell)
    cuts = [len(entries) * n // writers for n in range(writers + 1)]
    shares = [entries[start:end] for start, end in itertools.pairwise(cuts)]
    return linker.write_shared(folder, shares, rel, tell)


def _replace(tmp: str, final: str) -> None:
    """Put ``tmp`` at ``final``; what was there (a folder, a link) is removed after."""
    try:
        os.rename(tmp, final)
        return
    except (IsADirectoryError, NotADirectoryError, OSError) as exc:
        if not os.path.lexists(final):
            raise exc
    old = tmp_name(final)
    os.rename(final, old)
    os.rename(tmp, final)
    _remove_any(old)


def _remove_any(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def _make_parents(root: str, rel: str, made: set[str]) -> None:
    """Create the folders above ``rel`` inside ``root``, refusing symbolic links."""
    parts = rel.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        head = "/".join(parts[:depth])
        if head in made:
            continue
        full = os.path.join(root, head)
        try:
            info = os.lstat(full)
        except FileNotFoundError:
            os.mkdir(full)
            info = os.lstat(full)
        if not stat.S_ISDIR(info.st_mode):
            raise PathError(
                f"'{full}' is not a folder; gitexp will not write '{rel}' through it",
                hint="move it out of the way and run the checkout again",
            )
        made.add(head)


def _prune_empty(root: str, deleted: list[str]) -> None:
    """Remove folders that deleting files left empty (deepest first)."""
    folders = {d.rpartition("/")[0] for d in deleted}
    for rel in sorted((f for f in folders if f), key=lambda f: -f.count("/")):
        head = rel
        while head:
            try:
                os.rmdir(os.path.join(root, head))
            except OSError:
                break
            head = head.rpartition("/")[0]


def _clean_stale_siblings(full: str) -> None:
    """Remove temporary siblings that a killed checkout of this path left behind."""
    folder, name = os.path.split(full)
    prefix = f".{name}.gitexp-tmp-"
    stale: list[str] = []  # a folder not there yet holds none
    with contextlib.suppress(FileNotFoundError), os.scandir(folder or ".") as entries:
        stale = [e.path for e in entries if e.name.startswith(prefix) and stale_tmp(e.name)]
    for path in stale:
        # one that cannot be removed now (a helper of the killed checkout still writing
        # into it for a moment) is removed next time
        with contextlib.suppress(OSError):
            _remove_any(path)
