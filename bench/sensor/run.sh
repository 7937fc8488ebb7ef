#!/usr/bin/env bash
# Side-by-side comparison of `outflow sensor` (decode, attribute, sum per
# device/peer/name/entity/hour, write to SQLite every 10 s) with GoFlow2
# (decode, format as protobuf, its cheapest output, write to /dev/null), both fed the same IPFIX
# datagrams on loopback by bench/sensor/replay at one record rate:
# records received, loss, CPU-seconds (user+system, from /proc), records per
# CPU-second and peak RSS (VmHWM) of each; then the time the sensor takes
# to flush and exit on SIGTERM.
#
#   bench/sensor/run.sh [RATE] [SECONDS] [FLOWS]     (default 100000 60 200000)
#
# GoFlow2 is built from the Go module proxy at the version outflow's
# go.mod uses. Bounded: the replay stops after SECONDS (at most 600).
set -euo pipefail
cd "$(dirname "$0")/../.."
rate="${1:-100000}"
secs="${2:-60}"
flows="${3:-200000}"
work="${BENCH_DIR:-/tmp/outflow-bench-sensor}"
rm -rf "$work"
mkdir -p "$work"

gf_version=$(go list -m -f '{{.Version}}' github.com/netsampler/goflow2/v2)
CGO_ENABLED=0 go build -o "$work/outflow" ./cmd/outflow
go build -o "$work/replay" ./bench/sensor/replay
(cd "$work" && GOFLAGS= GOBIN="$work" go install "github.com/netsampler/goflow2/v2/cmd/goflow2@$gf_version")

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p_out=$(port); m_out=$(port); p_gf=$(port); m_gf=$(port)

"$work/outflow" sensor --store "$work/sensor.db" --flow-listen "127.0.0.1:$p_out" --metrics "127.0.0.1:$m_out" >"$work/outflow.log" 2>&1 &
out_pid=$!
"$work/goflow2" -listen "netflow://127.0.0.1:$p_gf" -transport file -transport.file /dev/null -format bin -addr "127.0.0.1:$m_gf" \
  >"$work/goflow2.log" 2>&1 &
gf_pid=$!
cleanup() { kill "$out_pid" "$gf_pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 50); do
  curl -sf "127.0.0.1:$m_out/metrics" >/dev/null && curl -sf "127.0.0.1:$m_gf/metrics" >/dev/null && break
  sleep 0.2
done

tck=$(getconf CLK_TCK)
cpu() { awk -v t="$tck" '{printf "%.2f", ($14+$15)/t}' "/proc/$1/stat"; }
hwm() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
udp_drops() { # kernel receive-buffer drops of the socket on port $1
  awk -v p="$(printf ':%04X' "$1")" '$2 ~ p"$" {print $NF}' /proc/net/udp
}
c0_out=$(cpu $out_pid); c0_gf=$(cpu $gf_pid)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load: IPFIX, $rate records/s for $secs s, $flows distinct flows, 30 records per datagram, same datagrams to both"
"$work/replay" -to "127.0.0.1:$p_out" -to "127.0.0.1:$p_gf" -rate "$rate" -duration "${secs}s" -flows "$flows" | tee "$work/replay.out"
sent=$(awk '{print $2}' "$work/replay.out")
sleep 2 # let both drain their sockets

recs_out=$(curl -s "127.0.0.1:$m_out/metrics" | awk '/^outflow_collector_records_total/ {s+=$2} END {printf "%d", s}')
recs_gf=$(curl -s "127.0.0.1:$m_gf/metrics" | awk '/^goflow2_flow_process_nf_flowset_records_total/ && /type="DataFlowSet"/ {s+=$2} END {printf "%d", s}')
c1_out=$(cpu $out_pid); c1_gf=$(cpu $gf_pid)
drops_out=$(udp_drops "$p_out"); drops_gf=$(udp_drops "$p_gf")
report() { # name records cpu0 cpu1 rss drops
  local c
  c=$(echo "$4 - $3" | bc -l)
  printf "%-8s %10d records (lost %d, kernel drops %s)  cpu %6.2f s  %10.0f records/cpu-s  peak RSS %6.1f MB\n" \
    "$1" "$2" $((sent - $2)) "${6:-?}" "$c" "$(echo "$2 / ($c + 0.0001)" | bc -l)" "$5"
}
report outflow "$recs_out" "$c0_out" "$c1_out" "$(hwm $out_pid)" "$drops_out"
report goflow2 "$recs_gf" "$c0_gf" "$c1_gf" "$(hwm $gf_pid)" "$drops_gf"

t0=$(date +%s.%N)
kill -TERM "$out_pid"
wait "$out_pid" && rc=0 || rc=$?
t1=$(date +%s.%N)
printf "outflow sensor: SIGTERM to exit %.2f s, exit %d; %s\n" "$(echo "$t1 - $t0" | bc -l)" "$rc" "$(tail -n 1 "$work/outflow.log")"
