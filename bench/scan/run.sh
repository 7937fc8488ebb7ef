#!/usr/bin/env bash
# Whole-program comparison of `outflow scan` with Debian's ndpiReader and
# tshark on one capture of at least 400 MB, made by concatenating the
# shared Ethernet captures with mergecap. Reports packets per CPU-second
# (user+system) and peak resident memory for each, one after another;
# outflow on one goroutine (--workers 1), as the peers run on one thread.
#
#   bench/scan/run.sh [TARGET_MB]      (default 400)
#
# Needs: apt-get install -y libndpi-bin tshark wireshark-common time
set -euo pipefail
cd "$(dirname "$0")/../.."
target_mb="${1:-400}"
shared=../shared/testdata/pcap
work="${BENCH_DIR:-/tmp/outflow-bench-scan}"
mkdir -p "$work"
for tool in ndpiReader tshark mergecap capinfos /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y libndpi-bin tshark wireshark-common time"; exit 1; }
done

CGO_ENABLED=0 go build -o "$work/outflow" ./cmd/outflow

big="$work/merged.pcap"
if [ ! -s "$big" ] || [ "$(stat -c %s "$big")" -lt $((target_mb << 20)) ]; then
  # libpcap-based peers read one link type per file: Ethernet captures only.
  eth=()
  for f in "$shared"/*.pcap; do
    [ "$(capinfos -E -T -r "$f" | cut -f2)" = "ether" ] && eth+=("$f")
  done
  size=$(cat "${eth[@]}" | wc -c)
  copies=$(( (target_mb << 20) / size + 1 ))
  list=()
  for _ in $(seq "$copies"); do list+=("${eth[@]}"); done
  mergecap -a -F pcap -w "$big" "${list[@]}"
fi
demo="$work/demo250.pcap"
[ -s "$demo" ] || "$work/outflow" demo --scale 250 --write-only --capture "$demo"

measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%U %S %M %e" -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || true
  # time(1) puts "Command exited with non-zero status N" first when it does
  read -r user sys rss wall < <(tail -n 1 "$work/$name.time")
  cpu=$(echo "$user + $sys" | bc -l)
  pps=$(echo "$packets / $cpu" | bc -l)
  printf "%-12s cpu %7.2f s  wall %7.2f s  %12.0f packets/cpu-s  peak RSS %6.1f MB\n" "$name" "$cpu" "$wall" "$pps" "$(echo "$rss / 1024" | bc -l)"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for cap in "$big" "$demo"; do
  packets=$(capinfos -c -M -T -r "$cap" | cut -f2)
  echo
  echo "capture: $cap, $(stat -c %s "$cap") bytes, $packets packets"
  measure outflow "$work/outflow" scan --no-progress --json --workers 1 "$cap"
  measure ndpiReader ndpiReader -q -i "$cap"
  measure tshark tshark -r "$cap" -q -z conv,ip
done
