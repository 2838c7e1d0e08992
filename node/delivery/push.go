package delivery

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/transport"
)

// cancelCheck is how many chunks go between two looks at whether the
// sender cancelled the delivery.
const cancelCheck = 64

// deliver makes one attempt at d: any usable node of the recipient
// member, in the configuration's order, until one stores the document.
func (s *Service) deliver(ctx context.Context, d due) {
	now := s.cfg.Now()
	doc, err := s.store.UpdateOut(d.doc, func(doc *OutDoc) error {
		r := doc.recipient(d.recipient)
		if r == nil || r.State != Queued {
			return fmt.Errorf("%w: no longer queued", ErrState)
		}
		r.State, r.Attempts = InFlight, r.Attempts+1
		if r.FirstTry.IsZero() {
			r.FirstTry = now
		}
		doc.Updated = now
		return nil
	})
	if err != nil {
		return
	}
	pid, err := s.tryNodes(ctx, doc, d.recipient)
	if err == nil {
		err = s.fault(FaultPushAnswered)
	}
	if ctx.Err() != nil { // the node is closing: the next start queues it again
		return
	}
	s.attempted(doc, d.recipient, pid, err)
}

// tryNodes pushes doc to the recipient's member's nodes in turn.
func (s *Service) tryNodes(ctx context.Context, doc *OutDoc, recipient string) (peer.ID, error) {
	v, err := s.cfg.Views.Current()
	if err != nil {
		return "", err
	}
	if err := checkRecipient(v, recipient, doc.Meta.DataType); err != nil {
		return "", err
	}
	member := memberOf(recipient)
	var last error = fmt.Errorf("%w: no usable node of %s", ErrUnavailable, member)
	for _, pid := range v.NodesOf(member) {
		if _, ok := v.PeerAllowed(pid); !ok {
			continue
		}
		err := s.push(ctx, pid, doc, recipient)
		if err == nil || permanent(err) || ctx.Err() != nil {
			return pid, err
		}
		s.log.Info("delivery attempt failed", "document_id", doc.Meta.ID, "recipient", recipient, "peer", pid.String(), "error", err)
		last = err
	}
	return "", last
}

// attempted stores the outcome of an attempt.
func (s *Service) attempted(doc *OutDoc, recipient string, pid peer.ID, err error) {
	now := s.cfg.Now()
	var ev *Event
	_, uerr := s.store.UpdateOut(doc.Meta.ID, func(doc *OutDoc) error {
		ev = nil // run again after a group's rollback
		r := doc.recipient(recipient)
		if r == nil {
			return ErrNotFound
		}
		doc.Updated = now
		switch {
		case err == nil && r.State != Acknowledged:
			if r.State == Cancelled {
				r.Reason = "stored by the recipient node before the cancellation took effect"
			}
			r.State, r.Delivered, r.Node = Delivered, now, pid.String()
			ev = &Event{Type: string(Delivered), ID: doc.Meta.ID, Recipient: recipient}
		case err != nil && r.State == InFlight:
			s.cfg.Policy.failed(r, now, shortErr(err), permanent(err))
			if r.State == Undeliverable {
				ev = &Event{Type: string(Undeliverable), ID: doc.Meta.ID, Recipient: recipient, Reason: r.Reason}
			}
		}
		return nil
	})
	if uerr != nil {
		s.log.Error("outbox update failed", "document_id", doc.Meta.ID, "error", uerr)
		return
	}
	if ev != nil {
		s.metrics.count("sender", ev.Type, 1)
		s.log.Info("delivery "+ev.Type, "document_id", doc.Meta.ID, "recipient", recipient, "peer", pid.String(), "reason", ev.Reason)
		s.publish(doc.Meta.Sender, *ev)
		if ev.Type == string(Undeliverable) {
			s.logEnded(doc, &Recipient{ID: recipient, State: Undeliverable, Reason: ev.Reason})
		}
	}
}

// shortErr is an error's text for a status (no content, bounded).
func shortErr(err error) string {
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return Codes.Code(err) + ": " + msg
}

// memberOf is the member part of a subsystem ID.
func memberOf(subsystem string) string {
	for i := len(subsystem) - 1; i >= 0; i-- {
		if subsystem[i] == '/' {
			return subsystem[:i]
		}
	}
	return ""
}

// checkRecipient refuses a recipient that is not an active subsystem of
// an active member in v, or does not take documents of dataType.
func checkRecipient(v *confview.View, recipient, dataType string) error {
	m := memberOf(recipient)
	if !v.MemberActive(m) {
		st := v.MemberStatus(m)
		if st == "" {
			st = "not a member"
		}
		return fmt.Errorf("%w: %s: member %s (configuration version %d)", ErrRecipient, recipient, st, v.Doc().Version)
	}
	if !v.SubsystemActive(recipient) {
		return fmt.Errorf("%w: %s is not an active subsystem (configuration version %d)", ErrRecipient, recipient, v.Doc().Version)
	}
	if d := v.Subsystem(recipient).Documents; !d.Takes(dataType) {
		return fmt.Errorf("%w: %s takes %s, not %.64q (configuration version %d)", ErrTypeRefused, recipient,
			strings.Join(d.Accepts, ", "), dataType, v.Doc().Version)
	}
	return nil
}

// resolveRecipients replaces each member ID among recipients with the
// subsystem that is its member's document inbox in v.
func resolveRecipients(v *confview.View, recipients []string) ([]string, error) {
	out := make([]string, 0, len(recipients))
	for _, r := range recipients {
		if _, err := ident.ParseMember(r, ""); err == nil {
			inbox := v.MemberInbox(r)
			if inbox == "" {
				return nil, fmt.Errorf("%w: member %s has no subsystem receiving its documents (its registry sets one with 'dxl registry subsystem documents --member-inbox'); address a subsystem", ErrRecipient, r)
			}
			r = inbox
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// push offers doc to one node and sends it the content it lacks.
func (s *Service) push(ctx context.Context, pid peer.ID, doc *OutDoc, recipient string) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := s.cfg.Dialer.NewStream(ctx, pid, transport.DeliverProtocol, transport.ServiceDeliver)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer func() {
		if err != nil {
			_ = st.Reset()
			return
		}
		_ = st.Close()
	}()
	context.AfterFunc(ctx, func() { _ = st.Reset() })
	_ = st.SetDeadline(s.cfg.Now().Add(s.cfg.Idle))
	br := transport.GetReader(st)
	defer transport.PutReader(br)
	if err := writeJSON(st, envelope.FrameRequest, offer{Kind: kindDocument, Recipient: recipient, Document: &doc.Signed}); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := s.fault(FaultPushOffered); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	a, err := readAnswer(br)
	if err != nil {
		return err
	}
	if a.Complete {
		return s.checkStored(doc, recipient, pid, a)
	}
	if a.Offset > doc.Meta.Size {
		return fmt.Errorf("%w: receiver holds %d of %d bytes", envelope.ErrMalformed, a.Offset, doc.Meta.Size)
	}
	if err := s.sendContent(st, doc, recipient, a.Offset); err != nil {
		return err
	}
	if err := s.fault(FaultPushSent); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	_ = st.SetDeadline(s.cfg.Now().Add(s.cfg.Idle + time.Duration(doc.Meta.Size>>20)*time.Second/8))
	if a, err = readAnswer(br); err != nil {
		return err
	}
	if !a.Complete {
		return fmt.Errorf("%w: receiver did not confirm the content", envelope.ErrMalformed)
	}
	return s.checkStored(doc, recipient, pid, a)
}

// sendContent writes the content from off as chunk frames and the end
// frame.
func (s *Service) sendContent(st network.Stream, doc *OutDoc, recipient string, off int64) error {
	r, err := openContent(s.store.outPath(doc.Meta.ID), s.store.key)
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		return err
	}
	res, err := transport.Reserve(st, 2*ChunkSize)
	if err != nil {
		return err
	}
	defer res.Release()
	bw := bufio.NewWriterSize(st, ChunkSize+16)
	buf := make([]byte, ChunkSize)
	for i := int(off / ChunkSize); ; i++ {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := s.sendChunk(st, bw, doc, recipient, i, buf[:n]); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if err := envelope.WriteFrame(bw, envelope.FrameBodyEnd, nil); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

func (s *Service) sendChunk(st network.Stream, bw *bufio.Writer, doc *OutDoc, recipient string, i int, p []byte) error {
	if s.cfg.SendFault != nil {
		if err := s.cfg.SendFault(doc.Meta.ID, i); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	if err := s.fault(FaultPushChunk); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if i%cancelCheck == cancelCheck-1 {
		if cur, err := s.store.Out(doc.Meta.ID); err == nil {
			if r := cur.recipient(recipient); r != nil && r.State == Cancelled {
				return fmt.Errorf("%w: cancelled", ErrState)
			}
		}
	}
	_ = st.SetDeadline(s.cfg.Now().Add(s.cfg.Idle))
	// One write per chunk frame (header and payload together).
	if err := envelope.WriteFrame(bw, envelope.FrameBodyChunk, p); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}
