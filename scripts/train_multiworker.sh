#!/usr/bin/env bash
# Train with N local workers (MultiWorkerMirroredStrategy), each given its TF_CONFIG.
#
#   bash scripts/train_multiworker.sh --workers 2 [--base-port 23456] -- \
#        --dataset market1501 --data-dir DIR --output-dir runs/mw --batch-size 128 --steps 1000
#
# Everything after `--` goes to `reid train` on every worker. Worker 0 is the chief: it writes
# checkpoints, summaries and logs; the other workers' output goes to OUTPUT_DIR/worker-I.log.
# Across machines, run `reid train --strategy multiworker ...` on each machine with the same
# cluster list in TF_CONFIG and its own task index (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
workers=2
base_port=23456
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) workers="$2"; shift 2 ;;
    --base-port) base_port="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "error: unknown argument '$1' (put reid train's options after --)" >&2; exit 2 ;;
  esac
done
output_dir="runs/multiworker"
previous=""
for argument in "$@"; do
  [ "$previous" = "--output-dir" ] && output_dir="$argument"
  previous="$argument"
done
mkdir -p "$output_dir"
hosts=""
for ((i = 0; i < workers; i++)); do
  hosts+="${hosts:+,}\"127.0.0.1:$((base_port + i))\""
done
reid="${REID:-reid}"
command -v "$reid" >/dev/null 2>&1 || reid=".venv/bin/reid"
pids=()
for ((i = workers - 1; i >= 0; i--)); do
  config="{\"cluster\": {\"worker\": [$hosts]}, \"task\": {\"type\": \"worker\", \"index\": $i}}"
  if [ "$i" -eq 0 ]; then
    TF_CONFIG="$config" "$reid" train --strategy multiworker "$@" &
  else
    TF_CONFIG="$config" "$reid" train --strategy multiworker "$@" > "$output_dir/worker-$i.log" 2>&1 &
  fi
  pids+=("$!")
done
trap 'kill -TERM "${pids[@]}" 2>/dev/null || true' INT TERM
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=$?
done
exit "$status"
