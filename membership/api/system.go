package api

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/jsonin"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
)

// submitSystem records an active member's request for another information
// system (POST /v1/systems): the form, signed with the member's current
// signing key, within the intake limits of registrations. An operator
// approves or rejects it in the registration queue.
func (a *API) submitSystem(w http.ResponseWriter, r *http.Request) {
	done, ok := a.admit(w, r)
	if !ok {
		return
	}
	id := ""
	defer func() { done(id) }()
	var body client.SystemRequest
	if err := decode(w, r, MaxRegistrationBody, &body); err != nil {
		writeErr(w, err)
		return
	}
	form, err := a.verifySystem(&body)
	if err != nil {
		a.log.Warn("system request refused", "error_code", state.Codes.Code(err), "remote", remoteHost(r.RemoteAddr))
		writeErr(w, err)
		return
	}
	cmd := &state.SubmitSystem{Header: state.Header{Actor: "member:" + form.Member}, RequestID: form.RequestID,
		Member: form.Member, Registration: form.Registration}
	res, ok := a.apply(w, r, cmd)
	if !ok {
		return
	}
	id = cmd.RequestID
	writePending(w, cmd.RequestID, cmd.Member, cmd.Time, res.Index)
}

// verifySystem checks a system request: its form, the time within the
// network's clock skew, the certificate the member's current signing
// certificate (not revoked, not expired) and the signature.
func (a *API) verifySystem(b *client.SystemRequest) (*client.SystemForm, error) {
	var f client.SystemForm
	if err := jsonin.Decode(bytes.NewReader(b.Form), &f); err != nil {
		return nil, state.Invalidf("system request form: %v", err)
	}
	if _, err := ident.ParseMember(f.Member, ""); err != nil {
		return nil, state.Invalidf("member: %v", err)
	}
	var (
		signDER []byte
		revoked bool
		skew    time.Duration
	)
	a.srv.Read(func(st *state.State) {
		if m, ok := st.Members[f.Member]; ok && m.SignCert != nil {
			signDER = m.SignCert.DER
			_, revoked = st.Revoked[m.SignCert.Serial]
		}
		skew = time.Duration(st.Policy.MaxClockSkew)
	})
	now := a.cfg.Now()
	cert, err := x509.ParseCertificate(b.Cert)
	switch {
	case signDER == nil:
		return nil, fmt.Errorf("%w: %s", state.ErrUnknownMember, f.Member)
	case err != nil || !bytes.Equal(b.Cert, signDER) || revoked:
		return nil, fmt.Errorf("%w: the certificate is not %s's current signing certificate", state.ErrMemberSignature, f.Member)
	case now.Before(cert.NotBefore) || now.After(cert.NotAfter):
		return nil, fmt.Errorf("%w: the signing certificate is not valid now", state.ErrMemberSignature)
	case f.Time.Before(now.Add(-skew)) || f.Time.After(now.Add(skew)):
		return nil, fmt.Errorf("%w: signed at %s, not within %s of the registry's clock", state.ErrMemberSignature, f.Time.UTC().Format(time.RFC3339), skew)
	}
	alg := x509.ECDSAWithSHA256
	if _, ok := cert.PublicKey.(ed25519.PublicKey); ok {
		alg = x509.PureEd25519
	}
	if err := cert.CheckSignature(alg, append([]byte(client.SystemPrefix), b.Form...), b.Sig); err != nil {
		return nil, fmt.Errorf("%w: %v", state.ErrMemberSignature, err)
	}
	return &f, nil
}
