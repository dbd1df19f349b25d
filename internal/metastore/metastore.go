// Package metastore owns durable metadata: a small key-value store with
// etcd-like revisions on top of bbolt. Every committed transaction gets the
// next global revision; every key remembers the revision that last wrote it
// (its ModRevision). Changes are made only through Commit, a compare-and-swap
// transaction: it applies its puts and deletes only if every compared key
// still has the expected revision (0 = must not exist). This is the seam a
// clustered backend (etcd) implements the same way.
//
// Store implements KV, the contract shared with the etcd backend
// (etcdstore): besides Get/Scan/Commit it keeps a bounded in-memory history
// of committed changes for Watch (Options.WatchHistory); the history is not
// persisted, so a watcher can resume only from revisions committed since
// Open.
//
// Sequence allocates unique uint64s from a counter key; LogKeys is the
// server-wide allocator of the shared record log's keys. Acquire and
// CommitFenced make fence tokens from revisions.
//
// Lock order: Store.wmu (serializes writers, held across the bbolt write
// transaction and the publication of its changes), then history.mu.
//
// The package knows nothing of streams or AWS: keys and values are opaque.
// bbolt fsyncs every committed transaction before Commit returns.
package metastore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrCorrupt reports a stored value that cannot be decoded.
var ErrCorrupt = errors.New("metastore: corrupt value")

var (
	bucketKV   = []byte("kv")
	bucketMeta = []byte("meta")
	keyRev     = []byte("revision")
)

// Store is a durable revisioned key-value store. It is safe for concurrent use.
type Store struct {
	db     *bolt.DB
	limits Limits
	wmu    sync.Mutex // serializes commits, so changes publish in revision order
	hist   history
}

// Options configures OpenWith.
type Options struct {
	// WatchHistory bounds the committed revisions kept for watchers.
	// Default 4096.
	WatchHistory int
	// WatchHistoryBytes bounds the bytes of keys and values kept for
	// watchers. Default 64 MiB.
	WatchHistoryBytes int
	// Limits bounds one Commit. Default: none (the single-node store takes
	// any size); tests of code meant to run on etcd set EtcdLimits.
	Limits Limits
}

// Open opens or creates the store file meta.db in dir with default Options.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith opens or creates the store file meta.db in dir.
func OpenWith(dir string, opts Options) (*Store, error) {
	if opts.WatchHistory <= 0 {
		opts.WatchHistory = 4096
	}
	if opts.WatchHistoryBytes <= 0 {
		opts.WatchHistoryBytes = 64 << 20
	}
	db, err := bolt.Open(filepath.Join(dir, "meta.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("metastore: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketKV); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(bucketMeta)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("metastore: %w", err)
	}
	s := &Store{db: db, limits: opts.Limits}
	rev, err := s.Rev(context.Background())
	if err != nil {
		db.Close()
		return nil, err
	}
	s.hist.init(rev, opts.WatchHistory, opts.WatchHistoryBytes)
	return s, nil
}

// Close closes the store; watchers return ErrClosed.
func (s *Store) Close() error {
	s.hist.close()
	return s.db.Close()
}

// Limits returns the bounds of one Commit (Options.Limits).
func (s *Store) Limits() Limits { return s.limits }

// Rev returns the store's current revision.
func (s *Store) Rev(context.Context) (uint64, error) {
	var rev uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if r := tx.Bucket(bucketMeta).Get(keyRev); r != nil {
			if len(r) != 8 {
				return ErrCorrupt
			}
			rev = binary.LittleEndian.Uint64(r)
		}
		return nil
	})
	return rev, err
}

// update runs fn in a write transaction and publishes the changes it
// reports (with the revision it wrote) to watchers once the transaction has
// committed. A revision of 0 publishes nothing.
func (s *Store) update(fn func(tx *bolt.Tx) (Event, error)) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var ev Event
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		ev, err = fn(tx)
		return err
	})
	if err == nil && ev.Rev != 0 {
		s.hist.publish(ev)
	}
	return err
}

func decode(v []byte) ([]byte, uint64, error) {
	if len(v) < 8 {
		return nil, 0, ErrCorrupt
	}
	return append([]byte(nil), v[8:]...), binary.LittleEndian.Uint64(v), nil
}

// Get returns the value and revision of key, or (nil, 0, nil) if absent.
func (s *Store) Get(_ context.Context, key string) ([]byte, uint64, error) {
	var val []byte
	var rev uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketKV).Get([]byte(key))
		if v == nil {
			return nil
		}
		var err error
		val, rev, err = decode(v)
		return err
	})
	return val, rev, err
}

// Scan calls fn for every key with the prefix, in key order.
func (s *Store) Scan(ctx context.Context, prefix string, fn func(key string, value []byte, rev uint64) error) error {
	return s.ScanFrom(ctx, prefix, prefix, fn)
}

// ScanFrom calls fn for every key with the prefix that sorts at or after
// from, in key order (byte order): a listing resumes where its previous page
// ended without walking the keys before it. A from before the prefix starts
// at the prefix. fn's error stops the scan and is returned.
func (s *Store) ScanFrom(_ context.Context, prefix, from string, fn func(key string, value []byte, rev uint64) error) error {
	if from < prefix {
		from = prefix
	}
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketKV).Cursor()
		for k, v := c.Seek([]byte(from)); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
			val, rev, err := decode(v)
			if err != nil {
				return err
			}
			if err := fn(string(k), val, rev); err != nil {
				return err
			}
		}
		return nil
	})
}

// Commit applies puts and deletes atomically if every key in compare still
// has the given revision (0: the key must not exist). It returns ok=false,
// changing nothing, when a comparison fails. The new revision is returned.
func (s *Store) Commit(_ context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) (ok bool, rev uint64, err error) {
	if err := s.limits.Check(compare, puts, deletes, 0); err != nil {
		return false, 0, err
	}
	err = s.update(func(tx *bolt.Tx) (Event, error) {
		kv := tx.Bucket(bucketKV)
		for k, want := range compare {
			v := kv.Get([]byte(k))
			var have uint64
			if v != nil {
				if len(v) < 8 {
					return Event{}, ErrCorrupt
				}
				have = binary.LittleEndian.Uint64(v)
			}
			if have != want {
				return Event{}, nil
			}
		}
		ev, err := apply(tx, puts, deletes)
		if err != nil {
			return Event{}, err
		}
		rev, ok = ev.Rev, true
		return ev, nil
	})
	return ok, rev, err
}

// apply writes puts and deletes inside tx as the next revision and returns
// it with the changes made, in key order, for watchers.
func apply(tx *bolt.Tx, puts map[string][]byte, deletes []string) (ev Event, err error) {
	var rev uint64
	kv, meta := tx.Bucket(bucketKV), tx.Bucket(bucketMeta)
	if r := meta.Get(keyRev); r != nil {
		rev = binary.LittleEndian.Uint64(r)
	}
	rev++
	var rb [8]byte
	binary.LittleEndian.PutUint64(rb[:], rev)
	if err := meta.Put(keyRev, rb[:]); err != nil {
		return Event{}, err
	}
	existed := make(map[string]bool, len(deletes))
	for _, k := range deletes {
		existed[k] = kv.Get([]byte(k)) != nil
	}
	changes := make(map[string]Change, len(puts)+len(deletes))
	for k, v := range puts {
		buf := make([]byte, 8+len(v))
		copy(buf, rb[:])
		copy(buf[8:], v)
		if err := kv.Put([]byte(k), buf); err != nil {
			return Event{}, err
		}
		changes[k] = Change{Key: k, Value: buf[8:len(buf):len(buf)]}
	}
	for _, k := range deletes {
		if err := kv.Delete([]byte(k)); err != nil {
			return Event{}, err
		}
		if existed[k] {
			changes[k] = Change{Key: k, Deleted: true}
		} else {
			delete(changes, k) // put and deleted: no change; absent: none either
		}
	}
	ev = Event{Rev: rev, Changes: make([]Change, 0, len(changes))}
	for _, c := range changes {
		ev.Changes = append(ev.Changes, c)
	}
	sort.Slice(ev.Changes, func(i, j int) bool { return ev.Changes[i].Key < ev.Changes[j].Key })
	return ev, nil
}
