"""The same data tracked by gitexp and by DVC, each with an S3 remote, and their commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.data import discard


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Run a command to completion; its wall time (fails loudly on a non-zero exit)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed in {cwd}:\n{proc.stderr[-3000:]}")
    return took


@dataclass
class Project:
    """One tool's repository tracking ``data`` with the default remote at ``url``."""

    tool: str
    root: Path
    command: list[str]
    env: dict[str, str]
    tracked: str = "data"

    def track(self, what: str = "data") -> None:
        self.tracked = what
        run([*self.command, "add", what], self.root, self.env)
        run(["git", "add", "-A"], self.root, self.env)
        run(["git", "commit", "-q", "-m", f"track {what}"], self.root, self.env)

    def push(self) -> float:
        os.sync()  # the last command's writeback is not this one's to pay
        return run([*self.command, "push"], self.root, self.env)

    def pull(self) -> float:
        """Pull into an empty cache and workspace (the old copies moved aside, not deleted)."""
        for path in self._local_state():
            if path.is_dir():
                discard(path)
            else:
                path.unlink(missing_ok=True)
        os.sync()
        return run([*self.command, "pull"], self.root, self.env)

    def forget_remote(self) -> None:
        """Forget what this clone knows of the remote (for a push into an emptied one)."""
        if self.tool == "gitexp":
            shutil.rmtree(self.root / ".git" / "gitexp" / "remote-objects", ignore_errors=True)

    def drop_cache(self) -> None:
        """Empty the local cache (the workspace copy stays)."""
        shutil.rmtree(self._local_state()[0], ignore_errors=True)

    def _local_state(self) -> list[Path]:
        if self.tool == "gitexp":
            return [self.root / ".git" / "gitexp" / "cache", self.root / self.tracked]
        return [self.root / ".dvc" / "cache", self.root / self.tracked]

    def point_at(self, endpoint: str) -> None:
        """Use ``endpoint`` for the S3 server from now on (the proxy, or the server)."""
        if self.tool == "gitexp":
            config = self.root / "gitexp.yaml"
            lines = config.read_text().splitlines()
            lines = [
                f"    endpoint_url: {endpoint}" if "endpoint_url:" in line else line
                for line in lines
            ]
            config.write_text("\n".join(lines) + "\n")
        else:
            run(
                [*self.command, "remote", "modify", "storage", "endpointurl", endpoint],
                self.root,
                self.env,
            )


def gitexp_project(
    root: Path, command: list[str], env: dict[str, str], url: str, endpoint: str
) -> Project:
    root.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], root, env)
    (root / "gitexp.yaml").write_text(
        f"remote: storage\nremotes:\n  storage:\n    url: {url}\n    endpoint_url: {endpoint}\n"
    )
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-q", "-m", "start"], root, env)
    return Project("gitexp", root, command, env)


def dvc_project(
    root: Path, command: list[str], env: dict[str, str], url: str, endpoint: str
) -> Project:
    root.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], root, env)
    run([*command, "init", "-q"], root, env)
    run([*command, "remote", "add", "-d", "storage", url], root, env)
    run([*command, "remote", "modify", "storage", "endpointurl", endpoint], root, env)
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-q", "-m", "start"], root, env)
    return Project("dvc", root, command, env)
