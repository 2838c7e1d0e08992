package globalconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/ca"
)

// shuffled returns a deep copy of d with every list in random order and
// times in another zone.
func shuffled(t *testing.T, d *Document, r *rand.Rand) *Document {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var c Document
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	shuffle := func(n int, swap func(i, j int)) { r.Shuffle(n, swap) }
	shuffle(len(c.Members), func(i, j int) { c.Members[i], c.Members[j] = c.Members[j], c.Members[i] })
	shuffle(len(c.Subsystems), func(i, j int) { c.Subsystems[i], c.Subsystems[j] = c.Subsystems[j], c.Subsystems[i] })
	shuffle(len(c.Nodes), func(i, j int) { c.Nodes[i], c.Nodes[j] = c.Nodes[j], c.Nodes[i] })
	for _, n := range c.Nodes {
		shuffle(len(n.Addrs), func(i, j int) { n.Addrs[i], n.Addrs[j] = n.Addrs[j], n.Addrs[i] })
	}
	shuffle(len(c.Services), func(i, j int) { c.Services[i], c.Services[j] = c.Services[j], c.Services[i] })
	shuffle(len(c.Groups), func(i, j int) { c.Groups[i], c.Groups[j] = c.Groups[j], c.Groups[i] })
	for _, g := range c.Groups {
		shuffle(len(g.Members), func(i, j int) { g.Members[i], g.Members[j] = g.Members[j], g.Members[i] })
	}
	shuffle(len(c.Revoked), func(i, j int) { c.Revoked[i], c.Revoked[j] = c.Revoked[j], c.Revoked[i] })
	shuffle(len(c.TSAs), func(i, j int) { c.TSAs[i], c.TSAs[j] = c.TSAs[j], c.TSAs[i] })
	shuffle(len(c.RegistryServers), func(i, j int) {
		c.RegistryServers[i], c.RegistryServers[j] = c.RegistryServers[j], c.RegistryServers[i]
	})
	hcm := time.FixedZone("ICT", 7*3600)
	c.IssuedAt, c.ExpiresAt = c.IssuedAt.In(hcm), c.ExpiresAt.In(hcm)
	return &c
}

// TestCanonicalDeterministic: the same content in any list order and any
// time zone encodes to the same bytes, and those bytes re-decode and
// re-encode to themselves.
func TestCanonicalDeterministic(t *testing.T) {
	p, _ := pkis(t)
	base := sampleDoc(t, p, 42, time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC), 60, 150)
	base.RegistryServers = []RegistryServer{{ID: "reg-2", URL: "https://10.0.0.2:8443"}, {ID: "reg-1", URL: "https://10.0.0.1:8443"}}
	base.TSAs = append(base.TSAs, TSA{Name: "A backup TSA", URL: "https://tsa2.example/", CertDER: p.root.Raw})
	want, err := shuffled(t, base, rand.New(rand.NewPCG(0, 0))).Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if err := base.Validate(); err == nil {
		t.Fatal("an unsorted document validated") // base was built unsorted on purpose (reg-2 before reg-1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		got, err := shuffled(t, base, r).Canonical()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("shuffle %d encodes differently at byte %d", i, firstDiff(got, want))
		}
	}
	d, err := ParseDocument(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	again, _ := d.Canonical()
	if !bytes.Equal(again, want) {
		t.Fatal("decode + encode is not the identity on canonical bytes")
	}
}

// TestCanonicalForm pins the visible properties of the encoding.
func TestCanonicalForm(t *testing.T) {
	p, _ := pkis(t)
	d := sampleDoc(t, p, 7, time.Date(2026, 3, 1, 16, 0, 0, 500, time.FixedZone("ICT", 7*3600)), 2, 1)
	d.Format = 0 // Normalize fills it
	b, err := d.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		`{"format":1,"instance":"VN-TEST","version":7,"issued_at":"2026-03-01T09:00:00.0000005Z","expires_at":"2026-03-02T09:00:00.0000005Z","policy":{`,
		`"max_config_age":"336h0m0s"`,
		`\u003cSở 0 \u0026 co\u003e`,
		`"registry_servers":[]`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("canonical encoding lacks %s", want)
		}
	}
	if bytes.ContainsAny(b, "\n\t") || strings.Contains(s, `": `) || strings.Contains(s, `, "`) {
		t.Error("canonical encoding has insignificant whitespace")
	}
	if !slices.IsSortedFunc(d.Members, func(a, b Member) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("Canonical did not sort members in place")
	}
}

func TestFingerprintMatchesCA(t *testing.T) {
	p, _ := pkis(t)
	if fingerprint(p.ecCert) != ca.Fingerprint(p.ecCert) {
		t.Fatal("fingerprint differs from ca.Fingerprint")
	}
	for _, r := range []ca.Reason{ca.ReasonUnspecified, ca.ReasonKeyCompromise, ca.ReasonCACompromise, ca.ReasonAffiliationChanged,
		ca.ReasonSuperseded, ca.ReasonCessationOfOperation, ca.ReasonPrivilegeWithdrawn} {
		if !oneOf(r.String(), reasons...) {
			t.Errorf("CA reason %q is not accepted in revoked entries", r)
		}
	}
	if !isSerial(ca.SerialHex(p.ecCert.SerialNumber)) {
		t.Error("a CA serial is not accepted as a serial")
	}
}

// TestValidateRejects: every document rule, one broken at a time.
func TestValidateRejects(t *testing.T) {
	p, _ := pkis(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		break_ func(d *Document)
	}{
		{"format", func(d *Document) { d.Format = 2 }},
		{"instance", func(d *Document) { d.Instance = "VN TEST" }},
		{"version zero", func(d *Document) { d.Version = 0 }},
		{"expiry before issue", func(d *Document) { d.ExpiresAt = d.IssuedAt }},
		{"no CA chain", func(d *Document) { d.CAChain = nil }},
		{"policy rate", func(d *Document) { d.Policy.RateLimitReadsPerMin = 0 }},
		{"policy max age below validity", func(d *Document) { d.Policy.MaxConfigAge = Duration(time.Hour) }},
		{"duplicate member", func(d *Document) { d.Members = append(d.Members, d.Members[0]) }},
		{"member of other instance", func(d *Document) { d.Members[0].ID = "VN/GOV/X" }},
		{"member id short form", func(d *Document) { d.Members[0].ID = "GOV/X" }},
		{"member status", func(d *Document) { d.Members[0].Status = "pending" }},
		{"member name control char", func(d *Document) { d.Members[0].Name = "a\nb" }},
		{"member seal key short", func(d *Document) { d.Members[0].SealKey = make([]byte, 31) }},
		{"member seal key empty", func(d *Document) { d.Members[0].SealKey = []byte{} }},
		{"subsystem of unknown member", func(d *Document) { d.Subsystems[0].ID = testInstance + "/GOV/NOPE/SYS" }},
		{"subsystem status", func(d *Document) { d.Subsystems[0].Status = "gone" }},
		{"node peer id", func(d *Document) { d.Nodes[0].PeerID = "not-a-peer-id" }},
		{"node unknown member", func(d *Document) { d.Nodes[0].Member = testInstance + "/GOV/NOPE" }},
		{"node upper-case fingerprint", func(d *Document) { d.Nodes[0].CertSHA256 = strings.ToUpper(d.Nodes[0].CertSHA256) }},
		{"node serial leading zero", func(d *Document) { d.Nodes[0].CertSerial = "000a" }},
		{"node duplicate address", func(d *Document) { d.Nodes[0].Addrs = []string{"/ip4/1.2.3.4/tcp/1", "/ip4/1.2.3.4/tcp/1"} }},
		{"node address", func(d *Document) { d.Nodes[0].Addrs = []string{"1.2.3.4:1"} }},
		{"duplicate node", func(d *Document) { d.Nodes = append(d.Nodes, d.Nodes[0]) }},
		{"service unknown provider", func(d *Document) { d.Services[0].Provider = testInstance + "/GOV/NOPE/SYS" }},
		{"service lifecycle", func(d *Document) { d.Services[0].Lifecycle = "draft" }},
		{"service classification", func(d *Document) { d.Services[0].Classification = "confidential" }},
		{"service code", func(d *Document) { d.Services[0].Code = "a/b" }},
		{"service description hash", func(d *Document) { d.Services[0].DescriptionSHA256 = "abc" }},
		{"service request schema hash", func(d *Document) { d.Services[0].SchemaType, d.Services[0].RequestSchemaSHA256 = SchemaJSON, "abc" }},
		{"service response schema hash upper-case", func(d *Document) {
			d.Services[0].SchemaType, d.Services[0].ResponseSchemaSHA256 = SchemaXSD, strings.ToUpper(hexOf("r"))
		}},
		{"service schema type unknown", func(d *Document) { d.Services[0].SchemaType, d.Services[0].RequestSchemaSHA256 = "dtd", hexOf("q") }},
		{"service schema digest without type", func(d *Document) { d.Services[0].RequestSchemaSHA256 = hexOf("q") }},
		{"service schema type without digest", func(d *Document) { d.Services[0].SchemaType = SchemaJSON }},
		{"duplicate service", func(d *Document) { d.Services = append(d.Services, d.Services[0]) }},
		{"group unknown member", func(d *Document) { d.Groups[0].Members = append(d.Groups[0].Members, "x") }},
		{"group duplicate member", func(d *Document) { d.Groups[0].Members = append(d.Groups[0].Members, d.Groups[0].Members[0]) }},
		{"revoked reason", func(d *Document) { d.Revoked = []RevokedCert{{Serial: "ab", Reason: "because", RevokedAt: t0}} }},
		{"revoked serial", func(d *Document) { d.Revoked = []RevokedCert{{Serial: "AB", Reason: "superseded", RevokedAt: t0}} }},
		{"revoked time", func(d *Document) { d.Revoked = []RevokedCert{{Serial: "ab", Reason: "superseded"}} }},
		{"registry server url", func(d *Document) { d.RegistryServers = []RegistryServer{{ID: "r1", URL: "ftp://x"}} }},
		{"registry server url query", func(d *Document) { d.RegistryServers = []RegistryServer{{ID: "r1", URL: "https://x/?a=b"}} }},
		{"tsa without cert", func(d *Document) { d.TSAs[0].CertDER = nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := sampleDoc(t, p, 3, t0, 4, 4)
			d.Normalize()
			if err := d.Validate(); err != nil {
				t.Fatalf("sample does not validate: %v", err)
			}
			tc.break_(d)
			d.Normalize()
			if err := d.Validate(); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Validate = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestExpiredAndAge(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	d := &Document{IssuedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	if d.Expired(t0.Add(24*time.Hour)) || !d.Expired(t0.Add(24*time.Hour+1)) {
		t.Fatal("Expired boundary wrong")
	}
	if d.Age(t0.Add(-time.Minute)) != 0 || d.Age(t0.Add(time.Hour)) != time.Hour {
		t.Fatal("Age wrong")
	}
}
