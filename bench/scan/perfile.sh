#!/usr/bin/env bash
# One small capture per process (issue 16's fixed cost): every shared
# capture scanned by its own `outflow scan --json` and by its own Debian
# ndpiReader, the two alternating file by file, ROUNDS times. Prints each
# round's CPU-seconds (user+system, summed over the files) of both and
# their ratio; what a script that scans captures one at a time pays.
#
#   bench/scan/perfile.sh [ROUNDS]      (default 3)
#
# Needs: apt-get install -y libndpi-bin bc
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-3}"
work="${BENCH_DIR:-/tmp/outflow-bench-perfile}"
mkdir -p "$work"
for tool in ndpiReader bc; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y libndpi-bin bc"; exit 1; }
done
CGO_ENABLED=0 go build -o "$work/outflow" ./cmd/outflow
go build -o "$work/cpurun" ./bench/startup/cpurun # CPU to 0.1 ms: /usr/bin/time counts in 10 ms
files=(../shared/testdata/pcap/*.pcap ../shared/testdata/pcap/*.pcapng)

cpu() { # command... -> CPU-seconds of one run of it
  "$work/cpurun" -n 1 -- "$@" | awk '{print $4 / 1000}'
}

echo "${#files[@]} captures, one process each; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  o=0 n=0
  for f in "${files[@]}"; do
    o=$(echo "$o + $(cpu "$work/outflow" scan --no-progress --json "$f")" | bc -l)
    n=$(echo "$n + $(cpu ndpiReader -q -i "$f")" | bc -l)
  done
  printf "round %d  outflow %.2f CPU-s  ndpiReader %.2f CPU-s  outflow/ndpiReader %.2f\n" "$r" "$o" "$n" "$(echo "$o / $n" | bc -l)"
done
