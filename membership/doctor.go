package membership

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/doctor"
	"github.com/dxl-network/dxl/internal/keystore"
	"github.com/dxl-network/dxl/membership/store"
	"github.com/dxl-network/dxl/tsa"
)

// DoctorOptions configure Doctor.
type DoctorOptions struct {
	Passphrase []byte        // nil: the sealed keys are not tried
	Timeout    time.Duration // each network check (default 10 s)
	Now        func() time.Time
}

// Doctor checks the registry server in dir, running or not, and says what
// is wrong and how to fix it: registry.json; the server, config-signing,
// CA and TSA certificates and their expiry; that the passphrase opens the
// keys; whether the server answers on its API; for a stopped server its listening ports and its Raft
// and CA databases; the free disk space. It writes nothing to dir.
func Doctor(ctx context.Context, dir string, o DoctorOptions) *doctor.Report {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &doctor.Report{Dir: dir}
	f, err := ReadRegistryFile(dir)
	if err != nil {
		r.Add("config", doctor.Error, err.Error(), "fix "+filepath.Join(dir, FileRegistry)+", or restore the server (dxl registry restore)")
	} else {
		r.Add("config", doctor.OK, fmt.Sprintf("%s is valid: server %s of %s", FileRegistry, f.ID, f.Instance), "")
	}
	now := o.Now()
	renew := "the CA renews it; see docs/registry.md"
	r.Cert("cert "+FileServerCert, "registry server certificate", filepath.Join(dir, FileServerCert), renew, now)
	r.Cert("cert "+FileConfigCert, "config-signing certificate", filepath.Join(dir, FileConfigCert), renew, now)
	r.Cert("cert "+DirCA+"/"+ca.FileRoot, "CA root", filepath.Join(dir, DirCA, ca.FileRoot), "plan a root rollover (docs/pki.md)", now)
	r.Cert("cert "+DirCA+"/"+ca.FileIntermediate, "CA intermediate", filepath.Join(dir, DirCA, ca.FileIntermediate), "plan an intermediate rollover (docs/pki.md)", now)
	if _, err := os.Stat(filepath.Join(dir, DirTSA, tsa.CertFile)); err == nil {
		r.Cert("cert "+DirTSA+"/"+tsa.CertFile, "TSA certificate", filepath.Join(dir, DirTSA, tsa.CertFile), renew, now)
	}
	doctorKeys(r, dir, o.Passphrase)
	if f != nil {
		r.Running = doctorAPI(ctx, r, dir, f, o)
		if !r.Running {
			r.Port(f.RaftListen, FileRegistry)
			r.Port(f.APIListen, FileRegistry)
			r.Bolt(DirRaft+"/"+store.FileRaftDB, filepath.Join(dir, DirRaft, store.FileRaftDB), "is the server running on "+dir+"?")
			r.Bolt(DirCA+"/"+ca.FileDB, filepath.Join(dir, DirCA, ca.FileDB), "is the server running on "+dir+"?")
		}
	}
	r.Disk(dir, "the Raft log and its snapshots grow with every change")
	return r
}

// doctorKeys checks that the passphrase opens the server's sealed keys.
func doctorKeys(r *doctor.Report, dir string, pass []byte) {
	const fix = "give the passphrase to dxl registry serve with $DXL_PASSPHRASE or --passphrase-file, so the server starts again after a restart"
	if pass == nil {
		r.Add("passphrase", doctor.Warn, "no passphrase given: the sealed keys were not tried", fix)
		return
	}
	for _, k := range []string{FileServerKey, FileConfigKey} {
		if _, err := keystore.ReadFile(filepath.Join(dir, k), pass); err != nil {
			r.Add("passphrase", doctor.Error, k+" does not open: "+err.Error(), "use the passphrase the server was initialised with; "+fix)
			return
		}
	}
	r.Add("passphrase", doctor.OK, "the passphrase opens the server's keys", "")
}

// doctorAPI asks the server's own API for /healthz over TLS (the CA root
// of dir).
func doctorAPI(ctx context.Context, r *doctor.Report, dir string, f *RegistryFile, o DoctorOptions) bool {
	root, err := readPEMCerts(filepath.Join(dir, DirCA, ca.FileRoot))
	if err != nil || len(f.APIURLs) == 0 {
		r.Add("server", doctor.Warn, "not checked: no CA root or API URL", "see the config and cert checks")
		return false
	}
	roots := x509.NewCertPool()
	roots.AddCert(root[0])
	cl := &http.Client{Timeout: o.Timeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}}}
	defer cl.CloseIdleConnections()
	u := strings.TrimRight(f.APIURLs[0], "/") + "/healthz"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := cl.Do(req)
	if err != nil {
		r.Add("server", doctor.Warn, "not answering on "+u+" ("+err.Error()+")", "start it: dxl registry serve --dir "+dir)
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.Add("server", doctor.Error, fmt.Sprintf("%s answers %s", u, resp.Status), "read the server's log; dxl registry status --dir "+dir)
	} else {
		r.Add("server", doctor.OK, "running, "+u+" answers", "")
	}
	return true
}
