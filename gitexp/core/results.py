"""What every result of `gitexp.Repo` shares: a ``--json`` document, readable by key.

Results are frozen dataclasses read by attribute (``repo.status().data[0].state``).
``result["key"]`` reads the same value from ``to_json()``, so code written when
`gitexp.Repo` returned those documents as dicts keeps working.
"""

from __future__ import annotations


class JsonResult:
    """A result whose ``to_json()`` is the document ``--json`` prints."""

    __slots__ = ()

    def to_json(self) -> dict[str, object]:
        """The ``--json`` document."""
        raise NotImplementedError

    def __getitem__(self, key: str) -> object:
        """``to_json()[key]``: the document's value, as the dict results gave it."""
        return self.to_json()[key]

    def get(self, key: str, default: object = None) -> object:
        """``to_json().get(key, default)``."""
        return self.to_json().get(key, default)
