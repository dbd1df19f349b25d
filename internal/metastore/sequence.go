package metastore

import (
	"context"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// The server-wide keys of the shared record log's key allocator.
const (
	// LogKeySeq holds the next key of the shared record log to hand out
	// (LogKeys). Every service that stores records in the log allocates
	// its keys here.
	LogKeySeq = "storage/log-key-seq"
	// LegacyShardKeySeq is where Data Streams kept the same counter before
	// the allocator was shared; LogKeys migrates it.
	LegacyShardKeySeq = "counters/shard-key"
)

// Sequence allocates uint64 values, starting at 1, from a counter kept under
// one key of a Store: a value is never handed out twice, by this process or
// any other sharing the store, before or after a crash. A value allocated by
// a caller that then fails is skipped: there are gaps, never reuse.
//
// The stored value is the next value to hand out, in decimal ASCII (part of
// the metadata format). Each Allocate reads and advances it in one write
// transaction, a new revision like any Commit: on the embedded Store one
// bbolt write transaction, on any other KV (etcd) a compare-and-swap loop of
// Get and Commit over the key and its legacy keys. A Sequence is safe for
// concurrent use; it keeps no state besides its store.
type Sequence struct {
	store  KV
	key    string
	legacy []string
}

// NewSequence returns the sequence stored under key. Values found under the
// legacy keys (decimal, the next value to hand out, as under key) are
// floors: the first Allocate that finds one starts at or above it and
// deletes it in the same commit, so an older counter is migrated atomically.
func NewSequence(store KV, key string, legacy ...string) *Sequence {
	return &Sequence{store: store, key: key, legacy: legacy}
}

// LogKeys returns the allocator of the shared record log's keys (LogKeySeq),
// migrating Data Streams' older counter (LegacyShardKeySeq).
func LogKeys(store KV) *Sequence {
	return NewSequence(store, LogKeySeq, LegacyShardKeySeq)
}

// Allocate reserves n (≥ 1) consecutive values and returns the first; they
// are durable (no later Allocate returns them) when it returns.
func (q *Sequence) Allocate(ctx context.Context, n int) (first uint64, err error) {
	if n < 1 {
		return 0, fmt.Errorf("metastore: allocate %d values from %s: need at least 1", n, q.key)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s, ok := q.store.(*Store); ok {
		return q.allocateTx(s, n)
	}
	return q.allocateCAS(ctx, n)
}

// parse decodes a counter's stored value.
func (q *Sequence) parse(k string, v []byte) (uint64, error) {
	n, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("metastore: sequence %s holds %q: %w", k, v, ErrCorrupt)
	}
	return n, nil
}

// allocateCAS reads the counter and its legacy keys and advances it in a
// Commit comparing all of them, retrying when another allocation won.
func (q *Sequence) allocateCAS(ctx context.Context, n int) (uint64, error) {
	for {
		next := uint64(1)
		compare := map[string]uint64{}
		var deletes []string
		for i, k := range append([]string{q.key}, q.legacy...) {
			v, rev, err := q.store.Get(ctx, k)
			if err != nil {
				return 0, err
			}
			compare[k] = rev
			if rev == 0 {
				continue
			}
			c, err := q.parse(k, v)
			if err != nil {
				return 0, err
			}
			next = max(next, c)
			if i > 0 {
				deletes = append(deletes, k)
			}
		}
		end := next + uint64(n)
		if end < next {
			return 0, fmt.Errorf("metastore: sequence %s exhausted", q.key)
		}
		ok, _, err := q.store.Commit(ctx, compare, map[string][]byte{q.key: []byte(strconv.FormatUint(end, 10))}, deletes)
		if err != nil {
			return 0, err
		}
		if ok {
			return next, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
}

// allocateTx reads and advances the counter in one bbolt write transaction:
// the compare-and-swap of Commit, without retries under contention.
func (q *Sequence) allocateTx(s *Store, n int) (first uint64, err error) {
	err = s.update(func(tx *bolt.Tx) (Event, error) {
		kv := tx.Bucket(bucketKV)
		next := uint64(1)
		var deletes []string
		for i, k := range append([]string{q.key}, q.legacy...) {
			raw := kv.Get([]byte(k))
			if raw == nil {
				continue
			}
			v, _, err := decode(raw)
			if err != nil {
				return Event{}, fmt.Errorf("sequence %s: %w", k, err)
			}
			c, err := q.parse(k, v)
			if err != nil {
				return Event{}, err
			}
			next = max(next, c)
			if i > 0 {
				deletes = append(deletes, k)
			}
		}
		end := next + uint64(n)
		if end < next {
			return Event{}, fmt.Errorf("metastore: sequence %s exhausted", q.key)
		}
		first = next
		return apply(tx, map[string][]byte{q.key: []byte(strconv.FormatUint(end, 10))}, deletes)
	})
	if err != nil {
		return 0, err
	}
	return first, nil
}
