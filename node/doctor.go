package node

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/doctor"
	"github.com/dxl-network/dxl/membership/globalconf"
)

// A doctor's findings and report (internal/doctor).
type (
	Finding      = doctor.Finding
	DoctorReport = doctor.Report
)

// Finding statuses.
const (
	DoctorOK    = doctor.OK
	DoctorWarn  = doctor.Warn
	DoctorError = doctor.Error
)

// DoctorOptions configure Doctor.
type DoctorOptions struct {
	// Passphrase unseals the keys; nil checks only that it is missing.
	Passphrase []byte
	// Timeout bounds each network check (default 10 s).
	Timeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ConfigOptions are passed to the global configuration client (as
	// WithGlobalConfigOptions).
	ConfigOptions []globalconf.Option
}

// Doctor checks the node in dir, whether or not it is running, and says
// what is wrong and how to fix it: node.json, the certificates and their
// expiry, the passphrase, the cached global configuration and its age, the
// registry and each TSA (reachability, the TSA's certificate, clock skew
// against its time), the running node's peers, or else its listening
// ports, the disk space, the databases and the journal. It writes nothing
// to dir.
func Doctor(ctx context.Context, dir string, o DoctorOptions) *DoctorReport {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &DoctorReport{Dir: dir}
	cfg, err := LoadConfig(dir)
	if err != nil {
		r.Add("config", DoctorError, err.Error(), "fix "+filepath.Join(dir, FileConfig)+" (integration.md, \"node.json\")")
	} else {
		r.Add("config", DoctorOK, FileConfig+" is valid, member "+cfg.Member, "")
	}
	doctorCerts(r, dir, o.Now())
	doctorPassphrase(r, dir, o.Passphrase)
	doc := doctorConfig(ctx, r, dir, o)
	if doc != nil {
		doctorTSAs(ctx, r, doc, o)
	}
	r.Running = doctorRunning(ctx, r, dir, o.Timeout)
	if !r.Running && cfg != nil {
		doctorPorts(r, cfg)
	}
	r.Disk(dir, "the message log grows about 5 KB per call")
	if !r.Running {
		doctorDatabases(r, dir)
	}
	doctorJournal(r, dir)
	return r
}

// doctorCerts reports the days left on the node's certificates.
func doctorCerts(r *DoctorReport, dir string, now time.Time) {
	reenrol := "re-enrol the node: dxl node register --dir " + dir + " --form FORM, then dxl node enroll --dir " + dir
	for _, c := range []struct{ file, what, fix string }{
		{FileAuthCert, "node-auth certificate", reenrol},
		{FileSignCert, "member-sign certificate", reenrol},
		{FileAPICert, "consumer API certificate", "create a new one: dxl node init on a fresh directory, or replace " + FileAPICert + " and " + FileAPIKey},
	} {
		r.Cert("cert "+c.file, c.what, filepath.Join(dir, c.file), c.fix, now)
	}
}

// doctorPassphrase checks that the passphrase given unseals the keys: a
// node restarted without it cannot start.
func doctorPassphrase(r *DoctorReport, dir string, pass []byte) {
	const fix = "give the passphrase to dxl node serve with $DXL_PASSPHRASE or --passphrase-file, so the node starts again after a restart"
	if pass == nil {
		r.Add("passphrase", DoctorWarn, "no passphrase given: the sealed keys were not tried", fix)
		return
	}
	if _, err := loadIdentity(dir, pass); err != nil {
		r.Add("passphrase", DoctorError, "the keys do not open: "+err.Error(), "use the passphrase the node was initialised with; "+fix)
		return
	}
	r.Add("passphrase", DoctorOK, "the passphrase opens the node's keys", "")
}

// doctorConfig checks the cached signed configuration (without writing
// it) and that a registry server gives one.
func doctorConfig(ctx context.Context, r *DoctorReport, dir string, o DoctorOptions) *globalconf.Document {
	anchor, err := globalconf.LoadAnchor(filepath.Join(dir, FileAnchor))
	if err != nil {
		r.Add("anchor", DoctorError, err.Error(), "copy the network's anchor file to "+filepath.Join(dir, FileAnchor))
		return nil
	}
	client, err := globalconf.NewClient(anchor, "", append([]globalconf.Option{globalconf.WithClock(o.Now)}, o.ConfigOptions...)...)
	if err != nil {
		r.Add("anchor", DoctorError, err.Error(), "copy the network's anchor file to "+filepath.Join(dir, FileAnchor))
		return nil
	}
	defer client.Close()
	var doc *globalconf.Document
	if raw, err := os.ReadFile(filepath.Join(dir, globalconf.CacheFile)); err != nil {
		r.Add("global config", DoctorWarn, "no cached configuration: "+err.Error(), "start the node (dxl node serve) with a registry server reachable")
	} else if _, err := client.Accept(raw); err != nil {
		r.Add("global config", DoctorError, "the cached configuration does not verify: "+err.Error(), "check that "+FileAnchor+" is this network's anchor")
	} else {
		d, age, err := client.Current()
		doc = d
		if err != nil {
			r.Add("global config", DoctorError, err.Error(), "make a registry server reachable from this node (see the registry check)")
		} else {
			r.Add("global config", DoctorOK, fmt.Sprintf("version %d, issued %s ago (limit %s)", d.Version, age.Round(time.Second), time.Duration(d.Policy.MaxConfigAge)), "")
		}
	}
	fctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if d, err := client.Fetch(fctx); err != nil {
		r.Add("registry", DoctorError, "no registry server answered: "+err.Error(),
			"check the network path to the registry servers of "+FileAnchor+" (firewall, DNS, proxy)")
	} else {
		r.Add("registry", DoctorOK, fmt.Sprintf("a registry server gave version %d", d.Version), "")
		doctorRegistryClock(r, client)
		if doc == nil || d.Version > doc.Version {
			doc = d
		}
	}
	return doc
}

// doctorRegistryClock checks this machine's clock against the registry
// server that answered (its Date header, to the second).
func doctorRegistryClock(r *DoctorReport, client *globalconf.Client) {
	sc, ok := client.LastServerClock()
	if !ok {
		r.Add("clock registry", DoctorWarn, "the registry's answer had no Date header", "")
		return
	}
	detail := fmt.Sprintf("clock skew %s against %s (to the second)", sc.Offset.Round(time.Second), sc.Server)
	if sc.Offset > MaxDoctorSkew || sc.Offset < -MaxDoctorSkew {
		r.Add("clock registry", DoctorError, detail, "synchronise this machine's clock (timedatectl set-ntp true; chronyc tracking)")
		return
	}
	r.Add("clock registry", DoctorOK, detail, "")
}

// doctorPorts checks, for a node that is not running, that its listening
// addresses are free.
func doctorPorts(r *DoctorReport, cfg *Config) {
	r.Port(cfg.APIListen, FileConfig)
	for _, a := range cfg.P2PListen {
		if hp, ok := tcpOfMultiaddr(a); ok {
			r.Port(hp, FileConfig)
		}
	}
}

// tcpOfMultiaddr returns host:port of /ip4|ip6/H/tcp/P.
func tcpOfMultiaddr(a string) (string, bool) {
	p := strings.Split(strings.Trim(a, "/"), "/")
	if len(p) < 4 || (p[0] != "ip4" && p[0] != "ip6") || p[2] != "tcp" {
		return "", false
	}
	return net.JoinHostPort(p[1], p[3]), true
}

// doctorDatabases checks the bbolt files of a node that is not running.
func doctorDatabases(r *DoctorReport, dir string) {
	for _, f := range []string{FileDB, FileMessageLog, FileRecords, FileDeliveryDB} {
		r.Bolt(f, filepath.Join(dir, f), "is a node running on "+dir+"? otherwise restore "+f+" from a backup")
	}
}

// doctorJournal reports the journal's segments: many mean a store no
// longer commits what it journals.
func doctorJournal(r *DoctorReport, dir string) {
	segs, _ := filepath.Glob(filepath.Join(dir, DirJournal, "*.wal"))
	var size int64
	for _, s := range segs {
		if fi, err := os.Stat(s); err == nil {
			size += fi.Size()
		}
	}
	detail := fmt.Sprintf("%d segments, %.1f MiB", len(segs), float64(size)/(1<<20))
	if len(segs) > 8 {
		r.Add("journal", DoctorWarn, detail+": the stores are not committing what the journal holds",
			"look for message log or records errors in the node's log; a restart commits the journal")
		return
	}
	r.Add("journal", DoctorOK, detail, "")
}
