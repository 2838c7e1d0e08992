package tsa

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"sync"
)

// Stamper obtains a time-stamp token for a digest (SHA-256, SHA-384 or
// SHA-512 by length). *Client implements it over HTTP; LocalStamper wraps
// an in-process Authority.
type Stamper interface {
	Stamp(ctx context.Context, digest []byte) (token []byte, err error)
}

// LocalStamper returns a Stamper that asks a directly, with a random nonce
// and certReq set, checking the reply as Client does.
func LocalStamper(a *Authority) Stamper { return localStamper{a} }

type localStamper struct{ a *Authority }

func (l localStamper) Stamp(ctx context.Context, digest []byte) ([]byte, error) {
	resp, err := exchange(ctx, digest, hashForLength(len(digest)), clientOptions{},
		func(ctx context.Context, req []byte) ([]byte, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			resp, _ := l.a.Stamp(req) // a rejection is reported by checkReply
			return resp, nil
		})
	if err != nil {
		return nil, err
	}
	return splitResponse(resp)
}

// Evidence proves that one record existed at the time in Token: the
// record's hash is leaf Proof.Index of a Merkle tree whose root Token
// time-stamps.
type Evidence struct {
	RecordHash []byte `json:"record_hash"`
	Proof      Proof  `json:"proof"`
	Root       []byte `json:"root"`
	Token      []byte `json:"token"` // DER TimeStampToken over Root (SHA-256)
}

// Batch collects record hashes and has them time-stamped together: one
// token per Seal, whatever the number of records. It is safe for
// concurrent use; records added while a Seal is in flight go to the next
// one.
type Batch struct {
	sealing sync.Mutex // one Seal at a time
	mu      sync.Mutex
	records [][]byte
}

// Add queues a record hash (any length; typically SHA-256 of the record).
func (b *Batch) Add(recordHash []byte) {
	b.mu.Lock()
	b.records = append(b.records, bytes.Clone(recordHash))
	b.mu.Unlock()
}

// Len returns the number of records waiting for Seal.
func (b *Batch) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.records)
}

// Seal builds the Merkle tree over the queued records, has s time-stamp
// its root, and returns one Evidence per record, in the order added. On
// success the sealed records leave the batch; on failure they stay for
// the next attempt.
func (b *Batch) Seal(ctx context.Context, s Stamper) ([]Evidence, error) {
	b.sealing.Lock()
	defer b.sealing.Unlock()
	b.mu.Lock()
	records := b.records[:len(b.records):len(b.records)]
	b.mu.Unlock()
	if len(records) == 0 {
		return nil, ErrEmptyBatch
	}
	leaves := make([][]byte, len(records))
	for i, r := range records {
		leaves[i] = LeafHash(r)
	}
	t := buildTree(leaves)
	root := t.root()
	token, err := s.Stamp(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("tsa: time-stamping batch of %d: %w", len(records), err)
	}
	out := make([]Evidence, len(records))
	for i, r := range records {
		out[i] = Evidence{RecordHash: r, Proof: t.proof(i), Root: root, Token: token}
	}
	b.mu.Lock()
	b.records = append([][]byte(nil), b.records[len(records):]...)
	b.mu.Unlock()
	return out, nil
}

// VerifyEvidence checks e offline: the record's inclusion under Root, then
// the token over Root with opts (whose Digest and Hash are set to Root
// and SHA-256).
func VerifyEvidence(e Evidence, opts VerifyOptions) (*Info, error) {
	if err := VerifyInclusion(LeafHash(e.RecordHash), e.Proof, e.Root); err != nil {
		return nil, err
	}
	opts.Digest, opts.Hash = e.Root, crypto.SHA256
	return Verify(e.Token, opts)
}
