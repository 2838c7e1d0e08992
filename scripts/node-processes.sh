#!/usr/bin/env bash
# Measures agency nodes as separate processes: each `dxl node serve`'s time
# from exec to a healthy /health, and its resident memory idle and under a
# load from a separate `dxl bench` through both nodes.
#
# It lets `dxl demo` create a network (registry, CA, TSA, agency A and B
# admitted), stops it keeping its directory, and serves every part again as
# its own process: `dxl registry serve`, `dxl tsa serve`, B's backend (a
# small python3 server answering GET /bench with 1 KiB of JSON) and the two
# nodes. The req/s it prints are bounded by that backend; the figures are
# the nodes' start-up and memory. Usage: scripts/node-processes.sh [duration] [concurrency]
# (default 20s 64). Linux only (reads /proc); needs curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20s}
conc=${2:-64}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
export DXL_PASSPHRASE=devnet-passphrase-not-secret # devnet.Passphrase: a throw-away network
go build -o "$work/dxl" .
dxl=$work/dxl
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
api=127.0.0.1:$(free_port)
backend=127.0.0.1:$(free_port)

# 1. The network, created by the demo and stopped with its directory kept.
"$dxl" --log-level error demo --dir "$work/net" --keep --rate-limit off --api-listen "$api" --backend-listen "$backend" --json \
	>"$work/demo.json" 2>"$work/demo.err" &
demo=$!
until grep -q '"bench"' "$work/demo.json" 2>/dev/null; do
	kill -0 "$demo" 2>/dev/null || { cat "$work/demo.err"; exit 1; }
	sleep 0.1
done
field() { sed -n "s/^ *\"$1\": \"\\(.*\\)\",*\$/\\1/p" "$work/demo.json"; }
tsa=$(field tsa)
tsa=${tsa#http://}
tsa=${tsa%/}
bench=$(field bench)
bench=${bench#go run . }
kill -INT "$demo"
wait "$demo" || true

# 2. The registry, the TSA and B's backend, each its own process.
"$dxl" --log-level error registry serve --dir "$work/net/registry" >"$work/registry.log" 2>&1 &
pids+=($!)
"$dxl" --log-level error tsa serve --dir "$work/net/registry/tsa" --listen "$tsa" >"$work/tsa.log" 2>&1 &
pids+=($!)
python3 - "${backend#*:}" >"$work/backend.log" 2>&1 <<'PY' &
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the demo's backend
    body = b'{"id":"001","note":"' + b"x" * (1024 - 22) + b'"}'
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer.request_queue_size = 256
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
pids+=($!)
sleep 2

# 3. The nodes: exec to healthy, B first (the provider), then A.
ms() { echo $(( $(date +%s%N) / 1000000 )); }
rss() { awk -v f="$2:" '$1 == f { print int($2 / 1024) }' "/proc/$1/status"; }
start_node() { # dir -> pid in $node_pid, ready ms in $node_ms
	local dir=$1 t0 addr=
	t0=$(ms)
	"$dxl" node serve --dir "$dir" >"$dir.log" 2>&1 &
	node_pid=$!
	pids+=("$node_pid")
	until [ -n "$addr" ] && curl -sf --cacert "$dir/api.pem" "https://$addr/health" 2>/dev/null | grep -q '"status":"ok"'; do
		kill -0 "$node_pid" 2>/dev/null || { cat "$dir.log"; exit 1; }
		addr=$(sed -n 's/.*msg="node started".* api=https:\/\/\([^ ]*\).*/\1/p' "$dir.log")
		sleep 0.01
	done
	node_ms=$(( $(ms) - t0 ))
}
start_node "$work/net/000.00.00.b01"
b_pid=$node_pid b_ms=$node_ms
start_node "$work/net/000.00.00.a01"
a_pid=$node_pid a_ms=$node_ms
sleep 1
a_idle=$(rss "$a_pid" VmRSS) b_idle=$(rss "$b_pid" VmRSS)

# 4. The load, from its own process, sampling both nodes once a second.
(
	while kill -0 "$a_pid" 2>/dev/null; do
		echo "$(rss "$a_pid" VmRSS) $(rss "$b_pid" VmRSS)" >>"$work/rss"
		sleep 1
	done
) &
sampler=$!
# shellcheck disable=SC2086 # the printed command line, split into its words
"$dxl" ${bench/-c 16 -n 2000/-c $conc --duration $duration} --json >"$work/bench.json" || true
kill "$sampler" 2>/dev/null || true
a_peak=$(awk '$1 > m { m = $1 } END { print m }' "$work/rss")
b_peak=$(awk '$2 > m { m = $2 } END { print m }' "$work/rss")
num() { sed -n "s/^ *\"$1\": \\([0-9.]*\\).*\$/\\1/p" "$work/bench.json" | head -1; }
echo "agency nodes as separate processes (dxl node serve), loaded by a separate dxl bench -c $conc for $duration:"
echo "  exec to healthy: node B ${b_ms} ms, node A ${a_ms} ms"
for n in A B; do
	pid_var=${n,,}_pid idle_var=${n,,}_idle peak_var=${n,,}_peak
	pid=${!pid_var}
	echo "  node $n: RSS idle ${!idle_var} MiB, under load peak ${!peak_var} MiB (VmHWM $(rss "$pid" VmHWM) MiB;" \
		"now $(rss "$pid" RssAnon) MiB anonymous, $(rss "$pid" RssFile) MiB file-backed)"
done
echo "  through both nodes: $(num req_per_sec) req/s, p50 $(num p50) µs, p99 $(num p99) µs, $(num errors) errors"
