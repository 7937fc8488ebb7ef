#!/usr/bin/env bash
# Wall time of `outflow scan --workers 1` against `--workers 2` (issue 16:
# "wall time on 2 cores <= 0.6x that on one") on the distinct-flow capture
# that bench/scan/distinct.sh builds. The two runs of a round follow each
# other (paired, alternating which goes first), so that a shared machine's
# load weighs on both alike; each round prints the load average before it,
# the wall, CPU-seconds and peak RSS of each run, the ratio of walls, and
# whether the two JSON reports are the same bytes (but for the
# "generated" time).
#
#   bench/scan/workers.sh [COPIES] [ROUNDS]      (default 40 5)
#
# COPIES 400 makes the ten-times-larger capture (1.8 GB, about a minute to
# build). Needs what distinct.sh needs: apt-get install -y libndpi-bin
# tcpreplay wireshark-common time bc
set -euo pipefail
cd "$(dirname "$0")/../.."
copies="${1:-40}"
rounds="${2:-5}"
work="${BENCH_DIR:-/tmp/outflow-bench-distinct}"
export BENCH_DIR="$work"
bench/scan/distinct.sh "$copies" 0 # builds outflow and the capture, no rounds
go build -o "$work/cpurun" ./bench/startup/cpurun
cap="$work/distinct-$copies.pcap"
packets=$(capinfos -c -M -T -r "$cap" | cut -f2)
echo "capture: $cap, $(stat -c %s "$cap") bytes, $packets packets"

run() { # workers -> "wall cpu rssMB"
  # bench/startup/cpurun: the wall to the microsecond (/usr/bin/time's is
  # in 10 ms, and a shell's clock around it counts its own start too)
  "$work/cpurun" -n 1 -stdout "$work/w$1.json" -- "$work/outflow" scan --no-progress --json --workers "$1" "$cap" |
    awk '{printf "%.4f %.4f %.1f\n", $19 / 1000, $4 / 1000, $13}'
}

for r in $(seq "$rounds"); do
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  if [ $((r % 2)) -eq 1 ]; then
    read -r w1 c1 m1 < <(run 1)
    read -r w2 c2 m2 < <(run 2)
  else
    read -r w2 c2 m2 < <(run 2)
    read -r w1 c1 m1 < <(run 1)
  fi
  same=same # but for the time the report was generated
  cmp -s <(grep -v '^  "generated": ' "$work/w1.json") <(grep -v '^  "generated": ' "$work/w2.json") || same=DIFFERENT
  printf "round %d  load %s  | 1 worker: wall %6.3f s cpu %6.2f s RSS %5.1f MB | 2 workers: wall %6.3f s cpu %6.2f s RSS %5.1f MB | wall ratio %.2f | JSON %s\n" \
    "$r" "$load" "$w1" "$c1" "$m1" "$w2" "$c2" "$m2" "$(echo "$w2 / $w1" | bc -l)" "$same"
done
