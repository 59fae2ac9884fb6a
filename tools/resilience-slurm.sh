#!/usr/bin/env bash
# A hybridlab resilience analysis as a Slurm array job: task K of N runs every N-th failure
# from the K-th (and the baseline), then merge the parts into what one machine would have
# produced.
#
#   sbatch --array=1-8 tools/resilience-slurm.sh topologies/er-vpn-failover.ron --hold 30s
#   # when the array is done:
#   emulate merge resilience-parts/part-*.json --json resilience.json --csv resilience.csv
#
#SBATCH --job-name=hybridlab-resilience
#SBATCH --cpus-per-task=2
#SBATCH --output=resilience-parts/slurm-%A_%a.out
set -euo pipefail
lab=$1
shift
mkdir -p resilience-parts
emulate resilience "$lab" "$@" --quiet \
  --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" \
  --threads "${SLURM_CPUS_PER_TASK:-0}" \
  --json "resilience-parts/part-${SLURM_ARRAY_TASK_ID}.json"
