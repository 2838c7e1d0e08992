package exchange

import (
	"fmt"
	"testing"
)

// TestXRoadCodes: every code of Codes has an X-Road name, a client fault
// is one this node answers with a 4xx, and a code answered with a 5xx is
// never a client fault (X-Road: Client.* is 400, Server.* 500).
func TestXRoadCodes(t *testing.T) {
	for _, code := range append([]string{"internal"}, Codes.Codes()...) {
		c, ok := xroadCodes[code]
		if !ok || c.name == "" {
			t.Errorf("code %s has no X-Road name", code)
			continue
		}
		status, known := Codes.StatusOfCode(code)
		if known && c.client && (status < 400 || status >= 500) {
			t.Errorf("code %s: a client fault answered with %d", code, status)
		}
	}
}

// TestXRoadType: the family follows who raised the error, X-Road's
// prefixes: the provider node (RemoteError), a refused request, this node.
func TestXRoadType(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		want   string
	}{
		{fmt.Errorf("%w: x", ErrAccessDenied), 403, "Client.AccessDenied"},
		{&RemoteError{Code: "access_denied"}, 403, "Server.ServerProxy.AccessDenied"},
		{&RemoteError{Code: "bad_request"}, 400, "Server.ServerProxy.BadRequest"},
		{&RemoteError{Code: "no_such_code"}, 502, "Server.ServerProxy.InternalError"},
		{ErrNotMember, 403, "Server.ClientProxy.InvalidSecurityServer"},
		{fmt.Errorf("%w: x", ErrUnreachable), 502, "Server.ClientProxy.NetworkError"},
		{fmt.Errorf("%w: x", ErrBadRequest), 500, "Server.ClientProxy.BadRequest"},
	} {
		if got := XRoadType(tc.err, ReportedCode(tc.err), tc.status); got != tc.want {
			t.Errorf("%v (%d): %s, want %s", tc.err, tc.status, got, tc.want)
		}
	}
}
