"""A model registry in git: versions are annotated tags, aliases are refs moved by CAS.

``register`` tags the experiment's commit ``model/<name>/v<N>``; N is one more than
the highest version there is, and the tag's ref is created only if absent, so two
people registering at once get two different versions, never one overwritten.
``alias`` moves ``refs/models/<name>/<alias>`` from the value it read (or the one
the caller says it expects) to the version's tag object: of two concurrent moves one
wins and the other is a `ConflictError`. Nothing here needs a server: every version
and alias is a ref, shared with ``gitexp push``/``pull`` or plain git.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gitexp.core.modelrefs import (
    ALIAS_PREFIX,
    TAG_PREFIX,
    VersionRecord,
    alias_ref,
    check_model_name,
    parse_message,
    parse_version,
    split_alias_ref,
    split_tag_ref,
    tag_name,
    tag_ref,
)
from gitexp.core.pointer import Pointer, pointer_path
from gitexp.core.results import JsonResult
from gitexp.data.pointers import pointers_at
from gitexp.errors import ConflictError, GitexpError, NotFoundError, UsageError
from gitexp.experiments.manage import experiment_commit
from gitexp.experiments.query.summary import Reader, inherited_in
from gitexp.git.refs import RefUpdate, list_refs, read_ref, update_refs
from gitexp.git.repo import GitRepo
from gitexp.git.tags import create_only, read_tag, write_tag
from gitexp.project import config_at

_REGISTER_ATTEMPTS = 100

Expect = int | Literal["none"] | None
"""What an alias must point at before it moves: a version, ``"none"`` (absent), or
None (whatever it points at when read)."""


@dataclass(frozen=True, slots=True)
class ModelVersion(JsonResult):
    """One registered version: its tag, and what its tag message records."""

    name: str
    version: int
    tag: str
    experiment: str
    commit: str
    path: str
    hash: str
    size: int
    kind: str
    metrics: Mapping[str, object]
    created: int
    """When it was registered (seconds since the epoch, from the tag)."""

    def to_json(self) -> dict[str, object]:
        """The version as ``model list --json`` and ``model register --json`` print it."""
        return {
            "name": self.name,
            "version": self.version,
            "tag": self.tag,
            "experiment": self.experiment,
            "commit": self.commit,
            "path": self.path,
            "hash": self.hash,
            "size": self.size,
            "kind": self.kind,
            "metrics": dict(self.metrics),
            "created": self.created,
        }


@dataclass(frozen=True, slots=True)
class Model(JsonResult):
    """A model: its versions, oldest first, and its aliases (alias → version)."""

    name: str
    versions: tuple[ModelVersion, ...]
    aliases: Mapping[str, int]

    def to_json(self) -> dict[str, object]:
        """The model as ``model list --json`` prints it."""
        return {
            "name": self.name,
            "latest": self.versions[-1].version if self.versions else None,
            "aliases": dict(sorted(self.aliases.items())),
            "versions": [v.to_json() for v in self.versions],
        }


@dataclass(frozen=True, slots=True)
class AliasResult(JsonResult):
    """What ``model alias`` did: the alias now points at ``version``."""

    name: str
    alias: str
    version: int
    previous: int | None
    moved: bool

    def to_json(self) -> dict[str, object]:
        """The ``--json`` document."""
        return {
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "previous": self.previous,
            "moved": self.moved,
        }


def register(git: GitRepo, name: str, experiment: str, path: str | None = None) -> ModelVersion:
    """Register the out ``path`` of ``experiment`` as the next version of model ``name``.

    Without ``path`` the experiment's one out is taken. Raises `NotFoundError` for an
    unknown experiment or a path that is no content-addressed file of its commit,
    `UsageError` when the experiment has several outs and none was named.
    """
    check_model_name(name)
    commit = experiment_commit(git, experiment)
    chosen, pointer = _model_file(git, commit, experiment, path)
    metrics = Reader(git).summary(commit)["metrics"]
    for _ in range(_REGISTER_ATTEMPTS):
        number = max(_versions(git, name), default=0) + 1
        record = VersionRecord(
            model=name,
            version=number,
            experiment=experiment,
            commit=commit,
            path=chosen,
            hash=str(pointer.oid),
            size=pointer.size,
            kind=pointer.kind,
            metrics=metrics if isinstance(metrics, dict) else {},
        )
        oid = write_tag(git, tag_name(name, number), commit, record.message())
        if create_only(git, tag_ref(name, number), oid):
            return _version(git, oid, tag_ref(name, number))
    raise ConflictError(
        f"could not register a version of model '{name}': others kept taking the next number",
        hint="retry once the other registrations have finished",
    )


def _model_file(
    git: GitRepo, commit: str, experiment: str, path: str | None
) -> tuple[str, Pointer]:
    """The data path of the model in the experiment's commit, and its pointer.

    Without ``path``: the run's one out (declared under ``outs:``), else the one
    content-addressed file the run wrote (a logged artifact, a large file).
    """
    pointers = pointers_at(git, git.lookup_commit(commit).tree)
    if path is not None:
        wanted = path.removeprefix("./").removesuffix(".gitexp").rstrip("/")
        if wanted not in pointers:
            known = ", ".join(sorted(pointers)) or "none"
            raise NotFoundError(
                f"experiment '{experiment}' has no content-addressed file '{wanted}'",
                hint=f"name one of its outs or data with --path (it has: {known})",
            )
        return wanted, pointers[wanted]
    outs, written = _written(git, commit, pointers)
    chosen = outs if outs else written
    if len(chosen) == 1:
        return chosen[0], pointers[chosen[0]]
    if not chosen:
        raise NotFoundError(
            f"experiment '{experiment}' recorded no out to register",
            hint="name the model file with --path (declare it under outs: in gitexp.yaml "
            "so runs keep it)",
        )
    raise UsageError(
        f"experiment '{experiment}' has several outs: {', '.join(chosen)}",
        hint="name the model file with --path",
    )


def _written(
    git: GitRepo, commit_id: str, pointers: dict[str, Pointer]
) -> tuple[list[str], list[str]]:
    """(declared outs, all content-addressed files) that the run wrote itself."""
    commit = git.lookup_commit(commit_id)
    inherited = inherited_in(commit)
    before = pointers_at(git, commit.parents[0].tree) if commit.parents else {}
    declared = config_at(git, commit.tree).outs
    own = [p for p in sorted(pointers) if pointer_path(p) not in inherited]
    outs = [p for p in declared if p in own]
    return outs, [p for p in own if p in declared or before.get(p) != pointers[p]]


def _versions(git: GitRepo, name: str) -> list[int]:
    found = []
    for ref in list_refs(git, f"{TAG_PREFIX}{name}/"):
        split = split_tag_ref(ref)
        if split is not None and split[0] == name:
            found.append(split[1])
    return found


def _version(git: GitRepo, tag_oid: str, ref: str) -> ModelVersion:
    """The version whose tag object is ``tag_oid``; `FormatError` for a foreign tag."""
    try:
        tag = read_tag(git, tag_oid)
    except GitexpError as exc:
        raise NotFoundError(f"'{ref}' is not a model version gitexp registered") from exc
    record = parse_message(tag.message, ref)
    return ModelVersion(
        name=record.model,
        version=record.version,
        tag=ref[len("refs/tags/") :],
        experiment=record.experiment,
        commit=tag.target,
        path=record.path,
        hash=record.hash,
        size=record.size,
        kind=record.kind,
        metrics=record.metrics,
        created=tag.time,
    )


def models(git: GitRepo, name: str | None = None) -> list[Model]:
    """Every registered model (or only ``name``), by name; `NotFoundError` for an unknown one."""
    if name is not None:
        check_model_name(name)
    suffix = f"{name}/" if name else ""
    tags = list_refs(git, TAG_PREFIX + suffix)
    aliases = list_refs(git, ALIAS_PREFIX + suffix)
    versions: dict[str, list[ModelVersion]] = {}
    by_tag: dict[str, ModelVersion] = {}
    for ref, oid in tags.items():
        if split_tag_ref(ref) is None:
            continue
        try:
            version = _version(git, oid, ref)
        except GitexpError:
            continue  # a tag under model/ that gitexp did not write
        versions.setdefault(version.name, []).append(version)
        by_tag[oid] = version
    pointed: dict[str, dict[str, int]] = {}
    for ref, oid in aliases.items():
        split = split_alias_ref(ref)
        if split is not None and oid in by_tag:
            pointed.setdefault(split[0], {})[split[1]] = by_tag[oid].version
    if name is not None and name not in versions:
        raise NotFoundError(
            f"model '{name}' is not registered",
            hint="see `gitexp model list`; models registered elsewhere come with "
            "`gitexp pull --all`, new ones with `gitexp model register`",
        )
    return [
        Model(n, tuple(sorted(vs, key=lambda v: v.version)), pointed.get(n, {}))
        for n, vs in sorted(versions.items())
    ]


def find_version(git: GitRepo, name: str, version: int | None, alias: str | None) -> ModelVersion:
    """The version ``name@vN``, ``name:alias`` or (neither) the latest names."""
    if alias is not None:
        target = read_ref(git, alias_ref(name, alias))
        if target is None:
            raise NotFoundError(
                f"model '{name}' has no alias '{alias}'",
                hint=f"see `gitexp model list {name}`; set it with "
                f"`gitexp model alias {name} vN {alias}`",
            )
        return _version(git, target, alias_ref(name, alias))
    if version is None:
        known = _versions(git, name)
        if not known:
            raise NotFoundError(
                f"model '{name}' is not registered",
                hint="see `gitexp model list`; models registered elsewhere come with "
                "`gitexp pull --all`, new ones with `gitexp model register`",
            )
        version = max(known)
    target = read_ref(git, tag_ref(name, version))
    if target is None:
        raise NotFoundError(
            f"model '{name}' has no version v{version}",
            hint=f"see `gitexp model list {name}`",
        )
    return _version(git, target, tag_ref(name, version))


def set_alias(
    git: GitRepo, name: str, version: int | str, alias: str, expect: Expect | str = None
) -> AliasResult:
    """Point ``alias`` of model ``name`` at ``version`` (3 or ``"v3"``), by compare-and-swap.

    The alias moves only if it still points where it did when read, or where
    ``expect`` says (a version, or ``"none"``: absent); otherwise `ConflictError`
    names where it is now, and nothing moves. Moving it where it already points is
    a no-op.
    """
    check_model_name(name)
    check_model_name(alias, "alias")
    version = version if isinstance(version, int) else parse_version(version)
    if isinstance(expect, str) and expect != "none":
        expect = parse_version(expect)
    wanted: Expect = "none" if expect == "none" else expect if isinstance(expect, int) else None
    target = find_version(git, name, version, None)
    new = read_ref(git, tag_ref(name, version))
    ref = alias_ref(name, alias)
    current = read_ref(git, ref)
    previous = _version(git, current, ref).version if current is not None else None
    old = current if wanted is None else _expected(git, name, wanted)
    if current == new and old == current:
        return AliasResult(name, alias, target.version, previous, moved=False)
    try:
        update_refs(git, [RefUpdate(ref, new, old)], f"gitexp: model alias {alias}")
    except ConflictError:
        raise _moved(git, name, alias, wanted if wanted is not None else previous) from None
    return AliasResult(name, alias, target.version, previous, moved=True)


def _expected(git: GitRepo, name: str, expect: int | Literal["none"]) -> str | None:
    if expect == "none":
        return None
    oid = read_ref(git, tag_ref(name, expect))
    if oid is None:
        raise NotFoundError(f"model '{name}' has no version v{expect}")
    return oid


def _moved(git: GitRepo, name: str, alias: str, expected: int | str | None) -> ConflictError:
    """The conflict of an alias that moved between reading it and moving it."""
    now = read_ref(git, alias_ref(name, alias))
    where = f"v{_version(git, now, alias_ref(name, alias)).version}" if now else "nowhere"
    was = "absent" if expected in (None, "none") else f"v{expected}"
    return ConflictError(
        f"alias '{alias}' of model '{name}' was moved by someone else: it points at "
        f"{where}, not {was} as expected; nothing was changed",
        hint=f"see `gitexp model list {name}`, then run the command again if you still "
        "want to move it",
    )
