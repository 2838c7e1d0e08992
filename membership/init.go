package membership

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/fsutil"
	"github.com/dxl-network/dxl/internal/keystore"
	"github.com/dxl-network/dxl/membership/api"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
	"github.com/dxl-network/dxl/tsa"
)

// InitOptions are what InitFirst needs.
type InitOptions struct {
	Instance string
	ServerAddrs
	Org      string // operator organisation (CA subject O); default from the instance
	Operator string // operator member ID CLASS/CODE (optional)
	ImportCA string // an existing CA directory to copy (its keys sealed with the same passphrase)
	TSA      bool   // create a TSA under R/tsa, listed in the registry with TSAURL
	TSAURL   string
	// CAURL, if set, is where the CA's OCSP responder and CRL will be
	// served (dxl registry serve --ca-listen, or dxl ca serve): issued
	// certificates point there (a new CA only).
	CAURL     string
	AdminName string // first operator, role admin; default "admin"
	// RegistrationLimits go to registry.json (zero: the defaults).
	RegistrationLimits api.IntakeConfig
}

// InitResult is what InitFirst reports. AdminToken is shown once and
// stored nowhere in clear.
type InitResult struct {
	Dir          string `json:"dir"`
	ID           string `json:"id"`
	Instance     string `json:"instance"`
	APIURL       string `json:"api_url"`
	RootSHA256   string `json:"root_sha256"`
	AdminName    string `json:"admin_name"`
	AdminToken   string `json:"admin_token"`
	Anchor       string `json:"anchor"`
	ServerSerial string `json:"server_cert_serial"`
	TSA          bool   `json:"tsa"`
}

// InitFirst creates the first registry server of a new cluster in dir:
// the CA (new, or a copy of ImportCA), the server's registry-server
// certificate, the config signer, optionally a TSA, then it starts the
// server, bootstraps Raft, commits the instance, the server's own record
// and the first admin operator, writes the anchor and stops again.
func InitFirst(ctx context.Context, dir string, in InitOptions, passphrase []byte, opts ...RegistryOption) (*InitResult, error) {
	o := registryOptions{log: slog.Default()}
	for _, f := range opts {
		f(&o)
	}
	file, err := checkInit(dir, &in, passphrase)
	if err != nil {
		return nil, err
	}
	authority, err := initCA(dir, in, passphrase, o.log)
	if err != nil {
		return nil, fmt.Errorf("membership: CA: %w", err)
	}
	res := &InitResult{Dir: dir, ID: in.ID, Instance: in.Instance, APIURL: file.APIURLs[0], RootSHA256: ca.Fingerprint(authority.Root()),
		AdminName: in.AdminName, TSA: in.TSA}
	tsas, err := writeInitMaterial(ctx, dir, in, authority, passphrase, o.log, file, res)
	authority.Close()
	if err != nil {
		return nil, err
	}
	if err := writeRegistryFile(dir, file); err != nil {
		return nil, err
	}
	r, err := Open(ctx, dir, passphrase, opts...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := r.bootstrapFirst(ctx, in, tsas, res); err != nil {
		return nil, err
	}
	return res, nil
}

// checkInit checks in (defaulting AdminName) and returns the registry.json
// it describes; dir must not hold a registry server yet.
func checkInit(dir string, in *InitOptions, passphrase []byte) (*RegistryFile, error) {
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: empty passphrase", state.ErrBadConfig)
	}
	if in.AdminName == "" {
		in.AdminName = "admin"
	}
	if in.TSA && in.TSAURL == "" {
		return nil, fmt.Errorf("%w: a TSA needs the URL it will be served at", state.ErrBadConfig)
	}
	if _, err := os.Stat(filepath.Join(dir, FileRegistry)); err == nil {
		return nil, fmt.Errorf("%w: %s already holds a registry server", state.ErrBootstrapped, dir)
	}
	file := &RegistryFile{Format: 1, ID: in.ID, Instance: in.Instance, RaftListen: in.RaftAddr, RaftAdvertise: in.RaftAdvertise,
		APIListen: in.APIAddr, APIURLs: []string{strings.TrimRight(in.APIURL, "/")}, RegistrationLimits: in.RegistrationLimits}
	if err := file.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	return file, nil
}

// initCA imports the CA of in.ImportCA or creates a new one in dir.
func initCA(dir string, in InitOptions, passphrase []byte, log *slog.Logger) (*ca.CA, error) {
	caDir := filepath.Join(dir, DirCA)
	if in.ImportCA == "" {
		return ca.Init(caDir, ca.Config{Instance: in.Instance, Organization: in.Org, Operator: in.Operator, PublicURL: in.CAURL}, passphrase, ca.WithLogger(log))
	}
	if err := copyCA(in.ImportCA, caDir); err != nil {
		return nil, err
	}
	authority, err := ca.Open(caDir, passphrase, ca.WithLogger(log))
	if err == nil && authority.Config().Instance != in.Instance {
		authority.Close()
		err = fmt.Errorf("%w: imported CA is for instance %s", state.ErrBadConfig, authority.Config().Instance)
	}
	return authority, err
}

// writeInitMaterial issues and writes the server's TLS key and certificate
// and the configuration signer, sets up the TSA when asked, and writes the
// anchor. It returns the TSAs for init_instance.
func writeInitMaterial(ctx context.Context, dir string, in InitOptions, authority *ca.CA, passphrase []byte, log *slog.Logger,
	file *RegistryFile, res *InitResult) ([]state.TSA, error) {
	cfgCert, err := writeServerKeys(ctx, dir, in, authority, passphrase, res)
	if err != nil {
		return nil, err
	}
	var tsas []state.TSA
	if in.TSA {
		t, err := initTSA(ctx, dir, in.TSAURL, authority, passphrase, log)
		if err != nil {
			return nil, err
		}
		tsas = append(tsas, t)
	}
	anchor, err := globalconf.NewAnchor(in.Instance, authority.Root(), cfgCert, file.APIURLs)
	if err != nil {
		return nil, err
	}
	raw, err := anchor.Marshal()
	if err != nil {
		return nil, err
	}
	res.Anchor = filepath.Join(dir, FileAnchor)
	return tsas, fsutil.WriteNew(res.Anchor, raw, 0o644)
}

// writeServerKeys issues the registry-server and configuration-signer
// certificates for fresh keys and writes keys and chains; it returns the
// signer's certificate.
func writeServerKeys(ctx context.Context, dir string, in InitOptions, authority *ca.CA, passphrase []byte, res *InitResult) (*x509.Certificate, error) {
	srvKey, err := keystore.GenerateKey()
	if err != nil {
		return nil, err
	}
	iss, err := issueWith(ctx, authority, srvKey, ca.IssueRequest{Profile: ca.ProfileRegistryServer, CommonName: in.ID,
		DNSNames: in.DNSNames, IPs: in.IPs})
	if err != nil {
		return nil, err
	}
	res.ServerSerial = iss.Serial
	cfgKey, err := keystore.GenerateKey()
	if err != nil {
		return nil, err
	}
	cfgIss, err := issueWith(ctx, authority, cfgKey, ca.IssueRequest{Profile: ca.ProfileRegistryConfig})
	if err != nil {
		return nil, err
	}
	steps := []func() error{
		func() error { return keystore.WriteFile(filepath.Join(dir, FileServerKey), srvKey, passphrase) },
		func() error {
			return fsutil.WriteNew(filepath.Join(dir, FileServerCert), ca.PEMChain(iss.Chain...), 0o644)
		},
		func() error { return keystore.WriteFile(filepath.Join(dir, FileConfigKey), cfgKey, passphrase) },
		func() error {
			return fsutil.WriteNew(filepath.Join(dir, FileConfigCert), ca.PEMChain(cfgIss.Chain[0], authority.Intermediate()), 0o644)
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	return cfgIss.Chain[0], nil
}

// initTSA sets up the server's time-stamping authority with a certificate
// from authority.
func initTSA(ctx context.Context, dir, url string, authority *ca.CA, passphrase []byte, log *slog.Logger) (state.TSA, error) {
	err := tsa.Init(ctx, filepath.Join(dir, DirTSA), passphrase, func(ctx context.Context, csr []byte) ([]*x509.Certificate, error) {
		is, err := authority.Issue(ctx, ca.IssueRequest{CSR: csr, Profile: ca.ProfileTSA})
		if err != nil {
			return nil, err
		}
		return is.Chain, nil
	}, tsa.WithLogger(log))
	if err != nil {
		return state.TSA{}, err
	}
	certs, err := tsa.LoadCertificates(filepath.Join(dir, DirTSA, tsa.CertFile))
	if err != nil {
		return state.TSA{}, err
	}
	return state.TSA{Name: "tsa-1", URL: url, CertDER: certs[0].Raw}, nil
}

// bootstrapFirst bootstraps the one-server cluster and commits the
// instance, this server's record and the first admin operator.
func (r *Registry) bootstrapFirst(ctx context.Context, in InitOptions, tsas []state.TSA, res *InitResult) (err error) {
	s := r.srv
	if err := s.Bootstrap(ctx, store.Peer{ID: in.ID, Address: r.file.raftAdvertise()}); err != nil {
		return err
	}
	if _, err := s.WaitLeader(ctx); err != nil {
		return err
	}
	hdr := state.Header{Actor: "init"}
	if _, err := s.Apply(ctx, &state.InitInstance{Header: hdr, Instance: in.Instance, CAChain: [][]byte{r.inter.Raw, r.root.Raw}, TSAs: tsas}); err != nil {
		return err
	}
	if _, err := s.Apply(ctx, &state.SetRegistryServer{Header: hdr, ID: in.ID, URL: r.file.APIURLs[0],
		CertSHA256: ca.Fingerprint(r.tlsCert.Leaf), CertSerial: ca.SerialHex(r.tlsCert.Leaf.SerialNumber)}); err != nil {
		return err
	}
	res.AdminToken, _, err = s.CreateOperator(ctx, "init", in.AdminName, state.RoleAdmin)
	return err
}

// issueWith makes a CSR for key and has authority issue req for it.
func issueWith(ctx context.Context, authority *ca.CA, key crypto.Signer, req ca.IssueRequest) (*ca.Issued, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: req.CommonName}}, key)
	if err != nil {
		return nil, err
	}
	req.CSR = der
	return authority.Issue(ctx, req)
}

// copyCA copies a CA directory's certificates, keys and ca.json (not its
// database or socket) to dst.
func copyCA(src, dst string) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	for _, name := range []string{ca.FileConfig, ca.FileRoot, ca.FileIntermediate, ca.FileRootKey, ca.FileIntermediateKey} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if errors.Is(err, fs.ErrNotExist) && name == ca.FileRootKey {
			continue // an operator may keep the root key offline
		}
		if err != nil {
			return err
		}
		if err := fsutil.WriteNew(filepath.Join(dst, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
