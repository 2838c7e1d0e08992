package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/jsonin"
	"github.com/dxl-network/dxl/node/auth"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// FileAdminSocket is the node's local admin socket (owner-only): consumer
// credentials and status while the node runs, callable with
// curl --unix-socket.
const FileAdminSocket = "admin.sock"

// adminHandler is the admin API on the Unix socket.
//
//	POST   /v1/credentials          {"subsystem":"…"} → {"key_id","secret","subsystem"} (secret shown once)
//	GET    /v1/credentials          → [{key_id, subsystem, …}] (hashes only)
//	POST   /v1/credentials/{key}/rotate → new secret
//	DELETE /v1/credentials/{key}
//	POST/GET /v1/access-keys, DELETE /v1/access-keys/{key} (accessKeyRoutes)
//	GET    /v1/health               → the level-1 health report
//	GET    /v1/peers                → peer states
func (n *Node) adminHandler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/credentials", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Subsystem string `json:"subsystem"`
		}
		if err := jsonin.DecodeOpen(io.LimitReader(r.Body, 4<<10), &b); err != nil {
			exchange.WriteJSON(w, http.StatusBadRequest, ErrorBody{Code: "bad_request", Message: err.Error()})
			return
		}
		if err := n.checkOwnSubsystem(b.Subsystem); err != nil {
			exchange.WriteJSON(w, http.StatusBadRequest, ErrorBody{Code: exchange.Codes.Code(err), Message: err.Error()})
			return
		}
		cred, err := n.auth.Create(r.Context(), b.Subsystem)
		if err == nil {
			n.auditAction(r, "credential.create", cred.KeyID, b.Subsystem)
		}
		adminAnswer(w, cred, err)
	})
	m.HandleFunc("GET /v1/credentials", func(w http.ResponseWriter, r *http.Request) {
		recs, err := n.auth.List(r.Context())
		adminAnswer(w, recs, err)
	})
	m.HandleFunc("POST /v1/credentials/{key}/rotate", func(w http.ResponseWriter, r *http.Request) {
		cred, err := n.auth.Rotate(r.Context(), r.PathValue("key"))
		if err == nil {
			n.auditAction(r, "credential.rotate", cred.KeyID, cred.Subsystem)
		}
		adminAnswer(w, cred, err)
	})
	m.HandleFunc("DELETE /v1/credentials/{key}", func(w http.ResponseWriter, r *http.Request) {
		err := n.auth.Revoke(r.Context(), r.PathValue("key"))
		if err == nil {
			n.auditAction(r, "credential.revoke", r.PathValue("key"), "")
		}
		adminAnswer(w, map[string]string{"revoked": r.PathValue("key")}, err)
	})
	m.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) { exchange.WriteJSON(w, http.StatusOK, n.Health()) })
	m.HandleFunc("GET /v1/peers", func(w http.ResponseWriter, r *http.Request) { exchange.WriteJSON(w, http.StatusOK, n.Peers()) })
	// Probe: connect now to every usable node not connected (dxl node doctor).
	m.HandleFunc("POST /v1/peers/probe", func(w http.ResponseWriter, r *http.Request) {
		n.probe(r.Context())
		exchange.WriteJSON(w, http.StatusOK, n.Peers())
	})
	m.HandleFunc("GET /v1/backup", n.adminBackup)
	n.adminLogRoutes(m)
	n.accessKeyRoutes(m)
	n.adminAccessRoutes(m)
	n.adminRateLimitRoutes(m)
	return m
}

// checkOwnSubsystem accepts only an active subsystem of this node's member
// (as the configuration lists it, when there is one).
func (n *Node) checkOwnSubsystem(s string) error {
	sub, err := services.ParseSubsystemID(s)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if sub.Member != n.member {
		return fmt.Errorf("%w: %s is not a subsystem of %s", ErrClientMismatch, s, n.member)
	}
	if v := n.view(); v != nil {
		for _, ss := range v.Doc().Subsystems {
			if ss.ID == s && ss.Status == ident.SubsystemActive {
				return nil
			}
		}
		return fmt.Errorf("%w: %s is not an active subsystem in the global configuration", ErrBadRequest, s)
	}
	return nil
}

func adminAnswer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, auth.ErrSubsystem):
			status = http.StatusBadRequest
		case errors.Is(err, auth.ErrNotFound):
			status = http.StatusNotFound
		}
		exchange.WriteJSON(w, status, ErrorBody{Code: auth.Codes.Code(err), Message: err.Error()})
		return
	}
	exchange.WriteJSON(w, http.StatusOK, v)
}

// listenAdmin opens DIR/admin.sock, owner-only, replacing a stale socket.
func listenAdmin(dir string) (net.Listener, error) {
	path := filepath.Join(dir, FileAdminSocket)
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, errors.New("another node is serving " + path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// AdminClient returns an HTTP client that talks to the admin socket of the
// node in dir (base URL http://node).
func AdminClient(dir string) *http.Client {
	path := filepath.Join(dir, FileAdminSocket)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}}
}
