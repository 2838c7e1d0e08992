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
	"github.com/dxl-network/dxl/membership/globalconf"
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
// keys; whether the server answers on its API and, if it does, every other
// registry server of the configuration with its clock; for a stopped
// server its listening ports and its Raft
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
		if r.Running {
			doctorPeers(ctx, r, dir, f, o)
		}
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

// MaxDoctorSkew is the clock difference against another registry server
// the doctor reports as an error.
const MaxDoctorSkew = 30 * time.Second

// doctorPeers checks, for a running server, every other registry server
// of the signed configuration: it answers /healthz, and its clock (its
// Date, to the second) against this machine's.
func doctorPeers(ctx context.Context, r *doctor.Report, dir string, f *RegistryFile, o DoctorOptions) {
	anchor, err := globalconf.LoadAnchor(filepath.Join(dir, FileAnchor))
	if err != nil {
		r.Add("peers", doctor.Warn, "not checked: "+err.Error(), "")
		return
	}
	client, err := globalconf.NewClient(anchor, "", globalconf.WithClock(o.Now))
	if err != nil {
		r.Add("peers", doctor.Warn, "not checked: "+err.Error(), "")
		return
	}
	defer client.Close()
	fctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	doc, err := client.Fetch(fctx)
	if err != nil {
		r.Add("peers", doctor.Error, "no registry server gave the configuration: "+err.Error(), "dxl registry status --dir "+dir)
		return
	}
	roots := x509.NewCertPool()
	for _, c := range anchor.Roots {
		roots.AddCert(c)
	}
	cl := &http.Client{Timeout: o.Timeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}}}
	defer cl.CloseIdleConnections()
	for _, s := range doc.RegistryServers {
		if s.ID != f.ID {
			doctorPeer(ctx, r, cl, s, o)
		}
	}
}

// doctorPeer checks one other registry server.
func doctorPeer(ctx context.Context, r *doctor.Report, cl *http.Client, s globalconf.RegistryServer, o DoctorOptions) {
	check, u := "peer "+s.ID, strings.TrimRight(s.URL, "/")+"/healthz"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	sent := o.Now()
	resp, err := cl.Do(req)
	if err != nil {
		r.Add(check, doctor.Error, u+" does not answer: "+err.Error(), "check that server and the network path to it (dxl registry status)")
		return
	}
	resp.Body.Close()
	received := o.Now()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		r.Add(check, doctor.OK, u+" answers "+resp.Status, "")
		return
	}
	skew := sent.Add(received.Sub(sent) / 2).Sub(date.Add(500 * time.Millisecond))
	detail := fmt.Sprintf("%s answers %s; clock skew %s (to the second)", u, resp.Status, skew.Round(time.Second))
	if skew > MaxDoctorSkew || skew < -MaxDoctorSkew {
		r.Add(check, doctor.Error, detail, "synchronise the clocks of both machines (timedatectl set-ntp true; chronyc tracking)")
		return
	}
	r.Add(check, doctor.OK, detail, "")
}
