#!/usr/bin/env bash
# End-to-end test of `outflow serve` in Debian's headless Chromium.
#
#   e2e/run.sh                 build, scan into a store, add the rest, serve, test, stop
#   e2e/run.sh --update-docs   also copy the overview screenshot to docs/dashboard.png
#
# Needs go, node/npm and chromium (installed with apt-get when missing and
# run as root). Everything runs on 127.0.0.1; the whole run is bounded by
# E2E_TIMEOUT seconds (default 600) and leaves nothing running.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
update_docs=0
[[ "${1:-}" == "--update-docs" ]] && update_docs=1

if [[ -z "${E2E_INNER:-}" ]]; then
	# Re-run under a time bound; the trap below stops the server either way.
	E2E_INNER=1 exec timeout --kill-after=10 "${E2E_TIMEOUT:-600}" "$0" "$@"
fi

work=$(mktemp -d /tmp/outflow-e2e.XXXXXX)
server_pid=""
resolver_pid=""
cleanup() {
	for pid in "$server_pid" "$resolver_pid"; do
		if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

step() { printf '== %s\n' "$*" >&2; }

chromium=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$chromium" ]]; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		step "installing Debian's chromium"
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	else
		echo "e2e: $chromium not found; apt-get install chromium (or set CHROMIUM)" >&2
		exit 1
	fi
fi

if [[ ! -d e2e/node_modules/playwright-core ]]; then
	step "npm install playwright-core (no browser download)"
	(cd e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-save --no-audit --no-fund >/dev/null)
fi

step "build outflow"
go build -o "$work/outflow" ./cmd/outflow
of="$work/outflow"

step "demo capture, scan, store"
"$of" demo --capture "$work/demo.pcap" --write-only >/dev/null
# Exit status 3 means entities of concern were found: expected here.
"$of" scan --json --all --no-progress -o "$work/scan.json" "$work/demo.pcap" || [[ $? -eq 3 ]]
"$of" scan --store "$work/e2e.db" --no-progress "$work/demo.pcap" >/dev/null || [[ $? -eq 3 ]]
fill_args=()
apk="$root/../shared/testdata/apk/samples/alibaba_arouter-demo-1.5.2.apk"
if [[ -f "$apk" ]]; then
	"$of" audit --json "$apk" >"$work/audit.json" || true
	[[ -s "$work/audit.json" ]] && fill_args+=(-audit "$work/audit.json")
fi
go run ./e2e/fill -store "$work/e2e.db" -scan "$work/scan.json" -policy e2e/policy.yaml "${fill_args[@]}"

go run ./e2e/mkapk -o "$work/upload.apk" -version 9.9-e2e

step "the HTML report of the same store"
"$of" report --store "$work/e2e.db" --html "$work/report.html"

step "the policy the dashboard edits, read by a resolver on loopback"
cp e2e/policy.yaml "$work/policy.yaml"
chmod 0644 "$work/policy.yaml"
dns_port=$((20000 + RANDOM % 20000))
# No upstream answers (port 9): a name the policy does not block fails
# with SERVFAIL, one it blocks gets NXDOMAIN.
"$of" resolve --listen "127.0.0.1:$dns_port" --upstream 127.0.0.1:9 --policy "$work/policy.yaml" 2>"$work/resolve.log" &
resolver_pid=$!
for _ in $(seq 100); do
	grep -q "udp on 127.0.0.1:$dns_port" "$work/resolve.log" && break
	kill -0 "$resolver_pid" 2>/dev/null || { cat "$work/resolve.log" >&2; exit 1; }
	sleep 0.1
done

step "configure a viewer; the admin comes from --init-admin"
password="e2e-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
viewer_password="e2v-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
vhash=$(printf '%s\n' "$viewer_password" | "$of" serve hash-password)
(umask 077 && cat >"$work/serve.yaml") <<EOF
listen: 127.0.0.1:0
auth:
  users:
    - name: viewer
      password_hash: '$vhash'
  fail_burst: 5
  fail_refill: 1m
EOF

step "start outflow serve"
printf '%s\n' "$password" | "$of" serve --config "$work/serve.yaml" --init-admin e2e --store "$work/e2e.db" \
	--policy "$work/policy.yaml" 2>"$work/serve.log" &
server_pid=$!
url=""
for _ in $(seq 200); do
	url=$(sed -n 's|.*dashboard on \(http://127\.0\.0\.1:[0-9]*\)/.*|\1|p' "$work/serve.log" | head -1)
	[[ -n "$url" ]] && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
	sleep 0.1
done
[[ -n "$url" ]] || { echo "e2e: the server did not start" >&2; cat "$work/serve.log" >&2; exit 1; }

step "run the browser test against $url"
mkdir -p e2e/out
rc=0
(cd e2e && OUTFLOW_URL="$url" OUTFLOW_REPORT="$work/report.html" OUTFLOW_USER=e2e OUTFLOW_PASSWORD="$password" \
	OUTFLOW_VIEWER=viewer OUTFLOW_VIEWER_PASSWORD="$viewer_password" OUTFLOW_DNS="127.0.0.1:$dns_port" OUTFLOW_APK="$work/upload.apk" OUT=out CHROMIUM="$chromium" \
	timeout 300 node --test --test-reporter=spec dashboard.test.mjs) || rc=$?

if grep -q -e "$password" -e "$viewer_password" "$work/serve.log" "$work/serve.yaml"; then
	echo "e2e: the server's log or configuration holds a password" >&2
	rc=1
fi
if [[ $rc -eq 0 && $update_docs -eq 1 ]]; then
	cp e2e/out/overview.png docs/dashboard.png
	step "docs/dashboard.png updated"
fi
step "screenshots in e2e/out/"
exit $rc
