// Package metastore owns durable metadata: a small key-value store with
// etcd-like revisions on top of bbolt. Every committed transaction gets the
// next global revision; every key remembers the revision that last wrote it
// (its ModRevision). Changes are made only through Commit, a compare-and-swap
// transaction: it applies its puts and deletes only if every compared key
// still has the expected revision (0 = must not exist). This is the seam a
// clustered backend (etcd) implements the same way.
//
// Sequence allocates unique uint64s from a counter key; LogKeys is the
// server-wide allocator of the shared record log's keys.
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
	"strings"
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
	db *bolt.DB
}

// Open opens or creates the store file meta.db in dir.
func Open(dir string) (*Store, error) {
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
	return &Store{db: db}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

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
	err = s.db.Update(func(tx *bolt.Tx) error {
		kv := tx.Bucket(bucketKV)
		for k, want := range compare {
			v := kv.Get([]byte(k))
			var have uint64
			if v != nil {
				if len(v) < 8 {
					return ErrCorrupt
				}
				have = binary.LittleEndian.Uint64(v)
			}
			if have != want {
				return nil
			}
		}
		var err error
		if rev, err = apply(tx, puts, deletes); err != nil {
			return err
		}
		ok = true
		return nil
	})
	return ok, rev, err
}

// apply writes puts and deletes inside tx as the next revision, which it
// returns.
func apply(tx *bolt.Tx, puts map[string][]byte, deletes []string) (rev uint64, err error) {
	kv, meta := tx.Bucket(bucketKV), tx.Bucket(bucketMeta)
	if r := meta.Get(keyRev); r != nil {
		rev = binary.LittleEndian.Uint64(r)
	}
	rev++
	var rb [8]byte
	binary.LittleEndian.PutUint64(rb[:], rev)
	if err := meta.Put(keyRev, rb[:]); err != nil {
		return 0, err
	}
	for k, v := range puts {
		buf := make([]byte, 8+len(v))
		copy(buf, rb[:])
		copy(buf[8:], v)
		if err := kv.Put([]byte(k), buf); err != nil {
			return 0, err
		}
	}
	for _, k := range deletes {
		if err := kv.Delete([]byte(k)); err != nil {
			return 0, err
		}
	}
	return rev, nil
}
