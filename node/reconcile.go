package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/internal/jsonin"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/consumer"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/node/provider"
	"github.com/dxl-network/dxl/node/transport"
)

// ReconcileProtocol is the libp2p protocol over which two members' nodes
// exchange signed summaries of the calls between them (R-L5).
const ReconcileProtocol = transport.ReconcileProtocol

// SummaryPrefix separates the signature over a summary from every other
// signature a member key makes.
const SummaryPrefix = "DXL-RECONCILE-SUMMARY-v1\x00"

// Limits of the reconciliation exchange.
const (
	maxReconcileRequest = 4 << 10
	maxSummary          = 64 << 20
	// MaxReconcilePeriod bounds one reconciliation: a month and a bit.
	MaxReconcilePeriod = 32 * 24 * time.Hour
)

// Summary is what a node says, signed, about the calls between its member
// and another one in a period: every call by request ID, with its day,
// service, the signer's role and the status it recorded.
type Summary struct {
	Format      int            `json:"format"`
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	Member      string         `json:"member"` // the signer's member
	Peer        string         `json:"peer"`   // the signer's node
	Counterpart string         `json:"counterpart"`
	GeneratedAt time.Time      `json:"generated_at"`
	Entries     []SummaryEntry `json:"entries"` // by request ID
}

// SummaryEntry is one call in a Summary.
type SummaryEntry struct {
	RequestID string `json:"request_id"`
	Day       string `json:"day"` // YYYY-MM-DD, UTC, of the call's start
	Service   string `json:"service"`
	Role      string `json:"role"` // the signer's: consumer or provider
	Status    int    `json:"status"`
}

// Report is the result of a reconciliation with another member.
type Report struct {
	Member  string    `json:"member"` // the counterpart
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Local   int       `json:"local"`  // calls this node recorded
	Remote  int       `json:"remote"` // calls the counterpart's nodes signed for
	Matched int       `json:"matched"`
	// Mismatches per service and day; empty when both sides agree.
	Mismatches []Mismatch `json:"mismatches"`
	// Nodes that answered (peer IDs) and those that could not be asked.
	Nodes  []string `json:"nodes"`
	Failed []string `json:"failed,omitempty"`
}

// Mismatch lists, for one service on one day, the calls only one side
// recorded and those whose statuses differ.
type Mismatch struct {
	Day           string       `json:"day"`
	Service       string       `json:"service"`
	MissingLocal  []string     `json:"missing_local,omitempty"`  // request IDs only the counterpart recorded
	MissingRemote []string     `json:"missing_remote,omitempty"` // request IDs only this node recorded
	StatusDiffers []StatusDiff `json:"status_differs,omitempty"`
}

// StatusDiff is a call both sides recorded with different statuses.
type StatusDiff struct {
	RequestID string `json:"request_id"`
	Local     int    `json:"local"`
	Remote    int    `json:"remote"`
}

type reconcileRequest struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

func checkPeriod(from, to time.Time) error {
	if !from.Before(to) || to.Sub(from) > MaxReconcilePeriod {
		return fmt.Errorf("%w: reconciliation period %s .. %s (at most %s)", ErrBadRequest, from.Format(time.RFC3339), to.Format(time.RFC3339), MaxReconcilePeriod)
	}
	return nil
}

// summary collects this node's records of calls with member counterpart.
// Calls that never reached a provider node (refused by the consumer's own
// node) are left out: the other side cannot know them.
func (n *Node) summary(counterpart string, from, to time.Time) ([]SummaryEntry, error) {
	if err := n.records.Flush(n.life); err != nil {
		return nil, err
	}
	var out []SummaryEntry
	for _, f := range []oprec.Filter{
		{From: from, To: to, Role: oprec.RoleConsumer, ProviderMember: counterpart},
		{From: from, To: to, Role: oprec.RoleProvider, ClientMember: counterpart},
	} {
		f.Limit = 10000
		for {
			recs, next, err := n.records.Query(f)
			if err != nil {
				return nil, err
			}
			for _, r := range recs {
				if r.Role == oprec.RoleConsumer && r.ProviderPeer == "" {
					continue
				}
				out = append(out, SummaryEntry{RequestID: r.RequestID, Day: r.Start.UTC().Format(time.DateOnly),
					Service: r.Service, Role: r.Role, Status: r.Status})
			}
			if len(out) > maxSummary/128 {
				return nil, fmt.Errorf("%w: too many calls for one summary; reconcile a shorter period", ErrTooLarge)
			}
			if next == "" {
				break
			}
			f.Cursor = next
		}
	}
	slices.SortFunc(out, func(a, b SummaryEntry) int {
		return strings.Compare(a.RequestID+a.Role, b.RequestID+b.Role)
	})
	return out, nil
}

// handleReconcile answers a summary request from a node of another member,
// about the calls between that member and this node's only.
func (n *Node) handleReconcile(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(n.now().Add(2 * time.Minute))
	err := func() error {
		v, err := n.current()
		if err != nil {
			return err
		}
		nd, ok := v.PeerAllowed(s.Conn().RemotePeer())
		if !ok {
			return ErrNotMember
		}
		raw, err := readReconcileRequest(s)
		if err != nil {
			return err
		}
		var req reconcileRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return fmt.Errorf("%w: %v", ErrBadRequest, err)
		}
		if err := checkPeriod(req.From, req.To); err != nil {
			return err
		}
		if err := n.records.Flush(context.Background()); err != nil {
			return err
		}
		entries, err := n.summary(nd.Member, req.From, req.To)
		if err != nil {
			return err
		}
		sum := Summary{Format: 1, From: req.From.UTC(), To: req.To.UTC(), Member: n.member.String(), Peer: n.self,
			Counterpart: nd.Member, GeneratedAt: n.now().UTC(), Entries: entries}
		body, err := json.Marshal(sum)
		if err != nil {
			return err
		}
		sig, cert, err := n.signer.SignDetached(SummaryPrefix, body)
		if err != nil {
			return err
		}
		return writeSummary(s, cert, sig, body)
	}()
	if err != nil {
		n.log.Info("reconciliation refused", "peer", s.Conn().RemotePeer().String(), "error_code", exchange.Codes.Code(err), "error", err)
		_ = transport.WriteError(s, provider.ErrorFrame(err))
	}
}

// Reconcile asks every usable node of member for its signed summary of
// the calls between that member and this node in [from, to), verifies the
// signatures and compares them with this node's own records, per service
// and day.
func (n *Node) Reconcile(ctx context.Context, member string, from, to time.Time) (*Report, error) {
	if err := checkPeriod(from, to); err != nil {
		return nil, err
	}
	v, err := n.current()
	if err != nil {
		return nil, err
	}
	if !v.MemberActive(member) {
		return nil, fmt.Errorf("%w: %s is not an active member", ErrBadRequest, member)
	}
	if err := n.records.Flush(ctx); err != nil {
		return nil, err
	}
	local, err := n.summary(member, from, to)
	if err != nil {
		return nil, err
	}
	rep := &Report{Member: member, From: from.UTC(), To: to.UTC(), Local: len(local), Mismatches: []Mismatch{}}
	remote := map[string]SummaryEntry{}
	for _, pid := range v.NodesOf(member) {
		// One summary per UTC day keeps each answer small however long
		// the period.
		var err error
		for d := from; d.Before(to) && err == nil; {
			end := d.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
			if end.After(to) {
				end = to
			}
			var entries []SummaryEntry
			if entries, err = n.fetchSummary(ctx, v, pid, member, d, end); err == nil {
				for _, e := range entries {
					remote[e.RequestID+"|"+e.Role] = e
				}
			}
			d = end
		}
		if err != nil {
			rep.Failed = append(rep.Failed, pid.String()+": "+err.Error())
			continue
		}
		rep.Nodes = append(rep.Nodes, pid.String())
	}
	if len(rep.Nodes) == 0 {
		return rep, fmt.Errorf("%w: no node of %s answered", ErrUnreachable, member)
	}
	rep.Remote = len(remote)
	compare(rep, local, remote)
	return rep, nil
}

// compare matches the local entries with the remote ones (consumed) into
// rep: matched calls, and mismatches per day and service.
func compare(rep *Report, local []SummaryEntry, remote map[string]SummaryEntry) {
	type key struct{ day, service string }
	mm := map[key]*Mismatch{}
	get := func(day, service string) *Mismatch {
		k := key{day, service}
		if mm[k] == nil {
			mm[k] = &Mismatch{Day: day, Service: service}
		}
		return mm[k]
	}
	other := map[string]string{oprec.RoleConsumer: oprec.RoleProvider, oprec.RoleProvider: oprec.RoleConsumer}
	for _, l := range local {
		k := l.RequestID + "|" + other[l.Role]
		r, ok := remote[k]
		switch {
		case !ok:
			m := get(l.Day, l.Service)
			m.MissingRemote = append(m.MissingRemote, l.RequestID)
		case r.Status != l.Status:
			m := get(l.Day, l.Service)
			m.StatusDiffers = append(m.StatusDiffers, StatusDiff{RequestID: l.RequestID, Local: l.Status, Remote: r.Status})
		default:
			rep.Matched++
		}
		delete(remote, k)
	}
	for _, r := range remote {
		m := get(r.Day, r.Service)
		m.MissingLocal = append(m.MissingLocal, r.RequestID)
	}
	for _, m := range mm {
		slices.Sort(m.MissingLocal)
		slices.Sort(m.MissingRemote)
		rep.Mismatches = append(rep.Mismatches, *m)
	}
	slices.SortFunc(rep.Mismatches, func(a, b Mismatch) int {
		return strings.Compare(a.Day+a.Service, b.Day+b.Service)
	})
}

// fetchSummary asks one node and verifies its signed answer.
func (n *Node) fetchSummary(ctx context.Context, v *confview.View, pid peer.ID, member string, from, to time.Time) ([]SummaryEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s, err := n.host.NewStream(ctx, pid, ReconcileProtocol, transport.ServiceReconcile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	req, _ := json.Marshal(reconcileRequest{From: from.UTC(), To: to.UTC()})
	if err := envelope.WriteFrame(s, envelope.FrameRequest, req); err != nil {
		return nil, err
	}
	_ = s.CloseWrite()
	br := transport.GetReader(s)
	defer transport.PutReader(br)
	cert, sig, body, err := readSummary(br)
	if err != nil {
		return nil, err
	}
	info, err := envelope.VerifyDetached(v.Certs(), v.Doc().IsRevoked, cert, SummaryPrefix, body, sig, n.now())
	if err != nil {
		return nil, err
	}
	var sum Summary
	if err := jsonin.Decode(bytes.NewReader(body), &sum); err != nil {
		return nil, fmt.Errorf("%w: summary: %v", envelope.ErrMalformed, err)
	}
	if info.Member.String() != member || sum.Member != member || sum.Counterpart != n.member.String() ||
		sum.Peer != pid.String() || !sum.From.Equal(from.UTC()) || !sum.To.Equal(to.UTC()) {
		return nil, fmt.Errorf("%w: the summary is not the one asked for", envelope.ErrBinding)
	}
	return sum.Entries, nil
}

// On /dxl/reconcile/1.0.0 the asking node sends one request frame (the
// JSON reconcileRequest) and half-closes; the answer is an error frame, or
// two response frames (the signer's certificate, then the signature) and
// the summary as body chunks and an end frame.

// readReconcileRequest reads the request frame.
func readReconcileRequest(r io.Reader) ([]byte, error) {
	f, err := envelope.ReadFrame(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", envelope.ErrMalformed, err)
	}
	if f.Type != envelope.FrameRequest {
		return nil, fmt.Errorf("%w: first frame is type %d", envelope.ErrMalformed, f.Type)
	}
	if len(f.Payload) > maxReconcileRequest {
		return nil, fmt.Errorf("%w: %d-byte request (max %d)", envelope.ErrTooLarge, len(f.Payload), maxReconcileRequest)
	}
	return f.Payload, nil
}

// writeSummary writes a signed summary.
func writeSummary(w io.Writer, cert, sig, body []byte) error {
	bw := bufio.NewWriter(w)
	if err := envelope.WriteFrame(bw, envelope.FrameResponse, cert); err != nil {
		return err
	}
	if err := transport.WriteMessage(bw, envelope.FrameResponse, sig, bytes.NewReader(body)); err != nil {
		return err
	}
	return bw.Flush()
}

// readSummary reads a signed summary or the error frame in its place.
func readSummary(r io.Reader) (cert, sig, body []byte, err error) {
	for _, f := range []struct {
		dst *[]byte
		max int
	}{{&cert, envelope.MaxCert}, {&sig, envelope.MaxSignature}} {
		fr, err := envelope.ReadFrame(r)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: %v", envelope.ErrMalformed, err)
		}
		switch {
		case fr.Type == envelope.FrameError:
			return nil, nil, nil, consumer.RemoteErrorOf(transport.DecodeError(fr.Payload))
		case fr.Type != envelope.FrameResponse:
			return nil, nil, nil, fmt.Errorf("%w: unexpected frame %d", envelope.ErrMalformed, fr.Type)
		case len(fr.Payload) > f.max:
			return nil, nil, nil, fmt.Errorf("%w: %d bytes (max %d)", envelope.ErrTooLarge, len(fr.Payload), f.max)
		}
		*f.dst = fr.Payload
	}
	if body, err = transport.ReadBody(r, maxSummary); err != nil {
		return nil, nil, nil, err
	}
	return cert, sig, body, nil
}
