package msglog

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/internal/wire"
	"github.com/dxl-network/dxl/node/envelope"
)

// RecordPrefix is the domain-separation prefix of the record hash.
const RecordPrefix = "DXL-MSGLOG-RECORD-v1\x00"

// Roles of the logging node in an exchange: a call's two sides, and a
// document delivery's (delivery.go).
const (
	RoleConsumer  = "consumer"
	RoleProvider  = "provider"
	RoleSender    = "sender"
	RoleRecipient = "recipient"
)

// Field limits checked by Append.
const (
	MaxRequestID = 64
	MaxField     = 1024 // client, service, peers, error code
)

// Record is one exchange as logged by one node (doc.go, "Record").
type Record struct {
	Seq          uint64    `json:"seq"`                  // assigned by Append, from 1
	Time         time.Time `json:"time"`                 // when logged, UTC, set by Append from the clock
	Role         string    `json:"role"`                 // "consumer" or "provider"; "sender" or "recipient" (delivery.go)
	Event        string    `json:"event,omitempty"`      // delivery records only: "submitted", "stored" or "acknowledged"
	RequestID    string    `json:"request_id"`           // UUID text
	Client       string    `json:"client"`               // subsystem ID
	Service      string    `json:"service"`              // service ID
	ConsumerPeer string    `json:"consumer_peer"`        // libp2p peer ID of the consumer node
	ProviderPeer string    `json:"provider_peer"`        // libp2p peer ID of the provider node
	Request      []byte    `json:"request"`              // complete request envelope (node/envelope wire form)
	Response     []byte    `json:"response,omitempty"`   // complete response envelope; empty if the exchange failed before one
	Status       int       `json:"status"`               // HTTP status of the response envelope, 0 if none
	ErrorCode    string    `json:"error_code,omitempty"` // exchange-layer error code, if any
	Archived     bool      `json:"archived,omitempty"`   // bodies archived (encrypted) for this record
	PrevHash     []byte    `json:"prev_hash"`            // 32 bytes: Hash of the previous record (zeros, or the prune anchor)
	Hash         []byte    `json:"hash"`                 // SHA-256(RecordPrefix || encoding of every field above)
}

// encode appends the hash preimage of r: RecordPrefix (a call's) or
// DeliveryPrefix (a delivery's, which alone encodes Event after Role) and
// every field but Hash, in declaration order (doc.go, "Record").
func (r *Record) encode(b []byte) []byte {
	delivery := r.IsDelivery()
	if delivery {
		b = append(b, DeliveryPrefix...)
	} else {
		b = append(b, RecordPrefix...)
	}
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	b = putBytes(b, []byte(r.Role))
	if delivery {
		b = putBytes(b, []byte(r.Event))
	}
	for _, s := range []string{r.RequestID, r.Client, r.Service, r.ConsumerPeer, r.ProviderPeer} {
		b = putBytes(b, []byte(s))
	}
	b = putBytes(b, r.Request)
	b = putBytes(b, r.Response)
	b = binary.BigEndian.AppendUint64(b, uint64(int64(r.Status)))
	b = putBytes(b, []byte(r.ErrorCode))
	if r.Archived {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return putBytes(b, r.PrevHash)
}

func putBytes(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// ComputeHash returns the hash r.Hash must hold.
func (r *Record) ComputeHash() []byte {
	s := sha256.Sum256(r.encode(make([]byte, 0, 256+len(r.Request)+len(r.Response))))
	return s[:]
}

// canonicalTime reports whether t is UTC and survives the Unix-nanosecond
// encoding, so that no two times share one encoding.
func canonicalTime(t time.Time) bool {
	return t.Location() == time.UTC && t.Equal(time.Unix(0, t.UnixNano()))
}

// validate checks the fields a caller of Append supplies.
func (r *Record) validate() error {
	if err := r.checkKind(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(r.RequestID) == 0 || len(r.RequestID) > MaxRequestID {
		return fmt.Errorf("%w: request ID of %d bytes", ErrInvalid, len(r.RequestID))
	}
	for i := 0; i < len(r.RequestID); i++ {
		if c := r.RequestID[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%w: request ID has byte 0x%02x", ErrInvalid, c)
		}
	}
	for _, f := range []struct{ name, v string }{{"client", r.Client}, {"service", r.Service},
		{"consumer peer", r.ConsumerPeer}, {"provider peer", r.ProviderPeer}, {"error code", r.ErrorCode}} {
		if len(f.v) > MaxField {
			return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, f.name, MaxField)
		}
	}
	if len(r.Request) == 0 || len(r.Request) > envelope.MaxEnvelope || len(r.Response) > envelope.MaxEnvelope {
		return fmt.Errorf("%w: envelopes must be 1..%d bytes (request %d, response %d)", ErrInvalid,
			envelope.MaxEnvelope, len(r.Request), len(r.Response))
	}
	if r.Status < 0 || r.Status > 999 {
		return fmt.Errorf("%w: status %d", ErrInvalid, r.Status)
	}
	return nil
}

// Stored form: the hash preimage followed by the 32-byte hash, or, with
// a SealKey, SealedPrefix || nonce(12) || AES-256-GCM(preimage) || hash,
// the additional data being the seq key and the hash.

// SealedPrefix starts the stored form of a sealed record.
const SealedPrefix = "DXL-MSGLOG-SEALED-v1\x00"

// storeRecord is r's stored form.
func (l *Log) storeRecord(r *Record) []byte {
	if l.sealer == nil {
		return marshalRecord(r)
	}
	plain := r.encode(make([]byte, 0, 256+len(r.Request)+len(r.Response)))
	ns := l.sealer.NonceSize()
	out := make([]byte, len(SealedPrefix)+ns, len(SealedPrefix)+ns+len(plain)+l.sealer.Overhead()+sha256.Size)
	copy(out, SealedPrefix)
	nonce := out[len(SealedPrefix):]
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	out = l.sealer.Seal(out, nonce, plain, sealAD(seqKey(r.Seq), r.Hash))
	return append(out, r.Hash...)
}

// loadRecord decodes the stored form v under key k, sealed or clear, its
// envelopes whole again (expandEnvelopes).
func (l *Log) loadRecord(tx *bolt.Tx, k, v []byte) (*Record, error) {
	r, err := l.openRecord(k, v)
	if err != nil {
		return nil, err
	}
	return r, expandEnvelopes(tx.Bucket(bucketCerts), r, k)
}

// compactEnvelopes is r with its envelopes in compact form (without the
// signer certificate, envelope.Compact), the certificates kept in certs:
// a member's certificate is stored once, not in every record. The hash
// stays the record's, computed over the whole envelopes.
func compactEnvelopes(certs *bolt.Bucket, r *Record) (*Record, error) {
	c := *r
	for _, e := range []*[]byte{&c.Request, &c.Response} {
		if len(*e) == 0 {
			continue
		}
		compact, cert, h, err := envelope.Compact(*e)
		if err != nil {
			continue // not a well-formed envelope: stored as it is
		}
		if certs.Get(h[:]) == nil {
			if err := certs.Put(h[:], cert); err != nil {
				return nil, err
			}
		}
		*e = compact
	}
	return &c, nil
}

// expandEnvelopes puts the certificates back into r's compact envelopes.
func expandEnvelopes(certs *bolt.Bucket, r *Record, k []byte) error {
	for _, e := range []*[]byte{&r.Request, &r.Response} {
		h, ok := envelope.CompactCertHash(*e)
		if !ok {
			continue
		}
		cert := certs.Get(h[:])
		if cert == nil {
			return fmt.Errorf("%w: record %x: signer certificate %x missing", ErrCorrupt, k, h[:8])
		}
		full, err := envelope.Expand(*e, cert)
		if err != nil {
			return fmt.Errorf("%w: record %x: %v", ErrCorrupt, k, err)
		}
		*e = full
	}
	return nil
}

// openRecord decodes the stored form v under key k, sealed or clear.
func (l *Log) openRecord(k, v []byte) (*Record, error) {
	if !bytes.HasPrefix(v, []byte(SealedPrefix)) {
		return unmarshalRecord(v)
	}
	if l.sealer == nil {
		return nil, fmt.Errorf("%w: record %x is sealed and the log has no seal key", ErrDecrypt, k)
	}
	ns := l.sealer.NonceSize()
	body := v[len(SealedPrefix):]
	if len(body) < ns+l.sealer.Overhead()+sha256.Size {
		return nil, fmt.Errorf("%w: sealed record %x", ErrCorrupt, k)
	}
	hash := body[len(body)-sha256.Size:]
	plain, err := l.sealer.Open(nil, body[:ns], body[ns:len(body)-sha256.Size], sealAD(k, hash))
	if err != nil {
		return nil, fmt.Errorf("%w: record %x: %v", ErrDecrypt, k, err)
	}
	return unmarshalRecord(append(plain, hash...))
}

func sealAD(k, hash []byte) []byte { return append(append([]byte(nil), k...), hash...) }

func marshalRecord(r *Record) []byte {
	b := r.encode(make([]byte, 0, 256+len(r.Request)+len(r.Response)))
	return append(b, r.Hash...)
}

// unmarshalRecord decodes a stored record; the slices are copies.
func unmarshalRecord(v []byte) (*Record, error) {
	prefix := RecordPrefix
	if bytes.HasPrefix(v, []byte(DeliveryPrefix)) {
		prefix = DeliveryPrefix
	}
	if len(v) < len(prefix)+sha256.Size || string(v[:len(prefix)]) != prefix {
		return nil, fmt.Errorf("%w: record", ErrCorrupt)
	}
	d := wire.NewDecoder(v[len(prefix) : len(v)-sha256.Size])
	r := &Record{Seq: d.U64(), Time: time.Unix(0, int64(d.U64())).UTC()}
	r.Role = string(d.Blob32())
	if prefix == DeliveryPrefix {
		r.Event = string(d.Blob32())
	}
	if r.IsDelivery() != (prefix == DeliveryPrefix) {
		return nil, fmt.Errorf("%w: record of role %.16q under the other kind's prefix", ErrCorrupt, r.Role)
	}
	r.RequestID, r.Client = string(d.Blob32()), string(d.Blob32())
	r.Service, r.ConsumerPeer, r.ProviderPeer = string(d.Blob32()), string(d.Blob32()), string(d.Blob32())
	r.Request = clone(d.Blob32())
	r.Response = clone(d.Blob32())
	r.Status = int(int64(d.U64()))
	r.ErrorCode = string(d.Blob32())
	if a := d.Bytes(1); a != nil {
		r.Archived = a[0] == 1
	}
	r.PrevHash = clone(d.Blob32())
	if !d.Done() {
		return nil, fmt.Errorf("%w: record", ErrCorrupt)
	}
	r.Hash = clone(v[len(v)-sha256.Size:])
	return r, nil
}

// clone copies b, keeping nil and empty apart as bytes.Clone does not
// for the empty case (an empty response stays nil, as Append leaves it).
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// getRecord reads record seq.
func (l *Log) getRecord(tx *bolt.Tx, seq uint64) (*Record, error) {
	k := seqKey(seq)
	v := tx.Bucket(bucketRecords).Get(k)
	if v == nil {
		return nil, fmt.Errorf("%w: record %d", ErrNotFound, seq)
	}
	return l.loadRecord(tx, k, v)
}
