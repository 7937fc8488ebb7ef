#!/usr/bin/env bash
# Benchmark `outflow resolve` against Debian's unbound with dnsperf on
# 127.0.0.1: both block the same N names (default one million); outflow
# also does its catalog owner checks, CNAME and answer-address checks and
# writes its query log.
#
# For each server and workload (cache hits; blocked names) it measures:
#   - queries per second with dnsperf pushing as hard as it can,
#   - the server's own CPU seconds over that run (utime+stime from
#     /proc/PID/stat), hence queries per server CPU-second,
#   - latency percentiles at a fixed 10,000 q/s (dnsperf -v),
#   - resident memory (VmRSS) with the N names loaded, and after the runs.
#
# Needs: go, dnsperf, unbound (apt-get install dnsperf unbound).
# Usage: bench/resolver/run.sh            (from the repository root or anywhere)
#   N=1000000 DUR=10 QUERYLOG=1 WORK=/tmp/dir bench/resolver/run.sh
# Prints a Markdown table; everything else goes to $WORK.
set -euo pipefail

N=${N:-1000000}        # blocked names
DUR=${DUR:-10}         # seconds per dnsperf run
RATE=${RATE:-10000}    # q/s of the latency runs
ROUNDS=${ROUNDS:-3}    # max-rate runs a server and workload, alternating; the median is reported
QUERYLOG=${QUERYLOG:-1} # 1: outflow writes its JSON-lines query log (as in production)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/outflow-bench.XXXXXX)}
P_OUT=5300 P_UP=5301 P_UNB=5302
TCK=$(getconf CLK_TCK)
PIDS=()

. "$ROOT/bench/resolver/lib.sh"
need go dnsperf unbound awk shuf
trap cleanup EXIT

mkdir -p "$WORK" && cd "$WORK"
log "work dir $WORK"
(cd "$ROOT" && go build -o "$WORK/outflow" ./cmd/outflow)

log "generating $N blocked names and query files"
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "n%d.blocked%d.test\n", i, i % 997 }' > names.txt
awk '{ printf "local-zone: \"%s.\" always_nxdomain\n", $1 }' names.txt > blocked.conf
shuf -n 100000 --random-source=<(yes) names.txt | awk '{ print $1 " A" }' > q-blocked.txt
awk 'BEGIN { for (i = 1; i <= 1000; i++) print "h" i ".bench.test A" }' > q-hits.txt

# The upstream both servers forward cache misses to: an unbound that
# answers the hit names from local data.
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
	echo "  local-zone: \"bench.test.\" static"
	awk 'BEGIN { for (i = 1; i <= 1000; i++) printf "  local-data: \"h%d.bench.test. 3600 IN A 192.0.2.%d\"\n", i, i % 250 + 1 }'
} > upstream.conf
# The unbound under test: the same names as always_nxdomain local zones,
# everything else forwarded (and cached).
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
  num-threads: 2
  so-reuseport: yes
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  include: "$WORK/blocked.conf"
forward-zone:
  name: "."
  forward-addr: 127.0.0.1@$P_UP
EOF

cat > policy.yaml <<EOF
rules:
  - id: bench-names
    action: block
    names_file: names.txt
    basis: benchmark
  - id: cn-owned
    action: block
    jurisdictions: [CN]
    basis: benchmark (owner-chain check on every query)
EOF
cat > outflow.yaml <<EOF
listen:
  udp: ["127.0.0.1:$P_OUT"]
  tcp: ["127.0.0.1:$P_OUT"]
upstream:
  servers: [{address: "127.0.0.1:$P_UP"}]
cache: {size: 100000}
rate_limit: {qps: 0}
query_log: {path: "$([ "$QUERYLOG" = 1 ] && echo "$WORK/queries.jsonl")", max_size: 500000000, max_files: 1}
policy: policy.yaml
reload: {watch: 0s}
EOF

rss() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

unbound -d -c upstream.conf > upstream.log 2>&1 & PIDS+=($!)
wait_port $P_UP

log "starting unbound with $N local zones"
t0=$(date +%s.%N)
unbound -d -c unbound.conf > unbound.log 2>&1 & UNB=$!; PIDS+=($UNB)
wait_port $P_UNB
unb_load=$(echo "$(date +%s.%N) - $t0" | bc)

log "starting outflow with $N names"
t0=$(date +%s.%N)
./outflow resolve --config outflow.yaml > outflow.log 2>&1 & OUT=$!; PIDS+=($OUT)
wait_port $P_OUT
out_load=$(echo "$(date +%s.%N) - $t0" | bc)
sleep 2 # let the GC return the load's garbage before reading RSS
out_rss0=$(rss $OUT); unb_rss0=$(rss $UNB)

declare -A R
maxrun() { # label pid port queryfile: one run as hard as dnsperf can
	local label=$1 pid=$2 port=$3 q=$4
	local c0 c1 done qps
	c0=$(cpu "$pid")
	dnsperf -s 127.0.0.1 -p "$port" -d "$q" -l "$DUR" -c 8 -T 2 -q 1000 > "max-$label.txt" 2>&1
	c1=$(cpu "$pid")
	done=$(awk '/Queries completed/ { print $3 }' "max-$label.txt")
	qps=$(awk '/Queries per second/ { printf "%.0f", $4 }' "max-$label.txt")
	R[$label.qps]+=" $qps"
	R[$label.lost]+=" $(awk '/Queries lost/ { print $3 }' "max-$label.txt")"
	R[$label.cpu]+=" $(echo "$c1 - $c0" | bc)"
	R[$label.qpcpu]+=" $(echo "scale=0; $done / ($c1 - $c0 + 0.001)" | bc)"
}
fixedrun() { # label port queryfile: latency at a fixed rate
	local label=$1 port=$2 q=$3 n
	dnsperf -s 127.0.0.1 -p "$port" -d "$q" -l "$DUR" -Q "$RATE" -c 8 -T 1 -v > "fixed-$label.txt" 2>&1
	# -v prints one line per answer, latency in seconds last.
	awk '$1 == ">" { print $NF }' "fixed-$label.txt" | sort -g > "lat-$label.txt"
	n=$(wc -l < "lat-$label.txt")
	pct() { awk -v p="$1" -v n="$n" 'NR == int(n * p + 0.999) { printf "%.3f", $1 * 1000; exit }' "lat-$label.txt"; }
	R[$label.p50]=$(pct 0.50)
	R[$label.p99]=$(pct 0.99)
	R[$label.p999]=$(pct 0.999)
}

# dnsperf and both servers share two cores, so a single run varies by
# +-15 %: the max-rate runs alternate between the servers ROUNDS times and
# the tables give the median round (all rounds are in the log).
for w in hits blocked; do
	q=q-$w.txt
	dnsperf -s 127.0.0.1 -p $P_OUT -d "$q" -n 1 -q 200 > /dev/null 2>&1 # warm the caches
	dnsperf -s 127.0.0.1 -p $P_UNB -d "$q" -n 1 -q 200 > /dev/null 2>&1
	for r in $(seq 1 "$ROUNDS"); do
		maxrun outflow-$w $OUT $P_OUT "$q"
		maxrun unbound-$w $UNB $P_UNB "$q"
	done
	fixedrun outflow-$w $P_OUT "$q"
	fixedrun unbound-$w $P_UNB "$q"
	for s in outflow unbound; do
		log "$s-$w: q/s${R[$s-$w.qps]}; q per CPU-s${R[$s-$w.qpcpu]}; p99 ${R[$s-$w.p99]} ms"
	done
done
out_rss1=$(rss $OUT); unb_rss1=$(rss $UNB)

echo
echo "names: $N; dnsperf -l $DUR -c 8 -T 2 -q 1000 (max, median of $ROUNDS) and -Q $RATE (latency); $(nproc) CPUs; outflow query log: $([ "$QUERYLOG" = 1 ] && echo on || echo off)"
echo
echo "| server | workload | q/s (max) | lost | server CPU s | q per server CPU-s | range over $ROUNDS rounds | p50 ms @${RATE} | p99 ms @${RATE} | p99.9 ms @${RATE} |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for s in outflow unbound; do
	for w in hits blocked; do
		l=$s-$w
		echo "| $s | $w | $(echo ${R[$l.qps]} | median) | $(echo ${R[$l.lost]} | median) | $(echo ${R[$l.cpu]} | median) | $(echo ${R[$l.qpcpu]} | median) | $(echo ${R[$l.qpcpu]} | tr ' ' '\n' | sort -n | sed -n '1p;$p' | paste -sd-) | ${R[$l.p50]} | ${R[$l.p99]} | ${R[$l.p999]} |"
	done
done
echo
echo "| server | load time s | RSS MB after load | RSS MB after runs |"
echo "|---|---:|---:|---:|"
printf "| outflow | %.1f | %s | %s |\n" "$out_load" "$out_rss0" "$out_rss1"
printf "| unbound | %.1f | %s | %s |\n" "$unb_load" "$unb_rss0" "$unb_rss1"
