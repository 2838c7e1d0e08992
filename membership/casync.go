package membership

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
)

// CertAuthority is what a registry server needs of its copy of the
// network CA. *ca.CA implements it.
type CertAuthority interface {
	Issue(ctx context.Context, req ca.IssueRequest) (*ca.Issued, error)
	Import(ctx context.Context, cert *x509.Certificate, profile ca.Profile) (*ca.Record, error)
	Revoke(ctx context.Context, serial string, reason ca.Reason) (*ca.Record, error)
}

// CASync keeps a server's local CA database consistent with the replicated
// state, so the CRL and OCSP answers of every server know every certificate:
// each certificate the state holds (node-auth of every node, member-sign of
// every member) is recorded with CA.Import, and each revoked serial is
// revoked with CA.Revoke (ErrAlreadyRevoked is success). It runs outside the
// FSM's Apply, on change notifications, and is idempotent: it reconciles
// against the whole state, remembers in memory what it has done, and on a
// restart simply does it again (Import and Revoke are no-ops the second
// time). Certificates another CA issued (refused by Import) and serials this
// CA never knew are logged once and skipped; other failures are retried.
type CASync struct {
	srv *store.Server
	ca  CertAuthority
	log *slog.Logger

	stop, done chan struct{}
	closeOnce  sync.Once

	imported map[string]bool // serials recorded (or skipped for good)
	revoked  map[string]bool // serials revoked (or skipped for good)
}

// casyncRetry is how long CASync waits before retrying a failed Import or
// Revoke when nothing else changes.
const casyncRetry = 2 * time.Second

// NewCASync starts keeping authority in step with srv's state. Close stops it.
func NewCASync(srv *store.Server, authority CertAuthority) *CASync {
	c := &CASync{
		srv: srv, ca: authority, log: srv.Logger().With("observer", "ca_sync"),
		stop: make(chan struct{}), done: make(chan struct{}),
		imported: map[string]bool{}, revoked: map[string]bool{},
	}
	go func() {
		defer close(c.done)
		srv.Watch(10*time.Millisecond, c.stop, c.reconcile)
	}()
	return c
}

// Close stops the sync and waits for a pass in progress.
func (c *CASync) Close() {
	c.closeOnce.Do(func() { close(c.stop) })
	<-c.done
}

type pendingCert struct {
	serial  string
	der     []byte
	profile ca.Profile
}

// reconcile does one pass and returns when to look again without a change.
func (c *CASync) reconcile() time.Duration {
	var certs []pendingCert
	var revs []state.RevokedCert
	c.srv.Read(func(st *state.State) {
		for _, m := range st.Members {
			if m.SignCert != nil && !c.imported[m.SignCert.Serial] {
				certs = append(certs, pendingCert{m.SignCert.Serial, m.SignCert.DER, ca.ProfileMemberSign})
			}
		}
		for _, n := range st.Nodes {
			if !c.imported[n.Cert.Serial] {
				certs = append(certs, pendingCert{n.Cert.Serial, n.Cert.DER, ca.ProfileNodeAuth})
			}
		}
		for serial, r := range st.Revoked {
			if !c.revoked[serial] {
				r.Serial = serial
				revs = append(revs, r)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	failed := false
	for _, p := range certs {
		cert, err := x509.ParseCertificate(p.der)
		if err == nil {
			_, err = c.ca.Import(ctx, cert, p.profile)
		}
		switch {
		case err == nil:
			c.imported[p.serial] = true
		case errors.Is(err, ca.ErrBadRequest) || errors.Is(err, ca.ErrUnknownProfile) || cert == nil:
			c.log.Warn("certificate in the registry not recorded in the local CA", "serial", p.serial, "error", err)
			c.imported[p.serial] = true
		default:
			c.log.Error("recording certificate in the local CA failed; will retry", "serial", p.serial, "error", err)
			failed = true
		}
	}
	for _, r := range revs {
		reason, err := ca.ParseReason(r.Reason)
		if err != nil {
			reason = ca.ReasonUnspecified
		}
		_, err = c.ca.Revoke(ctx, r.Serial, reason)
		switch {
		case err == nil || errors.Is(err, ca.ErrAlreadyRevoked):
			c.revoked[r.Serial] = true
		case errors.Is(err, ca.ErrUnknownSerial):
			c.log.Warn("revoked serial unknown to the local CA", "serial", r.Serial)
			c.revoked[r.Serial] = true
		default:
			c.log.Error("revoking in the local CA failed; will retry", "serial", r.Serial, "error", err)
			failed = true
		}
	}
	if failed {
		return casyncRetry
	}
	return time.Hour
}
