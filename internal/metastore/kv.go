package metastore

import (
	"context"
	"errors"
	"fmt"
)

// KV is the metadata contract every backend implements: the embedded bbolt
// Store (single node) and etcdstore.Store (etcd, the clustered mode). It is
// the contract of etcd's KV API reduced to what Rheos uses:
//
//   - Every successful Commit that changes something gets a new revision,
//     greater than every earlier one; every key remembers the revision that
//     last wrote it (its ModRevision). Revisions are comparable only within
//     one backend; they need not be consecutive (etcd's count the writes of
//     every user of the cluster).
//   - Changes are made only by Commit, a compare-and-swap transaction: its
//     puts and deletes apply atomically, as one revision, only if every
//     compared key still has the expected revision (0 = must not exist).
//   - Watch delivers the committed changes under a prefix in revision order,
//     each revision's changes together, from a given revision on; a watcher
//     asking for revisions the backend no longer remembers gets ErrCompacted.
//
// Keys are opaque strings, ordered bytewise; values opaque bytes. Callers
// must not modify values they passed to Commit or received from the store.
// Implementations are safe for concurrent use. A backend may bound the size
// of one Commit (Limits); it then refuses a larger one with ErrTooManyOps or
// ErrTooLarge, changing nothing: a transaction is never split.
//
// Services declare the subset they use (Get, Scan, Commit) as their own
// small interface; KV is what server hands them.
type KV interface {
	// Get returns the value and ModRevision of key, or (nil, 0, nil) if
	// the key is absent.
	Get(ctx context.Context, key string) (value []byte, rev uint64, err error)
	// Scan calls fn for every key with the prefix, in key order, as of one
	// revision. fn's error stops the scan and is returned.
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte, rev uint64) error) error
	// ScanFrom is Scan starting at the first key ≥ from (a from before the
	// prefix starts at the prefix), so a listing resumes where its previous
	// page ended.
	ScanFrom(ctx context.Context, prefix, from string, fn func(key string, value []byte, rev uint64) error) error
	// Commit applies puts and deletes atomically if every key in compare
	// still has the given ModRevision (0: absent). ok=false, with nothing
	// changed, means a comparison failed. rev is the revision of the
	// commit when ok (a commit that changes nothing may return the current
	// revision). A key both put and deleted is deleted. Deleting an absent
	// key is not a change.
	Commit(ctx context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) (ok bool, rev uint64, err error)
	// Rev returns the store's current revision: every change with a
	// revision ≤ it is visible to a following Get or Scan. Listing, then
	// watching from Rev()+1 taken before the listing, misses no change
	// (some may be seen twice).
	Rev(ctx context.Context) (uint64, error)
	// Watch calls fn for each revision ≥ fromRev (0: after the current
	// revision) that changed keys with the prefix, in revision order, with
	// that revision's changes under the prefix in key order. It blocks
	// until ctx is done (returning ctx.Err()), fn returns an error (which
	// it returns), the store is closed (ErrClosed), or the store no longer
	// holds the changes the watcher needs next (an error wrapping
	// ErrCompacted, *CompactedError): the watcher then re-reads with Scan
	// and watches again from Rev()+1. fn runs on the caller's goroutine.
	// The embedded store buffers nothing per watcher: one too slow to keep
	// up falls out of its bounded history and gets ErrCompacted. On etcd
	// the client library queues a slow watcher's responses in memory, and
	// only a start revision older than etcd's compaction gets
	// ErrCompacted; fn should hand work off rather than block.
	Watch(ctx context.Context, prefix string, fromRev uint64, fn func(Event) error) error
}

// Event is one committed revision's changes under a watched prefix.
type Event struct {
	Rev     uint64   // the commit's revision
	Changes []Change // in key order; never empty
}

// Change is one key's change in an Event.
type Change struct {
	Key     string
	Value   []byte // the new value; nil when Deleted
	Deleted bool
}

// Sentinel errors of the KV contract. Callers branch with errors.Is.
var (
	// ErrCompacted: a Watch (or a paged Scan) needed revisions the store
	// has compacted away. Errors wrapping it are *CompactedError.
	ErrCompacted = errors.New("metastore: revision compacted")
	// ErrTooManyOps: a Commit has more comparisons, or more puts and
	// deletes, than the store's Limits.MaxOps.
	ErrTooManyOps = errors.New("metastore: too many operations in one commit")
	// ErrTooLarge: a Commit's keys and values exceed Limits.MaxTxnBytes.
	ErrTooLarge = errors.New("metastore: commit too large")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("metastore: closed")
	// ErrFenced: a fenced commit was refused because its fence is stale:
	// another owner has acquired the fence key since (CommitFenced).
	ErrFenced = errors.New("metastore: fenced out")
)

// CompactedError reports the revision a watcher asked for and the store's
// compaction point (changes at revisions ≤ Compacted are gone).
type CompactedError struct {
	Want, Compacted uint64
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("metastore: watch from revision %d: revisions up to %d compacted", e.Want, e.Compacted)
}

// Is makes errors.Is(err, ErrCompacted) true.
func (e *CompactedError) Is(target error) bool { return target == ErrCompacted }

// Limits bounds one Commit. Zero fields are unlimited.
type Limits struct {
	// MaxOps bounds the comparisons, and separately the puts plus deletes,
	// of one Commit. etcd's default (--max-txn-ops) is 128.
	MaxOps int
	// MaxTxnBytes bounds the bytes of every key (compared, put or deleted)
	// and value of one Commit. etcd refuses requests over 1.5 MiB
	// (--max-request-bytes) including their encoding; 1 MiB of payload
	// leaves room for that and is the cluster design's budget.
	MaxTxnBytes int
}

// EtcdLimits are the limits of an etcd cluster with default settings.
var EtcdLimits = Limits{MaxOps: 128, MaxTxnBytes: 1 << 20}

// Check returns an error wrapping ErrTooManyOps or ErrTooLarge when a commit
// exceeds l. keyOverhead is added to every key (a backend's key prefix).
func (l Limits) Check(compare map[string]uint64, puts map[string][]byte, deletes []string, keyOverhead int) error {
	if l.MaxOps > 0 {
		if len(compare) > l.MaxOps {
			return fmt.Errorf("%w: %d comparisons, limit %d", ErrTooManyOps, len(compare), l.MaxOps)
		}
		if n := len(puts) + len(deletes); n > l.MaxOps {
			return fmt.Errorf("%w: %d puts and deletes, limit %d", ErrTooManyOps, n, l.MaxOps)
		}
	}
	if l.MaxTxnBytes > 0 {
		n := 0
		for k := range compare {
			n += len(k) + keyOverhead
		}
		for k, v := range puts {
			n += len(k) + keyOverhead + len(v)
		}
		for _, k := range deletes {
			n += len(k) + keyOverhead
		}
		if n > l.MaxTxnBytes {
			return fmt.Errorf("%w: %d bytes of keys and values, limit %d", ErrTooLarge, n, l.MaxTxnBytes)
		}
	}
	return nil
}

var _ KV = (*Store)(nil)
