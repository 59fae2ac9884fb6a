#!/usr/bin/env bash
# A hybridlab resilience analysis in N parts with GNU parallel on one machine (or, with
# --sshlogin, on several), then merged into what one machine would have produced:
#   tools/resilience-parallel.sh N OUT.json LAB.ron [emulate resilience options ...]
# e.g. tools/resilience-parallel.sh 4 res.json topologies/er-vpn-failover.ron --hold 10s
set -euo pipefail
n=$1 out=$2 lab=$3
shift 3
emulate=${EMULATE:-emulate}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
seq 1 "$n" | parallel --will-cite -q --halt now,fail=1 \
  "$emulate" resilience "$lab" "$@" --quiet --threads 1 \
  --shard "{}/$n" --json "$dir/part-{}.json"
"$emulate" merge "$dir"/part-*.json --quiet --json "$out"
