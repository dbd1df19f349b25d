// Package etcdstore implements the metastore.KV contract on etcd (client
// v3): the metadata backend of the clustered mode. It owns the mapping of
// the contract onto etcd and nothing else; it does not start etcd, own the
// client's connection, or know what the keys mean.
//
// Mapping:
//
//	key k                  etcd key Prefix+k (Prefix default "rheos/")
//	revision               etcd ModRevision (global to the etcd cluster)
//	Commit(cmp, puts, del) one Txn: If(ModRevision(Prefix+k) == rev ...)
//	                       Then(Put/Delete in key order); a compared absent
//	                       key has ModRevision 0, as in the contract
//	Scan                   paged Range reads pinned to the first page's
//	                       revision (one consistent snapshot)
//	Watch                  etcd Watch with WithRev; a compacted start
//	                       revision gives metastore.CompactedError
//	fence                  metastore.Fence on any key; Claim ties one to a
//	                       lease, so a dead owner's fence goes stale when
//	                       its session expires
//
// A Commit beyond Limits (default metastore.EtcdLimits, etcd's defaults) is
// refused before it is sent, and etcd's own "too many operations" and
// "request too large" refusals map to the same sentinels: a transaction is
// never split.
package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/rheos/rheos/internal/metastore"
)

// Options configures New.
type Options struct {
	// Client is the etcd client; required. The Store does not close it.
	Client *clientv3.Client
	// Prefix is prepended to every key, so several Rheos clusters (or
	// tests) can share one etcd. Default "rheos/". Must not be empty.
	Prefix string
	// Limits bounds one Commit. Default metastore.EtcdLimits; set it to
	// match an etcd run with larger --max-txn-ops/--max-request-bytes.
	Limits metastore.Limits
	// PageSize is the number of keys one Range of a Scan reads. Default
	// 500.
	PageSize int
	// RequestTimeout bounds each etcd request (Get, one page of a Scan, a
	// Commit's Txn), so that callers see an error, which the API layers
	// report as a retryable one, rather than waiting out an etcd without
	// quorum. Default 5 s. A Commit that times out may still have been
	// applied (etcd may commit it after the client gave up).
	RequestTimeout time.Duration
}

// Store is metastore.KV on etcd. It is safe for concurrent use and holds no
// state besides its options: every call is one or more etcd requests.
type Store struct {
	c       *clientv3.Client
	prefix  string
	limits  metastore.Limits
	page    int64
	timeout time.Duration
}

var _ metastore.KV = (*Store)(nil)

// New returns a Store over opts.Client.
func New(opts Options) (*Store, error) {
	if opts.Client == nil {
		return nil, errors.New("etcdstore: no client")
	}
	if opts.Prefix == "" {
		opts.Prefix = "rheos/"
	}
	if opts.Limits == (metastore.Limits{}) {
		opts.Limits = metastore.EtcdLimits
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 500
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 5 * time.Second
	}
	return &Store{c: opts.Client, prefix: opts.Prefix, limits: opts.Limits, page: int64(opts.PageSize), timeout: opts.RequestTimeout}, nil
}

// request bounds one etcd request by RequestTimeout.
func (s *Store) request(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// Limits returns the bounds of one Commit.
func (s *Store) Limits() metastore.Limits { return s.limits }

// mapErr turns etcd's errors the contract names into its sentinels.
func mapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rpctypes.ErrTooManyOps):
		return fmt.Errorf("etcdstore: %s: %w: %w", op, metastore.ErrTooManyOps, err)
	case errors.Is(err, rpctypes.ErrRequestTooLarge):
		return fmt.Errorf("etcdstore: %s: %w: %w", op, metastore.ErrTooLarge, err)
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("etcdstore: %s: %w: %w", op, metastore.ErrCompacted, err)
	}
	return fmt.Errorf("etcdstore: %s: %w", op, err)
}

// Get implements metastore.KV.
func (s *Store) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	rctx, cancel := s.request(ctx)
	defer cancel()
	resp, err := s.c.Get(rctx, s.prefix+key)
	if err != nil {
		return nil, 0, mapErr("get", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, nil
	}
	kv := resp.Kvs[0]
	v := kv.Value
	if v == nil {
		v = []byte{}
	}
	return v, uint64(kv.ModRevision), nil
}

// Rev implements metastore.KV: the etcd cluster's current revision.
func (s *Store) Rev(ctx context.Context) (uint64, error) {
	rctx, cancel := s.request(ctx)
	defer cancel()
	resp, err := s.c.Get(rctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, mapErr("revision", err)
	}
	return uint64(resp.Header.Revision), nil
}

// Scan implements metastore.KV.
func (s *Store) Scan(ctx context.Context, prefix string, fn func(key string, value []byte, rev uint64) error) error {
	return s.ScanFrom(ctx, prefix, prefix, fn)
}

// ScanFrom implements metastore.KV: pages of PageSize keys, every page after
// the first read at the first one's revision, so the scan is one snapshot
// (an error wrapping metastore.ErrCompacted if etcd compacts it meanwhile).
func (s *Store) ScanFrom(ctx context.Context, prefix, from string, fn func(key string, value []byte, rev uint64) error) error {
	if from < prefix {
		from = prefix
	}
	end := clientv3.GetPrefixRangeEnd(s.prefix + prefix)
	start := s.prefix + from
	var atRev int64
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(s.page)}
		if atRev != 0 {
			opts = append(opts, clientv3.WithRev(atRev))
		}
		rctx, cancel := s.request(ctx)
		resp, err := s.c.Get(rctx, start, opts...)
		cancel()
		if err != nil {
			return mapErr("scan", err)
		}
		if atRev == 0 {
			atRev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			v := kv.Value
			if v == nil {
				v = []byte{}
			}
			if err := fn(strings.TrimPrefix(string(kv.Key), s.prefix), v, uint64(kv.ModRevision)); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// Commit implements metastore.KV as one etcd Txn.
func (s *Store) Commit(ctx context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string) (ok bool, rev uint64, err error) {
	if err := s.limits.Check(compare, puts, deletes, len(s.prefix)); err != nil {
		return false, 0, fmt.Errorf("etcdstore: commit: %w", err)
	}
	return s.commit(ctx, compare, puts, deletes, nil)
}

// commit sends the transaction, with extra (Claim's lease) on its puts.
func (s *Store) commit(ctx context.Context, compare map[string]uint64, puts map[string][]byte, deletes []string, putOpts []clientv3.OpOption) (bool, uint64, error) {
	cmpKeys := make([]string, 0, len(compare))
	for k := range compare {
		cmpKeys = append(cmpKeys, k)
	}
	sort.Strings(cmpKeys)
	cmps := make([]clientv3.Cmp, 0, len(cmpKeys))
	for _, k := range cmpKeys {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(s.prefix+k), "=", int64(compare[k])))
	}
	// etcd refuses a key twice in one Txn; the contract says a key put and
	// deleted is deleted, so the delete wins. Ops go in key order, which
	// is the order watchers see them in.
	del := make(map[string]bool, len(deletes))
	for _, k := range deletes {
		del[k] = true
	}
	keys := make([]string, 0, len(puts)+len(del))
	for k := range puts {
		if !del[k] {
			keys = append(keys, k)
		}
	}
	for k := range del {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ops := make([]clientv3.Op, 0, len(keys))
	for _, k := range keys {
		if del[k] {
			ops = append(ops, clientv3.OpDelete(s.prefix+k))
		} else {
			ops = append(ops, clientv3.OpPut(s.prefix+k, string(puts[k]), putOpts...))
		}
	}
	rctx, cancel := s.request(ctx)
	defer cancel()
	resp, err := s.c.Txn(rctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return false, 0, mapErr("commit", err)
	}
	if !resp.Succeeded {
		return false, 0, nil
	}
	return true, uint64(resp.Header.Revision), nil
}

// Compact compacts the etcd cluster's history below rev: reads and watches
// of older revisions fail with ErrCompacted afterwards. It acts on the whole
// etcd keyspace, not just Prefix; production leaves compaction to etcd's
// --auto-compaction settings and tests use this.
func (s *Store) Compact(ctx context.Context, rev uint64) error {
	_, err := s.c.Compact(ctx, int64(rev), clientv3.WithCompactPhysical())
	if err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return mapErr("compact", err)
	}
	return nil
}

// Watch implements metastore.KV over an etcd watch (WithRequireLeader, so a
// member cut off from its cluster ends the watch with an error rather than
// going silent).
func (s *Store) Watch(ctx context.Context, prefix string, fromRev uint64, fn func(metastore.Event) error) error {
	if fromRev == 0 {
		now, err := s.Rev(ctx)
		if err != nil {
			return err
		}
		fromRev = now + 1
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := s.c.Watch(wctx, s.prefix+prefix, clientv3.WithPrefix(), clientv3.WithRev(int64(fromRev)))
	next := fromRev
	for resp := range wch {
		if resp.CompactRevision != 0 {
			return fmt.Errorf("etcdstore: watch %s: %w", prefix, &metastore.CompactedError{Want: next, Compacted: uint64(resp.CompactRevision) - 1})
		}
		if err := resp.Err(); err != nil {
			return mapErr("watch", err)
		}
		// Events come in revision order; a revision is never split
		// across responses (fragmenting is off).
		var ev metastore.Event
		flush := func() error {
			if len(ev.Changes) == 0 {
				return nil
			}
			sort.SliceStable(ev.Changes, func(i, j int) bool { return ev.Changes[i].Key < ev.Changes[j].Key })
			next = ev.Rev + 1
			err := fn(ev)
			ev = metastore.Event{}
			return err
		}
		for _, e := range resp.Events {
			rev := uint64(e.Kv.ModRevision)
			if rev != ev.Rev {
				if err := flush(); err != nil {
					return err
				}
				ev.Rev = rev
			}
			c := metastore.Change{Key: strings.TrimPrefix(string(e.Kv.Key), s.prefix)}
			if e.Type == clientv3.EventTypeDelete {
				c.Deleted = true
			} else {
				c.Value = e.Kv.Value
				if c.Value == nil {
					c.Value = []byte{}
				}
			}
			ev.Changes = append(ev.Changes, c)
		}
		if err := flush(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("etcdstore: watch closed by the client")
}

// Claim takes key for an owner whose session is lease (an etcd lease the
// caller grants and keeps alive, e.g. with concurrency.Session): it creates
// key with value, attached to the lease, if key is absent, and returns the
// owner's fence. ok=false means another owner holds the key. When the lease
// expires or is revoked, etcd deletes the key, so the fence goes stale and
// every metastore.CommitFenced under it is refused with ErrFenced: a node
// cut off from etcd longer than its lease TTL cannot commit again, whatever
// it believes. (For a number that grows with every owner, the caller bumps
// a persistent epoch key with metastore.Acquire as well.)
func (s *Store) Claim(ctx context.Context, key string, value []byte, lease clientv3.LeaseID) (f metastore.Fence, ok bool, err error) {
	ok, rev, err := s.commit(ctx, map[string]uint64{key: 0}, map[string][]byte{key: value}, nil, []clientv3.OpOption{clientv3.WithLease(lease)})
	if err != nil || !ok {
		return metastore.Fence{}, false, err
	}
	return metastore.Fence{Key: key, Rev: rev}, true, nil
}
