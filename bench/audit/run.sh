#!/usr/bin/env bash
# Whole-program comparison of `outflow audit` with Debian's androguard 3.4
# running the shared oracle (../shared/testdata/apk/oracle.py: the manifest
# and every DEX file, class list, strings) on every shared sample, on the
# whole sample folder in one run, and on a synthetic app of TARGET_MB (many
# DEX files, made by bench/audit/synth). Reports wall time, CPU time and peak
# resident memory of each, one after another (run it once: the machine's
# cores are shared).
#
#   bench/audit/run.sh [TARGET_MB]      (default 300)
#
# Needs: apt-get install -y androguard time bc
set -euo pipefail
cd "$(dirname "$0")/../.."
target_mb="${1:-300}"
shared=../shared/testdata/apk
work="${BENCH_DIR:-/tmp/outflow-bench-audit}"
mkdir -p "$work"
for tool in /usr/bin/python3 /usr/bin/time bc; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y androguard time bc"; exit 1; }
done
/usr/bin/python3 -c 'import androguard' 2>/dev/null || { echo "missing androguard: apt-get install -y androguard"; exit 1; }

CGO_ENABLED=0 go build -o "$work/outflow" ./cmd/outflow
synthetic="$work/synthetic-${target_mb}.apk"
[ -s "$synthetic" ] || go run ./bench/audit/synth -o "$synthetic" -size "$target_mb"

measure() { # label, command... ; prints "wall cpu rssMB"
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/$label.time" "$@" >"$work/$label.out" 2>"$work/$label.err" || true
  # time(1) puts "Command exited with non-zero status N" first when it does
  read -r wall user sys rss < <(tail -n 1 "$work/$label.time")
  printf "%s %s %s\n" "$wall" "$(echo "$user + $sys" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

row() { # name, bytes, outflow..., androguard...
  local name=$1 bytes=$2 ow=$3 oc=$4 om=$5 aw=$6 ac=$7 am=$8
  printf "| %s | %.1f | %.2f | %.2f | %.0f | %.2f | %.2f | %.0f | %.0fx |\n" \
    "$name" "$(echo "$bytes / 1048576" | bc -l)" "$ow" "$oc" "$om" "$aw" "$ac" "$am" "$(echo "$aw / $ow" | bc -l)"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Go $(go env GOVERSION), androguard $(dpkg-query -W -f '${Version}' androguard 2>/dev/null || echo '?')"
echo
echo "| app | MB | outflow wall s | outflow CPU s | outflow peak RSS MB | androguard wall s | androguard CPU s | androguard peak RSS MB | wall ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
tot_o=0; tot_a=0
for apk in "$shared"/samples/*.apk "$synthetic"; do
  name=$(basename "$apk")
  read -r ow oc om < <(measure "outflow-$name" "$work/outflow" audit --no-progress --json "$apk")
  read -r aw ac am < <(measure "androguard-$name" /usr/bin/python3 "$shared/oracle.py" "$apk")
  row "$name" "$(stat -c %s "$apk")" "$ow" "$oc" "$om" "$aw" "$ac" "$am"
  if [ "$apk" != "$synthetic" ]; then
    tot_o=$(echo "$tot_o + $ow" | bc -l); tot_a=$(echo "$tot_a + $aw" | bc -l)
  fi
done
printf "\nsum over the %d shared samples, one process each: outflow %.2f s, androguard %.2f s (%.0fx)\n" \
  "$(ls "$shared"/samples/*.apk | wc -l)" "$tot_o" "$tot_a" "$(echo "$tot_a / $tot_o" | bc -l)"
read -r bw bc bm < <(measure outflow-folder "$work/outflow" audit --no-progress --json "$shared/samples")
printf "outflow audit on the whole sample folder in one process: %.2f s wall, %.2f s CPU, %.0f MB peak RSS\n" "$bw" "$bc" "$bm"
