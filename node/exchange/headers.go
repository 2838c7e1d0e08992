package exchange

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/dxl-network/dxl/node/envelope"
)

// notCarried are the headers that never travel in an envelope: hop-by-hop
// fields (RFC 9110 §7.6.1), framing and what the envelope carries in its
// own fields, the headers that name the origin host (User-Agent, Server:
// X-Road Message Protocol for REST §4.3, filtered headers), and the
// X-Road and GovStack control headers the nodes set themselves.
// Every X-DXL-* header stays behind as well (controlHeader).
var notCarried = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Host": true, "Content-Length": true, "Content-Type": true, "Date": true, "User-Agent": true, "Server": true,
	"X-Request-Id": true, "X-Road-Client": true, "X-Road-Id": true, "X-Road-Userid": true,
	"X-Road-Service": true, "X-Road-Request-Id": true, "X-Road-Request-Hash": true, "X-Road-Error": true,
	"X-Govstack-Client": true, "Information-Mediator-Client": true,
}

// controlHeader reports whether the canonical name stays behind.
func controlHeader(name string) bool {
	return notCarried[name] || strings.HasPrefix(name, "X-Dxl-")
}

// CarriedHeaders are the fields of h that travel in an envelope, in a
// stable order: names sorted, the values of one name in their order
// (RFC 9110 §5.3: only the order of one name's fields has meaning), minus
// the hop-by-hop and control headers, the fields named in Connection and,
// with dropAuthorization, Authorization (it authenticated the information
// system to its own node). ErrHeaders when more than the envelope takes.
func CarriedHeaders(h http.Header, dropAuthorization bool) ([]envelope.Header, error) {
	hop := map[string]bool{}
	for _, v := range h.Values("Connection") {
		for _, f := range strings.Split(v, ",") {
			hop[http.CanonicalHeaderKey(strings.TrimSpace(f))] = true
		}
	}
	names := make([]string, 0, len(h))
	for k := range h {
		ck := http.CanonicalHeaderKey(k)
		if controlHeader(ck) || hop[ck] || dropAuthorization && ck == "Authorization" {
			continue
		}
		names = append(names, k)
	}
	slices.Sort(names)
	var out []envelope.Header
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, envelope.Header{Name: http.CanonicalHeaderKey(k), Value: v})
		}
	}
	if err := envelope.CheckHeaders(out); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHeaders, err)
	}
	return out, nil
}

// AddHeaders adds hs to h, in order.
func AddHeaders(h http.Header, hs []envelope.Header) {
	for _, f := range hs {
		h.Add(f.Name, f.Value)
	}
}
