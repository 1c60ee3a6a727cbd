"""Data that follows git: what the hooks do once git has moved the pointer files.

After a checkout, merge or rebase, `follow` makes the data of the pointer files git
changed match them, one data path at a time, so that one path in trouble never holds
back the others: data modified in the workspace whose content the cache lacks is kept
as it is (listed under ``kept``), objects missing from the cache are fetched from the
storage remote when asked (else listed under ``missing``), and nothing else stops it.
`absent_objects` says which objects of some pointers the cache lacks (the pre-commit
check), and `push_needed` uploads what pushed commits' pointers need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gitexp.core.hashing import Oid
from gitexp.core.manifest import parse_manifest
from gitexp.core.pointer import Pointer, parse_pointer, pointer_path
from gitexp.data import checkout as datasets
from gitexp.data import leftovers, sync
from gitexp.errors import FormatError, GitexpError, PathError
from gitexp.project import Project

HOOK = "the hook"
"""Who needs the objects, in storage messages (it holds a space: not an experiment)."""


def absent_objects(project: Project, pointers: Mapping[str, Pointer]) -> dict[str, list[Oid]]:
    """For each data path, the objects its pointer needs that the cache does not hold.

    A directory's files are known from its manifest; when the manifest itself is
    absent only it is listed. A manifest that does not parse raises `FormatError`.
    """
    store = project.store()
    absent: dict[str, list[Oid]] = {}
    for rel, pointer in pointers.items():
        if not store.has(pointer.oid):
            absent[rel] = [pointer.oid]
            continue
        if pointer.kind == "dir":
            entries = parse_manifest(store.read_bytes(pointer.oid), str(pointer.oid))
            lacking = sorted({e.oid for e in entries if not store.has(e.oid)}, key=str)
            if lacking:
                absent[rel] = lacking
    return absent


def push_needed(
    project: Project, pointers: Mapping[str, Pointer], env: Mapping[str, str]
) -> dict[str, object]:
    """Upload what ``pointers`` need to the default storage remote; what moved.

    Raises `NotFoundError` (no storage remote, or objects neither in the cache nor on
    the remote), `StorageError` when the upload fails.
    """
    result = sync.push_pointers(project, sync.Storage(env=env), pointers, "the pushed commits")
    return {
        "remote": result.storage,
        "transferred": len(result.objects.transferred),
        "present": result.objects.present,
        "bytes": result.objects.bytes,
    }


def follow(
    project: Project, paths: Sequence[str], *, pull: bool, env: Mapping[str, str]
) -> dict[str, object]:
    """Check out the data at ``paths`` to match their pointer files in the workspace.

    The data of a path whose pointer file is gone is removed when the cache holds it
    all (as git removes the files it no longer tracks), else left (see `leftovers`).
    Returns ``written`` (paths) and ``files``, ``kept`` (modified data not in the
    cache: ``{path, files}``), ``missing`` (``{path, objects}``), ``invalid``,
    ``failed`` (``{path, message}``), ``pulled`` (objects fetched), ``pull_error``,
    ``removed`` (data paths) and ``left`` (data paths whose pointer is gone, not removed).
    """
    pointers, invalid = _read_pointers(project, paths)
    unread = {item["path"] for item in invalid}
    gone = [rel for rel in paths if rel not in pointers and rel not in unread]
    stale = leftovers.remove_stale_data(project, gone)
    result: dict[str, object] = {"invalid": invalid, "pulled": 0, "pull_error": None}
    result.update(removed=stale["removed"], left=stale["kept"])
    if pull:
        _pull_absent(project, pointers, env, result)
    kept = _at_risk(project, pointers)
    result["kept"] = [{"path": rel, "files": files} for rel, files in sorted(kept.items())]
    rest = {rel: p for rel, p in pointers.items() if rel not in kept}
    result.update(_checkout_each(project, rest))
    return result


def _read_pointers(
    project: Project, paths: Sequence[str]
) -> tuple[dict[str, Pointer], list[dict[str, str]]]:
    pointers: dict[str, Pointer] = {}
    invalid: list[dict[str, str]] = []
    for rel in dict.fromkeys(paths):
        name = pointer_path(rel)
        try:
            data = (project.root / name).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
        try:
            pointers[rel] = parse_pointer(data, name)
        except (FormatError, PathError) as exc:
            invalid.append({"path": rel, "message": exc.message})
    return pointers, invalid


def _pull_absent(
    project: Project,
    pointers: Mapping[str, Pointer],
    env: Mapping[str, str],
    result: dict[str, object],
) -> None:
    try:
        absent = absent_objects(project, pointers)
    except GitexpError as exc:
        result["pull_error"] = exc.message
        return
    if not absent:
        return
    wanted = {rel: pointers[rel] for rel in absent}
    try:
        pulled = sync.pull_pointers(project, sync.Storage(env=env), wanted, HOOK)
    except GitexpError as exc:
        result["pull_error"] = exc.message + (f"; {exc.hint}" if exc.hint else "")
        return
    result["pulled"] = len(pulled.objects.transferred)


def _at_risk(project: Project, pointers: Mapping[str, Pointer]) -> dict[str, list[str]]:
    """Data path → files in it that a checkout would overwrite or delete, not in the cache."""
    kept: dict[str, list[str]] = {}
    for name in datasets.data_at_risk(project, dict(pointers)):
        rel = _owner(name, pointers)
        kept.setdefault(rel, []).append(name)
    return kept


def _owner(name: str, pointers: Mapping[str, Pointer]) -> str:
    """The data path ``name`` (a data path, or a file inside a folder's) belongs to."""
    head = name
    while head not in pointers and "/" in head:
        head = head.rpartition("/")[0]
    return head


def _checkout_each(project: Project, pointers: Mapping[str, Pointer]) -> dict[str, object]:
    """Check everything out at once; when that fails, one path at a time."""
    try:
        done = datasets.checkout_pointers(project, dict(pointers))
        return _summary([done], [])
    except GitexpError:
        pass
    results: list[datasets.CheckoutResult] = []
    failed: list[dict[str, str]] = []
    for rel, pointer in sorted(pointers.items()):
        try:
            results.append(datasets.checkout_pointers(project, {rel: pointer}))
        except GitexpError as exc:
            failed.append({"path": rel, "message": exc.message})
    return _summary(results, failed)


def _summary(
    results: list[datasets.CheckoutResult], failed: list[dict[str, str]]
) -> dict[str, object]:
    written: list[str] = []
    missing: list[object] = []
    files = 0
    for done in results:
        written += done.written
        missing += [{"path": m.path, "objects": list(m.objects)} for m in done.missing]
        files += done.files
    return {"written": written, "files": files, "missing": missing, "failed": failed}
