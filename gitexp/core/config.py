"""The project config ``gitexp.yaml`` and the local config, as checked values.

``gitexp.yaml`` is tracked by git and shared by the team; the local config
(``<git common dir>/gitexp/config.yaml``) holds per-machine settings and credentials
and is never tracked. Both are optional, every key has a default, and an unknown key
is an error (a typo should not silently do nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gitexp.core.filenames import PROJECT_CONFIG as PROJECT_CONFIG
from gitexp.core.formats import load_mapping
from gitexp.core.goals import Direction, parse_goals
from gitexp.core.remotes import check_remotes
from gitexp.core.sizes import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from gitexp.core.sizes import parse_size
from gitexp.errors import ConfigError

DEFAULT_PARAMS = ("params.yaml",)
DEFAULT_METRICS = ("metrics.json",)
LINK_TYPES = ("reflink", "copy", "hardlink", "symlink")


@dataclass(frozen=True, slots=True)
class HookSettings:
    """The ``hooks:`` section: what the git hooks may do besides the default.

    ``pull``: after a checkout, merge or rebase, fetch data missing from the cache from
    the default storage remote (off by default: a checkout never reaches the network).
    """

    pull: bool = False


DEFAULT_SAMPLE_INTERVAL = 5.0
"""Seconds between two samples of a run's CPU, memory and GPU use."""


@dataclass(frozen=True, slots=True)
class SystemMetricsSettings:
    """The ``system_metrics:`` key: ``true`` (the default), ``false``, or ``{interval: S}``.

    A mapping turns sampling on with its own interval (seconds, at least 0.1).
    """

    enabled: bool = True
    interval: float = DEFAULT_SAMPLE_INTERVAL


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """What ``gitexp.yaml`` says; the defaults are those of DESIGN section 1."""

    command: str | tuple[str, ...] | None = None
    params: tuple[str, ...] = DEFAULT_PARAMS
    metrics: tuple[str, ...] = DEFAULT_METRICS
    plots: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()
    goals: Mapping[str, Direction] = field(default_factory=dict)
    large_file_threshold: int = DEFAULT_THRESHOLD
    remote: str | None = None
    remotes: Mapping[str, object] = field(default_factory=dict)
    hooks: HookSettings = field(default_factory=HookSettings)
    system_metrics: SystemMetricsSettings = field(default_factory=SystemMetricsSettings)


_PROJECT_KEYS = {
    "command",
    "params",
    "metrics",
    "plots",
    "outs",
    "goals",
    "large_file_threshold",
    "remote",
    "remotes",
    "hooks",
    "system_metrics",
}


def parse_project_config(data: bytes, path: str = PROJECT_CONFIG) -> ProjectConfig:
    """Check and convert the bytes of ``gitexp.yaml``; `ConfigError` names the key."""
    raw = load_mapping(data, path, "yaml")
    unknown = sorted(set(raw) - _PROJECT_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key '{unknown[0]}' in {path}",
            hint="known keys: " + ", ".join(sorted(_PROJECT_KEYS)),
        )
    command = raw.get("command")
    if command is not None and not isinstance(command, str):
        command = tuple(_strings(command, "command", path))
    return ProjectConfig(
        command=command,
        params=tuple(_strings(raw.get("params", list(DEFAULT_PARAMS)), "params", path)),
        metrics=tuple(_strings(raw.get("metrics", list(DEFAULT_METRICS)), "metrics", path)),
        plots=tuple(_strings(raw.get("plots", []), "plots", path)),
        outs=tuple(_strings(raw.get("outs", []), "outs", path)),
        goals=parse_goals(raw.get("goals"), path),
        large_file_threshold=parse_size(
            raw.get("large_file_threshold", DEFAULT_THRESHOLD), "large_file_threshold"
        ),
        remote=_optional_str(raw.get("remote"), "remote", path),
        remotes=check_remotes(_mapping(raw.get("remotes", {}), "remotes", path), path, shared=True),
        hooks=_hook_settings(_mapping(raw.get("hooks", {}), "hooks", path), path),
        system_metrics=_system_metrics(raw.get("system_metrics", True), path),
    )


def _system_metrics(raw: object, path: str) -> SystemMetricsSettings:
    if isinstance(raw, bool):
        return SystemMetricsSettings(enabled=raw)
    if not isinstance(raw, dict):
        raise ConfigError(
            f"'system_metrics' in {path} must be true, false or {{interval: SECONDS}} (got {raw!r})"
        )
    unknown = sorted(set(raw) - {"interval"})
    if unknown:
        raise ConfigError(
            f"unknown key 'system_metrics.{unknown[0]}' in {path}", hint="known keys: interval"
        )
    interval = raw.get("interval", DEFAULT_SAMPLE_INTERVAL)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0.1:
        raise ConfigError(
            f"'system_metrics.interval' in {path} is {interval!r}",
            hint="give the seconds between samples, a number from 0.1",
        )
    return SystemMetricsSettings(enabled=True, interval=float(interval))


def _hook_settings(raw: Mapping[str, object], path: str) -> HookSettings:
    unknown = sorted(set(raw) - {"pull"})
    if unknown:
        raise ConfigError(f"unknown key 'hooks.{unknown[0]}' in {path}", hint="known keys: pull")
    pull = raw.get("pull", False)
    if not isinstance(pull, bool):
        raise ConfigError(f"'hooks.pull' in {path} must be true or false (got {pull!r})")
    return HookSettings(pull=pull)


@dataclass(frozen=True, slots=True)
class LocalConfig:
    """Per-machine settings: how workspace copies are made, transfer jobs, remotes."""

    link: str = "reflink"
    jobs: int | None = None
    remotes: Mapping[str, object] = field(default_factory=dict)


def parse_local_config(data: bytes, path: str) -> LocalConfig:
    """Check and convert the local config; `ConfigError` names the key."""
    raw = load_mapping(data, path, "yaml")
    unknown = sorted(set(raw) - {"link", "jobs", "remotes"})
    if unknown:
        raise ConfigError(
            f"unknown key '{unknown[0]}' in {path}", hint="known keys: jobs, link, remotes"
        )
    link = raw.get("link", "reflink")
    if link not in LINK_TYPES:
        raise ConfigError(
            f"'link' is {link!r} in {path}", hint="use one of: " + ", ".join(LINK_TYPES)
        )
    jobs = raw.get("jobs")
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise ConfigError(f"'jobs' is {jobs!r} in {path}", hint="use a whole number from 1")
    remotes = check_remotes(_mapping(raw.get("remotes", {}), "remotes", path), path, shared=False)
    return LocalConfig(link=str(link), jobs=jobs, remotes=remotes)


def _strings(value: object, key: str, path: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise ConfigError(f"'{key}' in {path} must be a path or a list of paths")


def _optional_str(value: object, key: str, path: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ConfigError(f"'{key}' in {path} must be a string")


def _mapping(value: object, key: str, path: str) -> Mapping[str, object]:
    if isinstance(value, dict):
        return value
    raise ConfigError(f"'{key}' in {path} must be a mapping")


DEFAULT_PROJECT_YAML = """\
# gitexp project config: every key is optional.
# command: python train.py        # what `gitexp run` runs when no command is given
params: [params.yaml]             # hyperparameters, overridden with -S KEY=VALUE
metrics: [metrics.json]           # what the run reports
# plots: [plots/]                 # step series (TSV, CSV or JSON lines)
# outs: [model.pkl]               # artifacts a run produces: kept in the cache, not in git
# goals: {acc: max, loss: min}    # which way each metric is better (compare ranks by it)
# large_file_threshold: 5MiB      # bigger new files in a snapshot are content-addressed
# system_metrics: true            # sample CPU, memory and GPU use into system/ series
# remote: storage                 # default storage remote
# remotes:
#   storage: ../gitexp-storage
# hooks:
#   pull: true                    # git checkout/merge/rebase also pull missing data
"""
