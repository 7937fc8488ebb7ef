#!/usr/bin/env bash
# Paired timing of whole commands: each command run once a round, in
# turn (the order reversed every other round), ROUNDS rounds, each run
# under bench/startup/cpurun; prints each command's median wall and CPU
# (ms) and its wall over the first command's. The machines are shared
# and their speed drifts: compare within one run of this script only.
#
#   bench/pair.sh ROUNDS 'COMMAND A' 'COMMAND B' ...
#   bench/pair.sh 10 "$OLD scan --json --workers 2 cap.pcap" "$NEW scan --json --workers 2 cap.pcap"
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="$1"
shift
work="${BENCH_DIR:-/tmp/outflow-bench-pair}"
mkdir -p "$work"
go build -o "$work/cpurun" ./bench/startup/cpurun
n=$#
: >"$work/runs"
for r in $(seq "$rounds"); do
  order=$(seq 0 $((n - 1)))
  [ $((r % 2)) -eq 0 ] && order=$(seq $((n - 1)) -1 0)
  for i in $order; do
    cmd=("$@")
    # shellcheck disable=SC2086
    "$work/cpurun" -n 1 -- ${cmd[$i]} | awk -v i="$i" '{print i, $19, $4}' >>"$work/runs" # wall ms, cpu ms
  done
done
base=""
for i in $(seq 0 $((n - 1))); do
  cmd=("$@")
  read -r wall cpu < <(awk -v i="$i" '$1 == i {print $2, $3}' "$work/runs" | sort -n | awk '{w[NR] = $1} END {print w[int((NR + 1) / 2)]}' |
    paste - <(awk -v i="$i" '$1 == i {print $3}' "$work/runs" | sort -n | awk '{c[NR] = $1} END {print c[int((NR + 1) / 2)]}'))
  [ -z "$base" ] && base=$wall
  printf "wall %8.1f ms  cpu %8.1f ms  wall ratio %.3f   %s\n" "$wall" "$cpu" "$(echo "$wall / $base" | bc -l)" "${cmd[$i]}"
done
