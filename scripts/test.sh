#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs pytest (extra arguments pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${REID_REALDATA_DIR:-}" ] && [ -d ../shared/data ]; then
  export REID_REALDATA_DIR="$(cd ../shared/data && pwd)"
fi
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests." >&2
  exit 1
fi
exit "$status"
