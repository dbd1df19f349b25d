package metastore

import (
	"context"
	"encoding/binary"
	"fmt"
)

// Fence is an owner's token: the key that records who owns something (a
// node's epoch, a shard's owner, a session's claim) and the ModRevision of
// the commit that made this owner. Whoever acquires the key after it changes
// its revision, and a key attached to an etcd lease vanishes (revision 0)
// when the lease expires; either way the old token no longer matches, so
// revisions make fence tokens without a separate counter. Because a key's
// revision never returns to an old value, "the fence key still has Rev" is
// the same question at commit time and at any later time.
//
// Epoch is the counter Acquire stored (0 for a fence not made by Acquire):
// a number that grows with each owner, for places that need a small one
// (the record log's frames, the epoch bits of sequence numbers).
type Fence struct {
	Key   string
	Rev   uint64
	Epoch uint64
}

// Acquire takes the fence key for a new owner: it increments the epoch
// stored under key (8 bytes, big-endian: part of the metadata format, the
// format of the server's config/epoch) in a compare-and-swap loop and
// returns the new owner's Fence. Every earlier fence of the key is stale
// from then on.
func Acquire(ctx context.Context, kv KV, key string) (Fence, error) {
	for {
		v, rev, err := kv.Get(ctx, key)
		if err != nil {
			return Fence{}, err
		}
		var e uint64
		switch len(v) {
		case 0:
		case 8:
			e = binary.BigEndian.Uint64(v)
		default:
			return Fence{}, fmt.Errorf("metastore: fence %s holds %d bytes: %w", key, len(v), ErrCorrupt)
		}
		e++
		ok, nrev, err := kv.Commit(ctx, map[string]uint64{key: rev}, map[string][]byte{key: binary.BigEndian.AppendUint64(nil, e)}, nil)
		if err != nil {
			return Fence{}, err
		}
		if ok {
			return Fence{Key: key, Rev: nrev, Epoch: e}, nil
		}
		if err := ctx.Err(); err != nil {
			return Fence{}, err
		}
	}
}

// CommitFenced is Commit on behalf of the owner holding f: it also requires
// f.Key to still have f.Rev, in the same transaction. When the fence is
// stale it returns an error wrapping ErrFenced (the caller is no longer the
// owner and must stop, not retry); ok=false with a nil error is an ordinary
// comparison failure. compare may not name f.Key with another revision.
func CommitFenced(ctx context.Context, kv KV, f Fence, compare map[string]uint64, puts map[string][]byte, deletes []string) (ok bool, rev uint64, err error) {
	if f.Key == "" || f.Rev == 0 {
		return false, 0, fmt.Errorf("metastore: commit with an empty fence")
	}
	if r, dup := compare[f.Key]; dup && r != f.Rev {
		return false, 0, fmt.Errorf("metastore: commit compares fence key %s at %d, fence at %d", f.Key, r, f.Rev)
	}
	cmp := make(map[string]uint64, len(compare)+1)
	for k, r := range compare {
		cmp[k] = r
	}
	cmp[f.Key] = f.Rev
	ok, rev, err = kv.Commit(ctx, cmp, puts, deletes)
	if err != nil || ok {
		return ok, rev, err
	}
	// Which comparison failed? The fence key's revision only moves forward,
	// so if it differs now it differed then, and if it matches now it
	// matched then.
	_, have, err := kv.Get(ctx, f.Key)
	if err != nil {
		return false, 0, err
	}
	if have != f.Rev {
		return false, 0, fmt.Errorf("%w: %s is at revision %d, this owner's fence is %d", ErrFenced, f.Key, have, f.Rev)
	}
	return false, 0, nil
}
