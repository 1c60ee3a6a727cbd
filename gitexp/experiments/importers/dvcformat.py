"""DVC's own files, read without DVC: config, ``.dvc`` files, listings, pipelines.

Those are ``.dvc/config``, ``.dvc`` files, ``.dir`` listings, ``dvc.yaml`` and ``dvc.lock``.

Only what an import needs is read: where the cache and the remotes are, which content
(md5) each output has, and which files hold params, metrics and plots. Anything
malformed is a `FormatError` naming the file, before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import orjson

from gitexp.core.formats import load_document
from gitexp.errors import FormatError

_MD5 = re.compile(r"[0-9a-f]{32}(\.dir)?")
_SECTION = re.compile(r"""\[\s*['"]?\s*(\w+)(?:\s+"([^"]*)")?\s*['"]?\s*\]""")


@dataclass(frozen=True, slots=True)
class DvcConfig:
    """``.dvc/config`` (and ``config.local``): the cache folder and the remotes."""

    default_remote: str | None = None
    cache_dir: str | None = None
    remotes: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def parse_config(text: str, where: str) -> DvcConfig:
    """Read DVC's INI-style config: ``[core]``, ``[cache]``, ``['remote "NAME"']`` sections."""
    sections: dict[tuple[str, str], dict[str, str]] = {}
    current: dict[str, str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        header = _SECTION.fullmatch(line)
        if header:
            current = sections.setdefault((header.group(1), header.group(2) or ""), {})
            continue
        key, sep, value = line.partition("=")
        if not sep or current is None:
            raise FormatError(f"{where}: line {number} is not 'key = value' inside a section")
        current[key.strip()] = value.strip().strip("'\"")
    core = sections.get(("core", ""), {})
    remotes = {name: opts for (kind, name), opts in sections.items() if kind == "remote" and name}
    return DvcConfig(
        default_remote=core.get("remote") or None,
        cache_dir=sections.get(("cache", ""), {}).get("dir"),
        remotes=remotes,
    )


def merge_configs(shared: DvcConfig, local: DvcConfig) -> DvcConfig:
    """``config.local`` over ``config``, option by option."""
    remotes = {name: dict(opts) for name, opts in shared.remotes.items()}
    for name, opts in local.remotes.items():
        remotes.setdefault(name, {}).update(opts)
    return DvcConfig(
        default_remote=local.default_remote or shared.default_remote,
        cache_dir=local.cache_dir or shared.cache_dir,
        remotes=remotes,
    )


@dataclass(frozen=True, slots=True)
class DvcOut:
    """One output DVC tracks: its path from the repository root and its content's md5.

    ``legacy`` outputs come from DVC 2 files (no ``hash: md5``), whose cache has no
    ``files/md5/`` folder. ``remote`` is the DVC remote the output names, if any.
    """

    path: str
    md5: str
    size: int | None = None
    legacy: bool = False
    remote: str | None = None

    @property
    def is_dir(self) -> bool:
        """Whether the content is a directory (a ``.dir`` listing)."""
        return self.md5.endswith(".dir")


def parse_dvc_file(data: bytes, where: str) -> list[DvcOut]:
    """The cached outputs of a ``.dvc`` file at ``where`` (paths made root-relative)."""
    doc = load_document(data, where, "yaml")
    if not isinstance(doc, dict):
        raise FormatError(f"{where}: a .dvc file must be a mapping with 'outs'")
    folder = PurePosixPath(where).parent
    return list(_outs(doc.get("outs"), folder, where))


def _outs(raw: object, folder: PurePosixPath, where: str) -> Iterator[DvcOut]:
    if raw is None:
        return
    if not isinstance(raw, list):
        raise FormatError(f"{where}: 'outs' must be a list")
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise FormatError(f"{where}: an output has no 'path'")
        if item.get("cache") is False:
            continue  # kept in git, not in DVC's cache
        md5 = item.get("md5")
        if md5 is None:
            continue  # declared but never computed
        if not isinstance(md5, str) or not _MD5.fullmatch(md5):
            raise FormatError(f"{where}: output '{item['path']}' has md5 {md5!r}, not a DVC md5")
        size = item.get("size")
        yield DvcOut(
            path=_join(folder, item["path"], where),
            md5=md5,
            size=size if isinstance(size, int) else None,
            legacy=item.get("hash") != "md5",
            remote=item.get("remote") if isinstance(item.get("remote"), str) else None,
        )


def _join(folder: PurePosixPath, path: str, where: str) -> str:
    """``path`` (relative to the ``.dvc`` file's folder) from the repository root, checked."""
    joined = (folder / path).as_posix()
    parts: list[str] = []
    for part in joined.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise FormatError(f"{where}: output path '{path}' leaves the repository")
            parts.pop()
        else:
            parts.append(part)
    if not parts:
        raise FormatError(f"{where}: output path '{path}' is the repository itself")
    return "/".join(parts)


def parse_dir_listing(data: bytes, where: str) -> list[tuple[str, str]]:
    """A ``.dir`` object: ``(relative path, md5)`` for each file of a directory."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"{where}: DVC directory listing is not JSON: {exc}") from exc
    if not isinstance(doc, list):
        raise FormatError(f"{where}: DVC directory listing is not a list")
    found: list[tuple[str, str]] = []
    for item in doc:
        if not isinstance(item, dict):
            raise FormatError(f"{where}: DVC directory listing has an entry that is not an object")
        rel, md5 = item.get("relpath"), item.get("md5")
        if not isinstance(rel, str) or not isinstance(md5, str) or not _MD5.fullmatch(md5):
            raise FormatError(f"{where}: DVC directory listing has a bad entry {item!r}")
        found.append((rel.replace("\\", "/"), md5))
    return found


@dataclass(frozen=True, slots=True)
class Pipeline:
    """What ``dvc.yaml`` and ``dvc.lock`` say a run reads and writes.

    ``outs`` are the outputs that ``dvc.lock`` records with their md5; it does not say
    which are kept in git (``cache: false``), so the caller looks in the commit.
    """

    commands: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()
    outs: tuple[DvcOut, ...] = ()


def parse_pipeline(dvc_yaml: bytes | None, dvc_lock: bytes | None, prefix: str = "") -> Pipeline:
    """The pipeline of ``dvc.yaml`` and ``dvc.lock`` in folder ``prefix`` ('' at the root)."""
    spec = yaml_mapping(dvc_yaml, f"{prefix}dvc.yaml")
    lock = yaml_mapping(dvc_lock, f"{prefix}dvc.lock")
    params: list[str] = _names(spec.get("params"))
    metrics: list[str] = _names(spec.get("metrics"))
    plots: list[str] = [p for p in _names(spec.get("plots")) if "." in p.rsplit("/", 1)[-1]]
    commands: list[str] = []
    for stage in stages(spec):
        metrics += _names(stage.get("metrics"))
        plots += _names(stage.get("plots"))
        commands += _names(stage.get("cmd"))
    outs: list[DvcOut] = []
    for stage in stages(lock):
        params += _names(stage.get("params"))
        outs += _outs(stage.get("outs"), PurePosixPath(prefix or "."), f"{prefix}dvc.lock")
    return Pipeline(
        commands=tuple(commands),
        params=tuple(dict.fromkeys(prefix + p for p in params)),
        metrics=tuple(dict.fromkeys(prefix + m for m in metrics)),
        plots=tuple(dict.fromkeys(prefix + p for p in plots)),
        outs=tuple(outs),
    )


def yaml_mapping(data: bytes | None, where: str) -> dict[str, object]:
    """A DVC YAML file's mapping ({} for an absent or empty file); `FormatError` otherwise."""
    if data is None:
        return {}
    doc = load_document(data, where, "yaml")
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise FormatError(f"{where}: must be a mapping")
    return doc


def stages(doc: Mapping[str, object]) -> Iterator[Mapping[str, object]]:
    """The stages of a ``dvc.yaml`` or ``dvc.lock`` mapping."""
    stages = doc.get("stages")
    if isinstance(stages, dict):
        yield from (s for s in stages.values() if isinstance(s, dict))


def _names(raw: object) -> list[str]:
    """Paths from a DVC list whose items are a path or ``{path: options}`` (or one path)."""
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, dict):
        raw = list(raw)
    if not isinstance(raw, list):
        return []
    found: list[str] = []
    for item in raw:
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found += [k for k in item if isinstance(k, str)]
    return found


def uncached_paths(dvc_yaml: bytes | None, prefix: str) -> set[str]:
    """Outputs ``dvc.yaml`` keeps in git (``cache: false``): they get no pointer."""
    found: set[str] = set()
    for stage in stages(yaml_mapping(dvc_yaml, f"{prefix}dvc.yaml")):
        for kind in ("outs", "metrics", "plots"):
            items = stage.get(kind)
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict):
                    found |= {
                        prefix + p
                        for p, o in item.items()
                        if isinstance(o, dict) and o.get("cache") is False
                    }
    return found
