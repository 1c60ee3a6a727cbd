"""Legend labels: each experiment's name and the params that tell it apart."""

from __future__ import annotations

from collections.abc import Sequence

from gitexp.report.data import RunLike

MAX_PARAMS = 4
_ABSENT = object()


def differing_params(runs: Sequence[RunLike]) -> list[str]:
    """The params keys whose values are not the same in every run (missing counts)."""
    keys: dict[str, None] = {}
    for run in runs:
        keys.update(dict.fromkeys(run.params))
    if len(runs) < 2:
        return []
    return [key for key in keys if len({repr(run.params.get(key, _ABSENT)) for run in runs}) > 1]


def legend_labels(runs: Sequence[RunLike]) -> dict[str, str]:
    """``name`` → ``"name  lr=0.01 epochs=3"`` with the (first few) differing params."""
    keys = differing_params(runs)[:MAX_PARAMS]
    labels = {}
    for run in runs:
        parts = [
            f"{key.rsplit('.', 1)[-1] if _unique_tail(key, keys) else key}="
            f"{_short(run.params.get(key))}"
            for key in keys
        ]
        labels[run.name] = "  ".join([run.name, " ".join(parts)]).strip()
    return labels


def _unique_tail(key: str, keys: Sequence[str]) -> bool:
    tail = key.rsplit(".", 1)[-1]
    return sum(1 for k in keys if k.rsplit(".", 1)[-1] == tail) == 1


def _short(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return format(value, ".4g")
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"
