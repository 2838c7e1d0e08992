package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Record is a stored consumer credential. It never holds the secret, only
// its SHA-256 digest.
type Record struct {
	KeyID      string    `json:"key_id"`
	Subsystem  string    `json:"subsystem"`
	SecretHash []byte    `json:"secret_sha256"`
	Generation uint64    `json:"generation"` // bumped on every rotation
	Created    time.Time `json:"created"`
	Rotated    time.Time `json:"rotated,omitzero"`
}

// Store persists credential records by key ID. Get returns an error wrapping
// ErrNotFound for an unknown key; Delete of an unknown key is ErrNotFound too.
// Implementations must be safe for concurrent use.
type Store interface {
	Get(ctx context.Context, keyID string) (Record, error)
	Put(ctx context.Context, r Record) error
	Delete(ctx context.Context, keyID string) error
	List(ctx context.Context) ([]Record, error)
}

// MemStore is an in-memory Store, for tests and the embedded demo.
type MemStore struct {
	mu sync.RWMutex
	m  map[string]Record
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: make(map[string]Record)} }

func cloneRecord(r Record) Record {
	r.SecretHash = slices.Clone(r.SecretHash)
	return r
}

// Get implements Store.
func (s *MemStore) Get(_ context.Context, keyID string) (Record, error) {
	s.mu.RLock()
	r, ok := s.m[keyID]
	s.mu.RUnlock()
	if !ok {
		return Record{}, fmt.Errorf("%w: %q", ErrNotFound, keyID)
	}
	return cloneRecord(r), nil
}

// Put implements Store.
func (s *MemStore) Put(_ context.Context, r Record) error {
	s.mu.Lock()
	s.m[r.KeyID] = cloneRecord(r)
	s.mu.Unlock()
	return nil
}

// Delete implements Store.
func (s *MemStore) Delete(_ context.Context, keyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[keyID]; !ok {
		return fmt.Errorf("%w: %q", ErrNotFound, keyID)
	}
	delete(s.m, keyID)
	return nil
}

// List implements Store; records are sorted by key ID.
func (s *MemStore) List(_ context.Context) ([]Record, error) {
	s.mu.RLock()
	out := make([]Record, 0, len(s.m))
	for _, r := range s.m {
		out = append(out, cloneRecord(r))
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.KeyID, b.KeyID) })
	return out, nil
}
