package doctor

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// Finding statuses.
const (
	OK    = "ok"
	Warn  = "warn"
	Error = "error"
)

// CertWarning is how long before a certificate expires a check warns.
const CertWarning = 30 * 24 * time.Hour

// Finding is one check: what was checked, its status, what was found and,
// unless it is ok, the command or change that fixes it.
type Finding struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is what a doctor found.
type Report struct {
	Dir      string    `json:"dir"`
	Running  bool      `json:"running"` // the server or node of Dir answered
	Findings []Finding `json:"findings"`
}

// Errors counts the findings with status Error.
func (r *Report) Errors() int {
	n := 0
	for _, f := range r.Findings {
		if f.Status == Error {
			n++
		}
	}
	return n
}

// Add records a finding (an ok one without its fix).
func (r *Report) Add(check, status, detail, fix string) {
	if status == OK {
		fix = ""
	}
	r.Findings = append(r.Findings, Finding{Check: check, Status: status, Detail: detail, Fix: fix})
}

// Cert reports the first certificate of the PEM file path: days left, a
// warning under CertWarning, an error when expired or not yet valid.
func (r *Report) Cert(check, what, path, fix string, now time.Time) {
	raw, err := os.ReadFile(path)
	if err != nil {
		r.Add(check, Error, what+": "+err.Error(), fix)
		return
	}
	b, _ := pem.Decode(raw)
	if b == nil || b.Type != "CERTIFICATE" {
		r.Add(check, Error, what+": no PEM certificate in "+path, fix)
		return
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		r.Add(check, Error, what+": "+err.Error(), fix)
		return
	}
	r.Add(check, CertStatus(c, now), CertDetail(what, c, now), fix)
}

// CertStatus is c's status at now.
func CertStatus(c *x509.Certificate, now time.Time) string {
	switch {
	case now.Before(c.NotBefore) || now.After(c.NotAfter):
		return Error
	case c.NotAfter.Sub(now) < CertWarning:
		return Warn
	}
	return OK
}

// CertDetail says when c expires, or why it is not valid at now.
func CertDetail(what string, c *x509.Certificate, now time.Time) string {
	switch {
	case now.Before(c.NotBefore):
		return fmt.Sprintf("%s not valid before %s (check this machine's clock)", what, c.NotBefore.UTC().Format(time.RFC3339))
	case now.After(c.NotAfter):
		return fmt.Sprintf("%s expired on %s", what, c.NotAfter.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("%s valid until %s, %d days left", what, c.NotAfter.UTC().Format(time.DateOnly), int(c.NotAfter.Sub(now).Hours()/24))
}

// Disk reports the free space where dir is; growth says what fills it.
func (r *Report) Disk(dir, growth string) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		r.Add("disk", Warn, "free space unknown: "+err.Error(), "check with df -h "+dir)
		return
	}
	free, total := st.Bavail*uint64(st.Bsize), st.Blocks*uint64(st.Bsize)
	detail := fmt.Sprintf("%.1f GiB free of %.1f GiB", float64(free)/(1<<30), float64(total)/(1<<30))
	fix := "free space on the disk or move the directory; " + growth
	switch {
	case free < 256<<20:
		r.Add("disk", Error, detail, fix)
	case free < 2<<30 || free*10 < total:
		r.Add("disk", Warn, detail, fix)
	default:
		r.Add("disk", OK, detail, "")
	}
}

// Bolt checks the bbolt file path of a stopped server (its own file
// lock keeps this off a running one's). A missing file is not a finding.
func (r *Report) Bolt(name, path, fixLocked string) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		r.Add("database "+name, Error, err.Error(), fixLocked)
		return
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
		r.Add("database "+name, Error, err.Error(), "restore "+name+" from a backup")
		return
	}
	r.Add("database "+name, OK, "consistent", "")
}

// Port checks that addr (host:port; port 0 is skipped) can be listened on.
func (r *Report) Port(addr, config string) {
	if _, port, _ := net.SplitHostPort(addr); port == "0" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.Add("port "+addr, Error, "cannot listen: "+err.Error(), "stop what holds "+addr+" (ss -ltnp) or change the address in "+config)
		return
	}
	ln.Close()
	r.Add("port "+addr, OK, "free", "")
}
