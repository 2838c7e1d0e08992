package msglog

import (
	"crypto/rand"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/internal/wire"
)

// seal encrypts bodies with AAD = the record hash:
// nonce(12) || AES-256-GCM(u32 len(req) || req || resp).
func (l *Log) seal(b *Bodies, recordHash []byte) []byte {
	plain := make([]byte, 0, 4+len(b.Request)+len(b.Response))
	plain = putBytes(plain, b.Request)
	plain = append(plain, b.Response...)
	out := make([]byte, l.aead.NonceSize(), l.aead.NonceSize()+len(plain)+l.aead.Overhead())
	_, _ = rand.Read(out) // crypto/rand.Read never fails
	return l.aead.Seal(out, out, plain, recordHash)
}

// Body returns the archived bodies of record seq: ErrNoArchiveKey without
// a key, ErrNotFound if none were archived, ErrDecrypt if they do not
// open (wrong key, or the record or ciphertext was altered).
func (l *Log) Body(seq uint64) (*Bodies, error) {
	if l.aead == nil {
		return nil, ErrNoArchiveKey
	}
	var out *Bodies
	err := l.view(func(tx *bolt.Tx) error {
		r, err := l.getRecord(tx, seq)
		if err != nil {
			return err
		}
		v := tx.Bucket(bucketBodies).Get(seqKey(seq))
		if v == nil {
			return fmt.Errorf("%w: no archived bodies for record %d", ErrNotFound, seq)
		}
		ns := l.aead.NonceSize()
		if len(v) < ns {
			return fmt.Errorf("%w: record %d", ErrDecrypt, seq)
		}
		plain, err := l.aead.Open(nil, v[:ns], v[ns:], r.Hash)
		if err != nil {
			return fmt.Errorf("%w: record %d", ErrDecrypt, seq)
		}
		d := wire.NewDecoder(plain)
		req := d.Blob32()
		if d.Bad() {
			return fmt.Errorf("%w: record %d bodies", ErrCorrupt, seq)
		}
		out = &Bodies{Request: clone(req), Response: clone(d.Rest())}
		return nil
	})
	return out, err
}
