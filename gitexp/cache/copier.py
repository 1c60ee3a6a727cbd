"""A checkout helper process: copies cache objects into a new folder, nothing else.

Creating thousands of small files is mostly system calls, and a Python process makes
them one at a time (threads contend for the interpreter lock at every call). So a
checkout of many files hands a share of the folders to helper processes, as git's
parallel checkout does, and writes the rest itself (see `gitexp.cache.checkout`).

This file runs as a script (``python -S -I copier.py``): it imports the standard
library alone, so it starts in a few milliseconds. It reads one job from its
standard input and answers on its standard output, all in `marshal` (both ends are
the same interpreter):

- in: ``(objects, folder, clone, files)``: ``objects`` the cache's object folder with
  a trailing ``/``, ``folder`` the new folder (whose subfolders exist), ``clone``
  whether to try reflinks first, and ``files`` a list of ``(hex, path, executable,
  stamp)`` where ``stamp`` is the object's ``(inode, size, mtime_ns)`` when gitexp
  knows it intact, else None;
- out, each message after its length (8 bytes, little-endian): ``("rows", [(path,
  inode, size, mtime_ns), ...])`` as files are written, a few hundred at a time;
  then ``("skipped", [path, ...])``, the files whose object was not known intact (or
  has changed since), which the caller copies itself, hashing them; then
  ``("done",)``. On a failure, ``("missing", hex, path)`` or ``("error", errno,
  strerror, filename)`` instead, and nothing more.

It stops when its parent process is gone, so a killed checkout leaves no helper
writing into its abandoned folder.
"""

from __future__ import annotations

import errno
import io
import marshal
import os
import sys

TYPE_CHECKING = False  # the typing module costs a helper's start-up a few milliseconds
if TYPE_CHECKING:
    from collections.abc import Callable

CHUNK = 256
"""Files per ``rows`` answer."""
BUFFER = 1 << 20
FICLONE = 0x40049409
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
_NO_CLONE = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EBADF}
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL}


class Copier:
    """Copies one file at a time: clone, else copy in the kernel, else through a buffer.

    What the filesystem cannot do is found out once and not tried again.
    """

    def __init__(self, clone: bool) -> None:
        self.clone = clone
        self.kernel_copy = hasattr(os, "copy_file_range")  # Linux only
        self.plain = self.kernel_copy and not clone
        """Whether one ``copy_file_range`` is the first thing to try (no clones here)."""

    def copy(self, fd_in: int, fd_out: int, size: int) -> None:
        """Copy ``size`` bytes from the start of ``fd_in`` into the empty ``fd_out``."""
        if not size:
            return
        if self.plain:
            if _copied_at_once(fd_in, fd_out, size):
                return
            _rewind(fd_in, fd_out)
        self._copy_carefully(fd_in, fd_out, size)

    def _copy_carefully(self, fd_in: int, fd_out: int, size: int) -> None:
        if self.clone and self._cloned(fd_in, fd_out):
            return
        if self.kernel_copy and self._copied_in_kernel(fd_in, fd_out, size):
            return
        while chunk := os.read(fd_in, BUFFER):
            os.write(fd_out, chunk)

    def _cloned(self, fd_in: int, fd_out: int) -> bool:
        import fcntl

        try:
            fcntl.ioctl(fd_out, FICLONE, fd_in)
        except OSError as exc:
            if exc.errno not in _NO_CLONE:
                raise
            self.clone = False
            self.plain = self.kernel_copy
            return False
        return True

    def _copied_in_kernel(self, fd_in: int, fd_out: int, size: int) -> bool:
        done = 0
        try:
            while done < size:
                step = os.copy_file_range(fd_in, fd_out, size - done)
                if step == 0:
                    break
                done += step
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
            self.kernel_copy = self.plain = False
        if done == size:
            return True
        _rewind(fd_in, fd_out)
        return False


def _rewind(fd_in: int, fd_out: int) -> None:
    """Back to the start of both files, the copy emptied, to copy again another way."""
    os.lseek(fd_in, 0, os.SEEK_SET)
    os.lseek(fd_out, 0, os.SEEK_SET)
    os.ftruncate(fd_out, 0)


def _copied_at_once(fd_in: int, fd_out: int, size: int) -> bool:
    """Whether one ``copy_file_range`` copied all ``size`` bytes (most small files)."""
    try:
        return os.copy_file_range(fd_in, fd_out, size) == size
    except OSError:
        return False  # copied again from the start, where the error is dealt with


class Answers:
    """Messages to the caller: each one `marshal` record after its length (8 bytes).

    The length lets the caller read a message in one call: `marshal.load` on a pipe
    reads it in many small pieces, each taking the interpreter lock from the thread
    that is writing files.
    """

    def __init__(self, stream: io.BufferedWriter) -> None:
        self.stream = stream

    def send(self, *message: object) -> None:
        """Write one message now."""
        data = marshal.dumps(message)  # type: ignore[arg-type]
        self.stream.write(len(data).to_bytes(8, "little") + data)
        self.stream.flush()


def copy_all(
    objects: str,
    folder: str,
    copier: Copier,
    files: list[tuple[str, str, bool, tuple[int, int, int] | None]],
    answers: Answers,
) -> None:
    """Write ``files``, answering rows as it goes, then the skipped paths."""
    parent = os.getppid()
    rows: list[tuple[str, int, int, int]] = []
    skipped: list[str] = []
    for number, (hx, path, executable, stamp) in enumerate(files):
        if not number % 32 and os.getppid() != parent:
            return  # the checkout that started this helper is gone
        if stamp is None:
            skipped.append(path)
            continue
        try:
            fd_in = os.open(f"{objects}{hx[:2]}/{hx[2:]}", os.O_RDONLY)
        except FileNotFoundError:
            answers.send("missing", hx, path)
            return
        try:
            info = os.fstat(fd_in)
            if (info.st_ino, info.st_size, info.st_mtime_ns) != stamp:
                skipped.append(path)
                continue
            fd_out = os.open(f"{folder}/{path}", _CREATE, 0o777 if executable else 0o666)
            try:
                copier.copy(fd_in, fd_out, info.st_size)
                written = os.fstat(fd_out)
            finally:
                os.close(fd_out)
        finally:
            os.close(fd_in)
        rows.append((path, written.st_ino, written.st_size, written.st_mtime_ns))
        if len(rows) == CHUNK:
            answers.send("rows", rows)
            rows = []
    answers.send("rows", rows)
    answers.send("skipped", skipped)
    answers.send("done")


SCRIPT = os.path.abspath(__file__)


class Helper:
    """A helper process writing a share of a new folder, and a thread talking to it.

    The thread sends the job and reads the answers as they come (so the helper never
    waits on a full pipe), telling ``on_row(path)`` of each file written.
    """

    @staticmethod
    def possible() -> bool:
        """Whether this interpreter can run this file as a script.

        Not in a frozen application (its executable is not Python) nor when gitexp
        is imported from an archive (this file is not a file).
        """
        return bool(sys.executable) and not getattr(sys, "frozen", False) and os.path.isfile(SCRIPT)

    def __init__(
        self,
        objects: str,
        folder: str,
        clone: bool,
        files: list[tuple[str, str, bool, tuple[int, int, int] | None]],
        on_row: Callable[[str], None],
    ) -> None:
        import subprocess
        import threading

        self.rows: list[tuple[str, int, int, int]] = []
        self.skipped: list[str] = []
        self.outcome: tuple[object, ...] = ("no answer",)
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-I", SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        job = marshal.dumps((objects, folder, clone, files))
        self.thread = threading.Thread(target=self._talk, args=(job, on_row), daemon=True)
        self.thread.start()

    def _talk(self, job: bytes, on_row: Callable[[str], None]) -> None:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None  # noqa: S101 - both are pipes
        try:
            with stdin:
                stdin.write(job)
            while True:
                size = int.from_bytes(stdout.read(8), "little")
                data = stdout.read(size)
                if not size or len(data) != size:
                    return  # the helper died: `outcome` says no answer
                message = marshal.loads(data)  # noqa: S302 - from our own helper
                if message[0] == "rows":
                    self.rows += message[1]
                    for row in message[1]:
                        on_row(row[0])
                elif message[0] == "skipped":
                    self.skipped = message[1]
                else:
                    self.outcome = message
                    return
        except (EOFError, ValueError, TypeError, OSError):
            return  # the helper died: `outcome` says no answer

    def finish(self) -> tuple[object, ...]:
        """Wait for the helper; its last message: ``("done",)``, or what went wrong.

        When it ended without an answer, that is ``("no answer", its error output)``.
        """
        self.thread.join()
        assert self.proc.stderr is not None  # noqa: S101 - a pipe
        err = self.proc.stderr.read()
        self.proc.wait()
        if self.outcome == ("no answer",):
            lines = err.decode(errors="replace").strip().splitlines()
            return ("no answer", lines[-1] if lines else f"exit status {self.proc.returncode}")
        return self.outcome

    def stop(self) -> None:
        """End the helper now if it is still running (the checkout failed)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.thread.join()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def main() -> int:
    """Run one job from standard input (see the module docstring)."""
    answers = Answers(sys.stdout.buffer)  # type: ignore[arg-type]
    job = sys.stdin.buffer.read()
    objects, folder, clone, files = marshal.loads(job)  # noqa: S302 - from the parent process
    try:
        copy_all(objects, folder, Copier(clone), files, answers)
    except BrokenPipeError:
        return 1  # the caller stopped listening: it failed or was interrupted
    except OSError as exc:
        answers.send("error", exc.errno or 0, exc.strerror or str(exc), exc.filename or "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
