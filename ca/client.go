package ca

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"time"
)

// ErrNotServing means no `dxl ca serve` answers on the directory's socket.
var ErrNotServing = errors.New("ca: no running CA server on this directory")

// Client talks to a running CA server through its admin socket. It offers
// the same Issue, Revoke, Get and List as CA.
type Client struct {
	http *http.Client
	root *x509.Certificate
}

// Dial connects to the CA server serving dir, or returns ErrNotServing.
func Dial(ctx context.Context, dir string) (*Client, error) {
	sock := filepath.Join(dir, FileSocket)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotServing, err)
	}
	conn.Close()
	root, err := readCert(filepath.Join(dir, FileRoot))
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "unix", sock)
	}}
	return &Client{http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, root: root}, nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// Issue asks the server to issue a certificate.
func (c *Client) Issue(ctx context.Context, req IssueRequest) (*Issued, error) {
	csr := req.CSR
	if block, _ := pem.Decode(csr); block == nil { // DER: the API takes PEM text
		csr = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})
	}
	body := issueBody{IssueRequest: req, CSR: string(csr)}
	var out Issued
	if err := c.do(ctx, http.MethodPost, "/v1/certificates", body, &out); err != nil {
		return nil, err
	}
	rest := []byte(out.PEM)
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("ca: server returned a bad certificate: %w", err)
		}
		out.Chain = append(out.Chain, cert)
	}
	if len(out.Chain) == 0 {
		return nil, errors.New("ca: server returned no certificate")
	}
	out.Chain = append(out.Chain, c.root)
	return &out, nil
}

// Revoke asks the server to revoke serial.
func (c *Client) Revoke(ctx context.Context, serial string, reason Reason) (*Record, error) {
	serial, err := NormalizeSerial(serial)
	if err != nil {
		return nil, err
	}
	var out Record
	return &out, c.do(ctx, http.MethodPost, "/v1/certificates/"+serial+"/revoke", revokeBody{Reason: reason.String()}, &out)
}

// Get fetches one record.
func (c *Client) Get(ctx context.Context, serial string) (*Record, error) {
	serial, err := NormalizeSerial(serial)
	if err != nil {
		return nil, err
	}
	var out Record
	return &out, c.do(ctx, http.MethodGet, "/v1/certificates/"+serial, nil, &out)
}

// List fetches every record, optionally only those with status.
func (c *Client) List(ctx context.Context, status string) ([]Record, error) {
	var out []Record
	return out, c.do(ctx, http.MethodGet, "/v1/certificates?status="+url.QueryEscape(status), nil, &out)
}

// CRL fetches the current DER CRL.
func (c *Client) CRL(ctx context.Context) ([]byte, error) {
	var out []byte
	return out, c.do(ctx, http.MethodGet, "/v1/crl", nil, &out)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://ca"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotServing, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e apiError
		if json.Unmarshal(raw, &e) == nil && e.Error.Code != "" {
			if sentinel := Codes.Sentinel(e.Error.Code); sentinel != nil {
				return fmt.Errorf("%w (from server: %s)", sentinel, e.Error.Message)
			}
			return fmt.Errorf("ca: server: %s", e.Error.Message)
		}
		return fmt.Errorf("ca: server answered %s", resp.Status)
	}
	if b, ok := out.(*[]byte); ok {
		*b = raw
		return nil
	}
	return json.Unmarshal(raw, out)
}
