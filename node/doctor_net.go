package node

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/dxl-network/dxl/internal/doctor"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/tsa"
)

// MaxDoctorSkew is the clock difference against a TSA past which Doctor
// reports an error (envelopes carry their signing time, checked by the
// other node against its own clock).
const MaxDoctorSkew = 30 * time.Second

// doctorTSAs asks each TSA of the configuration for a token on a random
// digest: its reachability, its certificate and the clock skew against its
// time.
func doctorTSAs(ctx context.Context, r *DoctorReport, doc *globalconf.Document, o DoctorOptions) {
	if len(doc.TSAs) == 0 {
		r.Add("tsa", DoctorError, "the configuration lists no TSA: records cannot be time-stamped", "the registry operator adds a TSA (registry.md)")
		return
	}
	chain, err := doc.CACertificates()
	if err != nil || len(chain) == 0 {
		r.Add("tsa", DoctorError, fmt.Sprintf("the configuration's CA chain: %v", err), "the registry operator checks the CA chain")
		return
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(chain[len(chain)-1]) // root last
	for _, c := range chain[:len(chain)-1] {
		inter.AddCert(c)
	}
	for _, t := range doc.TSAs {
		doctorTSA(ctx, r, t, tsa.VerifyOptions{Roots: roots, Intermediates: inter, Hash: crypto.SHA256}, o)
	}
}

func doctorTSA(ctx context.Context, r *DoctorReport, t globalconf.TSA, vo tsa.VerifyOptions, o DoctorOptions) {
	check := "tsa " + t.Name
	digest := make([]byte, sha256.Size)
	_, _ = rand.Read(digest)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	before := o.Now()
	raw, err := tsa.NewClient(t.URL).Stamp(ctx, digest)
	after := o.Now()
	if err != nil {
		r.Add(check, DoctorError, t.URL+" did not stamp: "+err.Error(), "check the network path to "+t.URL+"; calls continue until acceptable_failure")
		return
	}
	vo.Digest, vo.CurrentTime = digest, after
	info, err := tsa.Verify(raw, vo)
	if err != nil {
		r.Add(check, DoctorError, "its token does not verify: "+err.Error(), "the registry operator checks the TSA's certificate (dxl tsa)")
		return
	}
	mid := before.Add(after.Sub(before) / 2)
	skew := mid.Sub(info.Time)
	detail := fmt.Sprintf("stamps; clock skew %s against it; its certificate valid until %s", skew.Round(time.Millisecond), info.Signer.NotAfter.UTC().Format(time.DateOnly))
	switch {
	case skew > MaxDoctorSkew || skew < -MaxDoctorSkew:
		r.Add(check, DoctorError, detail, "synchronise this machine's clock (timedatectl set-ntp true; chronyc tracking)")
	case doctor.CertStatus(info.Signer, after) != DoctorOK:
		r.Add(check, doctor.CertStatus(info.Signer, after), detail, "the registry operator renews the TSA certificate")
	default:
		r.Add(check, DoctorOK, detail, "")
	}
}

// doctorRunning asks a running node on dir's admin socket to connect to
// its peers, then for its health; false when no node answers.
func doctorRunning(ctx context.Context, r *DoctorReport, dir string, timeout time.Duration) bool {
	var h Health
	var peers []PeerState
	err := adminDo(ctx, dir, http.MethodPost, "/v1/peers/probe", timeout, &peers)
	if err == nil {
		err = adminDo(ctx, dir, http.MethodGet, "/v1/health", timeout, &h)
	}
	if err != nil {
		r.Add("node", DoctorWarn, "not running ("+err.Error()+")", "start it: dxl node serve --dir "+dir)
		return false
	}
	switch h.Status {
	case "ok":
		r.Add("node", DoctorOK, fmt.Sprintf("running, healthy, configuration version %d", h.ConfigVersion), "")
	default:
		r.Add("node", DoctorError, fmt.Sprintf("running, %s: %s", h.Status, h.ConfigError), "see the global config and tsa checks")
	}
	if h.Timestamps.Pending > 0 && h.Status != "ok" {
		r.Add("timestamps", DoctorWarn, fmt.Sprintf("%d records wait for a timestamp", h.Timestamps.Pending), "see the tsa checks")
	}
	for _, p := range h.Peers {
		check := "peer " + p.Member + " " + p.PeerID
		if p.Online {
			doctorPeerClock(r, check, p)
			continue
		}
		detail := "offline"
		if p.LastError != "" {
			detail += ": " + p.LastError
		}
		r.Add(check, DoctorWarn, detail, "check the network path to that node (its registered addresses, firewall); calls to its member fail over to its other nodes")
	}
	return true
}

// doctorPeerClock reports an online peer, with its clock against this
// node's as its last envelope showed it.
func doctorPeerClock(r *DoctorReport, check string, p PeerState) {
	detail := "online since " + p.Since.UTC().Format(time.RFC3339)
	if p.ClockSkewMS == nil {
		r.Add(check, DoctorOK, detail+"; no exchange with it yet to compare clocks", "")
		return
	}
	skew := time.Duration(*p.ClockSkewMS) * time.Millisecond
	detail += fmt.Sprintf("; clock skew %s from its envelope at %s (network delay included)", skew, p.ClockSeen.UTC().Format(time.RFC3339))
	if skew > MaxDoctorSkew || skew < -MaxDoctorSkew {
		r.Add(check, DoctorError, detail, "the clock of this machine or of that node is off: synchronise both (timedatectl set-ntp true; chronyc tracking)")
		return
	}
	r.Add(check, DoctorOK, detail, "")
}

// adminDo reads a JSON answer from the admin socket of the node in dir.
func adminDo(ctx context.Context, dir, method, path string, timeout time.Duration, v any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://node"+path, nil)
	if err != nil {
		return err
	}
	resp, err := AdminClient(dir).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("admin socket: %s", resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(v)
}
