"""DVC's content brought into gitexp's cache: found by md5, verified, stored by BLAKE3.

Each object is looked for in DVC's cache first, then on the DVC remote its output
names (or the default one). Its bytes are hashed with md5 on the way in and must be
the md5 DVC recorded (`IntegrityError` otherwise), then stored under their BLAKE3
hash. A directory (a ``.dir`` listing) becomes a gitexp manifest of its files. What
was found is remembered by md5, so content shared by many experiments is read once.
Only the cache is written here: pointers and refs are the caller's, written once
everything they need is stored.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gitexp.cache.objects import BUFFER, TMP_DIR, ObjectStore
from gitexp.core.hashing import Hasher, Oid, hash_bytes
from gitexp.core.manifest import Entry, check_relpath, dump_manifest
from gitexp.core.pointer import Pointer
from gitexp.errors import IntegrityError, NotFoundError
from gitexp.experiments.importers.dvcformat import DvcOut, parse_dir_listing
from gitexp.storage.backend import Backend

_BATCH = 4096
"""Files read and stored at a time: memory stays at a batch of small files."""
OpenRemote = Callable[[str], Backend]
"""Opens the DVC remote of that name (as a gitexp storage backend)."""


def cache_key(md5: str, legacy: bool) -> str:
    """Where DVC keeps content ``md5``, in its cache and on its remotes alike."""
    return f"{md5[:2]}/{md5[2:]}" if legacy else f"files/md5/{md5[:2]}/{md5[2:]}"


def _md5_matches(md5: str, digest: str, data: bytes | None, legacy: bool) -> bool:
    """DVC 3 hashes the bytes; DVC 2 hashed text files with CRLF turned into LF."""
    if digest == md5.removesuffix(".dir"):
        return True
    if legacy and data is not None and b"\x00" not in data[:8000]:
        return hashlib.md5(data.replace(b"\r\n", b"\n"), usedforsecurity=False).hexdigest() == md5
    return False


class DvcObjects:
    """DVC's content as gitexp pointers, read from ``cache`` or a remote and stored in ``store``."""

    def __init__(
        self,
        store: ObjectStore,
        cache: Path,
        open_remote: OpenRemote,
        default_remote: str | None,
        jobs: int = 8,
    ) -> None:
        self.store = store
        self.cache = cache
        self._open_remote = open_remote
        self._default = default_remote
        self._jobs = jobs
        self._stored: dict[str, tuple[Oid, int]] = {}
        self._listings: dict[str, list[tuple[str, str]]] = {}
        self._manifests: dict[str, Pointer] = {}
        self._remotes: dict[str, Backend] = {}

    def pointers(self, outs: Iterable[DvcOut], where: str) -> dict[str, Pointer]:
        """Store the content of ``outs`` and return each output's pointer, by path.

        Raises `NotFoundError` for content in neither DVC's cache nor its remote and
        `IntegrityError` for content whose md5 is not the recorded one; ``where`` (the
        file or experiment the outputs come from) is named in both.
        """
        outs = list(outs)
        dirs = [o for o in outs if o.is_dir and o.md5 not in self._listings]
        for out, data in self._read(dirs, where):
            text = data.read_bytes() if isinstance(data, Path) else data
            self._listings[out.md5] = parse_dir_listing(text, f"{where}: {out.path} ({out.md5})")
        files: dict[str, DvcOut] = {}
        for out in outs:
            if out.is_dir and out.md5 not in self._manifests:  # a folder seen before is stored
                for rel, md5 in self._listings[out.md5]:
                    if md5 not in self._stored and md5 not in files:
                        files[md5] = DvcOut(f"{out.path}/{rel}", md5, None, out.legacy, out.remote)
            elif not out.is_dir and out.md5 not in self._stored:
                files.setdefault(out.md5, out)
        missing = list(files.values())
        for start in range(0, len(missing), _BATCH):
            self._store_batch(missing[start : start + _BATCH], where)
        return {out.path: self._pointer(out, where) for out in outs}

    def _store_batch(self, outs: list[DvcOut], where: str) -> None:
        """Read, verify and store ``outs``; small ones written by several threads at once."""
        small: list[tuple[DvcOut, bytes]] = []
        for out, data in self._read(outs, where):
            if isinstance(data, Path):
                self._stored[out.md5] = self._keep(data)
            else:
                small.append((out, data))
        oids = self.store.put_many([data for _out, data in small], jobs=self._jobs)
        for (out, data), oid in zip(small, oids, strict=True):
            self._stored[out.md5] = (oid, len(data))

    def _pointer(self, out: DvcOut, where: str) -> Pointer:
        if not out.is_dir:
            oid, size = self._stored[out.md5]
            return Pointer(oid, size)
        if out.md5 in self._manifests:  # one folder in many experiments: one manifest
            return self._manifests[out.md5]
        entries = []
        for rel, md5 in self._listings[out.md5]:
            oid, size = self._stored[md5]
            entries.append(Entry(check_relpath(rel, f"{where}: {out.path}"), oid, size))
        manifest = self.store.put_bytes(dump_manifest(entries))
        pointer = Pointer(manifest, sum(e.size for e in entries), "dir", len(entries))
        self._manifests[out.md5] = pointer
        return pointer

    def _keep(self, data: bytes | Path) -> tuple[Oid, int]:
        """Store verified content (bytes, or a verified temporary file in the cache)."""
        if isinstance(data, Path):
            hasher = Hasher()
            with open(data, "rb") as handle:
                while chunk := handle.read(BUFFER):
                    hasher.update(chunk)
            if self.store.touch(hasher.oid):
                data.unlink()
            else:
                self.store.adopt_verified(data, hasher.oid)
            return hasher.oid, hasher.size
        oid = hash_bytes(data)
        if not self.store.touch(oid):
            self.store.put_verified(oid, data)
        return oid, len(data)

    def _read(self, outs: list[DvcOut], where: str) -> Iterable[tuple[DvcOut, bytes | Path]]:
        """Each output's verified bytes: from DVC's cache, else from its remote.

        A big file from DVC's cache comes as a verified temporary file in gitexp's
        cache folder instead, so it is never held in memory whole.
        """
        remote: dict[str | None, list[DvcOut]] = {}
        with ThreadPoolExecutor(self._jobs) as pool:
            found = pool.map(lambda out: self._from_cache(out, where), outs)
            for out, data in zip(outs, found, strict=True):
                if data is None:
                    remote.setdefault(out.remote or self._default, []).append(out)
                else:
                    yield out, data
        for name, wanted in remote.items():
            yield from self._from_remote(name, wanted, where)

    def _from_cache(self, out: DvcOut, where: str) -> bytes | Path | None:
        """``out``'s verified content from DVC's cache; None when the cache lacks it.

        Called from several threads: reading files and hashing them release the GIL.
        """
        path = self.cache / cache_key(out.md5, out.legacy)
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            return None
        return self._verified_file(out, path, size, where)

    def _verified_file(self, out: DvcOut, path: Path, size: int, where: str) -> bytes | Path:
        if size > BUFFER and not out.is_dir:
            return self._big_file(out, path, where)
        data = path.read_bytes()
        self._check(out, data, where, "DVC's cache")
        return data

    def _big_file(self, out: DvcOut, path: Path, where: str) -> Path:
        """Copy a big cached file into gitexp's cache folder, checking its md5 on the way."""
        folder = self.store.root / TMP_DIR
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.md5(usedforsecurity=False)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-import-")
        with os.fdopen(fd, "wb") as sink, open(path, "rb") as source:
            while chunk := source.read(BUFFER):
                digest.update(chunk)
                sink.write(chunk)
        if not _md5_matches(out.md5, digest.hexdigest(), None, out.legacy):
            os.unlink(tmp)
            raise _mismatch(out, where, "DVC's cache")
        return Path(tmp)

    def _from_remote(
        self, name: str | None, outs: list[DvcOut], where: str
    ) -> Iterable[tuple[DvcOut, bytes]]:
        if name is None:
            raise _missing(outs[0], where, "and the project has no DVC remote")
        backend = self._remote(name)
        keys = {cache_key(o.md5, o.legacy): o for o in outs}
        for key, got in backend.get_many(keys, self._jobs):
            out = keys[key]
            if isinstance(got, NotFoundError):
                raise _missing(out, where, f"nor on its remote '{name}'")
            if isinstance(got, Exception):
                raise got
            self._check(out, got, where, f"DVC remote '{name}'")
            yield out, got

    def _remote(self, name: str) -> Backend:
        if name not in self._remotes:
            self._remotes[name] = self._open_remote(name)
        return self._remotes[name]

    def _check(self, out: DvcOut, data: bytes, where: str, source: str) -> None:
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if not _md5_matches(out.md5, digest, data, out.legacy):
            raise _mismatch(out, where, source)

    def close(self) -> None:
        """Release the remotes opened."""
        for backend in self._remotes.values():
            backend.close()


def _missing(out: DvcOut, where: str, tail: str) -> NotFoundError:
    return NotFoundError(
        f"{where}: the content of '{out.path}' (md5 {out.md5}) is not in DVC's cache {tail}",
        hint="run `dvc pull` (or `dvc push` where the data is) and import again",
    )


def _mismatch(out: DvcOut, where: str, source: str) -> IntegrityError:
    return IntegrityError(
        f"{where}: '{out.path}' read from {source} does not have the md5 DVC recorded "
        f"({out.md5}); nothing was imported",
        hint="the DVC cache or remote is corrupt: run `dvc fetch --force` or `dvc status -c`",
    )
