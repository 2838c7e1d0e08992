package ca

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var (
	bucketCerts = []byte("certs")
	bucketMeta  = []byte("meta")
	keyCRLNum   = []byte("crl_number")
)

// Status of a certificate in the database.
const (
	StatusValid   = "valid"
	StatusRevoked = "revoked"
)

// Record is one issued certificate as the database keeps it.
type Record struct {
	Serial      string     `json:"serial"` // lower-case hex
	Profile     Profile    `json:"profile"`
	Subject     string     `json:"subject"`
	Member      string     `json:"member,omitempty"`
	PeerID      string     `json:"peer_id,omitempty"`
	NotBefore   time.Time  `json:"not_before"`
	NotAfter    time.Time  `json:"not_after"`
	IssuedAt    time.Time  `json:"issued_at"`
	Fingerprint string     `json:"sha256_fingerprint"`
	Status      string     `json:"status"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	Reason      string     `json:"revocation_reason,omitempty"`
	DER         []byte     `json:"der"`
}

type store struct{ db *bolt.DB }

func openStore(path string) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 250 * time.Millisecond})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("ca: open database: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketCerts, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("ca: init database: %w", err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

// insert adds a new record; a serial collision is an error, never an overwrite.
func (s *store) insert(r *Record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCerts)
		if b.Get([]byte(r.Serial)) != nil {
			return fmt.Errorf("ca: serial %s already in database", r.Serial)
		}
		return b.Put([]byte(r.Serial), v)
	})
}

func (s *store) get(serial string) (*Record, error) {
	var r Record
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketCerts).Get([]byte(serial))
		if v == nil {
			return fmt.Errorf("%w: %s", ErrUnknownSerial, serial)
		}
		return json.Unmarshal(v, &r)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// update applies fn to the record of serial inside one transaction.
func (s *store) update(serial string, fn func(*Record) error) (*Record, error) {
	var r Record
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCerts)
		v := b.Get([]byte(serial))
		if v == nil {
			return fmt.Errorf("%w: %s", ErrUnknownSerial, serial)
		}
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
		nv, err := json.Marshal(&r)
		if err != nil {
			return err
		}
		return b.Put([]byte(serial), nv)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func (s *store) list(filter func(*Record) bool) ([]Record, error) {
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCerts).ForEach(func(_, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if filter == nil || filter(&r) {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// nextCRLNumber increments and returns the persistent CRL number.
func (s *store) nextCRLNumber() (uint64, error) {
	var n uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if v := b.Get(keyCRLNum); len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		n++
		return b.Put(keyCRLNum, binary.BigEndian.AppendUint64(nil, n))
	})
	return n, err
}
