"""What every framework callback shares: the experiment it records into. Internal.

A callback records into the experiment it finds: the one ``gitexp run`` runs it in,
or the ``with gitexp.Experiment():`` block around the training. Without either it
never does nothing silently: when training starts it opens an experiment of its own
(its name is `Recorder.name`) and records it when training ends, or, if the process
ends first (training raised), records it then, as failed.
"""

from __future__ import annotations

import atexit
import importlib
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import orjson

from gitexp.errors import MissingExtraError, NoCommitsError, NotARepositoryError
from gitexp.experiments.run import tracking
from gitexp.experiments.run.loggedparams import log_params
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.standalone import Experiment


def require(module: str, framework: str, extra: str) -> ModuleType:
    """Import ``module`` of a framework, or `MissingExtraError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"gitexp.integrations.{extra} needs {framework}, which cannot be imported "
            f"({exc}); install it with `pip install 'gitexp[{extra}]'`",
        ) from exc


class Recorder:
    """The experiment a callback records into, and the calls it records with.

    `begin` acts once until `end`, and `end` once after `begin`: each training a
    callback sees is recorded once.
    """

    def __init__(self, name: str | None = None) -> None:
        self._wanted = name
        self._own: Experiment | None = None
        self._run_dir: Path | None = None
        self._name: str | None = None
        self.began = False
        self.result: RunResult | None = None
        """The experiment this recorder opened and recorded itself, once recorded."""

    def begin(self) -> None:
        """Find the experiment to record into, or open one (see the module docstring)."""
        if self.began:
            return
        try:
            self._run_dir = self._find_or_open()
        except (NotARepositoryError, NoCommitsError) as exc:
            raise type(exc)(
                f"gitexp cannot record this training: {exc.message}",
                hint=exc.hint
                or "train inside a git repository with a first commit, or under `gitexp run`",
            ) from exc
        self.began = True

    def _find_or_open(self) -> Path | None:
        """The run folder of the experiment around us, or of one opened here."""
        if tracking.current_session().run_dir is None:
            own = Experiment(name=self._wanted)
            own.__enter__()
            self._own = own
            atexit.register(self._abandoned)
        run_dir = tracking.current_session().run_dir
        if self._own is not None:
            self._name = self._own.name
        elif run_dir is not None:
            self._name = orjson.loads((run_dir / "context.json").read_bytes()).get("name")
        return run_dir

    @property
    def name(self) -> str:
        """The name of the experiment recorded into (or last recorded into)."""
        if self._name is None:
            self.begin()
        return self._name or "run"

    def params(self, values: Mapping[str, object]) -> None:
        """Log ``values`` as params, made plain (numbers, text, lists, mappings)."""
        self.begin()
        log_params({str(k): plain(v) for k, v in values.items() if v is not None})

    def metrics(self, values: Mapping[str, object], step: int | float | None) -> None:
        """Log the finite numbers among ``values`` at ``step``; anything else is skipped."""
        self.begin()
        numbers = {str(k): n for k, v in values.items() if (n := number(v)) is not None}
        if numbers:
            tracking.log_metrics(numbers, step)

    def artifact(self, path: str | Path) -> None:
        """Keep ``path`` (a model file or folder) as an out of the experiment."""
        self.begin()
        tracking.log_artifact(path)

    def end(self, *, failed: bool = False) -> None:
        """Record the experiment this recorder opened (a no-op for one it found).

        The next `begin` looks again: a callback used for a second training outside
        any experiment records that one as a new experiment.
        """
        own, self._own = self._own, None
        self.began = False
        if own is None:
            return
        atexit.unregister(self._abandoned)
        error = RuntimeError("training failed") if failed else None
        own.__exit__(type(error) if error else None, error, None)
        self.result = own.result

    def _abandoned(self) -> None:
        """At exit, an experiment still open lost its training: record it as failed."""
        self.end(failed=True)


def should_prune() -> bool:
    """Whether the sweep running this trial asks it to stop (False outside a sweep)."""
    # the public name, looked up in the package (loaded before any of its modules)
    ask = getattr(sys.modules["gitexp"], "should_prune", None)
    return bool(ask()) if callable(ask) else False


def number(value: object) -> float | int | None:
    """``value`` as a plain finite number (numpy and torch scalars too), else None."""
    if isinstance(value, bool):
        return None
    if not isinstance(value, (int, float)):
        item = getattr(value, "item", None)
        try:
            value = item() if callable(item) else value
        except (TypeError, ValueError, RuntimeError):  # not a one-element tensor
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def plain(value: object) -> object:
    """``value`` as something a params file holds: text for what is not a plain value."""
    if value is None or isinstance(value, (bool, str)):
        return value
    found = number(value)
    if found is not None:
        return found
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)
