"""DVC remotes as gitexp storage remotes: the same place, gitexp's spelling of it.

A DVC remote's local path is relative to the ``.dvc`` folder; gitexp's are relative to
the repository root. ``azure://`` is ``az://`` in gitexp. Options that mean the same
are carried over by their gitexp names; credentials never are (they would be
committed in ``gitexp.yaml``): a note says how to set them locally. A remote of a
kind gitexp has no backend for is left out, with a note.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitexp.core.remotes import SCHEMES, Option, RemoteConfig, check_remote_name, url_scheme
from gitexp.errors import ConfigError

_OPTIONS = {
    "endpointurl": "endpoint_url",
    "region": "region",
    "profile": "profile",
    "projectname": "project",
    "account_name": "account_name",
    "user": "username",
    "port": "port",
    "keyfile": "key_file",
}
_SECRETS = {
    "access_key_id",
    "secret_access_key",
    "session_token",
    "password",
    "connection_string",
    "account_key",
    "sas_token",
    "client_secret",
    "credentialpath",
}


@dataclass(frozen=True, slots=True)
class Converted:
    """A DVC remote as gitexp would declare it, or why it cannot be (``note``)."""

    name: str
    url: str = ""
    options: Mapping[str, Option] = field(default_factory=dict)
    note: str | None = None

    def config(self) -> RemoteConfig:
        """The remote as a gitexp storage remote, to read DVC's objects from."""
        return RemoteConfig(self.name, self.url, self.options)


def convert(name: str, dvc_options: Mapping[str, str], dvc_dir: Path, root: Path) -> Converted:
    """DVC remote ``name`` (its options from ``.dvc/config``) for the repository at ``root``."""
    url = dvc_options.get("url", "")
    if url.startswith("azure://"):
        url = "az://" + url[len("azure://") :]
    scheme = url_scheme(url)
    if not url or scheme not in SCHEMES:
        return Converted(
            name,
            note=f"DVC remote '{name}' ({url or 'no url'}) has no gitexp backend; it was not added",
        )
    try:
        check_remote_name(name)
    except ConfigError:
        return Converted(
            name,
            note=f"DVC remote '{name}' has a name gitexp cannot use; "
            "add it with `gitexp remote add`",
        )
    if scheme == "file":
        folder = Path(url[len("file://") :] if url.startswith("file://") else url)
        url = os.path.relpath(dvc_dir / folder, root) if not folder.is_absolute() else str(folder)
    options = {new: _value(dvc_options[old]) for old, new in _OPTIONS.items() if old in dvc_options}
    secrets = sorted(k for k in dvc_options if k in _SECRETS)
    note = None
    if secrets:
        note = (
            f"DVC remote '{name}' has credentials ({', '.join(secrets)}), not carried over: "
            f"set them with `gitexp remote modify --local {name} OPTION VALUE`"
        )
    return Converted(name, url, options, note)


def _value(text: str) -> Option:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return int(text) if text.isdigit() else text
