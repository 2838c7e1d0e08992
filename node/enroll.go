package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
)

// Register submits the node's registration to the registry: the member's
// Form 01/02 fields, the node's two certificate requests and its libp2p
// addresses. It records the request ID in the directory for Enroll.
func Register(ctx context.Context, dir string, reg *client.Client, form state.Registration, passphrase []byte) (client.RegistrationStatus, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return client.RegistrationStatus{}, err
	}
	nodeCSR, signCSR, err := CSRs(dir, form.Unit.Name, passphrase)
	if err != nil {
		return client.RegistrationStatus{}, err
	}
	addrs := cfg.P2PAnnounce
	if len(addrs) == 0 {
		addrs = cfg.P2PListen
	}
	st, err := reg.Submit(ctx, client.SubmitRequest{Member: cfg.Member, Registration: form,
		NodeCSR: nodeCSR, SignCSR: signCSR, NodeAddrs: addrs})
	if err != nil {
		return st, err
	}
	return st, SaveEnrollment(dir, Enrollment{RequestID: st.RequestID, Member: cfg.Member})
}

// Enroll fetches the certificates of an approved registration and installs
// them. With wait set it polls until the registration is decided.
func Enroll(ctx context.Context, dir string, reg *client.Client, passphrase []byte, wait time.Duration) (client.RegistrationCertificates, error) {
	e, err := LoadEnrollment(dir)
	if err != nil {
		return client.RegistrationCertificates{}, err
	}
	deadline := time.Now().Add(wait)
	for {
		certs, err := reg.RegistrationCertificates(ctx, e.RequestID)
		if err == nil {
			if err := InstallCertificates(dir, []byte(certs.NodeCert), []byte(certs.SignCert), passphrase); err != nil {
				return certs, err
			}
			return certs, nil
		}
		if !errors.Is(err, state.ErrNotApproved) || time.Now().After(deadline) {
			return certs, fmt.Errorf("registration %s: %w", e.RequestID, err)
		}
		select {
		case <-ctx.Done():
			return certs, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
