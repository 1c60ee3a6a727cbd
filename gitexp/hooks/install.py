"""``gitexp hooks install|uninstall|status``: gitexp's shims in git's hooks folder.

The folder is the one git runs hooks from (``core.hooksPath`` when set); what each
shim is and how an existing hook is kept is `gitexp.git.hookfiles`' business.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitexp.core.results import JsonResult
from gitexp.git import hookfiles, plumbing


@dataclass(frozen=True, slots=True)
class HookRow(JsonResult):
    """One hook: its state, whether a saved hook runs first, where it is, what was done.

    ``state``: ``installed``, ``outdated``, ``other`` or ``absent``; ``done`` (install
    and uninstall only): see `hookfiles.install` and `hookfiles.uninstall`.
    """

    name: str
    state: str
    chained: bool
    path: str
    done: str | None = None

    @classmethod
    def of(cls, state: hookfiles.HookState, done: str | None = None) -> HookRow:
        """The row of ``state``."""
        return cls(state.name, state.state, state.chained, str(state.path), done)

    def to_json(self) -> dict[str, object]:
        """The object ``hooks … --json`` prints for it (``done`` only when something was)."""
        doc: dict[str, object] = {
            "name": self.name,
            "state": self.state,
            "chained": self.chained,
            "path": self.path,
        }
        if self.done is not None:
            doc["done"] = self.done
        return doc


def install(root: Path) -> tuple[HookRow, ...]:
    """Install every shim for the repository at ``root``; idempotent (see `hookfiles.install`)."""
    done = hookfiles.install(plumbing.hooks_dir(root))
    return tuple(HookRow.of(state, action) for state, action in done)


def uninstall(root: Path) -> tuple[HookRow, ...]:
    """Remove gitexp's shims, putting back exactly the hooks that were there."""
    done = hookfiles.uninstall(plumbing.hooks_dir(root))
    return tuple(HookRow.of(state, action) for state, action in done)


def status(root: Path) -> tuple[HookRow, ...]:
    """Each hook gitexp installs, as it is now."""
    folder = plumbing.hooks_dir(root)
    return tuple(HookRow.of(hookfiles.state_of(folder, name)) for name in hookfiles.HOOK_NAMES)
