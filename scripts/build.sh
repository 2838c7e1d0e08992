#!/usr/bin/env bash
# Builds the static dxl binary: no cgo, paths trimmed, no build ID, the
# version stamped (DXL_VERSION, else git describe). The same source and Go
# give the same bytes. Usage: scripts/build.sh [OUT]   (default dist/dxl)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/dxl}
version=${DXL_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
mkdir -p "$(dirname "$out")"
CGO_ENABLED=0 go build -trimpath -buildvcs=true \
	-ldflags "-s -w -buildid= -X github.com/dxl-network/dxl/cli.Version=$version" \
	-o "$out" .
echo "$out: dxl $version"
