package state

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/globalconf"
)

// GlobalConfig builds the global configuration nodes receive from the
// registry state: every admitted member (pending ones are not part of the
// network yet) with its subsystems and nodes, the service catalogue,
// groups, TSAs, the CA chain, revoked serials and the policy. The version
// is s.Version, so equal states give equal documents; IssuedAt is now and
// ExpiresAt is now + the policy's config validity. servers lists the
// registry servers nodes may fetch from. The caller signs the result with
// globalconf.Sign.
func (s *State) GlobalConfig(now time.Time, servers []globalconf.RegistryServer) *globalconf.Document {
	now = now.UTC()
	d := &globalconf.Document{
		Format:          globalconf.Format,
		Instance:        s.Instance,
		Version:         s.Version,
		IssuedAt:        now,
		ExpiresAt:       now.Add(time.Duration(s.Policy.ConfigValidity)),
		Policy:          s.Policy,
		RegistryServers: append([]globalconf.RegistryServer{}, servers...),
		CAChain:         s.CAChain,
		TSAs:            []globalconf.TSA{},
		Members:         []globalconf.Member{},
		Subsystems:      []globalconf.Subsystem{},
		Nodes:           []globalconf.Node{},
		Services:        []globalconf.Service{},
		Groups:          []globalconf.Group{},
		Revoked:         []globalconf.RevokedCert{},
	}
	for _, t := range s.TSAs {
		d.TSAs = append(d.TSAs, globalconf.TSA{Name: t.Name, URL: t.URL, CertDER: t.CertDER})
	}
	admitted := map[string]bool{}
	for id, m := range s.Members {
		if m.Status == ident.MemberPending {
			continue
		}
		admitted[id] = true
		d.Members = append(d.Members, globalconf.Member{ID: id, Name: m.Name, Status: m.Status, SealKey: s.sealKey(id, m)})
	}
	for id, sub := range s.Subsystems {
		if admitted[sub.Member] {
			d.Subsystems = append(d.Subsystems, globalconf.Subsystem{ID: id, Status: sub.Status, Documents: copyDocuments(sub.Documents)})
		}
	}
	for id, n := range s.Nodes {
		if !admitted[n.Member] {
			continue
		}
		sum := sha256.Sum256(n.Cert.DER)
		d.Nodes = append(d.Nodes, globalconf.Node{
			PeerID: id, Addrs: append([]string{}, n.Addrs...), Member: n.Member,
			CertSHA256: hex.EncodeToString(sum[:]), CertSerial: n.Cert.Serial, Status: n.Status,
		})
	}
	for _, svc := range s.Services {
		d.Services = append(d.Services, globalconf.Service{
			Provider: svc.Subsystem, Code: svc.Code, Version: svc.Version, Lifecycle: svc.Lifecycle,
			Sunset: svc.Sunset, DeprecatedAt: svc.DeprecatedAt, DescriptionSHA256: svc.DescriptionSHA256,
			Classification: svc.Classification.OrDefault(), SchemaType: svc.SchemaType,
			RequestSchemaSHA256: svc.RequestSchemaSHA256, ResponseSchemaSHA256: svc.ResponseSchemaSHA256,
		})
	}
	for code, g := range s.Groups {
		d.Groups = append(d.Groups, globalconf.Group{Code: code, Members: append([]string{}, g.Members...)})
	}
	for serial, r := range s.Revoked {
		reason := r.Reason
		if reason == "" {
			reason = "unspecified"
		}
		d.Revoked = append(d.Revoked, globalconf.RevokedCert{Serial: serial, Reason: reason, RevokedAt: r.RevokedAt})
	}
	d.Normalize()
	return d
}

// RegistryServerList returns the registry servers for the global
// configuration (globalconf sorts them).
func (s *State) RegistryServerList() []globalconf.RegistryServer {
	out := make([]globalconf.RegistryServer, 0, len(s.RegistryServers))
	for _, id := range SortedKeys(s.RegistryServers) {
		out = append(out, globalconf.RegistryServer{ID: id, URL: s.RegistryServers[id].URL})
	}
	return out
}

// sealKey is the key Secret bodies are sealed to for member id: the
// Ed25519 key of its signing certificate, when its admitting registration
// declares secret data (Form 01's highest classification); nil otherwise.
func (s *State) sealKey(id string, m Member) []byte {
	if m.SignCert == nil || s.registeredHighest(id) != ClassSecret {
		return nil
	}
	cert, err := x509.ParseCertificate(m.SignCert.DER)
	if err != nil {
		return nil
	}
	if k, ok := cert.PublicKey.(ed25519.PublicKey); ok {
		return bytes.Clone(k)
	}
	return nil
}
