package delivery

import (
	"fmt"
	"os"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// batcher group-commits the store's writes: the transitions of many
// documents that arrive while a commit is on disk share the next bbolt
// transaction, so one fsync makes them all durable. A caller returns only
// once its change is durable (or refused), as with db.Update.
//
// There is no wait for company: a write that finds no commit running
// starts one at once, alone; those that come meanwhile queue and go
// together in the next, led by the first of them. Unlike db.Batch there
// is no timer, so a lone sender pays no delay.
//
// A function is run again when its group is rolled back because another
// in it failed, so it must read what it needs from the transaction and
// only assign (not accumulate) what it hands out.
type batcher struct {
	db  *bolt.DB
	dir string // synced before a commit that created files in it

	mu      sync.Mutex
	pending []*batchCall
	leading bool // a group is being committed; the next leader is woken after it
}

type batchCall struct {
	fn      func(*bolt.Tx) error
	syncDir bool // fn made a file in dir that the record points at
	err     error
	wake    chan bool // true: lead the next group; false: done
}

// update runs fn in a write transaction shared with the writes that
// queue meanwhile, and returns once it is committed and synced. syncDir
// asks that the content directory be synced first (fn renamed or
// created a file there the record points at).
func (b *batcher) update(syncDir bool, fn func(*bolt.Tx) error) error {
	c := &batchCall{fn: fn, syncDir: syncDir, wake: make(chan bool, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	if !lead && !<-c.wake {
		return c.err
	}
	b.mu.Lock()
	group := b.pending
	b.pending = nil
	b.mu.Unlock()
	b.commit(group)
	b.mu.Lock()
	if len(b.pending) > 0 {
		b.pending[0].wake <- true
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	return c.err
}

// commit commits group in one transaction. A function that fails is
// taken out and run alone (its refusal is its own answer); the rest are
// committed without it.
func (b *batcher) commit(group []*batchCall) {
	for len(group) > 0 {
		failed := -1
		err := b.db.Update(func(tx *bolt.Tx) error {
			dir := false
			for i, c := range group {
				if err := c.fn(tx); err != nil {
					failed = i
					return err
				}
				dir = dir || c.syncDir
			}
			if dir {
				return syncDir(b.dir)
			}
			return nil
		})
		if failed < 0 {
			for _, c := range group {
				b.done(c, err)
			}
			return
		}
		c := group[failed]
		group = slices.Delete(group, failed, failed+1)
		b.done(c, b.solo(c))
	}
}

// solo commits c in a transaction of its own.
func (b *batcher) solo(c *batchCall) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		if err := c.fn(tx); err != nil {
			return err
		}
		if c.syncDir {
			return syncDir(b.dir)
		}
		return nil
	})
}

func (b *batcher) done(c *batchCall, err error) {
	c.err = err
	select {
	case c.wake <- false:
	default: // the leader itself: not waiting
	}
}

// syncDir makes the directory's entries (files created or renamed in it)
// durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStorage, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%w: syncing %s: %v", ErrStorage, dir, err)
	}
	return nil
}
