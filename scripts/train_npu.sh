#!/usr/bin/env bash
# Train on an Ascend NPU with the reference launcher's interface, through `reid train`.
#
#   bash scripts/train_npu.sh --data_path=/data/Market-1501 [--batch_size=128] [--steps=100000]
#        [--output_dir=runs/npu] [--precision_mode=allow_mix_precision] [--dataset=market1501]
#
# Sources the CANN environment when it is installed (ASCEND_HOME or /usr/local/Ascend).
set -euo pipefail
cd "$(dirname "$0")/.."

data_path=""
batch_size=128
steps=100000
output_dir="runs/npu"
precision_mode="allow_mix_precision"
dataset="market1501"
for argument in "$@"; do
  case "$argument" in
    --data_path=*) data_path="${argument#*=}" ;;
    --batch_size=*) batch_size="${argument#*=}" ;;
    --steps=*) steps="${argument#*=}" ;;
    --output_dir=*) output_dir="${argument#*=}" ;;
    --precision_mode=*) precision_mode="${argument#*=}" ;;
    --dataset=*) dataset="${argument#*=}" ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "error: unknown argument '$argument' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$data_path" ]; then
  echo "error: --data_path=DIR is required (a Market-1501 or MARS folder)." >&2
  exit 2
fi
case "$precision_mode" in
  allow_mix_precision) precision=mixed ;;
  force_fp32|must_keep_origin_dtype) precision=fp32 ;;
  *) echo "error: --precision_mode must be allow_mix_precision or force_fp32." >&2; exit 2 ;;
esac

ascend_home="${ASCEND_HOME:-/usr/local/Ascend}"
for env_script in "$ascend_home/ascend-toolkit/set_env.sh" "$ascend_home/nnae/set_env.sh"; do
  if [ -f "$env_script" ]; then
    # shellcheck disable=SC1090
    source "$env_script"
    echo "Sourced $env_script"
    break
  fi
done

reid="${REID:-reid}"
command -v "$reid" >/dev/null 2>&1 || reid=".venv/bin/reid"
exec "$reid" train --device npu --precision "$precision" --dataset "$dataset" \
  --data-dir "$data_path" --batch-size "$batch_size" --steps "$steps" --output-dir "$output_dir"
