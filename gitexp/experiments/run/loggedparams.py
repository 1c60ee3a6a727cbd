"""``gitexp.log_params``: params a script (or a framework callback) reports as it runs.

A params file holds what a run was told; some params are known only inside it: the
optimizer a framework picked, the batch size, the model's size. They go into the run
folder's ``params.json`` as they are logged, merged key by key, and the experiment
commit holds them as ``.gitexp/params.yaml``, which ``show``, ``diff`` and filters read
as one more params file. Outside an experiment they are not kept, with a warning.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from pathlib import Path

import orjson

from gitexp.cache.atomic import atomic_write
from gitexp.core.formats import merge_nested
from gitexp.core.runinfo import LOGGED_PARAMS
from gitexp.errors import GitexpError
from gitexp.experiments.run import tracking

FILE = "params.json"
"""In the run folder: every param logged so far."""


def log_params(values: Mapping[str, object]) -> None:
    """Record ``values`` (nested mappings allowed) as params of this run.

    A key logged again takes the new value; nested mappings merge. Values must be
    numbers, strings, booleans, None, or lists and mappings of them.

    >>> gitexp.log_params({"optimizer": "adam", "batch_size": 32})  # doctest: +SKIP
    """
    if not isinstance(values, Mapping):
        raise GitexpError("log_params takes a mapping of names to values")
    try:
        checked = orjson.loads(orjson.dumps(dict(values)))
    except TypeError as exc:
        raise GitexpError(
            f"params must be numbers, strings, booleans, lists or mappings: {exc}"
        ) from exc
    session = tracking.current_session()
    if session.run_dir is None:
        warnings.warn(
            "gitexp: not inside an experiment, so params are not recorded; run the script "
            "with `gitexp run` or inside `with gitexp.Experiment():`",
            stacklevel=2,
        )
        return
    target = session.run_dir / FILE
    current = orjson.loads(target.read_bytes()) if target.is_file() else {}
    atomic_write(target, orjson.dumps(merge_nested(current, checked)))


def logged_params_file(run_dir: Path) -> dict[str, bytes]:
    """The commit's ``.gitexp/params.yaml`` for a run folder, or nothing if none was logged."""
    try:
        values = orjson.loads((run_dir / FILE).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}
    from ruamel.yaml import YAML

    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(values, out)
    return {LOGGED_PARAMS: out.getvalue().encode()}
