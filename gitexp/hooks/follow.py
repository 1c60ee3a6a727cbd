"""``post-checkout``, ``post-merge``, ``post-rewrite``: check out the data git moved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from gitexp.errors import GitexpError
from gitexp.git import plumbing
from gitexp.hooks.call import HookCall, HookResult, data_path, is_pointer, open_project, quote


def moved_by_checkout(root: Path, old: str, new: str) -> list[str]:
    """Pointer files a checkout from ``old`` to ``new`` changed (all of them after a clone)."""
    if plumbing.is_null(old):
        return plumbing.tree_pointers(root, new)  # a clone, or a new worktree
    if old == new:
        return []
    return plumbing.changed_pointers(root, old, new)


def moved_by_merge(root: Path, squash: bool) -> list[str]:
    """Pointer files a merge changed (staged ones after a squash merge)."""
    if squash:  # HEAD did not move: the merged pointers are staged
        return plumbing.staged_pointer_changes(root)
    before = plumbing.resolve(root, "ORIG_HEAD")
    if before is None:
        return plumbing.tree_pointers(root, "HEAD")
    return plumbing.changed_pointers(root, before, "HEAD")


def moved_by_rebase(root: Path, stdin: str) -> list[str]:
    """Pointer files the rebase moved: against where it started, and in each new commit.

    The start of a rebase checks out its base, which post-checkout has followed; the
    commits it then writes may move pointers back and forth.
    """
    found: list[str] = []
    before = plumbing.resolve(root, "ORIG_HEAD")
    if before is not None:
        found += plumbing.changed_pointers(root, before, "HEAD")
    rewritten = [parts[1] for line in stdin.splitlines() if len(parts := line.split()) >= 2]
    found += [c.path for c in plumbing.pointer_changes_in(root, rewritten)]
    return list(dict.fromkeys(found))


def follow(root: Path, pointer_files: Sequence[str], call: HookCall) -> HookResult:
    """Check out the data of ``pointer_files``; problems are warnings, never errors."""
    paths = [data_path(p) for p in pointer_files if is_pointer(p)]
    result = HookResult()
    if not paths:
        return result
    try:
        from gitexp.data import follow as data_follow

        project = open_project(root)
        done = data_follow.follow(
            project, paths, pull=project.config.hooks.pull, env=dict(call.credentials())
        )
    except GitexpError as exc:
        result.warnings.append(
            f"the data was not checked out: {exc.message}; fix this, then run `gitexp checkout`"
        )
        return result
    _report_follow(done, result)
    return result


def _report_stale(done: Mapping[str, object], result: HookResult) -> None:
    removed = list(done.get("removed") or [])  # type: ignore[call-overload]
    if removed:
        result.notes.append(
            f"removed {', '.join(removed)}: no pointer file names it any more and the cache "
            "holds its data"
        )
    for rel in done.get("left") or []:  # type: ignore[attr-defined]
        result.warnings.append(
            f"{rel} stays in the workspace: no pointer file names it any more, and the cache "
            f"lacks some of its content; keep it with `gitexp add {quote(rel)}`, or remove it"
        )


def _report_follow(done: Mapping[str, object], result: HookResult) -> None:
    written = list(done["written"])  # type: ignore[call-overload]
    if done["pulled"]:
        result.notes.append(f"pulled {done['pulled']} object(s) from the storage remote")
    if written:
        count = int(done["files"])  # type: ignore[call-overload]
        files = f" ({count} file{'s' if count != 1 else ''} written)" if count else ""
        result.notes.append(f"checked out {', '.join(written)}{files}")
    for item in done["kept"]:  # type: ignore[attr-defined]
        rel = item["path"]
        result.warnings.append(
            f"{rel} has changes that are not in the cache, so it was left as it was (its "
            f"pointer now names other data); keep them with `gitexp add {quote(rel)}`, or "
            f"replace them with `gitexp checkout --force {quote(rel)}` (which stores them "
            "in the cache first)"
        )
    missing = [str(m["path"]) for m in done["missing"]]  # type: ignore[attr-defined]
    if missing:
        why = f" (pulling failed: {done['pull_error']})" if done["pull_error"] else ""
        result.warnings.append(
            f"the cache lacks the data of {', '.join(missing)}{why}; run `gitexp pull` to "
            "fetch it (or set `hooks: {pull: true}` in gitexp.yaml to pull on checkout)"
        )
    _report_stale(done, result)
    for item in done["invalid"]:  # type: ignore[attr-defined]
        result.warnings.append(f"{item['message']}; its data was left as it was")
    for item in done["failed"]:  # type: ignore[attr-defined]
        result.warnings.append(f"could not check out {item['path']}: {item['message']}")
