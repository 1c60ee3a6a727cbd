"""Tracked data, storage remotes, sharing and the git hooks.

One part of `gitexp.Repo`; each method is one call into the module that does it.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitexp.api.base import Calls

if TYPE_CHECKING:
    from gitexp.data.add import Added
    from gitexp.data.checkout import CheckoutResult
    from gitexp.data.remotes import RemoteRow
    from gitexp.data.status import StatusResult
    from gitexp.data.storage import RemoteFsckResult, RemoteGcResult, UpgradeResult
    from gitexp.data.sync import ProgressFn
    from gitexp.data.upkeep import FsckResult, GcResult
    from gitexp.experiments.run.runner import Notify
    from gitexp.experiments.sync import SyncSummary
    from gitexp.hooks.install import HookRow


class DataCalls(Calls):
    """`Repo`'s calls for this part (see the module)."""

    def add(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        cwd: str | os.PathLike[str] | None = None,
        on_file: Callable[[str, str], None] | None = None,
    ) -> tuple[Added, ...]:
        """Track files or folders by content, relative to ``cwd`` (`gitexp add`)."""
        from gitexp.data.add import add

        return tuple(add(self.project, [os.fspath(p) for p in paths], cwd or self.root, on_file))

    def status(self) -> StatusResult:
        """Each tracked data path's state (``unchanged``, ``modified``, ``missing``, …)."""
        from gitexp.data.status import status

        return status(self.project)

    def checkout(
        self,
        paths: Sequence[str | os.PathLike[str]] = (),
        *,
        force: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        on_file: Callable[[str, str], None] | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> CheckoutResult:
        """Make the workspace's data match its pointers, all or under ``paths``.

        ``notify`` is told when the checkout waits for a ``gc`` holding the cache.
        """
        from gitexp.data.checkout import checkout

        given = [os.fspath(p) for p in paths]
        return checkout(
            self.project, given, force=force, cwd=cwd or self.root, on_file=on_file,
            notify=notify,
        )  # fmt: skip

    def gc(
        self,
        *,
        workspace: bool = False,
        all_branches: bool = False,
        experiments: bool = False,
        dry_run: bool = False,
        now: bool = False,
        notify: Notify | None = None,
        compact: bool = False,
        progress: ProgressFn | None = None,
    ) -> GcResult:
        """Remove cache objects nothing needs (`gitexp gc`); what was freed.

        With ``compact``, big files that remain and that no working tree needs are
        then kept as shared chunks (``gc --compact``), reassembled when needed again;
        ``progress`` is told (phase ``"compact"``) how far that is, file by file.
        """
        from gitexp.experiments import manage

        return manage.gc(
            self.project, workspace=workspace, all_branches=all_branches,
            experiments=experiments, dry_run=dry_run, now=now, notify=notify,
            compact=compact, progress=progress,
        )  # fmt: skip

    def gc_remote(
        self,
        name: str,
        *,
        workspace: bool = False,
        all_branches: bool = False,
        experiments: bool = False,
        dry_run: bool = False,
        now: bool = False,
        credentials: Mapping[str, str] | None = None,
    ) -> RemoteGcResult:
        """Remote gc in two phases (see `gitexp gc --remote`), with local gc's reachability."""
        from gitexp.data import storage
        from gitexp.experiments.manage import gc_scope

        scope = gc_scope(workspace=workspace, all_branches=all_branches, experiments=experiments)
        env = dict(credentials or {})
        return storage.gc_remote(self.project, name, env, scope, dry_run=dry_run, now=now)

    def fsck_remote(
        self, name: str, *, credentials: Mapping[str, str] | None = None, jobs: int | None = None
    ) -> RemoteFsckResult:
        """Verify every pack, index, chunk list and object on storage remote ``name``."""
        from gitexp.data import storage

        return storage.fsck_remote(self.project, name, dict(credentials or {}), jobs)

    def remote_upgrade(
        self, name: str, *, credentials: Mapping[str, str] | None = None, jobs: int | None = None
    ) -> UpgradeResult:
        """Move storage remote ``name`` to layout 2 (packs); idempotent."""
        from gitexp.data import storage

        return storage.upgrade_remote(self.project, name, dict(credentials or {}), jobs)

    def fsck(self, *, jobs: int | None = None) -> FsckResult:
        """Re-hash every cache object; ``corrupt`` ones are moved aside, ``missing`` listed."""
        from gitexp.data import upkeep

        return upkeep.fsck(self.project, jobs=jobs)

    def push(
        self,
        names: Sequence[str] = (),
        *,
        git_remote: str | None = None,
        everything: bool = False,
        remote: str | None = None,
        jobs: int | None = None,
        force: bool = False,
        data: bool = True,
        credentials: Mapping[str, str] | None = None,
        progress: ProgressFn | None = None,
    ) -> SyncSummary:
        """Push experiments (``names``, ``everything``; none: the current data) and data.

        ``credentials``: environment variables (``os.environ`` will do).

        >>> repo.push(["lr-3"], git_remote="origin")  # doctest: +SKIP
        """
        from gitexp.experiments import sync

        request = sync.SyncRequest.of(
            git_remote, names, everything, force, data, remote, jobs, credentials, progress
        )
        return sync.push_summary(self.project, request)

    def pull(
        self,
        names: Sequence[str] = (),
        *,
        git_remote: str | None = None,
        everything: bool = False,
        remote: str | None = None,
        jobs: int | None = None,
        force: bool = False,
        data: bool = True,
        checkout: bool = True,
        credentials: Mapping[str, str] | None = None,
        progress: ProgressFn | None = None,
    ) -> SyncSummary:
        """Fetch experiments' refs and their data, then check out the current data."""
        from gitexp.experiments import sync

        request = sync.SyncRequest.of(
            git_remote, names, everything, force, data, remote, jobs, credentials, progress
        )
        return sync.pull_summary(self.project, request, checkout=checkout)

    def split_targets(
        self, words: Sequence[str], *, everything: bool = False, pulling: bool = False
    ) -> tuple[str | None, builtins.list[str]]:
        """``[GIT_REMOTE] [NAME…]`` as (git remote or None for origin, names)."""
        from gitexp.data import targets

        return targets.split_targets(
            self.git, words, everything=everything, local_names=not pulling
        )

    def remote_add(
        self,
        name: str,
        url: str,
        *,
        options: Mapping[str, str | int | float | bool] | None = None,
        default: bool = False,
        local: bool = False,
        force: bool = False,
    ) -> Path | None:
        """Declare a storage remote; the local folder its first push will make, if any."""
        from gitexp.data import remotes

        return remotes.add(
            self.project, name, url, options=options, default=default, local=local, force=force
        )

    def remote_list(self) -> tuple[RemoteRow, ...]:
        """Every storage remote: name, redacted URL, whether it is the default, options."""
        from gitexp.data import remotes

        return remotes.listing(self.project)

    def remote_remove(self, name: str) -> None:
        """Forget a storage remote (its stored objects are not touched)."""
        from gitexp.data import remotes

        remotes.remove(self.project, name)

    def remote_default(self, name: str) -> None:
        """Make ``name`` the default storage remote."""
        from gitexp.data import remotes

        remotes.set_default(self.project, name)

    def remote_modify(
        self, name: str, option: str, value: str | int | float | bool | None, *, local: bool = False
    ) -> None:
        """Set (None: unset) one option of a storage remote; secrets only with ``local``."""
        from gitexp.data import remotes

        remotes.modify(self.project, name, option, value, local=local)

    def install_hooks(self) -> tuple[HookRow, ...]:
        """Put gitexp's git hooks where git runs hooks from; a hook there runs first."""
        from gitexp.hooks import install

        return install.install(self.root)

    def uninstall_hooks(self) -> tuple[HookRow, ...]:
        """Remove gitexp's git hooks, putting back exactly the hooks that were there."""
        from gitexp.hooks import install

        return install.uninstall(self.root)

    def hooks_status(self) -> tuple[HookRow, ...]:
        """Each git hook gitexp installs: ``installed``, ``outdated``, ``other`` or ``absent``."""
        from gitexp.hooks import install

        return install.status(self.root)
