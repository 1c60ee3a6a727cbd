"""Registered models travel with experiments: version tags and aliases, through git.

Versions never change, so a version tag is pushed or fetched when the other side
lacks it, and one that exists on both sides as different tags (two people registered
the same number) is a conflict. Aliases move, so each is compared with the value
last seen on that remote (kept under ``refs/gitexp/seen/<remote>/``, as git keeps
remote-tracking branches): ``pull`` moves an alias the user has not moved locally
and keeps one the user moved; ``push`` refuses an alias that moved on the remote
since it was last seen. A conflict raises before any ref moves, on either side.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from gitexp.core.modelrefs import (
    ALIAS_PREFIX,
    TAG_PREFIX,
    parse_message,
    split_alias_ref,
    split_tag_ref,
)
from gitexp.core.pointer import Pointer
from gitexp.data.pointers import pointers_at
from gitexp.errors import ConflictError, GitexpError
from gitexp.git import transport
from gitexp.git.refs import RefUpdate, list_refs, read_ref, update_refs
from gitexp.git.repo import GitRepo
from gitexp.git.tags import read_tag

SEEN_PREFIX = "refs/gitexp/seen/"
_SIMPLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass
class ModelPlan:
    """What a push or pull of models will do, found before anything moves."""

    refs: dict[str, str] = field(default_factory=dict)
    """Ref → new value to set on the other side (push) or here (pull)."""
    expected: dict[str, str | None] = field(default_factory=dict)
    """Ref → the value it must have there now (compare-and-swap)."""
    seen: dict[str, str] = field(default_factory=dict)
    """Alias ref → the remote's value once this is done."""
    unchanged: list[str] = field(default_factory=list)

    @property
    def moved(self) -> list[str]:
        """The moved refs, as ``git tag``/``for-each-ref`` show them (without ``refs/``)."""
        return sorted(ref[len("refs/") :] for ref in self.refs)


def _seen_ref(remote: str, ref: str) -> str:
    """Where the last value of ``ref`` seen on ``remote`` is kept."""
    slug = (
        remote
        if _SIMPLE.fullmatch(remote)
        else "url-"
        + hashlib.sha1(  # noqa: S324 - a name, not security
            remote.encode()
        ).hexdigest()[:16]
    )
    return f"{SEEN_PREFIX}{slug}/{ref[len('refs/') :]}"


def _remote_models(git: GitRepo, remote: str) -> tuple[dict[str, str], dict[str, str]]:
    return (
        transport.ls_remote(git, remote, TAG_PREFIX),
        transport.ls_remote(git, remote, ALIAS_PREFIX),
    )


def plan_push(git: GitRepo, remote: str, force: bool) -> ModelPlan:
    """The model refs to push to ``remote``; `ConflictError` when one clashes there."""
    plan = ModelPlan()
    remote_tags, remote_aliases = _remote_models(git, remote)
    clashes: list[str] = []
    for ref, oid in list_refs(git, TAG_PREFIX).items():
        if split_tag_ref(ref) is None:
            continue
        there = remote_tags.get(ref)
        if there == oid:
            plan.unchanged.append(ref)
        elif there is None or force:
            plan.refs[ref], plan.expected[ref] = oid, there
        else:
            clashes.append(f"{ref[len('refs/tags/') :]} (registered there as another version)")
    for ref, oid in list_refs(git, ALIAS_PREFIX).items():
        if split_alias_ref(ref) is None:
            continue
        there, seen = remote_aliases.get(ref), read_ref(git, _seen_ref(remote, ref))
        if there == oid:
            plan.unchanged.append(ref)
            plan.seen[ref] = oid
        elif there is None or there == seen or force:
            plan.refs[ref], plan.expected[ref], plan.seen[ref] = oid, there, oid
        else:
            clashes.append(f"{_alias_text(ref)} (moved there since your last pull)")
    _refuse(clashes, remote, "push")
    return plan


def plan_pull(git: GitRepo, remote: str, force: bool) -> ModelPlan:
    """The model refs to take from ``remote``; `ConflictError` when one clashes here."""
    plan = ModelPlan()
    remote_tags, remote_aliases = _remote_models(git, remote)
    clashes: list[str] = []
    for ref, oid in remote_tags.items():
        here = read_ref(git, ref)
        if split_tag_ref(ref) is None or here == oid:
            plan.unchanged += [ref] if here == oid else []
        elif here is None or force:
            plan.refs[ref], plan.expected[ref] = oid, here
        else:
            clashes.append(f"{ref[len('refs/tags/') :]} (registered here as another version)")
    for ref, oid in remote_aliases.items():
        if split_alias_ref(ref) is None:
            continue
        here, seen = read_ref(git, ref), read_ref(git, _seen_ref(remote, ref))
        plan.seen[ref] = oid
        if here == oid or (here != seen and oid == seen and not force):
            plan.unchanged.append(ref)  # equal, or moved here only: push will take it
        elif here is None or here == seen or force:
            plan.refs[ref], plan.expected[ref] = oid, here
        else:
            clashes.append(f"{_alias_text(ref)} (moved here and there since your last pull)")
    _refuse(clashes, remote, "pull")
    return plan


def _alias_text(ref: str) -> str:
    split = split_alias_ref(ref)
    return f"alias '{split[1]}' of model '{split[0]}'" if split else ref


def _refuse(clashes: list[str], remote: str, verb: str) -> None:
    if clashes:
        raise ConflictError(
            f"registered models differ here and on '{remote}': {'; '.join(clashes)}; "
            "nothing was changed",
            hint="see `gitexp model list`; move the alias again with `gitexp model alias` "
            f"after a pull, or pass --force to {verb} over them",
        )


def push_refs(plan: ModelPlan) -> list[transport.RefPush]:
    """The ref pushes of ``plan``, for the one atomic push of experiments and models."""
    return [transport.RefPush(ref, new, plan.expected[ref]) for ref, new in plan.refs.items()]


def model_pointers(git: GitRepo, plan: ModelPlan) -> dict[str, Mapping[str, Pointer]]:
    """Owner → the model file's pointer, for each version in ``plan``: what a push uploads."""
    found: dict[str, Mapping[str, Pointer]] = {}
    for ref, oid in plan.refs.items():
        split = split_tag_ref(ref)
        if split is None:
            continue
        try:
            tag = read_tag(git, oid)
            path = parse_message(tag.message, ref).path
        except GitexpError:
            continue  # a tag gitexp did not write: no data of its own
        pointers = pointers_at(git, git.lookup_commit(tag.target).tree)
        if path in pointers:
            found[f"model {split[0]} v{split[1]}"] = {path: pointers[path]}
    return found


def fetch(git: GitRepo, remote: str, plan: ModelPlan) -> None:
    """Take the refs of a pull ``plan`` here (compare-and-swap), then note what was seen."""
    try:
        fetched = transport.fetch_refs(git, remote, sorted(plan.refs))
        updates = [RefUpdate(ref, fetched[ref], plan.expected[ref]) for ref in plan.refs]
        update_refs(git, updates, "gitexp pull: models")
    finally:
        transport.clear_incoming(git)
    remember(git, remote, plan)


def remember(git: GitRepo, remote: str, plan: ModelPlan) -> None:
    """Record each alias's value on ``remote`` as seen (after a push or pull succeeded)."""
    updates = []
    for ref, oid in plan.seen.items():
        seen = _seen_ref(remote, ref)
        current = read_ref(git, seen)
        if current != oid:
            updates.append(RefUpdate(seen, oid, current))
    update_refs(git, updates, "gitexp: models seen on remote")
