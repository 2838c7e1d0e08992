package provider

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"log/slog"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/spool"
	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/node/oprec"
)

func selfSigner(t *testing.T, member string) *envelope.Signer {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	u, _ := url.Parse("urn:dxl:member:" + member)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), URIs: []*url.URL{u}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	s, err := envelope.NewSigner(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// heldDisk is a message log and a record store whose Durable (and
// Flush) returns only once released: the disk the answer waits for.
type heldDisk struct {
	flushing chan struct{}
	release  chan struct{}
}

func (d heldDisk) Append(msglog.Record, *msglog.Bodies) error { return nil }
func (d heldDisk) Check() error                               { return nil }
func (d heldDisk) Add(oprec.Record)                           {}
func (d heldDisk) Flush(ctx context.Context) error {
	d.flushing <- struct{}{}
	<-d.release
	return nil
}
func (d heldDisk) Durable(ctx context.Context) error { return d.Flush(ctx) }

// frames are the frame types written to w so far.
func frames(t *testing.T, w *testutil.SyncBuffer) []envelope.FrameType {
	t.Helper()
	var out []envelope.FrameType
	r := bytes.NewReader(w.Bytes())
	for {
		f, err := envelope.ReadFrame(r)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f.Type)
	}
}

// TestAnswerCompleteOnlyAfterCommit: the provider node sends its answer,
// response frame and body, while the call's record commits, and the end
// frame that completes the answer only once the commit has returned.
func TestAnswerCompleteOnlyAfterCommit(t *testing.T) {
	a, b := selfSigner(t, "VN/GOV/A"), selfSigner(t, "VN/GOV/B")
	req, err := a.SignRequest(envelope.Request{RequestID: envelope.NewRequestID(), Client: "VN/GOV/A/IS", Service: "VN/GOV/B/SVC/data",
		Target: "12D3KooWProvider", Method: "GET", Path: "/x", BodySHA256: sha256.Sum256(nil)})
	if err != nil {
		t.Fatal(err)
	}
	disk := heldDisk{flushing: make(chan struct{}, 2), release: make(chan struct{})}
	logs := &exchange.Logs{Log: disk, Records: disk, Now: time.Now, Logger: slog.New(slog.DiscardHandler)}
	pr := &Provider{cfg: Config{Signer: b, Logs: logs, CallTimeout: time.Minute, Now: time.Now, Life: context.Background()}}
	x := &exchange.Exchange{Req: req, Role: oprec.RoleProvider, Start: time.Now()}
	var w testutil.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- pr.respond(&w, x, &answer{body: spool.Bytes([]byte("an answer")), status: 200}) }()
	<-disk.flushing
	deadline := time.Now().Add(10 * time.Second)
	for len(frames(t, &w)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the answer waited for the disk: frames %v", frames(t, &w))
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // nothing more may come while the disk holds
	if got := frames(t, &w); len(got) != 2 || got[0] != envelope.FrameResponse || got[1] != envelope.FrameBodyChunk {
		t.Fatalf("before the commit: frames %v", got)
	}
	close(disk.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := frames(t, &w); len(got) != 3 || got[2] != envelope.FrameBodyEnd {
		t.Fatalf("after the commit: frames %v", got)
	}
}
