"""Experiment workloads: N experiments in a gitexp project and in a DVC project.

gitexp's experiments are written straight into the repository with ``git
fast-import``, in exactly the format ``gitexp run`` writes (the baseline tree plus
``params.yaml`` with the overrides, ``metrics.json``, ``.gitexp/output.log`` and
``.gitexp/run.json``, one parent, the same commit message), because creating 100,000
of them with real runs would take days. The objects land in a pack and the refs as
loose refs, as after a ``git fetch``. A test checks the result against a real
``gitexp run`` (tests/test_benchmarks_quick.py).

DVC's experiments are made with real ``dvc exp run`` calls (in one Python process,
through DVC's own CLI entry point, to save its start-up time); that costs about a
second each, so DVC is taken only up to a limit (see `DvcExperiments`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitexp.core.runinfo import RunRecord

import datetime as dt
import json
import platform
import socket
import subprocess
from pathlib import Path

from harness import projects, trainer
from harness.timing import check_call

BASE_TIME = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def experiment_name(number: int) -> str:
    """Name of the ``number``-th generated experiment."""
    return f"exp-{number:06d}"


class GitexpExperiments:
    """A gitexp project that grows to any number of experiments."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.baseline = projects.gitexp_project(root, env)
        self.count = 0
        self._packages = _packages()
        self._host = {
            "host": socket.gethostname(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        }

    @property
    def index_file(self) -> Path:
        """show's summary index, removed to time the first ``show`` after a fetch."""
        from gitexp.experiments.query.index import FILE_NAME

        return self.root / ".git" / "gitexp" / "index" / FILE_NAME

    def grow_to(self, total: int) -> None:
        """Add experiments until there are ``total``."""
        if total <= self.count:
            return
        with subprocess.Popen(
            ["git", "fast-import", "--quiet", "--done"],
            cwd=self.root,
            env=self.env,
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as proc:
            assert proc.stdin is not None and proc.stderr is not None
            chunk: list[bytes] = []
            for number in range(self.count, total):
                chunk.append(self.fast_import_commit(number, mark=number + 1))
                if len(chunk) >= 500:
                    proc.stdin.write(b"".join(chunk))
                    chunk.clear()
            proc.stdin.write(b"".join(chunk) + b"done\n")
            proc.stdin.close()
            error = proc.stderr.read().decode(errors="replace")
        if proc.returncode != 0:
            raise RuntimeError(f"git fast-import failed: {error.strip()[-2000:]}")
        self.count = total

    def fast_import_commit(self, number: int, mark: int) -> bytes:
        """One experiment commit as a fast-import command."""
        files = self.files(number)
        name = experiment_name(number)
        when = int((BASE_TIME + dt.timedelta(seconds=number)).timestamp())
        message = commit_message(
            name, number, self.record(number, projects.override_values(number))
        )
        who = f"{self.env['GIT_COMMITTER_NAME']} <{self.env['GIT_COMMITTER_EMAIL']}> {when} +0000"
        out = [f"commit refs/experiments/{name}\nmark :{mark}\n".encode()]
        out.append(f"author {who}\ncommitter {who}\n".encode())
        out.append(_data(message.encode()))
        out.append(f"from {self.baseline}\n".encode())
        for path, content in files.items():
            out.append(f"M 100644 inline {path}\n".encode())
            out.append(_data(content))
        out.append(b"\n")
        return b"".join(out)

    def files(self, number: int) -> dict[str, bytes]:
        """The files experiment ``number`` adds to or changes in the baseline tree."""
        values = projects.override_values(number)
        params = projects.params_with(values)
        metrics = trainer.metrics_for(params)
        return {
            "params.yaml": params,
            "metrics.json": metrics,
            ".gitexp/output.log": trainer.output_for(metrics),
            ".gitexp/run.json": self.record(number, values).to_json(),
        }

    def record(self, number: int, values: dict[str, object]) -> RunRecord:
        """The run record of experiment ``number``, as gitexp's own `RunRecord`."""
        from gitexp.core.runinfo import RunRecord, iso_utc

        return RunRecord(
            name=experiment_name(number),
            command=tuple(projects.TRAIN_COMMAND),
            overrides={"params.yaml": values},
            status="success",
            exit_code=0,
            started=iso_utc(BASE_TIME + dt.timedelta(seconds=number)),
            duration_s=0.05 + (number % 7) / 100,
            baseline_commit=self.baseline,
            baseline_branch="main",
            packages=self._packages,
            **self._host,
        )


def commit_message(name: str, number: int, record: RunRecord) -> str:
    """The message ``gitexp run`` writes: title, command, overrides, then the trailers."""
    from gitexp.core.runinfo import trailers

    body = [" ".join(projects.TRAIN_COMMAND)]
    body += [f"  params.yaml: {k}={v!r}" for k, v in projects.override_values(number).items()]
    return f"gitexp: {name}\n\n" + "\n".join(body) + "\n\n" + trailers(record)


def _data(content: bytes) -> bytes:
    return f"data {len(content)}\n".encode() + content + b"\n"


def _packages() -> dict[str, str]:
    from gitexp.experiments.run.environment import installed_packages

    return installed_packages()


DVC_LOOP = """\
import sys, json
from dvc.cli import main
for args in json.load(sys.stdin):
    code = main(args)
    if code != 0:
        sys.exit(f"dvc {' '.join(args)} exited {code}")
"""


class DvcExperiments:
    """A DVC project grown with real ``dvc exp run`` calls, the same params as gitexp's."""

    def __init__(self, root: Path, env: dict[str, str], dvc: list[str], python: str) -> None:
        self.root = root
        self.env = env
        self.dvc = dvc
        self.python = python
        self.baseline = projects.dvc_project(root, env, dvc)
        self.count = 0

    def grow_to(self, total: int) -> None:
        """Add experiments with ``dvc exp run -S …`` until there are ``total``."""
        if total <= self.count:
            return
        calls = [
            [
                "exp",
                "run",
                "-q",
                "-n",
                experiment_name(n),
                *projects.override_args(projects.override_values(n)),
            ]
            for n in range(self.count, total)
        ]
        check_call(
            [self.python, "-c", DVC_LOOP], self.root, self.env, input=json.dumps(calls).encode()
        )
        self.count = total
