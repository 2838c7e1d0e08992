package node

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/dxl-network/dxl/membership/globalconf"
)

// Finding statuses of a doctor's report.
const (
	DoctorOK    = "ok"
	DoctorWarn  = "warn"
	DoctorError = "error"
)

// Finding is one check of Doctor: what was checked, its status, what was
// found and, unless it is ok, the command or change that fixes it.
type Finding struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// DoctorReport is what Doctor found in a node directory.
type DoctorReport struct {
	Dir      string    `json:"dir"`
	Running  bool      `json:"running"` // a node serves this directory (its admin socket answers)
	Findings []Finding `json:"findings"`
}

// Errors counts the findings with status error.
func (r *DoctorReport) Errors() int {
	n := 0
	for _, f := range r.Findings {
		if f.Status == DoctorError {
			n++
		}
	}
	return n
}

func (r *DoctorReport) add(check, status, detail, fix string) {
	if status == DoctorOK {
		fix = ""
	}
	r.Findings = append(r.Findings, Finding{Check: check, Status: status, Detail: detail, Fix: fix})
}

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

// CertWarning is how long before a certificate expires Doctor warns.
const CertWarning = 30 * 24 * time.Hour

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
		r.add("config", DoctorError, err.Error(), "fix "+filepath.Join(dir, FileConfig)+" (integration.md, \"node.json\")")
	} else {
		r.add("config", DoctorOK, FileConfig+" is valid, member "+cfg.Member, "")
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
	doctorDisk(r, dir)
	if !r.Running {
		doctorDatabases(r, dir)
	}
	doctorJournal(r, dir)
	return r
}

// doctorCerts reports the days left on the node's certificates.
func doctorCerts(r *DoctorReport, dir string, now time.Time) {
	for _, c := range []struct{ file, what, fix string }{
		{FileAuthCert, "node-auth certificate", "re-enrol the node: dxl node register --dir " + dir + " --form FORM, then dxl node enroll --dir " + dir},
		{FileSignCert, "member-sign certificate", "re-enrol the node: dxl node register --dir " + dir + " --form FORM, then dxl node enroll --dir " + dir},
		{FileAPICert, "consumer API certificate", "create a new one: dxl node init on a fresh directory, or replace " + FileAPICert + " and " + FileAPIKey},
	} {
		check := "cert " + c.file
		raw, err := os.ReadFile(filepath.Join(dir, c.file))
		if err != nil {
			r.add(check, DoctorError, c.what+": "+err.Error(), "run dxl node enroll --dir "+dir+" once the registration is approved")
			continue
		}
		certs, err := parseCerts(raw)
		if err != nil {
			r.add(check, DoctorError, c.what+": "+err.Error(), c.fix)
			continue
		}
		r.add(check, certStatus(certs[0], now), certDetail(c.what, certs[0], now), c.fix)
	}
}

func certStatus(c *x509.Certificate, now time.Time) string {
	switch {
	case now.Before(c.NotBefore) || now.After(c.NotAfter):
		return DoctorError
	case c.NotAfter.Sub(now) < CertWarning:
		return DoctorWarn
	}
	return DoctorOK
}

func certDetail(what string, c *x509.Certificate, now time.Time) string {
	switch {
	case now.Before(c.NotBefore):
		return fmt.Sprintf("%s not valid before %s (check this machine's clock)", what, c.NotBefore.UTC().Format(time.RFC3339))
	case now.After(c.NotAfter):
		return fmt.Sprintf("%s expired on %s", what, c.NotAfter.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("%s valid until %s, %d days left", what, c.NotAfter.UTC().Format(time.DateOnly), int(c.NotAfter.Sub(now).Hours()/24))
}

// doctorPassphrase checks that the passphrase given unseals the keys: a
// node restarted without it cannot start.
func doctorPassphrase(r *DoctorReport, dir string, pass []byte) {
	const fix = "give the passphrase to dxl node serve with $DXL_PASSPHRASE or --passphrase-file, so the node starts again after a restart"
	if pass == nil {
		r.add("passphrase", DoctorWarn, "no passphrase given: the sealed keys were not tried", fix)
		return
	}
	if _, err := loadIdentity(dir, pass); err != nil {
		r.add("passphrase", DoctorError, "the keys do not open: "+err.Error(), "use the passphrase the node was initialised with; "+fix)
		return
	}
	r.add("passphrase", DoctorOK, "the passphrase opens the node's keys", "")
}

// doctorConfig checks the cached signed configuration (without writing
// it) and that a registry server gives one.
func doctorConfig(ctx context.Context, r *DoctorReport, dir string, o DoctorOptions) *globalconf.Document {
	anchor, err := globalconf.LoadAnchor(filepath.Join(dir, FileAnchor))
	if err != nil {
		r.add("anchor", DoctorError, err.Error(), "copy the network's anchor file to "+filepath.Join(dir, FileAnchor))
		return nil
	}
	client, err := globalconf.NewClient(anchor, "", append([]globalconf.Option{globalconf.WithClock(o.Now)}, o.ConfigOptions...)...)
	if err != nil {
		r.add("anchor", DoctorError, err.Error(), "copy the network's anchor file to "+filepath.Join(dir, FileAnchor))
		return nil
	}
	defer client.Close()
	var doc *globalconf.Document
	if raw, err := os.ReadFile(filepath.Join(dir, globalconf.CacheFile)); err != nil {
		r.add("global config", DoctorWarn, "no cached configuration: "+err.Error(), "start the node (dxl node serve) with a registry server reachable")
	} else if _, err := client.Accept(raw); err != nil {
		r.add("global config", DoctorError, "the cached configuration does not verify: "+err.Error(), "check that "+FileAnchor+" is this network's anchor")
	} else {
		d, age, err := client.Current()
		doc = d
		if err != nil {
			r.add("global config", DoctorError, err.Error(), "make a registry server reachable from this node (see the registry check)")
		} else {
			r.add("global config", DoctorOK, fmt.Sprintf("version %d, issued %s ago (limit %s)", d.Version, age.Round(time.Second), time.Duration(d.Policy.MaxConfigAge)), "")
		}
	}
	fctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if d, err := client.Fetch(fctx); err != nil {
		r.add("registry", DoctorError, "no registry server answered: "+err.Error(),
			"check the network path to the registry servers of "+FileAnchor+" (firewall, DNS, proxy)")
	} else {
		r.add("registry", DoctorOK, fmt.Sprintf("a registry server gave version %d", d.Version), "")
		if doc == nil || d.Version > doc.Version {
			doc = d
		}
	}
	return doc
}

// doctorPorts checks, for a node that is not running, that its listening
// addresses are free.
func doctorPorts(r *DoctorReport, cfg *Config) {
	addrs := []string{cfg.APIListen}
	for _, a := range cfg.P2PListen {
		if hp, ok := tcpOfMultiaddr(a); ok {
			addrs = append(addrs, hp)
		}
	}
	for _, a := range addrs {
		if _, port, _ := net.SplitHostPort(a); port == "0" {
			continue // any free port
		}
		ln, err := net.Listen("tcp", a)
		if err != nil {
			r.add("port "+a, DoctorError, "cannot listen: "+err.Error(), "stop what holds "+a+" (ss -ltnp) or change the address in "+FileConfig)
			continue
		}
		ln.Close()
		r.add("port "+a, DoctorOK, "free", "")
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

// doctorDisk reports the free space where the node keeps its databases.
func doctorDisk(r *DoctorReport, dir string) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		r.add("disk", DoctorWarn, "free space unknown: "+err.Error(), "check with df -h "+dir)
		return
	}
	free, total := st.Bavail*uint64(st.Bsize), st.Blocks*uint64(st.Bsize)
	detail := fmt.Sprintf("%.1f GiB free of %.1f GiB", float64(free)/(1<<30), float64(total)/(1<<30))
	const fix = "free space on the node's disk or move the node directory; the message log grows about 5 KB per call"
	switch {
	case free < 256<<20:
		r.add("disk", DoctorError, detail, fix)
	case free < 2<<30 || free*10 < total:
		r.add("disk", DoctorWarn, detail, fix)
	default:
		r.add("disk", DoctorOK, detail, "")
	}
}

// doctorDatabases checks the bbolt files of a node that is not running.
func doctorDatabases(r *DoctorReport, dir string) {
	for _, f := range []string{FileDB, FileMessageLog, FileRecords} {
		path := filepath.Join(dir, f)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			continue // created at the first start
		}
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			r.add("database "+f, DoctorError, err.Error(), "is a node running on "+dir+"? otherwise restore "+f+" from a backup")
			continue
		}
		var problems []string
		err = db.View(func(tx *bolt.Tx) error {
			for e := range tx.Check() {
				problems = append(problems, e.Error())
			}
			return nil
		})
		db.Close()
		if err == nil && len(problems) > 0 {
			err = fmt.Errorf("%d problems, first: %s", len(problems), problems[0])
		}
		if err != nil {
			r.add("database "+f, DoctorError, err.Error(), "restore "+f+" from a backup")
			continue
		}
		r.add("database "+f, DoctorOK, "consistent", "")
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
		r.add("journal", DoctorWarn, detail+": the stores are not committing what the journal holds",
			"look for message log or records errors in the node's log; a restart commits the journal")
		return
	}
	r.add("journal", DoctorOK, detail, "")
}
