package membership

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/fsutil"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/keystore"
	"github.com/dxl-network/dxl/membership/api"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
)

// One-time join tokens let a new registry server join over an
// authenticated channel:
//
//  1. An admin operator mints a token on any server (POST
//     /v1/admin/join-tokens). The registry commits create_join_token with
//     the SHA-256 of a random secret, an expiry and the creator; the secret
//     itself is shown once, inside the token string
//     "dxljoin1." + base64url(JSON{api_url, root_sha256, secret}).
//  2. The new server connects to api_url over TLS trusting only a root
//     whose SHA-256 is root_sha256 (the token pins it), and POSTs
//     /v1/join with the secret, its ID, addresses and a CSR. The serving
//     server commits consume_join_token (unknown, used or expired tokens
//     are refused there and nothing is committed), issues the
//     registry-server certificate, commits set_registry_server and returns
//     the CA material, the config signer and the anchor.
//  3. The new server starts (Open) and, having no Raft state, asks to be
//     added as a voter (POST /internal/v1/add-voter, mutual TLS with the
//     certificate just recorded); the leader calls AddVoter.
//
// Adding the voter only once the new server runs keeps a quorum: a voter
// added before it could answer would count against the majority.

// JoinTicket is what a join token string carries.
type JoinTicket struct {
	APIURL     string `json:"api_url"`
	RootSHA256 string `json:"root_sha256"`
	Secret     string `json:"secret"` // 64 hex digits
}

// String encodes t as "dxljoin1." + base64url(JSON).
func (t JoinTicket) String() string {
	b, _ := json.Marshal(t)
	return state.JoinTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ParseJoinToken decodes a join token string.
func ParseJoinToken(s string) (JoinTicket, error) {
	var t JoinTicket
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, state.JoinTokenPrefix) || len(s) > 4096 {
		return t, fmt.Errorf("%w: not a %s… join token", state.ErrJoinTokenUnknown, state.JoinTokenPrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, state.JoinTokenPrefix))
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		err = dec.Decode(&t)
	}
	if err != nil {
		return t, fmt.Errorf("%w: malformed join token: %v", state.ErrJoinTokenUnknown, err)
	}
	if u, err := url.Parse(t.APIURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return t, fmt.Errorf("%w: join token API URL %q is not https", state.ErrJoinTokenUnknown, t.APIURL)
	}
	if state.CheckHex256(t.RootSHA256) != nil || state.CheckHex256(t.Secret) != nil {
		return t, fmt.Errorf("%w: join token root pin or secret malformed", state.ErrJoinTokenUnknown)
	}
	return t, nil
}

// ---- server side ----

// CreateJoinToken mints a join token valid for ttl (0: DefaultJoinTokenTTL)
// pointing at this server, and commits its hash.
func (r *Registry) CreateJoinToken(ctx context.Context, actor string, ttl time.Duration) (client.MintJoinTokenResponse, error) {
	if ttl == 0 {
		ttl = state.DefaultJoinTokenTTL
	}
	secret, hash, err := r.srv.NewOperatorToken() // 256 random bits, hex
	if err != nil {
		return client.MintJoinTokenResponse{}, err
	}
	now := r.srv.Now().UTC()
	cmd := &state.CreateJoinToken{Header: state.Header{Actor: actor, Time: now}, SecretSHA256: hash, ExpiresAt: now.Add(ttl)}
	res, err := r.srv.Apply(ctx, cmd)
	if err != nil {
		return client.MintJoinTokenResponse{}, err
	}
	// The joiner comes back to this server: have the token applied here.
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_ = r.srv.WaitApplied(wctx, res.Index)
	cancel()
	t := JoinTicket{APIURL: r.URL(), RootSHA256: ca.Fingerprint(r.root), Secret: secret}
	return client.MintJoinTokenResponse{Token: t.String(), ExpiresAt: cmd.ExpiresAt, APIURL: t.APIURL, Index: res.Index}, nil
}

// Admit consumes the token, issues the server's certificate, records the
// server and gathers the material it needs.
func (r *Registry) Admit(ctx context.Context, b *client.JoinRequest, csr *x509.CertificateRequest, ips []net.IP) (*client.JoinResponse, error) {
	sum := sha256.Sum256([]byte(strings.TrimSpace(b.Secret)))
	hash := hex.EncodeToString(sum[:])
	// A secret this server has never seen (after applying what it knows to
	// be committed) is refused without a log entry, so guessing costs the
	// cluster nothing. Known tokens are decided by Apply, on the leader's
	// order of events.
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	_ = r.srv.WaitCommitted(wctx)
	cancel()
	var known bool
	r.srv.Read(func(st *state.State) { _, known = st.JoinTokens[hash] })
	if !known {
		return nil, state.ErrJoinTokenUnknown
	}
	if _, err := r.srv.Apply(ctx, &state.ConsumeJoinToken{Header: state.Header{Actor: "join:" + b.ID},
		SecretSHA256: hash, ServerID: b.ID}); err != nil {
		return nil, err
	}
	// From here on the token is spent: a failure below needs a new token.
	iss, err := r.ca.Issue(ctx, ca.IssueRequest{CSR: csr.Raw, Profile: ca.ProfileRegistryServer, CommonName: b.ID,
		DNSNames: b.DNSNames, IPs: ips})
	if err != nil {
		return nil, state.CAError(err)
	}
	res, err := r.srv.Apply(ctx, &state.SetRegistryServer{Header: state.Header{Actor: "join:" + b.ID}, ID: b.ID, URL: b.APIURL,
		CertSHA256: iss.Fingerprint, CertSerial: iss.Serial})
	if err != nil {
		return nil, err
	}
	interKey, err := pemPKCS8(r.interKey)
	if err != nil {
		return nil, err
	}
	cfgKey, err := pemPKCS8(r.cfgKey)
	if err != nil {
		return nil, err
	}
	anchor, err := r.currentAnchor(b.APIURL)
	if err != nil {
		return nil, err
	}
	r.log.Info("registry server admitted with a join token", "joiner_id", b.ID, "api_url", b.APIURL, "serial", iss.Serial)
	return &client.JoinResponse{
		Instance:   r.file.Instance,
		ServerCert: string(ca.PEMChain(iss.Chain...)), CARoot: string(ca.PEMChain(r.root)),
		CAIntermediate: string(ca.PEMChain(r.inter)), CAIntermediateKey: string(interKey), CAConfig: r.caConfig,
		ConfigKey: string(cfgKey), ConfigChain: string(ca.PEMChain(r.cfgChain...)), Anchor: anchor, Index: res.Index,
	}, nil
}

// RemoveServer takes server id out of the Raft configuration and forgets
// its registry-server record; a follower forwards both to the leader.
func (r *Registry) RemoveServer(ctx context.Context, actor, id string) (client.RemoveServerResponse, error) {
	if err := ident.CheckPart(id); err != nil {
		return client.RemoveServerResponse{}, state.Invalidf("server ID: %v", err)
	}
	if err := r.srv.RemoveServer(ctx, id); err != nil {
		return client.RemoveServerResponse{}, err
	}
	var known bool
	r.srv.Read(func(st *state.State) { _, known = st.RegistryServers[id] })
	out := client.RemoveServerResponse{ID: id}
	if known {
		res, err := r.srv.Apply(ctx, &state.SetRegistryServer{Header: state.Header{Actor: actor}, ID: id, Delete: true})
		if err != nil {
			return out, err
		}
		out.Index = res.Index
	}
	return out, nil
}

// ---- joiner side ----

// PinnedRootTLS returns a client TLS configuration that trusts only the root
// certificate whose SHA-256 is rootSHA256, taken from the chain the server
// sends (a registry server sends leaf, intermediate and root), and requires
// a registry-server certificate chaining to it.
func PinnedRootTLS(rootSHA256 string) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			n := len(cs.PeerCertificates)
			if n < 2 {
				return errors.New("join: the server sent no root certificate in its chain")
			}
			root := cs.PeerCertificates[n-1]
			if subtle.ConstantTimeCompare([]byte(ca.Fingerprint(root)), []byte(rootSHA256)) != 1 {
				return fmt.Errorf("join: the server's root %s is not the root the token pins", ca.Fingerprint(root))
			}
			roots, inter := x509.NewCertPool(), x509.NewCertPool()
			roots.AddCert(root)
			for _, c := range cs.PeerCertificates[1 : n-1] {
				inter.AddCert(c)
			}
			if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				return fmt.Errorf("join: %w", err)
			}
			if _, ok := ca.IsRegistryServer(cs.PeerCertificates[0]); !ok {
				return errors.New("join: the server's certificate is not a registry server's")
			}
			return nil
		}}
}

// errRemote wraps an error answer from another registry server whose code
// this package does not know.
var errRemote = errors.New("membership: remote error")

// postJSON POSTs in to url and decodes a 2xx answer into out; an error
// answer becomes the sentinel of its code.
func postJSON(ctx context.Context, hc *http.Client, url, bearer string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", state.ErrTimeout, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%w: reading the answer of %s: %v", state.ErrIndeterminate, url, err)
	}
	if resp.StatusCode/100 == 2 {
		if out == nil {
			return nil
		}
		return json.Unmarshal(raw, out)
	}
	var e client.ErrorBody
	if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
		return fmt.Errorf("%w: %s answered %s", errRemote, url, resp.Status)
	}
	err = api.RemoteError(e.Error.Code, e.Error.Message)
	if errors.Is(err, state.ErrIndeterminate) && state.Codes.Sentinel(e.Error.Code) == nil {
		return fmt.Errorf("%w: %s: %s", errRemote, e.Error.Code, e.Error.Message)
	}
	return err
}

func pemPKCS8(key any) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("membership: marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ServerAddrs names a registry server and says where it is reached; the
// DNS names and IPs go into its registry-server certificate.
type ServerAddrs struct {
	ID            string
	RaftAddr      string // Raft listen address
	RaftAdvertise string // default RaftAddr
	APIAddr       string // HTTPS API listen address
	APIURL        string // advertised https URL
	DNSNames      []string
	IPs           []net.IP
}

// JoinOptions are what a joining server needs besides the token.
type JoinOptions struct {
	Token string
	ServerAddrs
}

// JoinResult reports a prepared joiner directory.
type JoinResult struct {
	Dir          string `json:"dir"`
	ID           string `json:"id"`
	Instance     string `json:"instance"`
	JoinURL      string `json:"join_url"`
	RootSHA256   string `json:"root_sha256"`
	ServerSerial string `json:"server_cert_serial"`
	Index        uint64 `json:"index"`
}

// JoinCluster prepares dir for a new registry server admitted with a join
// token: it generates the server's TLS key, sends its ID, addresses and a
// CSR to the token's server over TLS pinned to the token's root, and
// writes what comes back (certificates; the CA intermediate key and the
// config signer key sealed under passphrase; ca.json; the anchor;
// registry.json). Open then starts the server, which asks to be added as a
// voter. Nothing is written when the server refuses the token.
func JoinCluster(ctx context.Context, dir string, in JoinOptions, passphrase []byte) (*JoinResult, error) {
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: empty passphrase", state.ErrBadConfig)
	}
	t, err := ParseJoinToken(in.Token)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, FileRegistry)); err == nil {
		return nil, fmt.Errorf("%w: %s already holds a registry server", state.ErrBootstrapped, dir)
	}
	file := &RegistryFile{Format: 1, ID: in.ID, Instance: "pending", RaftListen: in.RaftAddr, RaftAdvertise: in.RaftAdvertise,
		APIListen: in.APIAddr, APIURLs: []string{strings.TrimRight(in.APIURL, "/")}, JoinURL: strings.TrimRight(t.APIURL, "/")}
	if err := file.validate(); err != nil {
		return nil, err
	}
	key, resp, err := askToJoin(ctx, t, in, file)
	if err != nil {
		return nil, err
	}
	chain, err := parsePEMCerts([]byte(resp.ServerCert), "server certificate")
	if err != nil {
		return nil, err
	}
	if len(chain) < 3 || ca.Fingerprint(chain[len(chain)-1]) != t.RootSHA256 || !chain[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
		return nil, fmt.Errorf("%w: the server returned a certificate for another key or root", state.ErrBadCertificate)
	}
	if err := writeJoinMaterial(dir, key, resp, file, passphrase); err != nil {
		return nil, err
	}
	return &JoinResult{Dir: dir, ID: in.ID, Instance: resp.Instance, JoinURL: file.JoinURL, RootSHA256: t.RootSHA256,
		ServerSerial: ca.SerialHex(chain[0].SerialNumber), Index: resp.Index}, nil
}

// askToJoin makes the server's key and POSTs the join request to the
// server the token names, over TLS pinned to the token's root.
func askToJoin(ctx context.Context, t JoinTicket, in JoinOptions, file *RegistryFile) (crypto.Signer, *client.JoinResponse, error) {
	key, err := keystore.GenerateKey()
	if err != nil {
		return nil, nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: in.ID}}, key)
	if err != nil {
		return nil, nil, err
	}
	req := client.JoinRequest{Secret: t.Secret, ID: in.ID, RaftAddr: file.raftAdvertise(), APIURL: file.APIURLs[0], DNSNames: in.DNSNames,
		CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}))}
	for _, ip := range in.IPs {
		req.IPs = append(req.IPs, ip.String())
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: PinnedRootTLS(t.RootSHA256)}}
	defer hc.CloseIdleConnections()
	var resp client.JoinResponse
	if err := postJSON(ctx, hc, file.JoinURL+client.JoinPath, "", req, &resp); err != nil {
		return nil, nil, err
	}
	return key, &resp, nil
}

// writeJoinMaterial writes what the join answer carries: keys,
// certificates, the CA copy, the anchor and, last, registry.json.
func writeJoinMaterial(dir string, key crypto.Signer, resp *client.JoinResponse, file *RegistryFile, passphrase []byte) error {
	interKey, err := parsePKCS8(resp.CAIntermediateKey)
	if err != nil {
		return err
	}
	cfgKey, err := parsePKCS8(resp.ConfigKey)
	if err != nil {
		return err
	}
	file.Instance = resp.Instance
	if err := file.validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, DirCA), 0o700); err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	caDir := filepath.Join(dir, DirCA)
	steps := []func() error{
		func() error { return keystore.WriteFile(filepath.Join(dir, FileServerKey), key, passphrase) },
		func() error {
			return fsutil.WriteNew(filepath.Join(dir, FileServerCert), []byte(resp.ServerCert), 0o644)
		},
		func() error { return keystore.WriteFile(filepath.Join(dir, FileConfigKey), cfgKey, passphrase) },
		func() error {
			return fsutil.WriteNew(filepath.Join(dir, FileConfigCert), []byte(resp.ConfigChain), 0o644)
		},
		func() error { return fsutil.WriteNew(filepath.Join(caDir, ca.FileRoot), []byte(resp.CARoot), 0o644) },
		func() error {
			return fsutil.WriteNew(filepath.Join(caDir, ca.FileIntermediate), []byte(resp.CAIntermediate), 0o644)
		},
		func() error {
			return keystore.WriteFile(filepath.Join(caDir, ca.FileIntermediateKey), interKey, passphrase)
		},
		func() error { return fsutil.WriteNew(filepath.Join(caDir, ca.FileConfig), resp.CAConfig, 0o600) },
		func() error { return fsutil.WriteNew(filepath.Join(dir, FileAnchor), resp.Anchor, 0o644) },
		func() error { return writeRegistryFile(dir, file) }, // last: its presence marks a complete directory
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

func parsePKCS8(p string) (crypto.Signer, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: the server returned no PKCS#8 key", state.ErrBadConfig)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", state.ErrBadConfig, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T is not a signing key", state.ErrBadConfig, k)
	}
	return s, nil
}
