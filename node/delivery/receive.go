package delivery

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/transport"
)

// HandleStream serves /dxl/deliver/1.0.0: a document offered to one of
// this member's subsystems, or a receipt for a document this node sent.
func (s *Service) HandleStream(st network.Stream) {
	_ = st.SetDeadline(s.cfg.Now().Add(s.cfg.Idle))
	br := transport.GetReader(st)
	defer transport.PutReader(br)
	err := s.serve(st, br)
	if err != nil {
		s.log.Info("delivery refused", "peer", st.Conn().RemotePeer().String(), "error_code", Codes.Code(err), "error", err)
		_ = transport.WriteError(st, errorFrame(err))
		_ = st.CloseWrite()
		_ = st.Close()
		return
	}
	_ = st.Close()
}

func (s *Service) serve(st network.Stream, br *bufio.Reader) error {
	v, err := s.cfg.Views.Current()
	if err != nil {
		return err
	}
	nd, ok := v.PeerAllowed(st.Conn().RemotePeer())
	if !ok {
		return exchange.ErrNotMember
	}
	f, err := envelope.ReadFrame(br)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadMeta, err)
	}
	if f.Type != envelope.FrameRequest {
		return fmt.Errorf("%w: first frame is type %d", ErrBadMeta, f.Type)
	}
	o, err := decodeOffer(f.Payload)
	if err != nil {
		return err
	}
	if o.Kind == kindReceipt {
		return s.receiveReceipt(st, v, nd.Member, o.Receipt)
	}
	return s.receiveDocument(st, br, v, nd.Member, o.Recipient, o.Document)
}

// verifyDocument checks the signed metadata: by the member of the
// sending node, for a recipient of this node's member.
func (s *Service) verifyDocument(v *confview.View, peerMember, recipient string, sd *Signed) (*Meta, error) {
	info, err := envelope.VerifyDetached(v.Certs(), v.Doc().IsRevoked, sd.Cert, DocumentPrefix, sd.Body, sd.Sig, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	m, err := DecodeMeta(sd.Body)
	if err != nil {
		return nil, err
	}
	if info.Member.String() != peerMember || memberOf(m.Sender) != peerMember {
		return nil, fmt.Errorf("%w: signed by %s for sender %s, sent by a node of %s", ErrNotSender, info.Member, m.Sender, peerMember)
	}
	if !slices.Contains(m.Recipients, recipient) || memberOf(recipient) != s.cfg.Member.String() {
		return nil, fmt.Errorf("%w: %s is not a recipient of the document at this member", ErrRecipient, recipient)
	}
	if err := checkRecipient(v, recipient, m.DataType); err != nil {
		return nil, err
	}
	if m.Size > s.cfg.MaxSize {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrTooLarge, m.Size, s.cfg.MaxSize)
	}
	if !m.Expires.IsZero() && !s.cfg.Now().Before(m.Expires) {
		return nil, fmt.Errorf("%w: expired at %s", ErrState, m.Expires)
	}
	return m, nil
}

// receiveDocument stores an offered document in the inbox, resuming from
// the content already held, once.
func (s *Service) receiveDocument(st network.Stream, br *bufio.Reader, v *confview.View, peerMember, recipient string, sd *Signed) error {
	m, err := s.verifyDocument(v, peerMember, recipient, sd)
	if err != nil {
		return err
	}
	key := recipient + "\x00" + m.ID
	if !s.lock(key) {
		return fmt.Errorf("%w: a transfer of %s is in progress", ErrUnavailable, m.ID)
	}
	defer s.unlock(key)
	complete, held := false, (*InDoc)(nil)
	fresh := &InDoc{Meta: *m, Signed: *sd, Recipient: recipient, State: Receiving, SenderNode: st.Conn().RemotePeer().String()}
	_, err = s.store.UpdateIn(recipient, m.ID, func(old *InDoc) (*InDoc, error) {
		complete, held = false, nil // run again after a group's rollback
		if old != nil {
			if old.Meta.Sender != m.Sender || old.Meta.SHA256 != m.SHA256 || old.Meta.Size != m.Size {
				return nil, fmt.Errorf("%w: %s holds another document", ErrIDReused, m.ID)
			}
			complete, held = old.State != Receiving, old
			return nil, nil
		}
		if m.Size <= ChunkSize { // one chunk: stored whole once it is on disk (accept)
			return nil, nil
		}
		return fresh, nil
	})
	if err != nil {
		return err
	}
	if complete { // a duplicate: already stored
		return s.writeStored(st, held)
	}
	return s.receiveContent(st, br, fresh)
}

// receiveContent takes the content from the offset held on disk, checks
// it against the signed hash and moves the document to waiting.
func (s *Service) receiveContent(st network.Stream, br *bufio.Reader, fresh *InDoc) error {
	m, recipient := &fresh.Meta, fresh.Recipient
	path := s.store.inPath(recipient, m.ID)
	w, held, err := resumeContent(path, s.store.key)
	if err != nil || held > m.Size {
		if w != nil {
			w.Abort()
		}
		if w, err = createContent(path, s.store.key); err != nil {
			return err
		}
		held = 0
	}
	if err := writeJSON(st, envelope.FrameResponse, answer{Offset: held}); err != nil {
		w.Abort()
		return err
	}
	res, err := transport.Reserve(st, 2*ChunkSize)
	if err != nil {
		w.Abort()
		return err
	}
	defer res.Release()
	n, err := io.CopyBuffer(w, &idleReader{r: envelope.NewBodyReader(br, m.Size-held), s: s, st: st}, make([]byte, ChunkSize))
	if err == nil && held+n != m.Size {
		err = fmt.Errorf("%w: %d of %d bytes", ErrBadChunk, held+n, m.Size)
	}
	if err != nil {
		_ = w.Sync() // the whole chunks so far: the next offer resumes after them
		w.Abort()
		if errors.Is(err, envelope.ErrTooLarge) {
			err = fmt.Errorf("%w: more content than signed", ErrBadChunk)
		}
		return err
	}
	if err := w.Finish(); err != nil {
		return err
	}
	if err := s.fault(FaultRecvFinished); err != nil {
		return err
	}
	return s.accept(st, fresh, path)
}

// accept checks the stored content against the signed hash and moves the
// document to waiting (a one-chunk document has no record before: fresh
// is stored).
func (s *Service) accept(st network.Stream, fresh *InDoc, path string) error {
	m, recipient := &fresh.Meta, fresh.Recipient
	sum, size, err := hashContent(path, s.store.key)
	if err != nil {
		return err
	}
	if hex.EncodeToString(sum[:]) != m.SHA256 || size != m.Size {
		_ = os.Remove(path) // start again from zero
		return fmt.Errorf("%w: %s", ErrBadChunk, m.ID)
	}
	now := s.cfg.Now()
	d, err := s.store.StoreIn(recipient, m.ID, func(old *InDoc) (*InDoc, error) {
		if old == nil {
			c := *fresh
			old = &c
		}
		old.State, old.Received = Waiting, now
		return old, nil
	})
	if err != nil {
		return err
	}
	s.log.Info("document received", "document_id", m.ID, "recipient", recipient, "sender", m.Sender, "size", m.Size)
	s.metrics.count("recipient", "received", 1)
	s.publish(recipient, Event{Type: "document", ID: m.ID, Sender: m.Sender, Recipient: recipient,
		Title: d.Meta.Title, DataType: d.Meta.DataType, Priority: d.Meta.Priority, Size: d.Meta.Size})
	if err := s.fault(FaultRecvStored); err != nil {
		return err
	}
	return s.writeStored(st, d)
}

// idleReader moves the stream's deadline on with every read.
type idleReader struct {
	r  io.Reader
	s  *Service
	st network.Stream
}

func (r *idleReader) Read(p []byte) (int, error) {
	_ = r.st.SetDeadline(r.s.cfg.Now().Add(r.s.cfg.Idle))
	if err := r.s.fault(FaultRecvRead); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (s *Service) lock(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[key] {
		return false
	}
	s.busy[key] = true
	return true
}

func (s *Service) unlock(key string) {
	s.mu.Lock()
	delete(s.busy, key)
	s.mu.Unlock()
}
