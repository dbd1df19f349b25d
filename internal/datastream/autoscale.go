package datastream

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/hashkey"
)

// On-demand scaling: ON_DEMAND streams grow by splitting shards whose write
// rate reached a shard's capacity (1 MiB/s or 1,000 records/s) and shrink by
// merging adjacent pairs of cold shards (both under a quarter of capacity),
// never below OnDemandShardCount, as AWS's on-demand mode adapts to
// traffic. Each change is an ordinary split or merge: the lineage is visible
// to consumers (ChildShards, ListShards). Autoscale runs from the server's
// sweeper; the rates are measured between two runs.

// ingest counts what each shard took since the last Autoscale.
type ingest struct {
	mu sync.Mutex // a leaf lock; guards the fields below
	// Guarded by mu.
	since time.Time
	by    map[uint64]*shardLoad // by shard log key; emptied by every take
}

type shardLoad struct{ records, bytes float64 }

func (in *ingest) add(shard uint64, records, bytes int) {
	in.mu.Lock()
	if in.by == nil {
		in.by = map[uint64]*shardLoad{}
	}
	l := in.by[shard]
	if l == nil {
		l = &shardLoad{}
		in.by[shard] = l
	}
	l.records += float64(records)
	l.bytes += float64(bytes)
	in.mu.Unlock()
}

// take returns the counts and the seconds they cover, and starts over.
func (in *ingest) take(now time.Time) (map[uint64]*shardLoad, float64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	by, since := in.by, in.since
	in.by, in.since = map[uint64]*shardLoad{}, now
	if since.IsZero() {
		return nil, 0
	}
	return by, now.Sub(since).Seconds()
}

// utilization is a shard's share of its capacity over the window.
func utilization(l *shardLoad, secs float64) float64 {
	if l == nil || secs <= 0 {
		return 0
	}
	return max(l.records/secs/awsWriteRecords, l.bytes/secs/awsWriteBytes)
}

// Autoscale adapts every ON_DEMAND stream's shard count to the write rates
// seen since the previous call. It returns the number of splits and merges.
func (s *Service) Autoscale(ctx context.Context) (splits, merges int, err error) {
	loads, secs := s.load.take(s.now())
	if secs < 1 {
		return 0, 0, nil // too short a window to judge
	}
	s.mu.RLock()
	var streams []*streamState
	for _, st := range s.streams {
		if st.meta.Mode == ModeOnDemand && st.meta.effectiveStatus(s.now()) == StatusActive {
			streams = append(streams, st)
		}
	}
	s.mu.RUnlock()
	for _, st := range streams {
		sc := Scope{Account: st.meta.Account, Region: st.meta.Region}
		// Split the hottest shard (one change per stream per run, as each
		// leaves the stream UPDATING for a moment).
		var hot *openShard
		hottest := 1.0
		for i := range st.open {
			if u := utilization(loads[st.open[i].shard.Key], secs); u >= hottest {
				hot, hottest = &st.open[i], u
			}
		}
		if hot != nil {
			mid := hot.rng.Start.Add(half(hot.rng.End.Sub(hot.rng.Start)))
			if err := s.SplitShard(ctx, sc, st.meta.Name, hot.shard.id(), mid.String()); err == nil {
				splits++
			} else if e, ok := err.(*Error); !ok || e.Kind != KindLimitExceeded {
				return splits, merges, err
			}
			continue
		}
		if len(st.open) <= OnDemandShardCount {
			continue
		}
		open := append([]openShard(nil), st.open...)
		sort.Slice(open, func(i, j int) bool { return open[i].rng.Start.Cmp(open[j].rng.Start) < 0 })
		for i := 0; i+1 < len(open); i++ {
			a, b := open[i], open[i+1]
			if utilization(loads[a.shard.Key], secs) < 0.25 && utilization(loads[b.shard.Key], secs) < 0.25 {
				if err := s.MergeShards(ctx, sc, st.meta.Name, a.shard.id(), b.shard.id()); err != nil {
					return splits, merges, err
				}
				merges++
				break
			}
		}
	}
	return splits, merges, nil
}

// half returns k/2.
func half(k hashkey.Key) hashkey.Key {
	return hashkey.Key{Hi: k.Hi >> 1, Lo: k.Lo>>1 | k.Hi<<63}
}
