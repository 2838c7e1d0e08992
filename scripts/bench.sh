#!/usr/bin/env bash
# Runs DXL's benchmarks and prints their figures. Usage: scripts/bench.sh [benchtime]
# Figures are for the machine it runs on; compare runs with benchstat.
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${1:-2s}
go test -run '^$' -bench . -benchtime "$benchtime" ./ca/ ./tsa/ ./membership/... ./services/ ./node/... | grep -E '^(Benchmark|goos|goarch|cpu|pkg)'
