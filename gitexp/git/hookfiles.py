"""The hook scripts gitexp puts in git's hooks folder, and putting them there and back.

Each script is a POSIX shell shim that runs ``gitexp hook NAME "$@"`` with git's
standard input passed through. A hook that was already in the folder is kept: it is
renamed ``NAME.gitexp-saved`` and the shim runs it first, with the same arguments and
input; its exit code counts (a failing pre- hook stops git before gitexp runs). A
rename keeps its bytes, mode and times, so uninstalling puts back exactly what was
there. Installing again is a no-op; a shim of an older gitexp is replaced.

The shims are generated here (a pip-installed gitexp carries no ``hooks/`` folder);
the repository's ``hooks/`` folder holds the same text, checked by a test.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import NamedTuple

from gitexp.errors import ConflictError

HOOK_NAMES = ("pre-commit", "pre-push", "post-checkout", "post-merge", "post-rewrite")
SAVED_SUFFIX = ".gitexp-saved"
MARKER = "# gitexp hook shim"
VERSION = 1
READS_STDIN = frozenset({"pre-push", "post-rewrite"})

_SKIPPED = {
    "pre-commit": "the check of large files and pointers was skipped",
    "pre-push": "the data of the pushed commits was not uploaded (run: gitexp push)",
    "post-checkout": "the data was not checked out (run: gitexp checkout)",
    "post-merge": "the data was not checked out (run: gitexp checkout)",
    "post-rewrite": "the data was not checked out (run: gitexp checkout)",
}

_HEAD = """\
#!/bin/sh
{marker} (version {version}): {name}
# Keeps gitexp's content-addressed data in step with git by running
# `gitexp hook {name}`. Installed by `gitexp hooks install`; `gitexp hooks uninstall`
# removes it and puts back the hook that was here before (kept meanwhile, and run
# first, as {name}{saved}).
saved="$0{saved}"
"""

_STDIN = """\
input=$(cat)
feed() { if [ -n "$input" ]; then printf '%s\\n' "$input"; fi; }
"""

_PRE_SAVED = """\
if [ -x "$saved" ]; then
  {feed}"$saved" "$@" || exit $?
fi
if command -v gitexp >/dev/null 2>&1; then
  {feed}gitexp hook {name} "$@"
  exit $?
fi
"""

_POST_SAVED = """\
status=0
if [ -x "$saved" ]; then
  {feed}"$saved" "$@" || status=$?
fi
if command -v gitexp >/dev/null 2>&1; then
  {feed}gitexp hook {name} "$@" || {{ code=$?; [ "$status" -ne 0 ] || status=$code; }}
  exit "$status"
fi
"""

_REQUIRE = """\
if [ "$(git config --bool gitexp.requireHooks 2>/dev/null)" = true ]; then
  echo 'gitexp: not found on PATH and gitexp.requireHooks is true, so the commit is refused; \
put gitexp on PATH, or allow commits without it: git config gitexp.requireHooks false' >&2
  exit 1
fi
"""

_MISSING = """\
echo 'gitexp: not found on PATH, so {skipped}' >&2
exit {code}
"""


def shim(name: str) -> str:
    """The script installed as hook ``name``."""
    feed = "feed | " if name in READS_STDIN else ""
    text = _HEAD.format(marker=MARKER, version=VERSION, name=name, saved=SAVED_SUFFIX)
    if name in READS_STDIN:
        text += _STDIN
    body = _PRE_SAVED if name.startswith("pre-") else _POST_SAVED
    text += body.format(feed=feed, name=name)
    if name == "pre-commit":
        text += _REQUIRE
    code = '"$status"' if not name.startswith("pre-") else "0"
    return text + _MISSING.format(skipped=_SKIPPED[name], code=code)


class HookState(NamedTuple):
    """One hook in the folder and its state.

    ``installed`` (the current shim), ``outdated`` (an older shim), ``other`` (not
    gitexp's) or ``absent``; ``chained`` when a saved hook runs first.
    """

    name: str
    state: str
    chained: bool
    path: Path

    def to_json(self) -> dict[str, object]:
        """The object ``hooks status --json`` prints for it."""
        return {
            "name": self.name,
            "state": self.state,
            "chained": self.chained,
            "path": str(self.path),
        }


def state_of(folder: Path, name: str) -> HookState:
    """What is installed as hook ``name`` in ``folder``."""
    path = folder / name
    chained = os.path.lexists(str(path) + SAVED_SUFFIX)
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return HookState(name, "other" if os.path.islink(path) else "absent", chained, path)
    except (IsADirectoryError, PermissionError):
        return HookState(name, "other", chained, path)
    if MARKER not in text:
        return HookState(name, "other", chained, path)
    return HookState(name, "installed" if text == shim(name) else "outdated", chained, path)


def install(folder: Path) -> list[tuple[HookState, str]]:
    """Put every shim in ``folder``; each hook's state after, and what was done.

    Done is ``installed``, ``chained`` (an existing hook was kept and runs first),
    ``updated`` (an older shim replaced) or ``unchanged``. Raises `ConflictError`,
    before anything is changed, when a hook that is not gitexp's would have to be
    saved where a saved hook already is.
    """
    folder.mkdir(parents=True, exist_ok=True)
    states = [state_of(folder, name) for name in HOOK_NAMES]
    for state in states:
        if state.state == "other" and state.chained:
            raise ConflictError(
                f"the hooks folder '{folder}' has both {state.name} and "
                f"{state.name}{SAVED_SUFFIX}, and {state.name} is not gitexp's",
                hint="merge or move one of them away, then run `gitexp hooks install` again",
            )
    done = []
    for state in states:
        if state.state == "installed":
            done.append((state, "unchanged"))
            continue
        action = {"absent": "installed", "outdated": "updated", "other": "chained"}[state.state]
        if state.state == "other":
            os.rename(state.path, str(state.path) + SAVED_SUFFIX)
        _write_executable(state.path, shim(state.name))
        done.append((state_of(folder, state.name), action))
    return done


def uninstall(folder: Path) -> list[tuple[HookState, str]]:
    """Remove gitexp's shims from ``folder``, putting back each saved hook.

    Done is ``removed``, ``restored`` (the saved hook is back), ``kept`` (a hook that
    is not gitexp's is left alone) or ``absent``. Running it again is a no-op.
    """
    done = []
    for name in HOOK_NAMES:
        state = state_of(folder, name)
        saved = Path(str(state.path) + SAVED_SUFFIX)
        if state.state == "other":
            done.append((state, "kept"))
        elif state.chained:
            os.replace(saved, state.path)  # one rename: the shim is never missing alone
            done.append((state_of(folder, name), "restored"))
        elif state.state in ("installed", "outdated"):
            state.path.unlink()
            done.append((state_of(folder, name), "removed"))
        else:
            done.append((state, "absent"))
    return done


def _write_executable(path: Path, text: str) -> None:
    """Write ``path`` (mode 0755) through a temporary file and a rename."""
    import tempfile  # loaded when a hook is written: every command imports this module

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.gitexp-tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o755)  # noqa: S103 - a hook must be executable, like git's samples
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
