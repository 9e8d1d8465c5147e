#!/usr/bin/env bash
# The main job: install, synthesise a dataset, train briefly on the CPU and report (reid demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/reid demo "$@"
