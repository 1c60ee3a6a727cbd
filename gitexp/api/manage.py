"""Managing experiments: remove, apply, branch, tags and notes, models, imports.

One part of `gitexp.Repo`; each method is one call into the module that does it.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitexp.api.base import Calls

if TYPE_CHECKING:
    from gitexp.experiments.apply import ApplyResult
    from gitexp.experiments.applyplan import ApplyPlan
    from gitexp.experiments.importers.result import ImportResult
    from gitexp.experiments.lifecycle.modelget import GetResult
    from gitexp.experiments.lifecycle.models import AliasResult, Model, ModelVersion
    from gitexp.experiments.tags import TagState


class ManageCalls(Calls):
    """`Repo`'s calls for this part (see the module)."""

    def remove(
        self, names: Sequence[str] = (), *, failed: bool = False, everything: bool = False
    ) -> builtins.list[str]:
        """Delete experiments by name, every failed one, or all; returns the names removed."""
        from gitexp.experiments import manage

        return manage.remove_chosen(self.project, names, failed=failed, everything=everything)

    def apply(
        self,
        name: str,
        *,
        force: bool = False,
        dry_run: bool = False,
        on_plan: Callable[[ApplyPlan], None] | None = None,
    ) -> ApplyResult:
        """Make the workspace's files match experiment ``name`` (`gitexp apply`)."""
        from gitexp.experiments.apply import apply_named

        return apply_named(self.project, name, force=force, dry_run=dry_run, on_plan=on_plan)

    def branch(self, name: str, branch: str) -> str:
        """Create ``branch`` at experiment ``name``'s commit; returns the commit id."""
        from gitexp.experiments import manage

        return manage.branch(self.git, name, branch)

    def tag(self, name: str, tags: Sequence[str] = (), *, delete: bool = False) -> TagState:
        """Add ``tags`` to experiment ``name`` (``delete``: remove them); its commit stays.

        >>> repo.tag("lr-3", ["best"]).tags  # doctest: +SKIP
        ('best',)
        """
        from gitexp.experiments import tags as tags_mod

        if not tags:
            return tags_mod.note_of(self.git, name)
        edit = tags_mod.remove_tags if delete else tags_mod.add_tags
        return edit(self.git, name, tags)

    def note(self, name: str, text: str | None = None) -> TagState:
        """Experiment ``name``'s note; with ``text``, replace it first (``""`` clears it)."""
        from gitexp.experiments import tags as tags_mod

        if text is None:
            return tags_mod.note_of(self.git, name)
        return tags_mod.set_note(self.git, name, text)

    def model_register(
        self, name: str, *, experiment: str, path: str | None = None
    ) -> ModelVersion:
        """Register ``experiment``'s out (or ``path``) as the next version of model ``name``.

        >>> repo.model_register("clf", experiment="lr-3").version  # doctest: +SKIP
        1
        """
        from gitexp.experiments.lifecycle import models

        return models.register(self.git, name, experiment, path)

    def model_alias(
        self, name: str, version: int | str, alias: str, *, expect: int | str | None = None
    ) -> AliasResult:
        """Move alias ``alias`` of ``name`` to ``version`` by compare-and-swap (`ConflictError`)."""
        from gitexp.experiments.lifecycle import models

        return models.set_alias(self.git, name, version, alias, expect)

    def model_list(self, name: str | None = None) -> builtins.list[Model]:
        """Every registered model (or ``name``): versions, oldest first, and aliases."""
        from gitexp.experiments.lifecycle import models

        return models.models(self.git, name)

    def model_get(
        self,
        spec: str,
        *,
        output: str | os.PathLike[str] | None = None,
        remote: str | None = None,
        credentials: Mapping[str, str] | None = None,
        force: bool = False,
    ) -> GetResult:
        """Write the model ``NAME``, ``NAME@vN`` or ``NAME:ALIAS`` names, verified.

        From the cache, else from the storage ``remote`` (default: the default one).

        >>> repo.model_get("clf:prod", output="m.pkl")  # doctest: +SKIP
        """
        from gitexp.data.sync import Storage
        from gitexp.experiments.lifecycle import modelget

        target = Path(os.path.abspath(output)) if output is not None else None
        storage = Storage(remote, None, dict(credentials or {}))
        return modelget.get_spec(self.project, spec, target, storage, force=force)

    def import_dvc(self, path: str | os.PathLike[str] | None = None) -> ImportResult:
        """Bring in the DVC project at ``path`` (default: the root); see `gitexp import dvc`.

        A relative ``path`` is from the repository root.

        >>> repo.import_dvc().experiments[0].name  # doctest: +SKIP
        """
        from gitexp.experiments.importers.dvc import import_dvc

        return import_dvc(self.project, os.fspath(path) if path is not None else None)

    def import_mlflow(self, uri: str | os.PathLike[str]) -> ImportResult:
        """Bring in the MLflow runs at ``uri`` (a mlruns folder or tracking URI).

        >>> repo.import_mlflow("mlruns").experiments  # doctest: +SKIP
        """
        from gitexp.experiments.importers.mlflow import import_mlflow

        return import_mlflow(self.project, os.fspath(uri))
