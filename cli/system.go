package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/node/delivery"
	"github.com/dxl-network/dxl/node/exchange"
)

// The information system's side of a node's API: the flags and the client
// that commands acting as an information system (dxl doc) share.

// Environment variables of systemFlags.
const (
	EnvNodeURL      = "DXL_NODE_URL"
	EnvNodeCACert   = "DXL_NODE_CACERT"
	EnvClientCert   = "DXL_CLIENT_CERT"
	EnvClientKey    = "DXL_CLIENT_KEY"
	EnvToken        = "DXL_TOKEN"
	EnvClientID     = "DXL_CLIENT_ID"
	EnvClientSecret = "DXL_CLIENT_SECRET"
)

// systemFlags are the node's address and the information system's
// credentials: a pinned client certificate, a bearer token, or a consumer
// key and secret exchanged for a token at the node's /token.
func systemFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "node", Usage: "the node's information-system API, https://HOST:PORT", Required: true, EnvVars: []string{EnvNodeURL}},
		&cli.StringFlag{Name: "cacert", Usage: "trust the node's API certificate in this PEM `FILE` (the node's api.pem)", TakesFile: true, EnvVars: []string{EnvNodeCACert}},
		&cli.StringFlag{Name: "cert", Usage: "the information system's TLS client certificate (PEM `FILE`)", TakesFile: true, EnvVars: []string{EnvClientCert}},
		&cli.StringFlag{Name: "key", Usage: "the key of --cert (PEM `FILE`)", TakesFile: true, EnvVars: []string{EnvClientKey}},
		&cli.StringFlag{Name: "token", Usage: "send Authorization: Bearer `TOKEN` (from the node's /token)", EnvVars: []string{EnvToken}},
		&cli.StringFlag{Name: "client-id", Usage: "a consumer `KEY` ('dxl node credential create'); with --client-secret, a token is fetched", EnvVars: []string{EnvClientID}},
		&cli.StringFlag{Name: "client-secret", Usage: "the `SECRET` of --client-id", EnvVars: []string{EnvClientSecret}},
	}
}

// systemTLS is the TLS transport of the flags: the trusted certificate of
// --cacert and the client certificate of --cert and --key.
func systemTLS(c *cli.Context) (*http.Transport, error) {
	cert, key := c.String("cert"), c.String("key")
	if (cert == "") != (key == "") {
		return nil, errors.New("--cert and --key go together: give the information system's certificate and its key")
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca := c.String("cacert"); ca != "" {
		raw, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(raw) {
			return nil, fmt.Errorf("--cacert %s holds no PEM certificate (give the node's api.pem)", ca)
		}
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	return &http.Transport{TLSClientConfig: conf, Proxy: http.ProxyFromEnvironment}, nil
}

// systemClient calls a node's information-system API as one information
// system.
type systemClient struct {
	base  string // https://HOST:PORT, without a trailing slash
	http  *http.Client
	token string
}

// newSystemClient checks the flags and, with --client-id, fetches a token.
func newSystemClient(c *cli.Context) (*systemClient, error) {
	u, err := url.Parse(c.String("node"))
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("--node %q: give the node's API as https://HOST:PORT (its api_listen)", c.String("node"))
	}
	tr, err := systemTLS(c)
	if err != nil {
		return nil, err
	}
	s := &systemClient{base: "https://" + u.Host, http: &http.Client{Transport: tr}, token: c.String("token")}
	id, secret := c.String("client-id"), c.String("client-secret")
	switch {
	case (id == "") != (secret == ""):
		return nil, errors.New("--client-id and --client-secret go together")
	case id != "" && s.token != "":
		return nil, errors.New("give --token or --client-id/--client-secret, not both")
	case id != "":
		if s.token, err = s.fetchToken(c.Context, id, secret); err != nil {
			return nil, err
		}
	case s.token == "" && c.String("cert") == "":
		return nil, errors.New("no credentials: give --cert/--key of a pinned information system, --token, or --client-id/--client-secret")
	}
	return s, nil
}

// fetchToken exchanges a consumer key and secret for a bearer token
// (OAuth 2.0 client credentials at POST /token).
func (s *systemClient) fetchToken(ctx context.Context, id, secret string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.send(req)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("token: the node's /token answered no access_token (%v)", err)
	}
	return tok.AccessToken, nil
}

// request builds a request to path (with its query) on the node.
func (s *systemClient) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return nil, err
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	return req, nil
}

// send does req and turns an answer that is not 2xx into a NodeError.
func (s *systemClient) send(req *http.Request) (*http.Response, error) {
	resp, err := s.http.Do(req)
	if err != nil {
		var unknown x509.UnknownAuthorityError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("%w (give --cacert with the node's api.pem)", err)
		}
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	ne := &NodeError{Status: resp.StatusCode}
	var eb exchange.ErrorBody
	if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&eb) == nil {
		ne.Code, ne.Message = eb.Code, eb.Message
	}
	if ne.Code == "" {
		ne.Code = resp.Header.Get(delivery.HeaderError)
	}
	return nil, ne
}

// getJSON GETs path and decodes the answer into v.
func (s *systemClient) getJSON(ctx context.Context, method, path string, v any) error {
	req, err := s.request(ctx, method, path, nil)
	if err != nil {
		return err
	}
	resp, err := s.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// NodeError is an error answer of the node: its HTTP status and error code.
type NodeError struct {
	Status  int
	Code    string
	Message string
}

func (e *NodeError) Error() string {
	msg := fmt.Sprintf("the node answered %d %s", e.Status, e.Code)
	if e.Message != "" && e.Message != e.Code {
		msg += ": " + e.Message
	}
	if hint := nodeErrorHints[e.Code]; hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}

// nodeErrorHints say what to do about an error code.
var nodeErrorHints = map[string]string{
	"unauthenticated":            "give --cert/--key of an information system pinned in the node's clients, or a valid token",
	"client_mismatch":            "the credentials belong to another information system",
	"unknown_client":             "pin the system with 'dxl node client add', or create a credential",
	"document_not_found":         "list the documents with 'dxl doc list' (inbox) or check the ID",
	"document_not_yours":         "the document was sent by, or to, another information system of the member",
	"document_unknown_recipient": "a recipient must be an active subsystem INSTANCE/CLASS/MEMBER/SUBSYSTEM in the global configuration",
	"document_id_reused":         "that ID names another document; leave --id out to get a new one",
	"document_state":             "see the document's state with 'dxl doc status' or 'dxl doc list --state all'",
	"document_too_large":         "the node's delivery.max_size caps a document",
	"rate_limited":               "wait and try again",
}
