package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/transport"
)

// Acknowledge turns recipient's acknowledgment of document id into a
// receipt signed by this member, deletes the content (R-X8) and queues
// the receipt for the sender's node. Acknowledging again returns the
// same receipt.
func (s *Service) Acknowledge(recipient, id string) (*InDoc, error) {
	if err := s.fault(FaultAckBefore); err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	d, err := s.store.UpdateIn(recipient, id, func(old *InDoc) (*InDoc, error) {
		switch {
		case old == nil:
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		case old.State == Acked:
			return nil, nil
		case old.State != Waiting:
			return nil, fmt.Errorf("%w: %s is %s, not waiting", ErrState, id, old.State)
		}
		rc := Receipt{DocumentID: id, Sender: old.Meta.Sender, Recipient: recipient, SHA256: old.Meta.SHA256,
			Size: old.Meta.Size, Received: old.Received, Acknowledged: now.UTC(), Node: s.cfg.Self}
		body, err := json.Marshal(rc)
		if err != nil {
			return nil, err
		}
		sig, cert, err := s.cfg.Signer.SignDetached(ReceiptPrefix, body)
		if err != nil {
			return nil, err
		}
		old.State, old.Acked, old.Receipt = Acked, now, &Signed{Body: body, Cert: cert, Sig: sig}
		old.ReceiptNext = now
		return old, nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			_, err = s.store.In(recipient, id) // ErrNotYours when another subsystem's
		}
		return nil, err
	}
	if d == nil { // acknowledged before
		return s.store.In(recipient, id)
	}
	if err := s.fault(FaultAckStored); err != nil {
		return nil, err
	}
	if err := os.Remove(s.store.inPath(recipient, id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("content not deleted", "document_id", id, "error", err)
	}
	s.log.Info("document acknowledged", "document_id", id, "recipient", recipient)
	s.logAcked(d)
	s.metrics.count("recipient", "acknowledged", 1)
	s.Wake()
	return d, nil
}

// sendReceipts sends the due receipts to the senders' nodes, each on a
// worker of sem while one is free (concurrent receipts share commits).
func (s *Service) sendReceipts(ctx context.Context, wg *sync.WaitGroup, sem chan struct{}, now time.Time) {
	pending, err := s.store.PendingReceipts()
	if err != nil {
		s.log.Error("inbox not readable", "error", err)
		return
	}
	for _, d := range pending {
		if now.Before(d.ReceiptNext) || ctx.Err() != nil {
			continue
		}
		k := due{doc: d.Meta.ID, recipient: "\x00receipt\x00" + d.Recipient}
		if !s.claim(k) {
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			s.release(k)
			return // every worker busy: the rest waits for the next round
		}
		wg.Go(func() {
			defer func() { <-sem; s.release(k); s.Wake() }()
			s.receiptDue(ctx, d)
		})
	}
}

// receiptDue sends d's receipt and stores the outcome.
func (s *Service) receiptDue(ctx context.Context, d *InDoc) {
	err := s.fault(FaultAckBeforeSend)
	if err == nil {
		err = s.sendReceipt(ctx, d)
	}
	if err == nil {
		err = s.fault(FaultAckSentNotMark)
	}
	_, uerr := s.store.UpdateIn(d.Recipient, d.Meta.ID, func(old *InDoc) (*InDoc, error) {
		if old == nil {
			return nil, nil
		}
		if err == nil {
			old.ReceiptSent = true
			return old, nil
		}
		old.ReceiptTries++
		old.ReceiptNext = s.cfg.Now().Add(s.cfg.Policy.backoff(old.ReceiptTries))
		return old, nil
	})
	if uerr != nil {
		s.log.Error("inbox update failed", "document_id", d.Meta.ID, "error", uerr)
	}
	if err != nil {
		s.log.Info("receipt not delivered", "document_id", d.Meta.ID, "error", err)
	}
}

// sendReceipt offers d's receipt to the node that sent d, then to the
// sender member's other nodes.
func (s *Service) sendReceipt(ctx context.Context, d *InDoc) error {
	v, err := s.cfg.Views.Current()
	if err != nil {
		return err
	}
	member := memberOf(d.Meta.Sender)
	var order []peer.ID
	if p, err := peer.Decode(d.SenderNode); err == nil {
		order = append(order, p)
	}
	for _, p := range v.NodesOf(member) {
		if p.String() != d.SenderNode {
			order = append(order, p)
		}
	}
	last := fmt.Errorf("%w: no usable node of %s", ErrUnavailable, member)
	for _, p := range order {
		if nd, ok := v.PeerAllowed(p); !ok || nd.Member != member {
			continue
		}
		if last = s.offerReceipt(ctx, p, d.Receipt); last == nil {
			return nil
		}
	}
	return last
}

func (s *Service) offerReceipt(ctx context.Context, p peer.ID, rc *Signed) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Idle)
	defer cancel()
	st, err := s.cfg.Dialer.NewStream(ctx, p, transport.DeliverProtocol, transport.ServiceDeliver)
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
	_ = st.SetDeadline(s.cfg.Now().Add(s.cfg.Idle))
	if err := writeJSON(st, envelope.FrameRequest, offer{Kind: kindReceipt, Receipt: rc}); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	br := transport.GetReader(st)
	defer transport.PutReader(br)
	a, err := readAnswer(br)
	if err == nil && !a.Complete {
		err = fmt.Errorf("%w: receipt not confirmed", envelope.ErrMalformed)
	}
	return err
}

// receiveReceipt stores a receipt signed by a recipient member for a
// document of this node's outbox: the recipient's delivery is then
// acknowledged and, once no recipient needs it, the content deleted.
func (s *Service) receiveReceipt(st network.Stream, v *confview.View, peerMember string, sr *Signed) error {
	info, err := envelope.VerifyDetached(v.Certs(), v.Doc().IsRevoked, sr.Cert, ReceiptPrefix, sr.Body, sr.Sig, s.cfg.Now())
	if err != nil {
		return err
	}
	rc, err := DecodeReceipt(sr.Body)
	if err != nil {
		return err
	}
	if info.Member.String() != peerMember || memberOf(rc.Recipient) != peerMember {
		return fmt.Errorf("%w: receipt for %s signed by %s, sent by a node of %s", ErrBadReceipt, rc.Recipient, info.Member, peerMember)
	}
	if err := s.fault(FaultReceiptBefore); err != nil {
		return err
	}
	now := s.cfg.Now()
	fresh := false
	d, err := s.store.UpdateOut(rc.DocumentID, func(d *OutDoc) error {
		fresh = false // run again after a group's rollback
		r := d.recipient(rc.Recipient)
		if r == nil || d.Meta.Sender != rc.Sender || d.Meta.SHA256 != rc.SHA256 || d.Meta.Size != rc.Size {
			return fmt.Errorf("%w: not a recipient's receipt of %s as sent", ErrBadReceipt, rc.DocumentID)
		}
		if r.State == Acknowledged {
			return nil
		}
		fresh = true
		if r.Delivered.IsZero() {
			r.Delivered = now
		}
		r.State, r.Acked, r.Receipt, r.Reason = Acknowledged, now, sr, ""
		d.Updated = now
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("%w: no document %s was sent from this node", ErrBadReceipt, rc.DocumentID)
	}
	if err != nil {
		return err
	}
	if fresh {
		s.log.Info("receipt stored", "document_id", rc.DocumentID, "recipient", rc.Recipient)
		s.logReceipt(d, rc, sr, st.Conn().RemotePeer())
		s.metrics.count("sender", string(Acknowledged), 1)
		s.publish(d.Meta.Sender, Event{Type: "receipt", ID: rc.DocumentID, Recipient: rc.Recipient})
	}
	if err := s.fault(FaultReceiptStored); err != nil {
		return err
	}
	return writeJSON(st, envelope.FrameResponse, answer{Offset: rc.Size, Complete: true})
}
