package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/delivery"
	"github.com/dxl-network/dxl/node/msglog"
)

// TestEvidenceCLI calls a service through the demo network, then exports
// the exchange's evidence from both nodes with `dxl log export`, verifies
// it offline with `dxl log verify` and its token with OpenSSL, reconciles
// the two members and exports the operational records as CSV.
func TestEvidenceCLI(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	d, err := devnet.StartDemo(ctx, devnet.DemoOptions{Options: devnet.Options{Dir: filepath.Join(work, "net"), FastRaft: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	pool := x509.NewCertPool()
	raw, _ := os.ReadFile(d.APICert)
	pool.AppendCertsFromPEM(raw)
	cert, err := tls.LoadX509KeyPair(d.ISCert, d.ISKey)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}}
	resp, err := hc.Get("https://" + d.A.Node.APIAddr() + "/r1/" + d.Service + "/citizens/001")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("X-Request-ID")
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("call: %d", resp.StatusCode)
	}
	root := filepath.Join(work, "root.pem")
	os.WriteFile(root, pemCert(d.Anchor.Roots[0].Raw), 0o644)

	for _, h := range []*devnet.NodeHandle{d.A, d.B} {
		bundle := filepath.Join(work, filepath.Base(h.Dir)+".evidence.json")
		if out, err := dxl(ctx, "log", "export", "--dir", h.Dir, "--request-id", id, "--out", bundle); err != nil {
			t.Fatalf("export from %s: %v\n%s", h.Dir, err, out)
		}
		tsr := filepath.Join(work, filepath.Base(h.Dir)+".tsr")
		out, err := dxl(ctx, "log", "verify", bundle, "--root", root, "--tsr-out", tsr)
		if err != nil || !strings.Contains(out, "VERIFIED request "+id) {
			t.Fatalf("verify: %v\n%s", err, out)
		}
		// The OpenSSL command the verifier prints checks the token.
		i := strings.Index(out, "openssl ts -verify")
		if i < 0 {
			t.Fatalf("no openssl command in:\n%s", out)
		}
		args := strings.Fields(strings.SplitN(out[i:], "\n", 2)[0])[1:]
		if got := testutil.OpenSSL(t, work)(args...); !strings.Contains(got, "Verification: OK") {
			t.Fatalf("openssl: %s", got)
		}
		// One changed byte and it no longer verifies.
		data, _ := os.ReadFile(bundle)
		k := strings.Index(string(data), `"client"`) + 12
		data[k] ^= 0x01
		tampered := filepath.Join(work, "tampered.json")
		os.WriteFile(tampered, data, 0o644)
		if out, err := dxl(ctx, "log", "verify", tampered, "--root", root); err == nil {
			t.Fatalf("tampered bundle verified:\n%s", out)
		}
	}
	if out, err := dxl(ctx, "log", "verify-chain", "--dir", d.A.Dir); err != nil || !strings.Contains(out, "chain intact") {
		t.Fatalf("verify-chain: %v\n%s", err, out)
	}

	out, err := dxl(ctx, "reconcile", "--dir", d.A.Dir, "--member", d.Member(devnet.AgencyB),
		"--from", time.Now().UTC().Format(time.DateOnly), "--to", time.Now().UTC().Add(24*time.Hour).Format(time.DateOnly), "--json")
	if err != nil {
		t.Fatalf("reconcile: %v\n%s", err, out)
	}
	var rep node.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Matched != 1 || len(rep.Mismatches) != 0 {
		t.Fatalf("reconcile report %s: %v", out, err)
	}
	out, err = dxl(ctx, "node", "records", "list", "--dir", d.B.Dir, "--format", "csv")
	if err != nil || !strings.Contains(out, id) || !strings.HasPrefix(out, "request_id,") {
		t.Fatalf("records csv: %v\n%s", err, out)
	}
	out, err = dxl(ctx, "node", "records", "audit", "--dir", d.A.Dir)
	if err != nil || !strings.Contains(out, `"action":"log.export"`) || !strings.Contains(out, `"action":"reconcile"`) {
		t.Fatalf("audit log: %v\n%s", err, out)
	}
	export := filepath.Join(work, "audit.jsonl")
	os.WriteFile(export, []byte(out), 0o644)
	if out, err := dxl(ctx, "node", "records", "audit", "--verify", export); err != nil || !strings.Contains(out, "VERIFIED 2 audit entries") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	os.WriteFile(export, []byte(strings.Replace(out, "reconcile", "reconcilx", 1)), 0o644)
	if _, err := dxl(ctx, "node", "records", "audit", "--verify", export); err == nil {
		t.Fatal("a changed audit export verified")
	}
	deliveryEvidenceCLI(t, ctx, d, hc, work, root)
}

// deliveryEvidenceCLI sends a document from A's information system to
// B's, acknowledges it at B, and exports and verifies the delivery's
// evidence from both nodes with `dxl log export --document` and `dxl log
// verify`; a changed byte of the receipt no longer verifies.
func deliveryEvidenceCLI(t *testing.T, ctx context.Context, d *devnet.Demo, hc *http.Client, work, root string) {
	t.Helper()
	rcpt := d.SubsystemID(devnet.AgencyB)
	q := url.Values{"recipient": {rcpt}, "title": {"Công văn 5"}, "type": {"cong-van"}}
	resp, err := hc.Post("https://"+d.A.Node.APIAddr()+"/dxl/documents?"+q.Encode(), "application/pdf", strings.NewReader("the document"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get(delivery.HeaderDocumentID)
	if resp.StatusCode != http.StatusAccepted || id == "" {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	cred, err := d.B.Node.Auth().Create(ctx, rcpt)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := d.B.Node.Auth().Issue(ctx, cred.KeyID, cred.Secret)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	raw, _ := os.ReadFile(filepath.Join(d.B.Dir, node.FileAPICert))
	pool.AppendCertsFromPEM(raw)
	bc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	eventually(t, "acknowledgment at B", func() bool {
		req, _ := http.NewRequestWithContext(ctx, "POST", "https://"+d.B.Node.APIAddr()+"/dxl/inbox/"+id+"/ack", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := bc.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	for _, h := range []*devnet.NodeHandle{d.A, d.B} {
		bundle := filepath.Join(work, filepath.Base(h.Dir)+".doc-evidence.json")
		var out string
		eventually(t, "the receipt in "+h.Dir+"'s evidence", func() bool { // the receipt reaches A after the ack
			if o, err := dxl(ctx, "log", "export", "--dir", h.Dir, "--document", id, "--out", bundle, "--force"); err != nil {
				t.Fatalf("export: %v\n%s", err, o)
			}
			out, err = dxl(ctx, "log", "verify", bundle, "--root", root)
			return err == nil && strings.Contains(out, "receipt    acknowledged")
		})
		if !strings.Contains(out, "VERIFIED document "+id) || !strings.Contains(out, "transport receipt signed by "+d.Member(devnet.AgencyB)) {
			t.Fatalf("verify:\n%s", out)
		}
		data, _ := os.ReadFile(bundle)
		b, err := msglog.ReadDeliveryBundle(data)
		if err != nil {
			t.Fatal(err)
		}
		rc := b.Records[len(b.Records)-1].Record.Response
		rc[len(rc)/2] ^= 1
		data, _ = b.Marshal()
		tampered := filepath.Join(work, "tampered-doc.json")
		os.WriteFile(tampered, data, 0o644)
		if out, err := dxl(ctx, "log", "verify", tampered, "--root", root); err == nil || !strings.Contains(err.Error()+out, "NOT VERIFIED") {
			t.Fatalf("tampered delivery bundle: %v\n%s", err, out)
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within a minute", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
