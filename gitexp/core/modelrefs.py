"""The model registry's names in git: version tags, alias refs, and what a version records.

A registered model version is an annotated tag ``model/<name>/v<N>`` at the
experiment's commit; its message starts with one line for people and then holds a
JSON document (versioned like every gitexp format) with the model's path, hash,
size, metrics and experiment. An alias is the ref ``refs/models/<name>/<alias>``,
pointing at a version's tag object. This module is the one definition of both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

from gitexp.errors import FormatError, InvalidNameError, UsageError

TAG_PREFIX = "refs/tags/model/"
ALIAS_PREFIX = "refs/models/"
FORMAT_VERSION = 1

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_VERSION_RE = re.compile(r"v?([1-9][0-9]{0,8})")


def check_model_name(name: str, what: str = "model name") -> str:
    """Return ``name`` if it can name a model (or an alias), else `InvalidNameError`.

    The rule is the one for experiment names, so a name is always one valid ref
    component. An alias may not look like a version (``v3``): ``clf:v3`` would read
    as both.

    >>> check_model_name("clf")
    'clf'
    """
    bad = not _NAME_RE.fullmatch(name) or ".." in name or name.endswith((".lock", "."))
    if bad or (what == "alias" and _VERSION_RE.fullmatch(name)):
        raise InvalidNameError(
            f"'{name}' is not a valid {what}",
            hint="use letters, digits, '.', '_' and '-', starting with a letter or digit "
            "(at most 100 characters, no '..', not ending in '.' or '.lock')"
            + ("; an alias may not look like a version (v1)" if what == "alias" else ""),
        )
    return name


def parse_version(text: str) -> int:
    """``v3`` or ``3`` as 3; `UsageError` for anything else."""
    match = _VERSION_RE.fullmatch(text)
    if match is None:
        raise UsageError(f"'{text}' is not a model version", hint="write it as v1, v2, ...")
    return int(match.group(1))


def tag_ref(name: str, version: int) -> str:
    """The full ref of version ``version`` of model ``name``."""
    return f"{TAG_PREFIX}{name}/v{version}"


def tag_name(name: str, version: int) -> str:
    """The tag's short name, as ``git tag`` lists it: ``model/clf/v3``."""
    return tag_ref(name, version)[len("refs/tags/") :]


def alias_ref(name: str, alias: str) -> str:
    """The full ref of alias ``alias`` of model ``name``."""
    return f"{ALIAS_PREFIX}{name}/{alias}"


def split_tag_ref(ref: str) -> tuple[str, int] | None:
    """(model, version) of a version tag ref; None for any other ref."""
    if not ref.startswith(TAG_PREFIX):
        return None
    name, _, last = ref[len(TAG_PREFIX) :].rpartition("/")
    match = _VERSION_RE.fullmatch(last)
    if not name or "/" in name or match is None or not last.startswith("v"):
        return None
    return name, int(match.group(1))


def split_alias_ref(ref: str) -> tuple[str, str] | None:
    """(model, alias) of an alias ref; None for any other ref."""
    if not ref.startswith(ALIAS_PREFIX):
        return None
    name, _, alias = ref[len(ALIAS_PREFIX) :].partition("/")
    if not name or not alias or "/" in alias:
        return None
    return name, alias


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What ``NAME``, ``NAME@vN`` or ``NAME:ALIAS`` asks for (neither: the latest)."""

    name: str
    version: int | None = None
    alias: str | None = None


def parse_spec(text: str) -> ModelSpec:
    """Read ``NAME``, ``NAME@vN`` or ``NAME:ALIAS``; `UsageError` or `InvalidNameError`.

    >>> parse_spec("clf:prod")
    ModelSpec(name='clf', version=None, alias='prod')
    """
    if "@" in text:
        name, _, version = text.partition("@")
        return ModelSpec(check_model_name(name), version=parse_version(version))
    if ":" in text:
        name, _, alias = text.partition(":")
        return ModelSpec(check_model_name(name), alias=check_model_name(alias, "alias"))
    return ModelSpec(check_model_name(text))


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """What a version's tag message holds: the model file and where it came from."""

    model: str
    version: int
    experiment: str
    commit: str
    path: str
    hash: str
    size: int
    kind: str = "file"
    metrics: Mapping[str, object] = field(default_factory=dict)

    def message(self) -> str:
        """The tag message: a line for people, then the JSON document."""
        head = (
            f"model {self.model} v{self.version}: {self.path} from experiment '{self.experiment}'"
        )
        doc = {
            "version": FORMAT_VERSION,
            "model": self.model,
            "number": self.version,
            "experiment": self.experiment,
            "commit": self.commit,
            "path": self.path,
            "hash": self.hash,
            "size": self.size,
            "kind": self.kind,
            "metrics": dict(self.metrics),
        }
        body = orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        return f"{head}\n\n{body.decode()}\n"


def parse_message(message: str, where: str) -> VersionRecord:
    """Read a version's tag message; `FormatError` when it is not one gitexp wrote."""
    _, sep, body = message.partition("\n\n")
    try:
        doc = orjson.loads(body) if sep else None
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"{where}: the tag message is not a model record: {exc}") from exc
    if not isinstance(doc, dict):
        raise FormatError(f"{where}: the tag message is not a model record")
    if doc.get("version") != FORMAT_VERSION:
        raise FormatError(
            f"{where}: model record version {doc.get('version')!r}; this gitexp reads version 1",
            hint="upgrade gitexp",
        )
    try:
        return VersionRecord(
            model=str(doc["model"]),
            version=int(doc["number"]),
            experiment=str(doc["experiment"]),
            commit=str(doc["commit"]),
            path=str(doc["path"]),
            hash=str(doc["hash"]),
            size=int(doc["size"]),
            kind=str(doc.get("kind") or "file"),
            metrics=doc.get("metrics") or {},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{where}: the model record is missing or mistypes {exc}") from exc
