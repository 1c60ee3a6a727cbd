"""Workspace copies of cache objects: reflink, copy, hardlink or symlink.

``reflink`` (the default) clones the object where the filesystem can (btrfs, XFS,
APFS…) and copies it in the kernel where it cannot; ``copy`` always copies;
``hardlink`` and ``symlink`` share the object itself, so those files are read-only
(the object's mode) and nobody edits the cache through them. An executable file is
never linked (one object may be both executable and not): it is copied and made
read-only instead.

A corrupt object is never copied into the workspace: an object that gitexp has not
hashed since it entered the cache is hashed while it is copied, and a mismatch
removes the copy and raises `IntegrityError` naming the object.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterable, Sequence

from gitexp.cache.copier import Copier, Helper
from gitexp.cache.objects import BUFFER, ObjectStore, corrupt_error
from gitexp.cache.statindex import FolderRows, Stamp
from gitexp.core.hashing import Hasher, Oid
from gitexp.core.manifest import Entry
from gitexp.errors import GitexpError, NotFoundError

_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP, errno.ENOSYS}
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


class Linker:
    """Makes workspace files from cache objects with one link type."""

    def __init__(self, store: ObjectStore, link: str = "reflink", jobs: int | None = None) -> None:
        self.store = store
        self.link = link
        self.jobs = jobs or os.cpu_count() or 1
        self.copier = Copier(clone=link == "reflink")
        self._verified: dict[str, tuple[int, int, int]] = {}
        self._recorded: set[str] = set()
        """Manifests whose objects' stamps the stat index holds as `_verified` has them."""
        self._objects = f"{store.root}/blake3/"

    def prepare(self, oids: Iterable[Oid], manifest: Oid | None = None) -> None:
        """Look up, in one batch, which of these objects are known to be intact.

        ``manifest``: the objects are files of this manifest, whose objects' stamps
        the stat index may hold together (one read instead of one per few hundred).
        """
        index = self.store.index
        if index is None:
            return
        wanted = [o.hex for o in oids]
        if manifest is not None:
            known = index.manifest_objects(manifest.hex)
            if known and all(h in known for h in wanted):
                self._verified.update(known)
                self._recorded.add(manifest.hex)
                return
        self._verified.update(index.verified_objects(wanted))

    def record_manifest(self, manifest: Oid, entries: Iterable[Entry]) -> None:
        """Tell the stat index the stamps of a manifest's objects, when all are known intact.

        Called once they were all copied or linked, each checked against its stamp.
        """
        index = self.store.index
        if index is None or manifest.hex in self._recorded:
            return
        verified = self._verified
        stamps: dict[str, tuple[int, int, int]] = {}
        for entry in entries:
            stamp = verified.get(entry.oid.hex)
            if stamp is None:
                return
            stamps[entry.oid.hex] = (stamp[0], stamp[1], stamp[2])
        index.record_manifest_objects(manifest.hex, stamps)
        self._recorded.add(manifest.hex)

    def write(
        self, oid: Oid, dst: str, *, executable: bool = False, where: str = ""
    ) -> os.stat_result | None:
        """Create ``dst`` (which must not exist) holding object ``oid``.

        Returns the stat data of the copy it wrote (None for a link to the object).
        Raises `NotFoundError` when the object is not in the cache and `IntegrityError`
        when its bytes do not match its hash (then ``dst`` is not left behind).
        """
        src = f"{self._objects}{oid.hex[:2]}/{oid.hex[2:]}"
        if self.link in ("hardlink", "symlink") and not executable:
            self._share(oid, src, dst, where)
            return None
        mode = 0o777 if executable else 0o666
        fd_in = self._open(oid, src, where)
        try:
            info = os.fstat(fd_in)
            fd_out = os.open(dst, _CREATE, mode)
            try:
                if self._trusted(oid, info):
                    self.copier.copy(fd_in, fd_out, info.st_size)
                else:
                    self._copy_checked(oid, fd_in, fd_out, info, where)
                if self.link in ("hardlink", "symlink"):
                    os.fchmod(fd_out, 0o555)  # read-only: an executable that is not linked
                written = os.fstat(fd_out)
            except BaseException:
                os.close(fd_out)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(dst)
                raise
            os.close(fd_out)
        finally:
            os.close(fd_in)
        return written

    def write_all(
        self, folder: str, entries: Iterable[Entry], rel: str, on_file: Callable[[str], None] | None
    ) -> FolderRows:
        """`write` each entry under ``folder`` (its folders made, its files absent).

        Returns the stat index rows of the copies (links have none); ``on_file`` is told
        each path written. For data of many small files this loop is most of a
        checkout, so the common case (a copy of an object known to be intact) is
        written out here in full and anything else goes through `write`.
        """
        if self.link in ("hardlink", "symlink"):
            return self._write_each(folder, entries, rel, on_file)
        rows: FolderRows = {}
        objects, verified = self._objects, self._verified
        open_, fstat, close = os.open, os.fstat, os.close
        copy = self.copier.copy
        for entry in entries:
            hx = entry.oid.hex
            dst = f"{folder}/{entry.path}"
            try:
                fd_in = open_(f"{objects}{hx[:2]}/{hx[2:]}", os.O_RDONLY)
            except FileNotFoundError:
                src, where = f"{objects}{hx[:2]}/{hx[2:]}", f" (for {rel}/{entry.path})"
                fd_in = self._open(entry.oid, src, where)
            try:
                info = fstat(fd_in)
                size = info.st_size
                if verified.get(hx) != (info.st_ino, size, info.st_mtime_ns):
                    where = f" (for {rel}/{entry.path})"
                    written = self.write(entry.oid, dst, executable=entry.exec, where=where)
                else:
                    fd_out = open_(dst, _CREATE, 0o777 if entry.exec else 0o666)
                    try:
                        copy(fd_in, fd_out, size)
                        written = fstat(fd_out)
                    except BaseException:
                        close(fd_out)
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(dst)
                        raise
                    close(fd_out)
            finally:
                close(fd_in)
            if written is not None:
                rows[entry.path] = [written.st_ino, size, written.st_mtime_ns, hx, entry.exec]
            if on_file is not None:
                on_file(entry.path)
        return rows

    def write_shared(
        self,
        folder: str,
        shares: Sequence[list[Entry]],
        rel: str,
        on_file: Callable[[str], None] | None,
    ) -> FolderRows:
        """`write_all` of several shares at once: the first here, each other by a helper.

        A helper is a small process of its own (see `gitexp.cache.copier`), so the
        shares are written in parallel; one that cannot be started leaves its share
        to this process. Files whose object a helper did not find known intact are
        written here afterwards, hashed on the way. A helper's failure is raised here,
        the other helpers stopped first.
        """
        tell = on_file or _ignore
        mine = list(shares[0])
        helpers: list[tuple[Helper, list[Entry]]] = []
        try:
            for share in shares[1:]:
                helper = self._helper(folder, share, tell)
                if helper is None:
                    mine += share
                else:
                    helpers.append((helper, share))
            rows = self.write_all(folder, mine, rel, on_file)
            for helper, share in helpers:
                rows.update(self._helped(helper, share, folder, rel, on_file))
        finally:
            for helper, _share in helpers:
                helper.stop()
        return rows

    def _helper(
        self, folder: str, share: list[Entry], tell: Callable[[str], None]
    ) -> Helper | None:
        if self.link in ("hardlink", "symlink") or not Helper.possible():
            return None
        verified = self._verified
        files: list[tuple[str, str, bool, tuple[int, int, int] | None]] = []
        for entry in share:
            stamp = verified.get(entry.oid.hex)  # a plain tuple: marshal takes no subclass
            plain = None if stamp is None else (stamp[0], stamp[1], stamp[2])
            files.append((entry.oid.hex, entry.path, entry.exec, plain))
        try:
            return Helper(self._objects, os.path.abspath(folder), self.copier.clone, files, tell)
        except OSError:
            return None

    def _helped(
        self,
        helper: Helper,
        share: list[Entry],
        folder: str,
        rel: str,
        on_file: Callable[[str], None] | None,
    ) -> FolderRows:
        """The rows of what ``helper`` wrote, and of what it left to this process."""
        outcome = helper.finish()
        if outcome[0] == "missing":
            raise _missing(Oid(str(outcome[1])), f" (for {rel}/{outcome[2]})")
        if outcome[0] == "error":
            raise OSError(outcome[1], outcome[2], outcome[3])
        if outcome[0] != "done":
            raise GitexpError(
                f"a checkout helper process stopped ({outcome[-1]}); nothing was changed",
                hint="run the checkout again; `jobs: 1` in the local config writes without helpers",
            )
        by_path = {e.path: e for e in share}
        rows: FolderRows = {}
        for path, ino, size, mtime in helper.rows:
            entry = by_path[path]
            rows[path] = [ino, size, mtime, entry.oid.hex, entry.exec]
        rest = [by_path[p] for p in helper.skipped]
        rows.update(self.write_all(folder, rest, rel, on_file))
        return rows

    def _write_each(
        self, folder: str, entries: Iterable[Entry], rel: str, on_file: Callable[[str], None] | None
    ) -> FolderRows:
        rows: FolderRows = {}
        for entry in entries:
            where = f" (for {rel}/{entry.path})"
            written = self.write(
                entry.oid, f"{folder}/{entry.path}", executable=entry.exec, where=where
            )
            if written is not None:
                rows[entry.path] = [
                    written.st_ino,
                    written.st_size,
                    written.st_mtime_ns,
                    entry.oid.hex,
                    entry.exec,
                ]
            if on_file is not None:
                on_file(entry.path)
        return rows

    def _trusted(self, oid: Oid, info: os.stat_result) -> bool:
        return self._verified.get(oid.hex) == Stamp.of(info)

    def _open(self, oid: Oid, src: str, where: str) -> int:
        """Open the object for reading, reassembling it first if it is compacted."""
        try:
            return os.open(src, os.O_RDONLY)
        except FileNotFoundError as exc:
            if not self._restored(oid):
                raise _missing(oid, where) from exc
        return os.open(src, os.O_RDONLY)

    def _restored(self, oid: Oid) -> bool:
        """Whether a compacted object was made whole (its stamp is then known intact)."""
        if not self.store.restore(oid):
            return False
        if self.store.index is not None:
            self._verified.update(self.store.index.verified_objects([oid.hex]))
        return True

    def _share(self, oid: Oid, src: str, dst: str, where: str) -> None:
        try:
            info = os.stat(src)
        except FileNotFoundError as exc:
            if not self._restored(oid):
                raise _missing(oid, where) from exc
            info = os.stat(src)
        if not self._trusted(oid, info):
            self._verify(oid, src, info, where)
        if self.link == "symlink":
            os.symlink(src, dst)
            return
        try:
            os.link(src, dst)
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
            self.link = "copy"
            self.write(oid, dst, where=where)
            os.chmod(dst, 0o444)

    def _verify(self, oid: Oid, src: str, info: os.stat_result, where: str) -> None:
        hasher = Hasher()
        with open(src, "rb") as handle:
            while chunk := handle.read(BUFFER):
                hasher.update(chunk)
        if hasher.oid != oid:
            raise corrupt_error(oid, where)
        self._remember(oid, info)

    def _remember(self, oid: Oid, info: os.stat_result) -> None:
        self._verified[oid.hex] = Stamp.of(info)
        self._recorded.clear()
        if self.store.index is not None:
            self.store.index.record_object(oid.hex, info)

    def _copy_checked(
        self, oid: Oid, fd_in: int, fd_out: int, info: os.stat_result, where: str
    ) -> None:
        """Copy through a buffer, hashing; the copy is only kept if the hash matches."""
        hasher = Hasher()
        buffer = bytearray(min(BUFFER, info.st_size + 1))
        view = memoryview(buffer)
        while count := os.readv(fd_in, [buffer]):
            hasher.update(view[:count])
            os.write(fd_out, view[:count])
        if hasher.oid != oid:
            raise corrupt_error(oid, where)
        self._remember(oid, info)


def _ignore(_path: str) -> None:
    pass


def _missing(oid: Oid, where: str) -> NotFoundError:
    return NotFoundError(
        f"object {oid}{where} is not in the cache", hint="run `gitexp pull` to fetch it"
    )
