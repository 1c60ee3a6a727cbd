"""The API a training script calls: params, log_metric(s), log_artifact, log_image.

``should_prune`` tells a sweep's trial whether to stop.

Under ``gitexp run`` the parent process names a run folder in ``GITEXP_RUN_DIR``;
series and artifacts go there and metrics into the workspace's metrics file, and the
parent records them. Each run starts with no metrics: a metrics file still as it was
when the run began (an earlier run's) is replaced, not added to, by the first write.
Inside ``with gitexp.Experiment():`` the same calls feed that experiment. Outside
both, metrics still go to the metrics file, and a warning says that nothing is being
recorded.

This module reads ``GITEXP_RUN_DIR`` (and, for a sweep's trial, ``GITEXP_PRUNE``) from
the environment: it is how a command learns that it runs under gitexp, the one place
below the CLI that does so.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from gitexp.cache.atomic import atomic_write
from gitexp.core.formats import format_of, load_mapping, merge_nested
from gitexp.core.metrics import SERIES_HEADER, check_metric_value, series_key_path, series_row
from gitexp.errors import GitexpError
from gitexp.experiments.run.freshness import Stamp, read_stamps, stamp
from gitexp.experiments.run.journal import METRICS

ENV_RUN_DIR = "GITEXP_RUN_DIR"
"""Set for the command: the folder where this API writes series and artifacts."""
RUN_METRICS = METRICS
"""In the run folder: every metric this run logged so far."""


@dataclass
class Session:
    """Where this process's calls write: workspace root, files, and the run folder."""

    root: Path
    params_files: list[str]
    metrics_file: str | None
    run_dir: Path | None = None
    params_override: dict[str, object] | None = None
    metrics_before: Stamp | None = None
    """The metrics file's stamp when the run began: while it has it, it is an earlier run's."""
    steps: dict[str, float] = field(default_factory=dict)
    logged: dict[str, object] = field(default_factory=dict)
    warned: bool = False


_active: Session | None = None


def set_session(session: Session | None) -> None:
    """Make ``session`` the one the module functions write to (None: back to default)."""
    global _active
    _active = session


def current_session() -> Session:
    """The session of this process: the explicit one, the parent run's, or a bare one."""
    global _active
    if _active is None:
        _active = _from_environment() or _standalone()
    return _active


def _from_environment() -> Session | None:
    run_dir = os.environ.get(ENV_RUN_DIR)
    if not run_dir:
        return None
    context = orjson.loads((Path(run_dir) / "context.json").read_bytes())
    metrics = context.get("metrics") or []
    return Session(
        root=Path(context["root"]),
        params_files=list(context.get("params") or []),
        metrics_file=metrics[0] if metrics else None,
        run_dir=Path(run_dir),
        metrics_before=read_stamps(Path(run_dir)).get(metrics[0]) if metrics else None,
    )


def _standalone() -> Session:
    from gitexp.project import Project

    project = Project.open(".")
    metrics = project.config.metrics
    return Session(project.root, list(project.config.params), metrics[0] if metrics else None)


def params() -> dict[str, object]:
    """The params this run sees: its params files merged in order, overrides applied.

    >>> lr = gitexp.params()["train"]["lr"]  # doctest: +SKIP
    """
    session = current_session()
    merged: dict[str, object] = {}
    for path in session.params_files:
        full = session.root / path
        if full.is_file():
            merged.update(load_mapping(full.read_bytes(), path))
    if session.params_override:
        merged = merge_nested(merged, session.params_override)
    return merged


def log_metric(key: str, value: object, step: int | float | None = None) -> None:
    """Record ``value`` for ``key``; with a ``step`` it also extends the key's series.

    The last value logged is the key's metric in the metrics file. Once a key has a
    series, calls without ``step`` continue it at the next step.

    >>> gitexp.log_metric("loss", 0.31, step=3)  # doctest: +SKIP
    """
    if not isinstance(key, str) or not key:
        raise GitexpError("a metric key must be a non-empty string")
    checked = check_metric_value(key, value)
    session = current_session()
    if step is None and key in session.steps:
        step = session.steps[key] + 1
    if step is not None:
        _append_series(session, key, step, checked)
    _write_metrics(session, {key: checked})


def log_metrics(values: Mapping[str, object], step: int | float | None = None) -> None:
    """`log_metric` for each item, with one write of the metrics file."""
    session = current_session()
    checked = {key: check_metric_value(key, value) for key, value in values.items()}
    for key, value in checked.items():
        at = (
            step if step is not None else (session.steps[key] + 1 if key in session.steps else None)
        )
        if at is not None:
            _append_series(session, key, at, value)
    _write_metrics(session, checked)


def should_prune() -> bool:
    """Whether the sweep running this trial wants it to stop now; True: end the run.

    Under ``gitexp run --prune``, the sweep's driver judges the goal metric's latest
    step (logged with ``log_metric(goal, value, step=...)``) against the other
    trials and answers; a trial that hears True and ends is recorded ``pruned``.
    Outside a pruning sweep, or before the goal has a step, it is always False.

    >>> if gitexp.should_prune():  # doctest: +SKIP
    ...     break
    """
    from gitexp.experiments.run import pruning

    session = current_session()
    goal = os.environ.get(pruning.ENV_PRUNE)
    if session.run_dir is None or not goal or goal not in session.steps:
        return False
    return pruning.ask(session.run_dir, session.steps[goal])


def log_artifact(path: str | os.PathLike[str]) -> None:
    """Keep a file or folder the run produced (a model, a plot) with the experiment.

    It is content-addressed into the cache when the run is recorded; the experiment
    holds its pointer.
    """
    session = current_session()
    full = Path(os.path.abspath(path))
    if not full.exists():
        raise GitexpError(f"artifact '{path}' does not exist", hint="write it before logging it")
    try:
        rel = full.relative_to(session.root).as_posix()
    except ValueError as exc:
        raise GitexpError(f"artifact '{path}' is outside the repository") from exc
    if session.run_dir is None:
        _warn_unrecorded(session)
        return
    with open(session.run_dir / "artifacts.txt", "a", encoding="utf-8") as handle:
        handle.write(rel + "\n")


def log_image(key: str, image: object, step: int | float | None = None) -> None:
    """Keep ``image`` (a file path, a PIL image or an array) under ``key`` at ``step``.

    Its bytes are stored content-addressed in the cache at once (the same image at
    many steps is stored once) and listed in the experiment's ``.gitexp/media.jsonl``.
    Arrays need Pillow (``pip install 'gitexp[images]'``).

    >>> gitexp.log_image("samples", "plots/confusion.png", step=3)  # doctest: +SKIP
    """
    session = current_session()
    if session.run_dir is None:
        from gitexp.experiments.run.media import image_bytes

        image_bytes(image)  # bad input is still an error
        _warn_unrecorded(session)
        return
    from gitexp.experiments.run.media import log

    log(session.run_dir, session.root, key, image, step)


def _append_series(session: Session, key: str, step: float, value: object) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise GitexpError(f"metric '{key}' has a step, so its value must be a number")
    session.steps[key] = step
    if session.run_dir is None:
        _warn_unrecorded(session)
        return
    target = session.run_dir / "series" / series_key_path(key)
    new = not target.exists()
    if new:
        target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "ab") as handle:
        if new:
            handle.write(SERIES_HEADER)
        handle.write(series_row(step, value))


def _write_metrics(session: Session, values: Mapping[str, object]) -> None:
    if session.metrics_file is None:
        return
    if session.run_dir is None:
        _warn_unrecorded(session)
    path = session.metrics_file
    full = session.root / path
    current: dict[str, object] = {}
    if full.is_file() and not _left_over(session, full):
        current = load_mapping(full.read_bytes(), path)
    current.update(values)
    atomic_write(full, dump_metrics(current, path))
    if session.run_dir is not None:  # the run's journal: what ``show`` lists while it runs
        session.logged.update(values)
        atomic_write(session.run_dir / RUN_METRICS, orjson.dumps(session.logged))


def _left_over(session: Session, full: Path) -> bool:
    """Whether the metrics file is still as an earlier run left it: a run starts empty."""
    return session.run_dir is not None and stamp(full) == session.metrics_before


def dump_metrics(values: dict[str, object], path: str) -> bytes:
    """The bytes of metrics file ``path`` (JSON, TOML or YAML by its name) holding ``values``."""
    fmt = format_of(path)
    if fmt == "json":
        return orjson.dumps(values, option=orjson.OPT_INDENT_2) + b"\n"
    if fmt == "toml":
        import tomlkit

        return tomlkit.dumps(values).encode()
    from ruamel.yaml import YAML

    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(values, out)
    return out.getvalue().encode()


def _warn_unrecorded(session: Session) -> None:
    if not session.warned:
        session.warned = True
        warnings.warn(
            "gitexp: not inside an experiment, so series and artifacts are not recorded; "
            "run the script with `gitexp run` or inside `with gitexp.Experiment():`",
            stacklevel=3,
        )
