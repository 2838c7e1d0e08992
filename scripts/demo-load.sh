#!/usr/bin/env bash
# Loads a `dxl demo` process from a separate `dxl bench` process and
# reports the demo process's resident memory (the registry, CA, TSA, both
# agency nodes and the sample backend; not the load generator), sampled
# once a second, and its time from exec to ready (its endpoints printed).
# Usage: scripts/demo-load.sh [duration] [concurrency]   (default 20s 64)
# Linux only (reads /proc). Figures are for the machine it runs on.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20s}
conc=${2:-64}
work=$(mktemp -d)
trap 'kill "$demo" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/dxl" .
start=$(date +%s%N)
"$work/dxl" --log-level error demo --rate-limit off --api-listen 127.0.0.1:0 --json >"$work/demo.json" 2>"$work/demo.err" &
demo=$!
until grep -q '"bench"' "$work/demo.json" 2>/dev/null; do
	kill -0 "$demo" 2>/dev/null || { cat "$work/demo.err"; exit 1; }
	sleep 0.05
done
ready=$(( ($(date +%s%N) - start) / 1000000 ))
rss() { awk -v f="$1:" '$1 == f { print int($2 / 1024) }' "/proc/$demo/status"; }
idle=$(rss VmRSS)

bench=$(sed -n 's/^ *"bench": "go run \. \(.*\)",*$/\1/p' "$work/demo.json")
bench=${bench/-c 16 -n 2000/-c $conc --duration $duration}
(
	while kill -0 "$demo" 2>/dev/null; do
		r=$(rss VmRSS) && echo "$r" >>"$work/rss"
		sleep 1
	done
) &
sampler=$!
# shellcheck disable=SC2086 # the printed command line, split into its words
"$work/dxl" $bench --json >"$work/bench.json"
kill "$sampler" 2>/dev/null || true
peak=$(sort -n "$work/rss" | tail -1)
hwm=$(rss VmHWM)
anon=$(rss RssAnon)
file=$(rss RssFile)
reqs=$(sed -n 's/^ *"req_per_sec": \(.*\),$/\1/p' "$work/bench.json" | head -1)
p50=$(sed -n 's/^ *"p50": \([0-9.]*\).*$/\1/p' "$work/bench.json" | head -1)
p99=$(sed -n 's/^ *"p99": \([0-9.]*\).*$/\1/p' "$work/bench.json" | head -1)
errs=$(sed -n 's/^ *"errors": \(.*\),$/\1/p' "$work/bench.json" | head -1)
echo "demo process (registry, CA, TSA, nodes A and B, sample backend), loaded by a separate dxl bench -c $conc for $duration:"
echo "  exec to ready (endpoints printed): ${ready} ms"
echo "  RSS idle ${idle} MiB, under load peak ${peak} MiB, VmHWM ${hwm} MiB"
echo "  at the end: ${anon} MiB anonymous (Go heap, stacks), ${file} MiB file-backed (mapped databases and logs)"
echo "  through both nodes: ${reqs} req/s, p50 ${p50} µs, p99 ${p99} µs, ${errs} errors"
