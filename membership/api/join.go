package api

import (
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
)

// The join workflow's endpoints (join.go describes it). The work that needs
// the daemon's CA and keys is the Daemon's; these handlers check and decode.

// joinRoutes adds the join workflow and cluster operations to m.
func (a *API) joinRoutes(m *http.ServeMux) {
	m.HandleFunc("POST "+client.JoinTokensPath, a.auth(state.RoleAdmin, a.mintToken))
	m.HandleFunc("POST "+client.JoinPath, a.join)
	m.HandleFunc("POST "+client.AddVoterPath, a.addVoter)
	m.HandleFunc("POST /v1/admin/registry-servers/{id}/remove", a.auth(state.RoleAdmin, a.removeServer))
	m.HandleFunc("GET "+client.BackupPath, a.auth(state.RoleAdmin, a.backup))
}

// backup streams a backup of this server (membership.Registry.Backup): a
// tar archive; a failure part-way cuts the stream, which a restore
// refuses.
func (a *API) backup(w http.ResponseWriter, r *http.Request, op state.Operator) {
	w.Header().Set("Content-Type", "application/x-tar")
	m, err := a.cfg.Daemon.Backup(r.Context(), w)
	if err != nil {
		a.log.Error("registry backup failed", "operator", op.Name, "error", err)
		panic(http.ErrAbortHandler)
	}
	a.log.Info("registry backup taken", "operator", op.Name, "files", len(m.Files))
}

func (a *API) mintToken(w http.ResponseWriter, req *http.Request, op state.Operator) {
	var b struct {
		TTL string `json:"ttl"`
	}
	if req.ContentLength != 0 {
		if err := decode(w, req, MaxAdminBody, &b); err != nil {
			writeErr(w, err)
			return
		}
	}
	var ttl time.Duration
	if b.TTL != "" {
		var err error
		if ttl, err = time.ParseDuration(b.TTL); err != nil || ttl <= 0 {
			writeErr(w, state.Invalidf("ttl %q: want a positive Go duration such as 1h", b.TTL))
			return
		}
	}
	out, err := a.cfg.Daemon.CreateJoinToken(req.Context(), op.Name, ttl)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

// checkJoinRequest validates everything it can before the token is used.
func checkJoinRequest(b *client.JoinRequest) (*x509.CertificateRequest, []net.IP, error) {
	if err := ident.CheckPart(b.ID); err != nil {
		return nil, nil, state.Invalidf("server ID: %v", err)
	}
	if host, port, err := net.SplitHostPort(b.RaftAddr); err != nil || host == "" || port == "" || port == "0" {
		return nil, nil, state.Invalidf("raft address %q: want host:port", b.RaftAddr)
	}
	if u, err := url.Parse(b.APIURL); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(b.APIURL) > 512 {
		return nil, nil, state.Invalidf("API URL %q: want https://host[:port]", b.APIURL)
	}
	var ips []net.IP
	for _, s := range b.IPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, nil, state.Invalidf("IP address %q", s)
		}
		ips = append(ips, ip)
	}
	csr, err := ca.ParseCSR([]byte(b.CSR))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", state.ErrBadCSR, err)
	}
	return csr, ips, nil
}

func (a *API) join(w http.ResponseWriter, req *http.Request) {
	var b client.JoinRequest
	if err := decode(w, req, MaxAdminBody, &b); err != nil {
		writeErr(w, err)
		return
	}
	csr, ips, err := checkJoinRequest(&b)
	if err != nil {
		writeErr(w, err)
		return
	}
	out, err := a.cfg.Daemon.Admit(req.Context(), &b, csr, ips)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// serverCertOf returns the verified client certificate of req if it is the
// one the state records for a registry server, and that server's ID.
func (a *API) serverCertOf(req *http.Request) (string, error) {
	if req.TLS == nil || len(req.TLS.VerifiedChains) == 0 || len(req.TLS.PeerCertificates) == 0 {
		return "", fmt.Errorf("%w: a registry server certificate (mutual TLS) is required", state.ErrUnauthenticated)
	}
	fp := ca.Fingerprint(req.TLS.PeerCertificates[0])
	id := ""
	a.srv.Read(func(st *state.State) {
		for sid, rs := range st.RegistryServers {
			if subtle.ConstantTimeCompare([]byte(rs.CertSHA256), []byte(fp)) == 1 {
				id = sid
			}
		}
	})
	if id == "" {
		return "", fmt.Errorf("%w: certificate %s is not a registry server's", state.ErrForbidden, fp)
	}
	return id, nil
}

func (a *API) addVoter(w http.ResponseWriter, req *http.Request) {
	id, err := a.serverCertOf(req)
	if err != nil {
		writeErr(w, err)
		return
	}
	var b client.AddVoterRequest
	if err := decode(w, req, MaxAdminBody, &b); err != nil {
		writeErr(w, err)
		return
	}
	if b.ID != id {
		writeErr(w, fmt.Errorf("%w: certificate belongs to %s, not %s", state.ErrForbidden, id, b.ID))
		return
	}
	if host, port, err := net.SplitHostPort(b.RaftAddr); err != nil || host == "" || port == "" {
		writeErr(w, state.Invalidf("raft address %q", b.RaftAddr))
		return
	}
	if err := a.srv.AddVoter(req.Context(), b.ID, b.RaftAddr); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": b.ID, "raft_addr": b.RaftAddr})
}

func (a *API) removeServer(w http.ResponseWriter, req *http.Request, op state.Operator) {
	out, err := a.cfg.Daemon.RemoveServer(req.Context(), op.Name, req.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
