package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

var boltBucket = []byte("auth_credentials")

// BoltStore is a Store in a bbolt database, one JSON record per key ID in
// the "auth_credentials" bucket. The caller owns the *bolt.DB.
type BoltStore struct{ db *bolt.DB }

// NewBoltStore creates the bucket if needed and returns the store.
func NewBoltStore(db *bolt.DB) (*BoltStore, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil bolt database", ErrConfig)
	}
	err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: create bucket: %w", ErrStore, err)
	}
	return &BoltStore{db: db}, nil
}

var errBoltNotFound = errors.New("not found")

// Get implements Store.
func (s *BoltStore) Get(ctx context.Context, keyID string) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrStore, err)
	}
	var r Record
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(boltBucket).Get([]byte(keyID))
		if v == nil {
			return errBoltNotFound
		}
		return json.Unmarshal(v, &r)
	})
	if errors.Is(err, errBoltNotFound) {
		return Record{}, fmt.Errorf("%w: %q", ErrNotFound, keyID)
	}
	if err != nil {
		return Record{}, fmt.Errorf("%w: get: %w", ErrStore, err)
	}
	return r, nil
}

// Put implements Store.
func (s *BoltStore) Put(ctx context.Context, r Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("%w: encode: %w", ErrStore, err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(boltBucket).Put([]byte(r.KeyID), v)
	}); err != nil {
		return fmt.Errorf("%w: put: %w", ErrStore, err)
	}
	return nil
}

// Delete implements Store.
func (s *BoltStore) Delete(ctx context.Context, keyID string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(boltBucket)
		if b.Get([]byte(keyID)) == nil {
			return errBoltNotFound
		}
		return b.Delete([]byte(keyID))
	})
	if errors.Is(err, errBoltNotFound) {
		return fmt.Errorf("%w: %q", ErrNotFound, keyID)
	}
	if err != nil {
		return fmt.Errorf("%w: delete: %w", ErrStore, err)
	}
	return nil
}

// List implements Store; records come in key-ID order.
func (s *BoltStore) List(ctx context.Context) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStore, err)
	}
	var out []Record
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(boltBucket).ForEach(func(_, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("%w: list: %w", ErrStore, err)
	}
	return out, nil
}
