package node

import (
	"context"
	"fmt"
	"time"

	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
)

// RequestSystem asks the registry for another information system
// (subsystem) of this node's member: the system's Form 01/02 fields,
// signed with the member's signing key. An operator approves it in the
// registration queue; WaitDecision follows it.
func RequestSystem(ctx context.Context, dir string, reg *client.Client, form state.Registration, passphrase []byte) (client.RegistrationStatus, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return client.RegistrationStatus{}, err
	}
	id, err := loadIdentity(dir, passphrase)
	if err != nil {
		return client.RegistrationStatus{}, err
	}
	req, err := client.SignSystemRequest(id.signer, id.signChain[0].Raw, client.SystemForm{Member: cfg.Member, Registration: form})
	if err != nil {
		return client.RegistrationStatus{}, err
	}
	return reg.SubmitSystem(ctx, req)
}

// WaitDecision polls request id until it is decided or wait has passed,
// and returns its last status.
func WaitDecision(ctx context.Context, reg *client.Client, id string, wait time.Duration) (client.RegistrationStatus, error) {
	deadline := time.Now().Add(wait)
	for {
		st, err := reg.RegistrationStatus(ctx, id)
		if err != nil || st.Status != state.RequestPending || !time.Now().Before(deadline) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("request %s still pending: %w", id, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}
