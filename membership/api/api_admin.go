package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
)

// Operator endpoints of the API (see api.go). Writes carry the operator's
// name as the actor recorded in the history.

func hdr(op state.Operator) state.Header { return state.Header{Actor: op.Name} }

func (a *API) status(w http.ResponseWriter, _ *http.Request, _ state.Operator) {
	out := client.StatusResponse{ClusterStatus: a.srv.Status(), RegistryServers: []state.RegistryServer{}}
	if a.cfg.Publisher != nil {
		out.PublishedVersion = a.cfg.Publisher.Version()
	}
	a.srv.Read(func(st *state.State) {
		for _, id := range state.SortedKeys(st.RegistryServers) {
			out.RegistryServers = append(out.RegistryServers, st.RegistryServers[id])
		}
	})
	writeJSON(w, http.StatusOK, out)
}

func (a *API) listRegistrations(w http.ResponseWriter, r *http.Request, _ state.Operator) {
	filter := state.RequestStatus(r.URL.Query().Get("status"))
	out := []client.RequestSummary{}
	a.srv.Read(func(st *state.State) {
		for _, id := range state.SortedKeys(st.Requests) {
			q := st.Requests[id]
			if filter == "" || q.Status == filter {
				out = append(out, client.RequestSummary{RequestID: id, Member: q.Member.String(), Name: q.Registration.Unit.Name,
					Status: q.Status, SubmittedAt: q.SubmittedAt, DecidedBy: q.DecidedBy})
			}
		}
	})
	slices.SortStableFunc(out, func(x, y client.RequestSummary) int { return x.SubmittedAt.Compare(y.SubmittedAt) })
	writeJSON(w, http.StatusOK, map[string]any{"registrations": out})
}

func (a *API) showRegistration(w http.ResponseWriter, r *http.Request, _ state.Operator) {
	req, err := a.srv.Request(r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

// approve issues the node-auth and member-sign certificates from the
// request's CSRs with this server's CA, then commits ApproveRegistration
// with them. If the command is refused, the two certificates are revoked
// again in this CA (superseded); they never reached the state, so no other
// server knows them.
func (a *API) approve(w http.ResponseWriter, r *http.Request, op state.Operator) {
	if a.cfg.CA == nil {
		writeErr(w, &httpError{http.StatusServiceUnavailable, "no_ca", "this server has no CA to issue with"})
		return
	}
	var body struct{}
	if r.ContentLength != 0 {
		if err := decode(w, r, MaxAdminBody, &body); err != nil {
			writeErr(w, err)
			return
		}
	}
	req, err := freshRequest(r.Context(), a.srv, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if req.Status != state.RequestPending {
		writeErr(w, fmt.Errorf("%w: request %s is %s", state.ErrIllegalTransition, req.ID, req.Status))
		return
	}
	ctx := r.Context()
	if req.Kind == state.KindSystem {
		a.approveSystem(w, r, op, req)
		return
	}
	node, err := a.cfg.CA.Issue(ctx, ca.IssueRequest{CSR: req.NodeCSR, Profile: ca.ProfileNodeAuth, Member: req.Member.String(), PeerID: req.PeerID})
	if err != nil {
		writeErr(w, state.CAError(err))
		return
	}
	sign, err := a.cfg.CA.Issue(ctx, ca.IssueRequest{CSR: req.SignCSR, Profile: ca.ProfileMemberSign, Member: req.Member.String()})
	if err != nil {
		a.withdraw(node.Serial)
		writeErr(w, state.CAError(err))
		return
	}
	cmd := &state.ApproveRegistration{Header: hdr(op), RequestID: req.ID, NodeCert: state.Cert{DER: node.DER}, SignCert: state.Cert{DER: sign.DER}}
	res, err := a.srv.Apply(ctx, cmd)
	if err != nil {
		if !errors.Is(err, state.ErrIndeterminate) {
			a.withdraw(node.Serial, sign.Serial)
		}
		writeErr(w, err)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_ = a.srv.WaitApplied(wctx, res.Index)
	cancel()
	writeJSON(w, http.StatusOK, client.ApproveResponse{RequestID: req.ID, Member: req.Member.String(), PeerID: req.PeerID,
		NodeSerial: node.Serial, SignSerial: sign.Serial, NodeCert: node.PEM, SignCert: sign.PEM, Index: res.Index})
}

// addNode issues a node-auth certificate for a further node of a member and
// commits add_node.
func (a *API) addNode(w http.ResponseWriter, r *http.Request, op state.Operator) {
	if a.cfg.CA == nil {
		writeErr(w, &httpError{http.StatusServiceUnavailable, "no_ca", "this server has no CA to issue with"})
		return
	}
	var b client.AddNodeRequest
	if err := decode(w, r, MaxAdminBody, &b); err != nil {
		writeErr(w, err)
		return
	}
	ctx := r.Context()
	node, err := a.cfg.CA.Issue(ctx, ca.IssueRequest{CSR: []byte(b.NodeCSR), Profile: ca.ProfileNodeAuth, Member: b.Member})
	if err != nil {
		writeErr(w, state.CAError(err))
		return
	}
	res, err := a.srv.Apply(ctx, &state.AddNode{Header: hdr(op), Member: b.Member, Addrs: b.Addrs, Cert: state.Cert{DER: node.DER}})
	if err != nil {
		if !errors.Is(err, state.ErrIndeterminate) {
			a.withdraw(node.Serial)
		}
		writeErr(w, err)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_ = a.srv.WaitApplied(wctx, res.Index)
	cancel()
	pid, _ := ca.PeerIDFromKey(node.Chain[0].PublicKey)
	writeJSON(w, http.StatusOK, client.AddNodeResponse{Member: b.Member, PeerID: pid.String(), NodeSerial: node.Serial, NodeCert: node.PEM, Index: res.Index})
}

// freshRequest reads request id after this server has applied what it
// knows to be committed; a request submitted through another server a
// moment ago may not have reached this follower yet, so an unknown ID is
// looked up again for up to a second.
func freshRequest(ctx context.Context, s Store, id string) (state.Request, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_ = s.WaitCommitted(ctx)
	for {
		req, err := s.Request(id)
		if err == nil || !errors.Is(err, state.ErrUnknownRequest) {
			return req, err
		}
		select {
		case <-ctx.Done():
			return req, err
		case <-s.Changed():
		}
	}
}

func (a *API) withdraw(serials ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range serials {
		if _, err := a.cfg.CA.Revoke(ctx, s, ca.ReasonSuperseded); err != nil {
			a.log.Error("withdrawing a certificate of a refused approval failed", "serial", s, "error", err)
		}
	}
}

func (a *API) reject(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var body client.ReasonBody
	if err := decode(w, r, MaxAdminBody, &body); err != nil {
		writeErr(w, err)
		return
	}
	a.write(w, r, &state.RejectRegistration{Header: hdr(op), RequestID: r.PathValue("id"), Reason: body.Reason})
}

// write commits cmd and answers {"index","target"}.
func (a *API) write(w http.ResponseWriter, r *http.Request, cmd state.Command) {
	if res, ok := a.apply(w, r, cmd); ok {
		writeJSON(w, http.StatusOK, res)
	}
}

func (a *API) history(w http.ResponseWriter, r *http.Request, _ state.Operator) {
	q := r.URL.Query()
	target, limit := q.Get("target"), 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			writeErr(w, fmt.Errorf("%w: limit must be 1..10000", state.ErrInvalidArgument))
			return
		}
		limit = n
	}
	out := []state.HistoryEntry{}
	a.srv.Read(func(st *state.State) {
		for i := len(st.History) - 1; i >= 0 && len(out) < limit; i-- {
			if h := st.History[i]; target == "" || h.Target == target {
				out = append(out, h)
			}
		}
	})
	slices.Reverse(out)
	writeJSON(w, http.StatusOK, map[string]any{"history": out})
}

// HistoryExportContentType is the media type of GET
// /v1/admin/history/export: JSON lines, one HistoryEntry each.
const HistoryExportContentType = "application/x-ndjson"

// exportHistory streams the whole history, oldest first, one HistoryEntry
// per line, for VerifyHistoryExport to check offline.
func (a *API) exportHistory(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var entries []state.HistoryEntry
	a.srv.Read(func(st *state.State) {
		// apply only appends to the history and never changes an entry in
		// place (a restore replaces the whole state), so the entries up to
		// the current length stay valid after the lock is released and the
		// stream does not hold up Apply.
		entries = st.History[:len(st.History):len(st.History)]
	})
	w.Header().Set("Content-Type", HistoryExportContentType)
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw) // one line per entry
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			a.log.Warn("history export cut short", "operator", op.Name, "sent", i, "error", err)
			return
		}
	}
	if err := bw.Flush(); err != nil {
		a.log.Warn("history export cut short", "operator", op.Name, "error", err)
		return
	}
	a.log.Info("history exported", "operator", op.Name, "entries", len(entries), "remote", r.RemoteAddr)
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request, _ state.Operator) {
	filter := ident.MemberStatus(r.URL.Query().Get("status"))
	out := []state.Member{}
	a.srv.Read(func(st *state.State) {
		for _, id := range state.SortedKeys(st.Members) {
			if m := st.Members[id]; filter == "" || m.Status == filter {
				m.SignCert = nil // summary
				out = append(out, m)
			}
		}
	})
	writeJSON(w, http.StatusOK, map[string]any{"members": out})
}

func (a *API) showMember(w http.ResponseWriter, r *http.Request, _ state.Operator) {
	m, err := a.srv.Member(r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	out := client.MemberDetail{Member: m, Subsystems: []state.Subsystem{}, Nodes: []state.Node{}}
	id := m.ID.String()
	a.srv.Read(func(st *state.State) {
		for _, k := range state.SortedKeys(st.Subsystems) {
			if st.Subsystems[k].Member == id {
				out.Subsystems = append(out.Subsystems, st.Subsystems[k])
			}
		}
		for _, k := range state.SortedKeys(st.Nodes) {
			if st.Nodes[k].Member == id {
				out.Nodes = append(out.Nodes, st.Nodes[k].Clone())
			}
		}
	})
	writeJSON(w, http.StatusOK, out)
}

// decodeCmd decodes the body, lets fill copy it into cmd, and stamps the
// operator as actor; header fields in the body are refused.
func (a *API) decodeCmd(w http.ResponseWriter, r *http.Request, op state.Operator, cmd state.Command, body any, fill func()) {
	if err := decode(w, r, MaxAdminBody, body); err != nil {
		writeErr(w, err)
		return
	}
	fill()
	*cmd.CommandHeader() = hdr(op)
	a.write(w, r, cmd)
}

func (a *API) suspend(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var b struct {
		Member string `json:"member"`
		Reason string `json:"reason"`
	}
	c := &state.SuspendMember{}
	a.decodeCmd(w, r, op, c, &b, func() { c.Member, c.Reason = b.Member, b.Reason })
}

func (a *API) reactivate(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var b struct {
		Member string `json:"member"`
		Reason string `json:"reason"`
	}
	c := &state.ReactivateMember{}
	a.decodeCmd(w, r, op, c, &b, func() { c.Member, c.Reason = b.Member, b.Reason })
}

func (a *API) revoke(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var b struct {
		Member string `json:"member"`
		Reason string `json:"reason"`
		Note   string `json:"note"`
	}
	c := &state.RevokeMember{}
	a.decodeCmd(w, r, op, c, &b, func() { c.Member, c.Reason, c.Note = b.Member, b.Reason, b.Note })
}

func (a *API) cancelConnection(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var b struct {
		Member    string `json:"member"`
		PeerID    string `json:"peer_id"`
		Subsystem string `json:"subsystem"`
		Reason    string `json:"reason"`
	}
	c := &state.CancelConnection{}
	a.decodeCmd(w, r, op, c, &b, func() { c.Member, c.PeerID, c.Subsystem, c.Reason = b.Member, b.PeerID, b.Subsystem, b.Reason })
}

// approveSystem approves a member's request for another system: no
// certificate is issued.
func (a *API) approveSystem(w http.ResponseWriter, r *http.Request, op state.Operator, req state.Request) {
	res, ok := a.apply(w, r, &state.ApproveRegistration{Header: hdr(op), RequestID: req.ID})
	if !ok {
		return
	}
	wctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	_ = a.srv.WaitApplied(wctx, res.Index)
	cancel()
	writeJSON(w, http.StatusOK, client.ApproveResponse{RequestID: req.ID, Member: req.Member.String(), Index: res.Index})
}

func (a *API) publishService(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var b client.PublishServiceRequest
	c := &state.PublishService{}
	a.decodeCmd(w, r, op, c, &b, func() {
		c.Subsystem, c.Code, c.Version, c.DescriptionSHA256 = b.Subsystem, b.Code, b.Version, b.DescriptionSHA256
		c.Classification = state.Classification(b.Classification)
		c.Schemas = state.Schemas{SchemaType: b.SchemaType, RequestSchemaSHA256: b.RequestSchemaSHA256, ResponseSchemaSHA256: b.ResponseSchemaSHA256}
	})
}

func (a *API) setDocuments(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var b client.SetDocumentsRequest
	c := &state.SetDocuments{}
	a.decodeCmd(w, r, op, c, &b, func() { c.Subsystem, c.Accepts, c.MemberInbox = b.Subsystem, b.Accepts, b.MemberInbox })
}

func (a *API) deprecateService(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var b struct {
		Service string    `json:"service"`
		Sunset  time.Time `json:"sunset"`
	}
	c := &state.DeprecateService{}
	a.decodeCmd(w, r, op, c, &b, func() { c.Service, c.Sunset = b.Service, b.Sunset })
}

func (a *API) retireService(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var b struct {
		Service string `json:"service"`
	}
	c := &state.RetireService{}
	a.decodeCmd(w, r, op, c, &b, func() { c.Service = b.Service })
}

func (a *API) setGroup(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var b struct {
		Description string   `json:"description"`
		Members     []string `json:"members"`
	}
	c := &state.SetGroup{}
	a.decodeCmd(w, r, op, c, &b, func() { c.Code, c.Description, c.Members = r.PathValue("code"), b.Description, b.Members })
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request, op state.Operator) {
	a.write(w, r, &state.SetGroup{Header: hdr(op), Code: r.PathValue("code"), Delete: true})
}

func (a *API) getPolicy(w http.ResponseWriter, _ *http.Request, _ state.Operator) {
	var p state.Policy
	a.srv.Read(func(st *state.State) { p = st.Policy })
	writeJSON(w, http.StatusOK, p)
}

func (a *API) setPolicy(w http.ResponseWriter, r *http.Request, op state.Operator) {
	c := &state.SetPolicy{}
	a.decodeCmd(w, r, op, c, &c.Policy, func() {})
}

// OperatorInfo is an operator as listed (never the token or its hash).
type OperatorInfo struct {
	Name      string     `json:"name"`
	Role      state.Role `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
}

func (a *API) listOperators(w http.ResponseWriter, _ *http.Request, _ state.Operator) {
	out := []OperatorInfo{}
	a.srv.Read(func(st *state.State) {
		for _, n := range state.SortedKeys(st.Operators) {
			o := st.Operators[n]
			out = append(out, OperatorInfo{Name: o.Name, Role: o.Role, CreatedAt: o.CreatedAt, CreatedBy: o.CreatedBy})
		}
	})
	writeJSON(w, http.StatusOK, map[string]any{"operators": out})
}

func (a *API) addOperator(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var b struct {
		Name string     `json:"name"`
		Role state.Role `json:"role"`
	}
	if err := decode(w, r, MaxAdminBody, &b); err != nil {
		writeErr(w, err)
		return
	}
	token, hash, err := a.srv.NewOperatorToken()
	if err != nil {
		writeErr(w, err)
		return
	}
	res, ok := a.apply(w, r, &state.AddOperator{Header: hdr(op), Name: b.Name, Role: b.Role, TokenSHA256: hash})
	if !ok {
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"name": b.Name, "role": b.Role, "token": token, "index": res.Index})
}

func (a *API) removeOperator(w http.ResponseWriter, r *http.Request, op state.Operator) {
	a.write(w, r, &state.RemoveOperator{Header: hdr(op), Name: r.PathValue("name")})
}

func (a *API) setRegistryServer(w http.ResponseWriter, r *http.Request, op state.Operator) {
	var b struct {
		URL        string `json:"url"`
		CertSHA256 string `json:"cert_sha256"`
	}
	c := &state.SetRegistryServer{}
	a.decodeCmd(w, r, op, c, &b, func() { c.ID, c.URL, c.CertSHA256 = r.PathValue("id"), b.URL, b.CertSHA256 })
}

func (a *API) deleteRegistryServer(w http.ResponseWriter, r *http.Request, op state.Operator) {
	a.write(w, r, &state.SetRegistryServer{Header: hdr(op), ID: r.PathValue("id"), Delete: true})
}
