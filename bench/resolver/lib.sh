# Shared by bench/resolver/run.sh and small.sh (sourced, not run): the
# tool check, the servers' cleanup, logging, waiting for a DNS port, a
# process's CPU-seconds and a median. The caller sets TCK and PIDS.

need() { # tool...
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "bench: $t not found (apt-get install dnsperf unbound)" >&2; exit 1; }
	done
}
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
log() { echo "bench: $*" >&2; }
wait_port() { # port: until a server answers there, at most 2 minutes
	for _ in $(seq 1 600); do
		if dnsperf -s 127.0.0.1 -p "$1" -d <(echo "probe.invalid A") -n 1 -t 1 2>/dev/null | grep -q "Queries completed: *1 "; then return 0; fi
		sleep 0.2
	done
	log "server on port $1 did not come up"; exit 1
}
cpu() { awk -v t="$TCK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; } # utime+stime of pid $1, seconds
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
