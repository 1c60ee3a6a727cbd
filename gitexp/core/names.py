"""Experiment names and the one place that defines the experiment ref namespace."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitexp.errors import InvalidNameError

if TYPE_CHECKING:
    import random

EXPERIMENT_REF_PREFIX = "refs/experiments/"
"""Every experiment is the ref ``refs/experiments/<name>``."""

QUEUE_REF_PREFIX = "refs/exps-queue/"
"""A queued run (not yet run) is the ref ``refs/exps-queue/<name>``: a commit ready to run."""

CLAIMED_REF_PREFIX = "refs/exps-claimed/"
"""A queued run that a ``queue start`` took moves here (compare-and-swap) while it runs."""

STASH_REF_PREFIX = "refs/gitexp/stash/"
"""Work saved by ``apply --force`` lives under this prefix."""

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

_ADJECTIVES = (
    "able",
    "bold",
    "brave",
    "bright",
    "calm",
    "clever",
    "cool",
    "crisp",
    "dapper",
    "eager",
    "fair",
    "fancy",
    "fast",
    "fine",
    "fond",
    "free",
    "fresh",
    "glad",
    "grand",
    "green",
    "happy",
    "hardy",
    "keen",
    "kind",
    "lively",
    "lucid",
    "lucky",
    "merry",
    "mild",
    "neat",
    "nimble",
    "noble",
    "plain",
    "polar",
    "proud",
    "quick",
    "quiet",
    "rapid",
    "ready",
    "rosy",
    "sharp",
    "shiny",
    "silky",
    "sleek",
    "smart",
    "snowy",
    "solid",
    "sound",
    "spry",
    "stout",
    "sunny",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "wise",
    "witty",
    "young",
    "zany",
    "zesty",
)
_NOUNS = (
    "alder",
    "badger",
    "bison",
    "cedar",
    "comet",
    "coral",
    "crane",
    "delta",
    "eagle",
    "egret",
    "ember",
    "falcon",
    "fern",
    "finch",
    "fjord",
    "gecko",
    "heron",
    "hydra",
    "ibis",
    "iris",
    "jaguar",
    "kite",
    "koala",
    "lark",
    "lemur",
    "lotus",
    "lynx",
    "maple",
    "marten",
    "mink",
    "moose",
    "nova",
    "oak",
    "orca",
    "osprey",
    "otter",
    "panda",
    "pine",
    "plover",
    "puma",
    "quail",
    "raven",
    "reef",
    "robin",
    "sable",
    "seal",
    "sparrow",
    "stork",
    "swan",
    "tapir",
    "tern",
    "tiger",
    "tulip",
    "viper",
    "vole",
    "walrus",
    "wren",
    "yak",
    "zebra",
    "zinnia",
)


@dataclass(frozen=True, slots=True)
class ExperimentName:
    """A checked experiment name; ``ref`` is its full git ref."""

    value: str

    def __post_init__(self) -> None:
        check_name(self.value)

    @property
    def ref(self) -> str:
        """The experiment's full ref name."""
        return EXPERIMENT_REF_PREFIX + self.value

    def __str__(self) -> str:
        return self.value


def check_name(name: str) -> str:
    """Return ``name`` if it can name an experiment, else raise `InvalidNameError`.

    A name matches ``[A-Za-z0-9][A-Za-z0-9._-]{0,99}`` and is a valid git ref component:
    no ``..``, no ``.lock`` ending, no trailing ``.``.

    >>> check_name("lr-0.01")
    'lr-0.01'
    """
    if not _NAME_RE.fullmatch(name) or ".." in name or name.endswith(".lock") or name.endswith("."):
        raise InvalidNameError(
            f"'{name}' is not a valid experiment name",
            hint="use letters, digits, '.', '_' and '-', starting with a letter or digit "
            "(at most 100 characters, no '..', not ending in '.' or '.lock')",
        )
    return name


def name_from_ref(ref: str) -> str | None:
    """The experiment name in ``ref``, or None when it is not an experiment ref."""
    if ref.startswith(EXPERIMENT_REF_PREFIX):
        return ref[len(EXPERIMENT_REF_PREFIX) :]
    return None


def generate_name(taken: Callable[[str], bool], rng: random.Random | None = None) -> str:
    """A readable name such as ``bold-lynx`` for which ``taken`` is false.

    After a few collisions a number is appended, so this always terminates.
    """
    import random  # loaded when first needed: most commands name nothing

    pick = rng or random.SystemRandom()
    for attempt in range(1000):
        name = f"{pick.choice(_ADJECTIVES)}-{pick.choice(_NOUNS)}"
        if attempt >= 20:
            name = f"{name}-{pick.randrange(10, 100000)}"
        if not taken(name):
            return name
    raise InvalidNameError("could not find a free experiment name", hint="pass one with -n NAME")


def sweep_names(prefix: str, count: int) -> list[str]:
    """The names ``PREFIX-1`` … ``PREFIX-count`` of a sweep's points, each checked."""
    return [check_name(f"{prefix}-{i}") for i in range(1, count + 1)]
