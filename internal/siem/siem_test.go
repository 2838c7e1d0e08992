package siem

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFormatRFC5424(t *testing.T) {
	ev := Event{Time: time.Date(2026, 12, 7, 8, 0, 0, 123456000, time.UTC), Kind: "audit", Action: "credential.create",
		Actor: `uid:0 "root"`, Target: "VN/GOV/A/IS]x", Detail: "line\nbreak", Source: "VN/GOV/A", Severity: Notice}
	got := string(FormatRFC5424(ev, "host name", "dxl-node", 42))
	want := `<85>1 2026-12-07T08:00:00.123456Z hostname dxl-node 42 credential.create [dxl@32473 kind="audit" action="credential.create" actor="uid:0 \"root\"" target="VN/GOV/A/IS\]x" source="VN/GOV/A"] credential.create VN/GOV/A/IS]x by uid:0 "root": line break`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestConfigRefusals(t *testing.T) {
	for _, c := range []Config{{Syslog: "no-port"}, {Syslog: "h:6514"}, {QueueSize: -1}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// tlsFiles writes a CA and a server certificate for 127.0.0.1.
func tlsFiles(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test SIEM CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, _ := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(srvKey)
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	return ca, cert, key
}

// startRsyslog runs a real rsyslogd receiving syslog over TLS on a free
// port and writing every message it gets to the returned file.
func startRsyslog(t *testing.T) (addr, caFile, out string) {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		bin, err = exec.LookPath("/usr/sbin/rsyslogd")
	}
	if err != nil {
		t.Fatal("rsyslogd not found: install rsyslog and rsyslog-gnutls (.ci/run does)")
	}
	dir := t.TempDir()
	ca, cert, key := tlsFiles(t, dir)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	out = filepath.Join(dir, "out.log")
	conf := fmt.Sprintf(`global(workDirectory=%q DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile=%q
  DefaultNetstreamDriverCertFile=%q DefaultNetstreamDriverKeyFile=%q)
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.Authmode="anon")
input(type="imtcp" address="127.0.0.1" port="%d")
*.* action(type="omfile" file=%q template="RSYSLOG_SyslogProtocol23Format")
`, dir, ca, cert, key, port, out)
	confFile := filepath.Join(dir, "rsyslog.conf")
	os.WriteFile(confFile, []byte(conf), 0o600)
	cmd := exec.Command(bin, "-n", "-f", confFile, "-i", filepath.Join(dir, "rsyslog.pid"))
	logf, _ := os.Create(filepath.Join(dir, "rsyslogd.stderr"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, "rsyslogd listening", func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr, ca, out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestToRsyslogOverTLS: events reach a real rsyslog over TLS as RFC 5424
// messages with DXL's structured data, and the JSON lines file holds the
// same events; an exporter that does not trust the collector sends
// nothing.
func TestToRsyslogOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts rsyslogd")
	}
	addr, ca, out := startRsyslog(t)
	jsonFile := filepath.Join(t.TempDir(), "events.jsonl")
	e, err := New(Config{Syslog: addr, CAFile: ca, JSONFile: jsonFile}, "dxl-node", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e.Emit(Event{Kind: "audit", Action: "credential.create", Actor: "uid:1000", Target: "VN/GOV/A/IS", Severity: Notice})
	e.Emit(Event{Kind: "security", Action: "token.failure", Target: "10.0.0.9", Detail: "wrong consumer secret", Severity: Warning})
	waitFor(t, "both events in rsyslog's file", func() bool {
		b, _ := os.ReadFile(out)
		return strings.Contains(string(b), `action="credential.create"`) && strings.Contains(string(b), `action="token.failure"`)
	})
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), ` dxl-node `) || !strings.Contains(string(b), `[dxl@32473 kind="audit" action="credential.create" actor="uid:1000" target="VN/GOV/A/IS"]`) {
		t.Errorf("rsyslog received:\n%s", b)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, jsonFile)), "\n")
	var ev Event
	if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &ev) != nil || ev.Action != "token.failure" || ev.Time.IsZero() {
		t.Errorf("JSON lines: %q", lines)
	}

	other, _, _ := tlsFiles(t, t.TempDir()) // a CA the collector's certificate does not chain to
	u, err := New(Config{Syslog: addr, CAFile: other}, "dxl-node", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	u.Emit(Event{Kind: "audit", Action: "untrusted.collector", Severity: Notice})
	time.Sleep(300 * time.Millisecond) // the sender tries and fails the handshake meanwhile
	u.Close()
	if strings.Contains(readFile(t, out), "untrusted.collector") {
		t.Error("an event reached a collector whose certificate the exporter does not trust")
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
