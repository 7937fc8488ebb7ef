#!/usr/bin/env bash
# Start-up cost of outflow, before and after a change, side by side: the
# binary built at BEFORE (a git ref, default main) and the working tree's,
# each command run RUNS times (default 20), alternating between the two
# builds, under bench/startup/cpurun (CPU ms, peak RSS). Commands: `version`
# (the floor every command pays: runtime and package init), `catalog lookup`
# of a name and of an address, and `scan` of a one-packet capture.
#
#   bench/startup/run.sh [BEFORE] [RUNS]
#
# Needs: apt-get install -y wireshark-common (editcap)
set -euo pipefail
cd "$(dirname "$0")/../.."
before="${1:-main}"
runs="${2:-20}"
work="${BENCH_DIR:-/tmp/outflow-bench-startup}"
mkdir -p "$work"
command -v editcap >/dev/null || { echo "missing editcap: apt-get install -y wireshark-common"; exit 1; }

go build -o "$work/cpurun" ./bench/startup/cpurun
CGO_ENABLED=0 go build -o "$work/after" ./cmd/outflow
rm -rf "$work/src" && git worktree add --detach -f "$work/src" "$before" >/dev/null 2>&1
(cd "$work/src" && CGO_ENABLED=0 go build -o "$work/before" ./cmd/outflow)
git worktree remove --force "$work/src"
editcap -F pcap -r ../shared/testdata/pcap/dns.pcap "$work/one.pcap" 1

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); before: $before ($(git rev-parse --short "$before"))"
for cmd in "version" "catalog lookup tiktok.com" "catalog lookup 1.48.0.1" "scan --no-progress $work/one.pcap"; do
  echo "== outflow $cmd"
  for b in before after; do
    # shellcheck disable=SC2086
    printf '%-7s' "$b"; "$work/cpurun" -n "$runs" -- "$work/$b" $cmd
  done
done
