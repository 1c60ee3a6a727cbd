#!/usr/bin/env bash
# System packages and servers the test suite starts on loopback. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
