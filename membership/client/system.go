package client

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/dxl-network/dxl/membership/state"
)

// SystemsPath is where an active member asks for another information
// system (subsystem), with a SystemRequest.
const SystemsPath = "/v1/systems"

// SystemPrefix starts the bytes a member signs for a SystemRequest.
const SystemPrefix = "DXL-SYSTEM-REQUEST-v1\x00"

// SystemForm is what a member asks for: the Form 01/02 fields of another
// information system. RequestID is the member's choice (a random one by
// SignSystemRequest), so a replayed request is refused as a duplicate;
// Time must be within the network's clock skew of the registry's clock.
type SystemForm struct {
	RequestID    string             `json:"request_id"`
	Member       string             `json:"member"`
	Registration state.Registration `json:"registration"`
	Time         time.Time          `json:"time"`
}

// SystemRequest is the body of POST /v1/systems: the form's JSON, signed
// with the member's signing key, and that key's certificate.
type SystemRequest struct {
	Form []byte `json:"form"` // JSON of a SystemForm
	Cert []byte `json:"cert"` // DER of the member's current signing certificate
	Sig  []byte `json:"sig"`  // over SystemPrefix || Form (Ed25519; ECDSA: of its SHA-256)
}

// SignSystemRequest signs form (a fresh request ID and the time when they
// are empty) with the member's signing key.
func SignSystemRequest(signer crypto.Signer, certDER []byte, form SystemForm) (SystemRequest, error) {
	if form.RequestID == "" {
		b := make([]byte, 10)
		_, _ = rand.Read(b)
		form.RequestID = hex.EncodeToString(b)
	}
	if form.Time.IsZero() {
		form.Time = time.Now().UTC()
	}
	raw, err := json.Marshal(form)
	if err != nil {
		return SystemRequest{}, err
	}
	msg := append([]byte(SystemPrefix), raw...)
	var sig []byte
	switch signer.Public().(type) {
	case ed25519.PublicKey:
		sig, err = signer.Sign(rand.Reader, msg, crypto.Hash(0))
	default:
		sum := sha256.Sum256(msg)
		sig, err = signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	}
	if err != nil {
		return SystemRequest{}, errors.Join(errors.New("signing the system request"), err)
	}
	return SystemRequest{Form: raw, Cert: certDER, Sig: sig}, nil
}

// SubmitSystem asks the registry for another information system of the
// member; an operator approves it like a registration.
func (c *Client) SubmitSystem(ctx context.Context, req SystemRequest) (RegistrationStatus, error) {
	var out RegistrationStatus
	_, err := c.do(ctx, http.MethodPost, SystemsPath, req, &out)
	return out, err
}
