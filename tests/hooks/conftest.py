"""The hook tests run real git, whose hooks find this environment's ``gitexp`` on PATH."""

from __future__ import annotations

import os

import pytest

from tests.hooks.hookhelp import BIN


@pytest.fixture(autouse=True)
def gitexp_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(BIN) + os.pathsep + os.environ.get("PATH", ""))
