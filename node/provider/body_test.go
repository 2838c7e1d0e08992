package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/services"
)

// TestBackendNeverGetsAnUnvouchedBody: a request body streams to the
// backend as it arrives, but its last bytes are held until the whole body
// matches the signed hash. A body changed anywhere reaches the backend cut
// short (never as a complete body it would act on), and the call fails
// with envelope.ErrBodyHash; the right body arrives whole and the backend's
// answer is spooled with its hash.
func TestBackendNeverGetsAnUnvouchedBody(t *testing.T) {
	var mu sync.Mutex
	var whole [][]byte // bodies the backend read completely
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return // cut short: the node aborted the request
		}
		mu.Lock()
		whole = append(whole, b)
		mu.Unlock()
		_, _ = w.Write([]byte("done"))
	}))
	defer backend.Close()
	pr := &Provider{cfg: Config{MaxBody: 1 << 30, SpoolDir: t.TempDir()}}
	p := &provided{client: backend.Client()}
	ver := &services.Version{BackendURL: backend.URL, Timeout: services.Duration(10 * time.Second)}

	signed := bytes.Repeat([]byte("0123456789abcdef"), 20_000) // 320 KB: many chunks
	call := func(sent []byte) (*answer, error) {
		req := &envelope.SignedRequest{Request: envelope.Request{Method: "POST", Path: "/x", BodyLength: uint64(len(signed)),
			BodySHA256: sha256.Sum256(signed), Service: "VN/GOV/B/SVC/data", Client: "VN/GOV/A/IS"}}
		in := newRequestBody(envelope.NewHashingReader(bytes.NewReader(sent), req.BodySHA256, req.BodyLength), nil, false)
		ans, err := pr.callBackend(context.Background(), p, ver, req, in, false)
		if ferr := in.finish(err == nil); ferr != nil {
			err = ferr
		}
		return ans, err
	}
	for _, at := range []int{0, len(signed) / 2, len(signed) - 1} {
		bad := bytes.Clone(signed)
		bad[at] ^= 1
		if ans, err := call(bad); !errors.Is(err, envelope.ErrBodyHash) {
			t.Errorf("byte %d changed: %v %v", at, ans, err)
		}
	}
	if ans, err := call(signed[:len(signed)-1]); !errors.Is(err, envelope.ErrBodyHash) {
		t.Errorf("a byte short: %v %v", ans, err)
	}
	mu.Lock()
	if len(whole) != 0 {
		t.Fatalf("the backend read %d unvouched bodies to their end", len(whole))
	}
	mu.Unlock()

	ans, err := call(signed)
	if err != nil {
		t.Fatal(err)
	}
	defer ans.body.Close()
	if got, _ := ans.body.ReadAll(); string(got) != "done" || ans.body.SHA256() != sha256.Sum256([]byte("done")) {
		t.Fatalf("answer %q", got)
	}
	if len(whole) != 1 || !bytes.Equal(whole[0], signed) {
		t.Fatalf("the backend got %d bodies", len(whole))
	}
}
