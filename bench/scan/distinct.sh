#!/usr/bin/env bash
# Whole-program comparison of `outflow scan` with Debian's ndpiReader on
# distinct flows (issue 16): the shared Ethernet captures rebased to one
# start time and merged, then COPIES copies of that, each rewritten with
# `tcprewrite --seed=N --fixcsum` (other addresses: other flows) and
# shifted by N days, merged again. Reports CPU-seconds (user+system),
# packets per CPU-second and peak resident memory of each, one after the
# other, ROUNDS times; outflow on one goroutine (--workers 1), as ndpiReader
# runs on one thread (bench/scan/workers.sh compares the walls of 1 and 2).
#
#   bench/scan/distinct.sh [COPIES] [ROUNDS]      (default 40 3)
#
# Needs: apt-get install -y libndpi-bin tcpreplay wireshark-common time bc
set -euo pipefail
cd "$(dirname "$0")/../.."
copies="${1:-40}"
rounds="${2:-3}"
shared=../shared/testdata/pcap
work="${BENCH_DIR:-/tmp/outflow-bench-distinct}"
mkdir -p "$work"
for tool in ndpiReader tcprewrite editcap mergecap capinfos /usr/bin/time bc; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y libndpi-bin tcpreplay wireshark-common time bc"; exit 1; }
done
CGO_ENABLED=0 go build -o "$work/outflow" ./cmd/outflow

cap="$work/distinct-$copies.pcap"
if [ ! -s "$cap" ]; then
  base=1730000000 # every capture starts at the same second
  rebased=()
  for f in "$shared"/*.pcap; do
    [ "$(capinfos -E -T -r "$f" | cut -f2)" = "ether" ] || continue # libpcap peers read one link type per file
    first=$(capinfos -a -T -r -S "$f" | cut -f2)
    out="$work/rebased-$(basename "$f")"
    editcap -F pcap -t "$(echo "$base - $first" | bc -l)" "$f" "$out"
    rebased+=("$out")
  done
  mergecap -F pcap -w "$work/base.pcap" "${rebased[@]}"
  shifted=()
  for n in $(seq "$copies"); do
    tcprewrite --seed="$n" --fixcsum -i "$work/base.pcap" -o "$work/seed-$n.pcap"
    editcap -F pcap -t $((n * 86400)) "$work/seed-$n.pcap" "$work/shift-$n.pcap"
    rm "$work/seed-$n.pcap"
    shifted+=("$work/shift-$n.pcap")
  done
  mergecap -F pcap -w "$cap" "${shifted[@]}"
  rm -f "${shifted[@]}" "${rebased[@]}"
fi
packets=$(capinfos -c -M -T -r "$cap" | cut -f2)

measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%U %S %M %e" -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || true
  read -r user sys rss wall < <(tail -n 1 "$work/$name.time")
  cpu=$(echo "$user + $sys" | bc -l)
  printf "%-12s cpu %6.2f s  wall %6.2f s  %10.0f packets/cpu-s  peak RSS %6.1f MB\n" "$name" "$cpu" "$wall" \
    "$(echo "$packets / $cpu" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "capture: $cap, $(stat -c %s "$cap") bytes, $packets packets, $copies rewritten copies"
"$work/outflow" scan --no-progress --json --workers 1 "$cap" >"$work/flows.json" 2>/dev/null || true
echo "distinct flows (outflow's count): $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"]["flows"])' "$work/flows.json")"
for r in $(seq "$rounds"); do
  echo "-- round $r"
  measure outflow "$work/outflow" scan --no-progress --json --workers 1 "$cap"
  measure ndpiReader ndpiReader -q -i "$cap"
done
