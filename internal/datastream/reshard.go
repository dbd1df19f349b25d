package datastream

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/rheos/rheos/internal/hashkey"
)

// Resharding: SplitShard, MergeShards and UpdateShardCount close parent shards
// (their EndingSequenceNumber is the last counter they assigned) and open
// children that record their lineage (ParentShardId, AdjacentParentShardId).
// A split child has one parent covering it whole; a merge child has two
// adjacent parents it covers whole. UpdateShardCount is a sequence of such
// splits and merges (reshard_uniform.go). The change is committed at once;
// the stream then stays UPDATING for UpdateDelay, refusing other reshards as
// AWS does. Parents stay readable until retention expires; GetRecords at a
// closed parent's end returns its ChildShards and no NextShardIterator.

// reshard runs check, which returns the number of shards apply will create
// with newShard, allocates log keys for them, then runs apply on the
// stream's metadata with puts to the stream held off, so that the counters
// it reads as parents' ends are final, and commits. check and apply see the
// same m, with ctl held throughout.
func (s *Service) reshard(ctx context.Context, sc Scope, name string, check func(m *streamMeta, status string) (children int, err error), apply func(m *streamMeta, now time.Time, newShard func(r hashkey.Range, parent, adjacent string) *shardMeta) error) error {
	sc = s.scope(sc)
	s.ctl.Lock()
	defer s.ctl.Unlock()
	st, status := s.lookup(sc, name)
	if st == nil {
		return notFound(name, sc.Account)
	}
	m := cloneMeta(st.meta)
	s.settle(m)
	n, err := check(m, status)
	if err != nil {
		return err
	}
	// The keys are allocated before puts are held off; keys of a reshard
	// that then fails are never used.
	nextKey, err := s.allocateLogKeys(ctx, n)
	if err != nil {
		return err
	}
	endKey := nextKey + uint64(n)
	key := streamKey(sc, name)
	// ctl keeps st the stream's snapshot (every commit holds ctl), so
	// st.gate is the gate its puts hold.
	st.gate.Lock()
	defer st.gate.Unlock()
	now := s.now()
	newShard := func(r hashkey.Range, parent, adjacent string) *shardMeta {
		m.Shards = append(m.Shards, shardMeta{
			Index: m.NextShardIndex, Key: nextKey, Parent: parent, AdjacentParent: adjacent,
			HashStart: r.Start.String(), HashEnd: r.End.String(), CreatedMs: now.UnixMilli(),
		})
		m.NextShardIndex++
		nextKey++
		return &m.Shards[len(m.Shards)-1]
	}
	if err := apply(m, now, newShard); err != nil {
		return err
	}
	if nextKey != endKey {
		return &Error{Kind: KindInternal, Msg: "reshard created another number of shards than it allocated keys for",
			Err: fmt.Errorf("datastream: %d keys allocated, %d used", n, n-int(endKey-nextKey))}
	}
	m.Status, m.TransitionAt = StatusUpdating, now.Add(s.cfg.UpdateDelay).UnixMilli()
	_, err = s.commit(ctx, key, st.rev, m, nil, nil)
	return err
}

// closeShard marks a shard closed at its last assigned counter.
func (s *Service) closeShard(sh *shardMeta, now time.Time) {
	sh.Closed = true
	sh.EndCounter = s.log.Next(sh.Key) - 1
	sh.ClosedMs = now.UnixMilli()
}

func findShard(m *streamMeta, idx int) *shardMeta {
	for i := range m.Shards {
		if m.Shards[i].Index == idx {
			return &m.Shards[i]
		}
	}
	return nil
}

func shardRange(sh *shardMeta) hashkey.Range {
	a, _ := hashkey.Parse(sh.HashStart)
	b, _ := hashkey.Parse(sh.HashEnd)
	return hashkey.Range{Start: a, End: b}
}

func (s *Service) limitCheck(sc Scope, add int) error {
	cur, _ := s.openShards(sc)
	if cur+add > s.cfg.ShardLimit {
		return errorf(KindLimitExceeded, "This request would exceed the shard limit for the account %s in %s. Current shard count for the account: %d. Limit: %d. Number of additional shards that would have resulted from this request: %d. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.", sc.Account, sc.Region, cur, s.cfg.ShardLimit, add)
	}
	return nil
}

func alreadyClosed(id, name, account string) *Error {
	return errorf(KindInvalidArgument, "Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging or splitting.", id, name, account)
}

// SplitShard splits an open shard at newStartingHashKey into two children.
func (s *Service) SplitShard(ctx context.Context, sc Scope, name, shardToSplit, newStartingHashKey string) error {
	sc = s.scope(sc)
	idx, ok := parseShardID(shardToSplit)
	if !ok {
		return errorf(KindNotFound, "Could not find shard %s in stream %s under account %s.", shardToSplit, name, sc.Account)
	}
	var parent *shardMeta
	var at hashkey.Key
	return s.reshard(ctx, sc, name, func(m *streamMeta, status string) (int, error) {
		if status != StatusActive {
			return 0, notActive(name, sc.Account, status)
		}
		if parent = findShard(m, idx); parent == nil {
			return 0, errorf(KindNotFound, "Could not find shard %s in stream %s under account %s.", shardID(idx), name, sc.Account)
		}
		if err := s.limitCheck(sc, 1); err != nil {
			return 0, err
		}
		r := shardRange(parent)
		var err error
		at, err = hashkey.Parse(newStartingHashKey)
		if err != nil || at.Cmp(r.Start.Add(hashkey.Key{Lo: 1})) <= 0 || at.Cmp(r.End) >= 0 {
			return 0, errorf(KindInvalidArgument, "NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s is not both greater than one plus the shard's StartingHashKey %s and less than the shard's EndingHashKey %s.", newStartingHashKey, parent.id(), name, sc.Account, parent.HashStart, parent.HashEnd)
		}
		if parent.Closed {
			return 0, alreadyClosed(parent.id(), name, sc.Account)
		}
		return 2, nil
	}, func(m *streamMeta, now time.Time, newShard func(hashkey.Range, string, string) *shardMeta) error {
		parent = findShard(m, idx)
		r := shardRange(parent)
		s.closeShard(parent, now)
		pid := parent.id()
		newShard(hashkey.Range{Start: r.Start, End: at.Sub(hashkey.Key{Lo: 1})}, pid, "")
		newShard(hashkey.Range{Start: at, End: r.End}, pid, "")
		return nil
	})
}

// MergeShards merges two adjacent open shards into one child.
func (s *Service) MergeShards(ctx context.Context, sc Scope, name, shardToMerge, adjacentShardToMerge string) error {
	sc = s.scope(sc)
	var idx [2]int
	for i, id := range []string{shardToMerge, adjacentShardToMerge} {
		n, ok := parseShardID(id)
		if !ok {
			return errorf(KindNotFound, "Could not find shard %s in stream %s under account %s.", id, name, sc.Account)
		}
		idx[i] = n
	}
	return s.reshard(ctx, sc, name, func(m *streamMeta, status string) (int, error) {
		if status != StatusActive {
			return 0, notActive(name, sc.Account, status)
		}
		var sh [2]*shardMeta
		for i, n := range idx {
			if sh[i] = findShard(m, n); sh[i] == nil {
				return 0, errorf(KindNotFound, "Could not find shard %s in stream %s under account %s.", shardID(n), name, sc.Account)
			}
		}
		for _, x := range sh {
			if x.Closed {
				return 0, alreadyClosed(x.id(), name, sc.Account)
			}
		}
		// AWS merges ShardToMerge with the shard directly above it only: the
		// inverted pair is refused (recorded against AWS; issue 11).
		if !adjacent(shardRange(sh[0]), shardRange(sh[1])) {
			return 0, errorf(KindInvalidArgument, "Shards %s and %s in stream %s under account %s are not an adjacent pair of shards eligible for merging", sh[0].id(), sh[1].id(), name, sc.Account)
		}
		return 1, nil
	}, func(m *streamMeta, now time.Time, newShard func(hashkey.Range, string, string) *shardMeta) error {
		a, b := findShard(m, idx[0]), findShard(m, idx[1])
		ra, rb := shardRange(a), shardRange(b)
		union := hashkey.Range{Start: ra.Start, End: rb.End} // b lies directly above a (checked)
		s.closeShard(a, now)
		s.closeShard(b, now)
		newShard(union, a.id(), b.id())
		return nil
	})
}

// UpdateShardCount rescales the stream to target open shards of uniform hash
// ranges (UNIFORM_SCALING) as AWS does, through ordinary splits and merges
// (planUniformScaling): shards created on the way are closed in the same
// change, never receiving a record, and stay listed with their lineage. The
// limits count the call, not its steps (at most 10 in a rolling 24 hours),
// and the shard limit the open shards it leaves. It returns the open shard
// count before the change.
func (s *Service) UpdateShardCount(ctx context.Context, sc Scope, name string, target int) (current int, err error) {
	sc = s.scope(sc)
	var (
		plan scalePlan
		open []int // shard indexes of the open shards, in hash order
	)
	err = s.reshard(ctx, sc, name, func(m *streamMeta, status string) (int, error) {
		if status != StatusActive {
			return 0, notActive(name, sc.Account, status)
		}
		var ranges []hashkey.Range
		for _, o := range openByRange(m) {
			open = append(open, o.shard.Index)
			ranges = append(ranges, o.rng)
		}
		current = len(open)
		if target > 2*current {
			return 0, errorf(KindInvalidArgument, "UpdateShardCount failed for stream %s under account %s. Cannot scale a stream above double its current open shard count of %d.", name, sc.Account, current)
		}
		if target*2 < current {
			return 0, errorf(KindInvalidArgument, "UpdateShardCount failed for stream %s under account %s. Cannot scale a stream below half its current open shard count of %d.", name, sc.Account, current)
		}
		if target == current {
			return 0, errorf(KindInvalidArgument, "UpdateShardCount failed for stream %s under account %s. The stream already has %d open shards.", name, sc.Account, current)
		}
		day := s.now().Add(-24 * time.Hour).UnixMilli()
		recent := m.ScalingOps[:0:0]
		for _, t := range m.ScalingOps {
			if t > day {
				recent = append(recent, t)
			}
		}
		if len(recent) >= 10 {
			return 0, errorf(KindLimitExceeded, "UpdateShardCount failed for stream %s under account %s. Exceeded the number of UpdateShardCount operations (10) allowed in a rolling 24 hour period.", name, sc.Account)
		}
		m.ScalingOps = recent
		if err := s.limitCheck(sc, target-current); err != nil {
			return 0, err
		}
		var err error
		if plan, err = planUniformScaling(ranges, target); err != nil {
			return 0, &Error{Kind: KindInternal, Msg: "UpdateShardCount could not plan the change", Err: err}
		}
		return plan.created(), nil
	}, func(m *streamMeta, now time.Time, newShard func(hashkey.Range, string, string) *shardMeta) error {
		// Shards are found by index: newShard appends to m.Shards, so
		// pointers into it do not survive it.
		ids := make([]string, len(plan.nodes))
		index := make([]int, len(plan.nodes))
		for i, idx := range open {
			ids[i], index[i] = shardID(idx), idx
		}
		for k := plan.old; k < len(plan.nodes); k++ {
			n := plan.nodes[k]
			adj := ""
			if n.adjacent >= 0 {
				adj = ids[n.adjacent]
			}
			sh := newShard(n.r, ids[n.parent], adj)
			ids[k], index[k] = sh.id(), sh.Index
		}
		// Every shard but the final ones closes, open shards the targets
		// keep as they are excepted.
		final := make(map[int]bool, len(plan.final))
		for _, k := range plan.final {
			final[k] = true
		}
		for k := range plan.nodes {
			if !final[k] {
				s.closeShard(findShard(m, index[k]), now)
			}
		}
		m.ScalingOps = append(m.ScalingOps, now.UnixMilli())
		return nil
	})
	if err == nil {
		s.cfg.Logger.Info("stream rescaled", "stream", name, "account", sc.Account, "region", sc.Region,
			"from", current, "to", target, "splits", plan.splits, "merges", plan.merges)
	}
	return current, err
}

// openByRange returns the open shards of m in hash order.
func openByRange(m *streamMeta) []openShard {
	var out []openShard
	for i := range m.Shards {
		if sh := &m.Shards[i]; !sh.Closed {
			out = append(out, openShard{shardRange(sh), sh})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rng.Start.Cmp(out[j].rng.Start) < 0 })
	return out
}

// adjacent reports whether b starts right after a ends.
func adjacent(a, b hashkey.Range) bool {
	return a.End != hashkey.Max && a.End.Add(hashkey.Key{Lo: 1}) == b.Start
}
