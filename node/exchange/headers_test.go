package exchange

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/node/envelope"
)

func TestCarriedHeaders(t *testing.T) {
	h := http.Header{}
	h.Add("Accept", "application/json")
	h.Add("X-Trace", "b")
	h.Add("X-Trace", "a")
	h.Add("Connection", "keep-alive, X-Hop")
	h.Add("X-Hop", "gone")
	h.Add("Keep-Alive", "timeout=5")
	h.Add("Transfer-Encoding", "chunked")
	h.Add("Content-Type", "text/plain") // its own envelope field
	h.Add("X-Request-ID", "c0ffee")
	h.Add("X-Road-Client", "VN/GOV/1/A")
	h.Add("X-DXL-Anything", "control")
	h.Add("X-Road-Represented-Party", "GOV/9")
	h.Add("Authorization", "Bearer node-token")
	got, err := CarriedHeaders(h, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []envelope.Header{{Name: "Accept", Value: "application/json"}, {Name: "X-Road-Represented-Party", Value: "GOV/9"},
		{Name: "X-Trace", Value: "b"}, {Name: "X-Trace", Value: "a"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("carried %v, want %v", got, want)
	}
	got, _ = CarriedHeaders(h, false)
	if got[0] != (envelope.Header{Name: "Accept", Value: "application/json"}) || got[1] != (envelope.Header{Name: "Authorization", Value: "Bearer node-token"}) {
		t.Fatalf("an Authorization that did not authenticate to the node travels: %v", got)
	}
	big := http.Header{"X-Big": {strings.Repeat("v", envelope.MaxHeaderBytes+1)}}
	if _, err := CarriedHeaders(big, false); !errors.Is(err, ErrHeaders) || Codes.Code(err) != "headers_too_large" {
		t.Fatalf("oversized: %v", err)
	}
	back := http.Header{}
	AddHeaders(back, want)
	if !reflect.DeepEqual(back.Values("X-Trace"), []string{"b", "a"}) {
		t.Fatalf("AddHeaders order: %v", back)
	}
}
