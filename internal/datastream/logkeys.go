package datastream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// The default allocator's keys. They must equal metastore.LogKeySeq and
// metastore.LegacyShardKeySeq, and metaLogKeys must keep metastore.Sequence's
// protocol (the next key in decimal; legacy counters are floors, deleted by
// the first allocation), so the default and the server-wide allocator never
// hand out the same key (TestDefaultLogKeysShareMetastoreSequence).
const (
	defaultLogKeySeq = "storage/log-key-seq"
	legacyLogKeySeq  = "counters/shard-key" // where this package kept the counter before
)

// metaLogKeys is the default LogKeys: a compare-and-swap counter over the
// MetaStore, used when Config.LogKeys is nil (tests, and a server that has
// not passed the shared allocator).
type metaLogKeys struct{ meta MetaStore }

// maxAllocateAttempts bounds metaLogKeys' compare-and-swap retries.
const maxAllocateAttempts = 1000

// Allocate implements LogKeys.
func (a metaLogKeys) Allocate(ctx context.Context, n int) (uint64, error) {
	if n < 1 {
		return 0, fmt.Errorf("datastream: allocate %d log keys", n)
	}
	for range maxAllocateAttempts {
		next := uint64(1)
		cmp := map[string]uint64{}
		var deletes []string
		for i, k := range []string{defaultLogKeySeq, legacyLogKeySeq} {
			v, rev, err := a.meta.Get(ctx, k)
			if err != nil {
				return 0, err
			}
			cmp[k] = rev
			if rev == 0 {
				continue
			}
			c, err := strconv.ParseUint(string(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("datastream: log key counter %s holds %q", k, v)
			}
			next = max(next, c)
			if i > 0 {
				deletes = append(deletes, k)
			}
		}
		ok, _, err := a.meta.Commit(ctx, cmp, map[string][]byte{defaultLogKeySeq: []byte(strconv.FormatUint(next+uint64(n), 10))}, deletes)
		if err != nil {
			return 0, err
		}
		if ok {
			return next, nil
		}
	}
	return 0, errors.New("datastream: log key allocation kept losing to concurrent allocations")
}

// allocateLogKeys reserves n log keys for new shards. It refuses keys at or
// below one a stream of this service holds: an allocator that went back
// (a misconfigured key, a lost counter) would mix two shards' records.
// Called with ctl held, so no other change adds shards meanwhile.
func (s *Service) allocateLogKeys(ctx context.Context, n int) (uint64, error) {
	first, err := s.cfg.LogKeys.Allocate(ctx, n)
	if err != nil {
		return 0, &Error{Kind: KindInternal, Msg: "log key allocation failed", Err: err}
	}
	s.mu.RLock()
	var highest uint64
	for k := range s.shards {
		highest = max(highest, k)
	}
	s.mu.RUnlock()
	if first <= highest {
		return 0, &Error{Kind: KindInternal, Msg: "log key allocation failed",
			Err: fmt.Errorf("datastream: the log key allocator returned %d, at or below key %d held by a shard", first, highest)}
	}
	return first, nil
}
