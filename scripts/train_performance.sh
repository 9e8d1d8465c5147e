#!/usr/bin/env bash
# Steps/s of a short training run (and the input pipeline, and this CPU's matmul peak).
#
#   bash scripts/train_performance.sh [--data_path=DIR] [--batch_size=128] [--steps=10]
#
# Without --data_path a synthetic Market-1501 set is written to runs/perf-synth first.
set -euo pipefail
cd "$(dirname "$0")/.."
data_path=""
batch_size=128
steps=10
for argument in "$@"; do
  case "$argument" in
    --data_path=*) data_path="${argument#*=}" ;;
    --batch_size=*) batch_size="${argument#*=}" ;;
    --steps=*) steps="${argument#*=}" ;;
    *) echo "error: unknown argument '$argument'" >&2; exit 2 ;;
  esac
done
python="${PYTHON:-.venv/bin/python}"
if [ -z "$data_path" ]; then
  data_path=runs/perf-synth
  "$python" -m reid synth market1501 "$data_path"
fi
exec "$python" scripts/bench_training.py --data-dir "$data_path" --batch-size "$batch_size" \
  --steps "$steps" --output runs/train_performance.json
