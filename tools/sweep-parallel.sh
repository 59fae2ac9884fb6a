#!/usr/bin/env bash
# A hybridlab sweep in N parts with GNU parallel on one machine (or, with --sshlogin, on
# several), then merged:
#   tools/sweep-parallel.sh N OUT.json LAB.ron SEEDS [PATH=V1,V2 ...]
set -euo pipefail
n=$1 out=$2 lab=$3 seeds=$4
shift 4
sets=()
for s in "$@"; do sets+=(--set "$s"); done
emulate=${EMULATE:-emulate}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
seq 1 "$n" | parallel --will-cite -q --halt now,fail=1 \
  "$emulate" sweep "$lab" --seeds "$seeds" "${sets[@]}" --quiet --threads 1 \
  --shard "{}/$n" --json "$dir/part-{}.json"
"$emulate" merge "$dir"/part-*.json --quiet --json "$out"
