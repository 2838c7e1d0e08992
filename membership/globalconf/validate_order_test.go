package globalconf

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestValidateOrder pins the order of Validate's checks: rules are broken
// one more at a time, from the last section to the first, and each time
// the error must name the rule just broken, the earliest one broken.
func TestValidateOrder(t *testing.T) {
	p, _ := pkis(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		want   string
		break_ func(d *Document)
	}{ // in Validate's order
		{"format 2, want 1", func(d *Document) { d.Format = 2 }},
		{"policy: rate limits", func(d *Document) { d.Policy.RateLimitReadsPerMin = 0 }},
		{"registry server r1: ", func(d *Document) { d.RegistryServers = []RegistryServer{{ID: "r1", URL: "ftp://x"}} }},
		{"has no certificate", func(d *Document) { d.TSAs[0].CertDER = nil }},
		{`status "pending"`, func(d *Document) { d.Members[0].Status = "pending" }},
		{`status "gone"`, func(d *Document) { d.Subsystems[0].Status = "gone" }},
		{`address "1.2.3.4:1"`, func(d *Document) { d.Nodes[0].Addrs = []string{"1.2.3.4:1"} }},
		{`lifecycle "draft"`, func(d *Document) { d.Services[0].Lifecycle = "draft" }},
		{`member "x" unknown`, func(d *Document) { d.Groups[0].Members = append(d.Groups[0].Members, "x") }},
		{"revoked ab: revoked_at missing", func(d *Document) { d.Revoked = []RevokedCert{{Serial: "ab", Reason: "superseded"}} }},
	}
	d := sampleDoc(t, p, 3, t0, 4, 4)
	d.Normalize()
	if err := d.Validate(); err != nil {
		t.Fatalf("sample does not validate: %v", err)
	}
	for _, s := range slices.Backward(steps) {
		s.break_(d)
		d.Normalize()
		err := d.Validate()
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), s.want) {
			t.Fatalf("Validate = %v, want ErrMalformed naming %s", err, s.want)
		}
	}
}
