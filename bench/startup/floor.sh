#!/usr/bin/env bash
# Where start-up's CPU goes (issue 16: `catalog lookup` <= 10 ms): the same
# lookup in binaries that link less, each run RUNS times (default 30),
# alternating, under bench/startup/cpurun (CPU ms, peak RSS):
#   hello     a Go program that prints a line: the runtime's own start
#   catalog   outflow's catalog command alone (internal/cli/catalogcmd as
#             main): the catalog and what it imports, nothing else
#   outflow   the real binary: every command's packages initialised
#             (ClickHouse, SQLite, Prometheus, gopacket, net/http ...)
# and `outflow version`, which opens no catalog.
#
#   bench/startup/floor.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-30}"
work="${BENCH_DIR:-/tmp/outflow-bench-floor}"
mkdir -p "$work"
go build -o "$work/cpurun" ./bench/startup/cpurun
CGO_ENABLED=0 go build -o "$work/outflow" ./cmd/outflow
# The two small mains are built inside the module (internal/ packages are
# only importable from it), in a directory removed at exit.
tmp=$(mktemp -d ./bench/startup/floor.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/hello" "$tmp/catalog"
cat >"$tmp/hello/main.go" <<'GO'
package main

import "os"

func main() { os.Stdout.WriteString("hello\n") }
GO
cat >"$tmp/catalog/main.go" <<'GO'
package main

import (
	"context"
	"os"

	"github.com/outflow-dev/outflow/internal/cli"
	"github.com/outflow-dev/outflow/internal/cli/catalogcmd"
)

func main() { os.Exit(catalogcmd.Command().Run(context.Background(), cli.OSEnv(), os.Args[1:])) }
GO
CGO_ENABLED=0 go build -o "$work/hello" "./$tmp/hello"
CGO_ENABLED=0 go build -o "$work/catalog" "./$tmp/catalog"

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); sizes: hello $(stat -c %s "$work/hello"), catalog $(stat -c %s "$work/catalog"), outflow $(stat -c %s "$work/outflow") bytes"
cmds=("hello" "catalog lookup tiktok.com" "outflow catalog lookup tiktok.com" "outflow version")
for i in $(seq "$runs"); do
  for c in "${!cmds[@]}"; do
    # shellcheck disable=SC2086
    "$work/cpurun" -n 1 -- "$work"/${cmds[$c]} | awk -v c="$c" '{print c, $4, $13}' # cpu ms, peak RSS MB
  done
done >"$work/runs"
for c in "${!cmds[@]}"; do
  awk -v c="$c" '$1 == c {print $2, $3}' "$work/runs" | sort -n | awk -v name="${cmds[$c]}" '
    {cpu[NR] = $1; if ($2 > rss) rss = $2}
    END {printf "%-36s cpu ms median %5.1f  min %5.1f  max %5.1f   peak RSS max %5.1f MB   (%d runs)\n", name, cpu[int((NR + 1) / 2)], cpu[1], cpu[NR], rss, NR}'
done
