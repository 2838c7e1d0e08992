#!/usr/bin/env bash
# signed-request.sh — send one request to a DXL node's consumer API, signed
# with an access key (docs/integration.md, "Signed access keys"), using only
# curl and openssl.
#
#   DXL_ACCESS_KEY=dxlak_… DXL_SECRET_KEY=dxlas_… \
#       scripts/signed-request.sh POST https://127.0.0.1:8443/r1/…/citizens body.json
#
# Environment:
#   DXL_ACCESS_KEY   the access key, or a session key (dxlsk_…)        required
#   DXL_SECRET_KEY   its secret key (HMAC), or the session secret
#   DXL_RSA_KEY      the information system's RSA private key (PEM file), for an RSA key
#   DXL_ALGORITHM    DXL-HMAC-SHA256 (default; DXL-RSA-SHA256 with DXL_RSA_KEY),
#                    DXL-HMAC-SHA1, DXL-RSA-SHA256 or DXL-RSA-PSS-SHA256
#   DXL_CACERT       the node's API certificate to trust (curl --cacert)
#   DXL_CONTENT_TYPE the body's type (default application/json; signed)
#
# The query, if any, must already be in canonical form (name=value pairs,
# only A-Z a-z 0-9 - . _ ~ unencoded, %XX upper case); the script sorts it.
# The answer's body goes to stdout; curl fails (exit 22) on a status >= 400,
# printing the node's {code, message} body.
set -euo pipefail

[ $# -ge 2 ] || { sed -n '2,22s/^# \{0,1\}//p' "$0" >&2; exit 2; }
method=$1 url=$2 body=${3:-}
: "${DXL_ACCESS_KEY:?set DXL_ACCESS_KEY}"

alg=${DXL_ALGORITHM:-}
if [ -z "$alg" ]; then
	alg=DXL-HMAC-SHA256
	[ -n "${DXL_RSA_KEY:-}" ] && alg=DXL-RSA-SHA256
fi

# 1. Host, path and query exactly as curl sends them (--path-as-is).
rest=${url#*://}
host=${rest%%/*}
target=/${rest#*/}
[ "$rest" = "$host" ] && target=/
path=${target%%\?*}
query=
case $target in *\?*) query=${target#*\?} ;; esac
# canonical query: pairs sorted by name, then value
cquery=$(printf '%s' "$query" | tr '&' '\n' | sed '/^$/d; /=/!s/$/=/' | LC_ALL=C sort -t '=' -k1,1 -k2 | paste -sd '&' -)

# 2. The date and the body's SHA-256.
date=$(date -u +%Y%m%dT%H%M%SZ)
if [ -n "$body" ]; then
	bodyhash=$(openssl dgst -sha256 -r <"$body" | cut -d' ' -f1)
	ctype=${DXL_CONTENT_TYPE:-application/json}
	signed=content-type\;host\;x-dxl-content-sha256\;x-dxl-date
	headers=$(printf 'content-type:%s\nhost:%s\nx-dxl-content-sha256:%s\nx-dxl-date:%s' "$ctype" "$host" "$bodyhash" "$date")
else
	bodyhash=$(openssl dgst -sha256 -r </dev/null | cut -d' ' -f1)
	signed=host\;x-dxl-content-sha256\;x-dxl-date
	headers=$(printf 'host:%s\nx-dxl-content-sha256:%s\nx-dxl-date:%s' "$host" "$bodyhash" "$date")
fi

# 3. The string to sign: one item per line, no newline at the end.
sts=$(mktemp)
trap 'rm -f "$sts"' EXIT
printf '%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s' "$alg" "$DXL_ACCESS_KEY" "$method" "$path" "$cquery" "$headers" "$signed" "$bodyhash" >"$sts"

# 4. The signature, lower-case hex.
case $alg in
DXL-HMAC-SHA256) sig=$(openssl dgst -sha256 -hmac "${DXL_SECRET_KEY:?set DXL_SECRET_KEY}" -r <"$sts" | cut -d' ' -f1) ;;
DXL-HMAC-SHA1) sig=$(openssl dgst -sha1 -hmac "${DXL_SECRET_KEY:?set DXL_SECRET_KEY}" -r <"$sts" | cut -d' ' -f1) ;;
DXL-RSA-SHA256) sig=$(openssl dgst -sha256 -sign "${DXL_RSA_KEY:?set DXL_RSA_KEY}" <"$sts" | od -An -v -tx1 | tr -d ' \n') ;;
DXL-RSA-PSS-SHA256)
	sig=$(openssl dgst -sha256 -sign "${DXL_RSA_KEY:?set DXL_RSA_KEY}" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 <"$sts" |
		od -An -v -tx1 | tr -d ' \n')
	;;
*) echo "unknown DXL_ALGORITHM $alg" >&2; exit 2 ;;
esac

# 5. Send it.
args=(-sS --fail-with-body --path-as-is -X "$method"
	-H "X-DXL-Date: $date" -H "X-DXL-Content-SHA256: $bodyhash"
	-H "Authorization: $alg Credential=$DXL_ACCESS_KEY, SignedHeaders=$signed, Signature=$sig")
[ -n "${DXL_CACERT:-}" ] && args+=(--cacert "$DXL_CACERT")
[ -n "$body" ] && args+=(-H "Content-Type: $ctype" --data-binary "@$body")
exec curl "${args[@]}" "$url"
