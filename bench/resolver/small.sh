#!/usr/bin/env bash
# The small resolver comparison of issue 16: a handful of names answered
# from the cache again and again, so that what is measured is each
# server's work per query on a cache hit, not its tables.
#
#   unbound: three `local-zone: … always_nxdomain` entries, one thread,
#            everything else forwarded to the upstream and cached;
#   outflow: `resolve --block bytedance --block dji --rate-limit 0`, its
#            query log written as JSON lines (QUERYLOG=0: none);
#
# both forwarding to an unbound on 127.0.0.1 that answers six names from
# local data, and dnsperf repeating those six names as hard as it can
# (-l DUR -c 8 -T 2 -q 1000), ROUNDS times against each server,
# alternating. Server CPU is utime+stime from /proc/PID/stat over each run.
# Prints one line a run and the median queries per server CPU-second.
#
# Needs: go, dnsperf, unbound (apt-get install dnsperf unbound).
# RATE=N runs dnsperf at a fixed N q/s (-Q) instead: CPU per query at a
# given load rather than at the most dnsperf can send.
# Usage: bench/resolver/small.sh
#   DUR=10 ROUNDS=5 QUERYLOG=1 RATE= WORK=/tmp/dir OUTFLOW=/path/to/outflow bench/resolver/small.sh
set -euo pipefail

DUR=${DUR:-10}
ROUNDS=${ROUNDS:-5}
QUERYLOG=${QUERYLOG:-1}
RATE=${RATE:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/outflow-small.XXXXXX)}
P_OUT=${P_OUT:-5310} P_UP=${P_UP:-5311} P_UNB=${P_UNB:-5312}
TCK=$(getconf CLK_TCK)
PIDS=()

. "$ROOT/bench/resolver/lib.sh"
need go dnsperf unbound awk bc
trap cleanup EXIT

mkdir -p "$WORK" && cd "$WORK"
log "work dir $WORK"
if [ -n "${OUTFLOW:-}" ]; then
	cp "$OUTFLOW" "$WORK/outflow"
else
	(cd "$ROOT" && go build -o "$WORK/outflow" ./cmd/outflow)
fi

names="www.example.com api.example.net cdn.example.org mail.example.com img.example.net static.example.org"
for n in $names; do echo "$n A"; done > q.txt

{
	echo "server:"
	echo "  interface: 127.0.0.1@$P_UP"
	echo "  port: $P_UP"
	echo "  do-daemonize: no"
	echo "  use-syslog: no"
	echo "  logfile: \"\""
	echo "  chroot: \"\""
	echo "  username: \"\""
	echo "  directory: \"$WORK\""
	echo "  pidfile: \"\""
	echo "  num-threads: 1"
	echo "  access-control: 127.0.0.0/8 allow"
	i=0
	for n in $names; do
		i=$((i + 1))
		echo "  local-zone: \"$n.\" static"
		echo "  local-data: \"$n. 3600 IN A 192.0.2.$i\""
	done
} > upstream.conf
cat > unbound.conf <<EOF
server:
  interface: 127.0.0.1@$P_UNB
  port: $P_UNB
  do-daemonize: no
  use-syslog: no
  logfile: ""
  chroot: ""
  username: ""
  directory: "$WORK"
  pidfile: ""
  num-threads: 1
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  local-zone: "tiktok.com." always_nxdomain
  local-zone: "bytedance.com." always_nxdomain
  local-zone: "dji.com." always_nxdomain
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@$P_UP
EOF


unbound -d -c upstream.conf > upstream.log 2>&1 & PIDS+=($!)
wait_port "$P_UP"
unbound -d -c unbound.conf > unbound.log 2>&1 & UNB=$!; PIDS+=($UNB)
wait_port "$P_UNB"
qlog=()
[ "$QUERYLOG" = 1 ] && qlog=(--query-log "$WORK/queries.jsonl")
./outflow resolve --listen "127.0.0.1:$P_OUT" --upstream "127.0.0.1:$P_UP" \
	--block bytedance --block dji --rate-limit 0 "${qlog[@]}" > outflow.log 2>&1 & OUT=$!; PIDS+=($OUT)
wait_port "$P_OUT"

declare -A R
maxrun() { # label pid port
	local label=$1 pid=$2 port=$3 c0 c1 done
	c0=$(cpu "$pid")
	dnsperf -s 127.0.0.1 -p "$port" -d q.txt -l "$DUR" -c 8 -T 2 -q 1000 ${RATE:+-Q "$RATE"} > "max-$label.txt" 2>&1
	c1=$(cpu "$pid")
	done=$(awk '/Queries completed/ { print $3 }' "max-$label.txt")
	R[$label]+=" $(echo "scale=0; $done / ($c1 - $c0 + 0.001)" | bc)"
	log "$label: $done answers, $(echo "$c1 - $c0" | bc) CPU-s, $(echo "scale=0; $done / ($c1 - $c0 + 0.001)" | bc) q per CPU-s, load $(cut -d' ' -f1 /proc/loadavg)"
}

dnsperf -s 127.0.0.1 -p "$P_OUT" -d q.txt -n 1 > /dev/null 2>&1 # warm the caches
dnsperf -s 127.0.0.1 -p "$P_UNB" -d q.txt -n 1 > /dev/null 2>&1
for r in $(seq 1 "$ROUNDS"); do
	maxrun outflow $OUT $P_OUT
	maxrun unbound $UNB $P_UNB
done
o=$(echo ${R[outflow]} | median) u=$(echo ${R[unbound]} | median)
echo "small run, six names, dnsperf -l $DUR -c 8 -T 2 -q 1000${RATE:+ -Q $RATE}, $ROUNDS rounds, query log $([ "$QUERYLOG" = 1 ] && echo on || echo off), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "outflow q per CPU-s:${R[outflow]} (median $o)"
echo "unbound q per CPU-s:${R[unbound]} (median $u)"
echo "ratio of medians: $(echo "scale=2; $o / $u" | bc)"
