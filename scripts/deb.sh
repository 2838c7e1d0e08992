#!/usr/bin/env bash
# Builds the Debian package of dxl: the static binary (scripts/build.sh),
# the hardened systemd units of packaging/systemd (node, registry, CA,
# TSA), the dxl system account (sysusers.d) and the docs.
# Usage: scripts/deb.sh [OUTDIR]   (default dist/); prints the .deb's path.
# DXL_BINARY packages that binary (from scripts/build.sh) instead of building.
set -euo pipefail
cd "$(dirname "$0")/.."
outdir=${1:-dist}
rev=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
version=${DXL_DEB_VERSION:-0~git${rev//-/.}}
arch=$(go env GOARCH)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
if [ -n "${DXL_BINARY:-}" ]; then
	install -D -m 0755 "$DXL_BINARY" "$root/usr/bin/dxl"
else
	DXL_VERSION=$rev scripts/build.sh "$root/usr/bin/dxl" >/dev/null
fi
install -d -m 0755 "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" "$root/usr/share/doc/dxl" "$root/DEBIAN"
install -d -m 0700 "$root/etc/dxl"
install -m 0644 packaging/systemd/*.service "$root/lib/systemd/system/"
install -m 0644 packaging/systemd/dxl.sysusers "$root/usr/lib/sysusers.d/dxl.conf"
install -m 0644 README.md "$root/usr/share/doc/dxl/"
cp -r docs "$root/usr/share/doc/dxl/docs"
cat >"$root/DEBIAN/control" <<CONTROL
Package: dxl
Version: $version
Architecture: $arch
Maintainer: DXL maintainers <dxl@localhost>
Section: net
Priority: optional
Depends: systemd
Homepage: https://github.com/dxl-network/dxl
Description: distributed data exchange layer: agency node, registry, CA and TSA
 One static binary holding every role of a DXL network: the agency node
 between information systems and other agencies' nodes, the replicated
 membership registry, the certificate authority and the RFC 3161
 time-stamping authority, with hardened systemd units for each.
CONTROL
cat >"$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	systemd-sysusers dxl.conf 2>/dev/null || adduser --system --group --home /var/lib/dxl --no-create-home dxl
	chmod 0700 /etc/dxl
	systemctl daemon-reload 2>/dev/null || true
fi
POSTINST
chmod 0755 "$root/DEBIAN/postinst"
mkdir -p "$outdir"
deb="$outdir/dxl_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
