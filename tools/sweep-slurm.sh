#!/usr/bin/env bash
# A hybridlab sweep as a Slurm array job: task K of N runs part K of the sweep, then the last
# step merges the parts into what one machine would have produced.
#
#   sbatch --array=1-8 tools/sweep-slurm.sh topologies/er-vpn-failover.ron 1..=100 \
#          circuits.er.bfd.interval=150ms,300ms
#   # when the array is done:
#   emulate merge sweep-parts/part-*.json --csv sweep.csv
#
#SBATCH --job-name=hybridlab-sweep
#SBATCH --cpus-per-task=2
#SBATCH --output=sweep-parts/slurm-%A_%a.out
set -euo pipefail
lab=$1 seeds=$2
shift 2
sets=()
for s in "$@"; do sets+=(--set "$s"); done
mkdir -p sweep-parts
emulate sweep "$lab" --seeds "$seeds" "${sets[@]}" --quiet \
  --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" \
  --threads "${SLURM_CPUS_PER_TASK:-0}" \
  --json "sweep-parts/part-${SLURM_ARRAY_TASK_ID}.json"
