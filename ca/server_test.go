package ca

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/ocsp"
)

// serveTestCA runs the public handler on loopback and the admin API on the
// directory's socket, as `dxl ca serve` does.
func serveTestCA(t *testing.T) (*CA, *httptest.Server) {
	t.Helper()
	c := newTestCA(t)
	pub := httptest.NewServer(c.PublicHandler())
	t.Cleanup(pub.Close)
	ln, err := c.ListenAdmin()
	if err != nil {
		t.Fatal(err)
	}
	admin := &http.Server{Handler: c.AdminHandler()}
	go admin.Serve(ln)
	t.Cleanup(func() { admin.Close() })
	return c, pub
}

func ocspQuery(t *testing.T, c *CA, base string, serialPEM *Issued, get bool) *ocsp.Response {
	t.Helper()
	req, err := ocsp.CreateRequest(serialPEM.Chain[0], c.Intermediate(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var resp *http.Response
	if get {
		resp, err = http.Get(base + "/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(req)))
	} else {
		resp, err = http.Post(base+"/ocsp", "application/ocsp-request", bytes.NewReader(req))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/ocsp-response" {
		t.Fatalf("content type %q", ct)
	}
	body, _ := io.ReadAll(resp.Body)
	r, err := ocsp.ParseResponseForCert(body, serialPEM.Chain[0], c.Intermediate())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOCSPAndAdminSocket(t *testing.T) {
	c, pub := serveTestCA(t)
	ctx := context.Background()
	client, err := Dial(ctx, c.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	issued, err := client.Issue(ctx, IssueRequest{CSR: makeCSR(t, ecKey(t), pkix.Name{Organization: []string{"O"}}), Profile: ProfileMemberSign, Member: "GOV/A"})
	if err != nil {
		t.Fatal(err)
	}
	if len(issued.Chain) != 3 || !issued.Chain[2].Equal(c.Root()) {
		t.Fatalf("client chain has %d certificates", len(issued.Chain))
	}
	for _, get := range []bool{false, true} {
		if r := ocspQuery(t, c, pub.URL, issued, get); r.Status != ocsp.Good {
			t.Fatalf("status %d before revocation (GET=%v)", r.Status, get)
		}
	}
	if _, err := client.Revoke(ctx, issued.Serial, ReasonSuperseded); err != nil {
		t.Fatal(err)
	}
	r := ocspQuery(t, c, pub.URL, issued, false)
	if r.Status != ocsp.Revoked || r.RevocationReason != int(ReasonSuperseded) {
		t.Fatalf("after revoke: status %d reason %d", r.Status, r.RevocationReason)
	}
	// Sentinels survive the socket.
	if _, err := client.Revoke(ctx, issued.Serial, ReasonSuperseded); !errors.Is(err, ErrAlreadyRevoked) {
		t.Fatalf("second revoke over socket: %v", err)
	}
	if _, err := client.Issue(ctx, IssueRequest{CSR: []byte("junk"), Profile: ProfileMemberSign, Member: "GOV/A"}); !errors.Is(err, ErrCSRMalformed) {
		t.Fatalf("junk CSR over socket: %v", err)
	}
	if _, err := client.Get(ctx, "abcdef"); !errors.Is(err, ErrUnknownSerial) {
		t.Fatalf("unknown serial over socket: %v", err)
	}
	recs, err := client.List(ctx, StatusRevoked)
	if err != nil || len(recs) != 1 {
		t.Fatalf("list revoked: %d %v", len(recs), err)
	}
	crl, err := client.CRL(ctx)
	if err != nil || len(crl) == 0 {
		t.Fatalf("crl over socket: %v", err)
	}
}

func TestPublicHandlerBadInput(t *testing.T) {
	c, pub := serveTestCA(t)
	post := func(ct string, body []byte) (*http.Response, []byte) {
		resp, err := http.Post(pub.URL+"/ocsp", ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	if resp, _ := post("text/plain", []byte("x")); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("wrong content type: %d", resp.StatusCode)
	}
	if resp, _ := post("application/ocsp-request", make([]byte, MaxOCSPRequest+1)); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized: %d", resp.StatusCode)
	}
	if _, body := post("application/ocsp-request", []byte{0x30, 0x03, 0x02, 0x01}); !bytes.Equal(body, ocsp.MalformedRequestErrorResponse) {
		t.Fatalf("malformed request answered %x", body)
	}
	// A request about another CA's certificate is unauthorized.
	other := newTestCA(t)
	foreign, err := other.Issue(context.Background(), IssueRequest{CSR: makeCSR(t, ecKey(t), pkix.Name{Organization: []string{"O"}}), Profile: ProfileMemberSign, Member: "GOV/A"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := ocsp.CreateRequest(foreign.Chain[0], other.Intermediate(), nil)
	if _, body := post("application/ocsp-request", req); !bytes.Equal(body, ocsp.UnauthorizedErrorResponse) {
		t.Fatalf("foreign issuer answered %x", body)
	}
	resp, err := http.Get(pub.URL + "/ocsp/not-base64!!")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Fatalf("bad GET path: %d", resp.StatusCode)
	}
	for _, path := range []string{"/crl", "/root.pem", "/intermediate.pem", "/healthz"} {
		resp, err := http.Get(pub.URL + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", path, err, resp.Status)
		}
		resp.Body.Close()
	}
	_ = c
}

func TestAdminAPIRejectsBadBodies(t *testing.T) {
	c := newTestCA(t)
	h := c.AdminHandler()
	for _, tt := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"not json", "{", 400, "bad_request"},
		{"unknown field", `{"csr":"x","bogus":1}`, 400, "bad_request"},
		{"trailing data", `{"csr":"x","profile":"nope"} garbage`, 400, "bad_request"},
		{"two values", `{"csr":"x","profile":"nope"}{}`, 400, "bad_request"},
		{"oversized", `{"csr":"` + strings.Repeat("A", MaxAdminBody) + `"}`, 413, "csr_too_large"},
		{"unknown profile", `{"csr":"x","profile":"nope"}`, 400, "unknown_profile"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/certificates", strings.NewReader(tt.body)))
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), `"code":"`+tt.code+`"`) {
				t.Fatalf("got %d %s", rec.Code, rec.Body)
			}
		})
	}
	if recs, _ := c.List(context.Background(), ""); len(recs) != 0 {
		t.Fatal("rejected bodies left records")
	}
}

func TestDialWithoutServer(t *testing.T) {
	c := newTestCA(t)
	if _, err := Dial(context.Background(), c.dir); !errors.Is(err, ErrNotServing) {
		t.Fatalf("Dial with no server: %v", err)
	}
}
