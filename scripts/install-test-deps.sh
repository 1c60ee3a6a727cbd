#!/usr/bin/env bash
# System packages and servers the test suite starts on loopback. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate

# Headless browser for the report and plots tests: Debian's chromium, driven by
# Playwright's Python API with executable_path=/usr/bin/chromium (never
# `playwright install`, which downloads a browser of its own).
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
python -m pip install --quiet playwright
