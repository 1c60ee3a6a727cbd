"""Without its framework a callback module says which extra to install; gitexp never imports one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PY = sys.executable
FRAMEWORKS = ("torch", "keras", "lightning", "transformers", "xgboost", "lightgbm", "psutil")


@pytest.mark.parametrize(
    ("module", "blocked", "framework"),
    [
        ("keras", "keras", "Keras 3"),
        ("lightning", "lightning", "Lightning"),
        ("transformers", "transformers", "Transformers"),
        ("xgboost", "xgboost", "XGBoost"),
        ("lightgbm", "lightgbm", "LightGBM"),
    ],
)
def test_missing_framework_names_the_extra(
    tmp_path: Path, module: str, blocked: str, framework: str
) -> None:
    blocker = tmp_path / "block"
    (blocker / blocked).mkdir(parents=True)
    (blocker / blocked / "__init__.py").write_text(
        f'raise ImportError("No module named {blocked!r}")\n'
    )
    script = (
        "import gitexp.errors\n"
        "try:\n"
        f"    import gitexp.integrations.{module}\n"
        "except gitexp.errors.MissingExtraError as exc:\n"
        "    print(type(exc).__name__, isinstance(exc, ImportError), exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    done = subprocess.run([PY, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"MissingExtraError True gitexp.integrations.{module} needs {framework}, which cannot "
        f"be imported (No module named '{blocked}'); install it with "
        f"`pip install 'gitexp[{module}]'`"
    )


def test_gitexp_and_its_cli_import_no_framework() -> None:
    script = (
        "import sys, gitexp, gitexp.integrations, gitexp.cli.main\n"
        "gitexp.Repo, gitexp.Experiment, gitexp.log_params\n"
        f"print([m for m in {FRAMEWORKS!r} if m in sys.modules])\n"
    )
    done = subprocess.run([PY, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
