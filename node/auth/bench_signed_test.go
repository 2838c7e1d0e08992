package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxl-network/dxl/node/auth"
)

// BenchmarkVerifyRequest is the node's cost of one signed request (parse,
// canonical request, signature, replay mark, body hash of 1 KiB), by
// algorithm; each iteration signs a new request outside the timer.
func BenchmarkVerifyRequest(b *testing.B) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	k, err := auth.NewAccessKeys(auth.KeysConfig{Store: auth.NewMemKeyStore(), SealKey: bytes.Repeat([]byte{1}, 32),
		Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	hk, _ := k.Create(ctx, auth.NewAccessKey{Subsystem: sub})
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	rk, _ := k.Create(ctx, auth.NewAccessKey{Subsystem: sub, RSAPublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})
	body := bytes.Repeat([]byte("x"), 1024)
	for _, c := range []struct {
		name string
		s    auth.RequestSigner
	}{
		{"HMAC-SHA256", auth.RequestSigner{Credential: hk.AccessKey, Secret: hk.Secret}},
		{"RSA-SHA256", auth.RequestSigner{Credential: rk.AccessKey, RSAKey: priv}},
		{"RSA-PSS-SHA256", auth.RequestSigner{Algorithm: auth.AlgRSAPSSSHA256, Credential: rk.AccessKey, RSAKey: priv}},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.s.Now, c.s.Headers = now, []string{"x-n"}
			n := 0
			for b.Loop() {
				b.StopTimer()
				n++
				req := httptest.NewRequest("POST", "https://node.example/r1/VN-TEST/GOV/000.00.00.G01/HOTICH/citizens?x=1", bytes.NewReader(body))
				req.Header.Set("X-N", strconv.Itoa(n)) // a new signature each time
				if err := c.s.Sign(req, body); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := k.VerifyRequest(req); err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, req.Body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
