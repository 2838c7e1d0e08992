package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
)

// Where a leader receives forwarded operations.
const (
	InternalApplyPath = "/internal/v1/apply" // commands
	InternalVoterPath = "/internal/v1/voter" // voter changes
)

// StateReader reads the local state; *store.Server implements it.
type StateReader interface {
	Read(fn func(st *state.State))
}

// HTTPForwarder is the store.Forwarder between registry servers: it POSTs the
// encoded command (EncodeCommand: type byte ‖ JSON) to the leader's
// InternalApplyPath over mutual TLS, and the leader applies it with
// ApplyLocal. The leader's API URL comes from the replicated state
// (State.RegistryServers, keyed by Raft ID, written by SetRegistryServer), so
// every server maps a leader ID to the same URL. The error comes back as a
// machine code and is turned into the same sentinel the leader returned.
type HTTPForwarder struct {
	srv    StateReader
	client *http.Client
}

// NewHTTPForwarder returns the forwarder for s. Besides what clientTLS
// checks, the peer's certificate must be one the replicated state records
// for a registry server: any node's certificate chains to the network CA
// with serverAuth, and none of them may receive forwarded commands.
func NewHTTPForwarder(s StateReader, clientTLS *tls.Config) *HTTPForwarder {
	tlsConf := clientTLS.Clone()
	chainCheck := tlsConf.VerifyConnection
	tlsConf.VerifyConnection = func(cs tls.ConnectionState) error {
		if chainCheck != nil {
			if err := chainCheck(cs); err != nil {
				return err
			}
		}
		if len(cs.PeerCertificates) == 0 {
			return errors.New("registry server sent no certificate")
		}
		fp := ca.Fingerprint(cs.PeerCertificates[0])
		known := false
		s.Read(func(st *state.State) {
			for _, rs := range st.RegistryServers {
				known = known || rs.CertSHA256 == fp
			}
		})
		if !known {
			return fmt.Errorf("certificate %s is not a registry server's", fp)
		}
		return nil
	}
	tr := &http.Transport{
		TLSClientConfig:     tlsConf,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &HTTPForwarder{srv: s, client: &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Forward implements Forwarder.
func (f *HTTPForwarder) Forward(ctx context.Context, leaderID, _ string, cmd state.Command) (state.Result, error) {
	data, err := state.EncodeCommand(cmd)
	if err != nil {
		return state.Result{}, err
	}
	var r state.Result
	return r, f.post(ctx, leaderID, InternalApplyPath, "application/octet-stream", data, &r)
}

// ForwardVoterChange implements Forwarder.
func (f *HTTPForwarder) ForwardVoterChange(ctx context.Context, leaderID, _ string, ch state.VoterChange) error {
	data, err := json.Marshal(ch)
	if err != nil {
		return err
	}
	return f.post(ctx, leaderID, InternalVoterPath, "application/json", data, nil)
}

// post sends data to the leader's internal path and decodes a 200 answer
// into out (when not nil); an error answer becomes the leader's sentinel.
func (f *HTTPForwarder) post(ctx context.Context, leaderID, path, contentType string, data []byte, out any) error {
	var base string
	f.srv.Read(func(st *state.State) { base = st.RegistryServers[leaderID].URL })
	if base == "" {
		return fmt.Errorf("%w: leader %s has no API URL in the registry state", state.ErrTimeout, leaderID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: %v", state.ErrTimeout, err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := f.client.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return fmt.Errorf("%w: leader %s unreachable: %v", state.ErrTimeout, leaderID, err)
		}
		return fmt.Errorf("%w: forwarding to %s: %v", state.ErrIndeterminate, leaderID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: reading the leader's answer: %v", state.ErrIndeterminate, err)
	}
	if resp.StatusCode == http.StatusOK {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%w: leader answer: %v", state.ErrIndeterminate, err)
		}
		return nil
	}
	var e client.ErrorBody
	if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
		if resp.StatusCode >= 500 {
			return fmt.Errorf("%w: leader %s answered %s", state.ErrIndeterminate, leaderID, resp.Status)
		}
		return fmt.Errorf("%w: leader %s answered %s", state.ErrTimeout, leaderID, resp.Status)
	}
	return RemoteError(e.Error.Code, e.Error.Message)
}

// RemoteError turns a machine code from another server back into its
// sentinel (errors.Is works) with the remote message.
func RemoteError(code, msg string) error {
	if code == "not_leader" {
		return &state.NotLeaderError{}
	}
	if s := state.Codes.Sentinel(code); s != nil {
		return &codedError{sentinel: s, msg: msg}
	}
	return fmt.Errorf("%w: remote error %s: %s", state.ErrIndeterminate, code, msg)
}

type codedError struct {
	sentinel error
	msg      string
}

func (e *codedError) Error() string { return e.msg }
func (e *codedError) Unwrap() error { return e.sentinel }

// ServerTLSConfig is the TLS configuration of a registry server's API:
// cert is the server's certificate (node-auth profile: serverAuth and
// clientAuth, chain included), roots the network CA. Clients without a
// certificate are accepted (the public endpoints need none); a client
// certificate, when sent, must chain to roots, and the internal endpoint
// requires one belonging to a registry server.
func ServerTLSConfig(cert tls.Certificate, roots *x509.CertPool) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    roots,
	}
}
