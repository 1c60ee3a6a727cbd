"""What a run records about where it ran: host, Python, platform and packages."""

from __future__ import annotations

import os
import platform
import socket
import sys
import threading
from typing import TypedDict


def installed_packages() -> dict[str, str]:
    """Installed distributions and their versions, read off the metadata folder names.

    ``name-version.dist-info`` names are standard (wheel spec), so this costs a few
    directory listings instead of parsing every package's metadata.
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            for suffix in (".dist-info", ".egg-info"):
                if folder.endswith(suffix) and "-" in folder:
                    name, _, version = folder[: -len(suffix)].partition("-")
                    found.setdefault(name.replace("_", "-").lower(), version.split("-")[0])
    return dict(sorted(found.items()))


class PackageScan:
    """`installed_packages` in a background thread, so a run does not wait for it."""

    def __init__(self) -> None:
        self._result: dict[str, str] = {}
        self._thread = threading.Thread(target=self._scan, daemon=True)
        self._thread.start()

    def _scan(self) -> None:
        self._result = installed_packages()

    def result(self) -> dict[str, str]:
        """The packages found (waits for the scan to end)."""
        self._thread.join()
        return self._result


class HostFacts(TypedDict):
    """Where a run ran, as ``run.json`` keeps it."""

    host: str
    python: str
    platform: str


def host_facts() -> HostFacts:
    """Host name, Python version and platform string for ``run.json``."""
    return {
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
