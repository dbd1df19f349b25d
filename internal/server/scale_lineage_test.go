package server_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestUpdateShardCountLineageUnderLoad: UpdateShardCount (5→3, 7→4, 2→3,
// 3→5) under concurrent PutRecords, then the stream read as a consumer that
// respects lineage reads it (harlow/kinesis-consumer, KCL): a shard only after
// every parent ListShards names (ParentShardId, AdjacentParentShardId) was
// read to its end. Every acknowledged record is read exactly once and every
// partition key's records in the order they were written; every final shard
// descends from every original shard its range meets; ChildShards at a
// closed shard's end (GetRecords and SubscribeToShard) name its real
// children.
func TestUpdateShardCountLineageUnderLoad(t *testing.T) {
	ts := newServer(t)
	for _, c := range []struct{ from, to int32 }{{5, 3}, {7, 4}, {2, 3}, {3, 5}} {
		name := fmt.Sprintf("scale-%d-to-%d", c.from, c.to)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ts.createStream(t, name, c.from)
			before := listAllShards(t, ts, name)

			load := startKeyedLoad(t, ts, name, 4, 32)
			load.waitAcked(t, 300)
			out, err := ts.kc.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String(name),
				TargetShardCount: aws.Int32(c.to), ScalingType: types.ScalingTypeUniformScaling})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToInt32(out.CurrentShardCount) != c.from || aws.ToInt32(out.TargetShardCount) != c.to {
				t.Fatalf("UpdateShardCount = %d -> %d", aws.ToInt32(out.CurrentShardCount), aws.ToInt32(out.TargetShardCount))
			}
			ts.waitActive(t, name)
			load.waitAcked(t, load.count()+300)
			acked := load.finish(t)

			after := listAllShards(t, ts, name)
			checkCompleteLineage(t, before, after, int(c.to))
			read := readRespectingLineage(t, ts, name, after)
			checkKeyOrder(t, read, acked)
			if c.from == 5 && c.to == 3 {
				checkSubscribeChildShards(t, ts, name, after)
			}
			t.Logf("%d acknowledged records over %d keys read once each, in order per key; %d shards:%s",
				len(acked), 4*32, len(after), lineageString(after))
		})
	}
}

// listAllShards returns every shard of the stream.
func listAllShards(t *testing.T, ts *testServer, name string) []types.Shard {
	t.Helper()
	var out []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(name)}
	for {
		res, err := ts.kc.ListShards(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res.Shards...)
		if res.NextToken == nil {
			return out
		}
		in = &kinesis.ListShardsInput{NextToken: res.NextToken}
	}
}

func shardParents(s types.Shard) []string {
	var out []string
	for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
		if aws.ToString(p) != "" {
			out = append(out, aws.ToString(p))
		}
	}
	return out
}

func shardOpen(s types.Shard) bool { return s.SequenceNumberRange.EndingSequenceNumber == nil }

func hashRange(t *testing.T, s types.Shard) (lo, hi *big.Int) {
	t.Helper()
	lo, ok1 := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
	hi, ok2 := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
	if !ok1 || !ok2 || lo.Cmp(hi) > 0 {
		t.Fatalf("shard %s has hash range %v", aws.ToString(s.ShardId), s.HashKeyRange)
	}
	return lo, hi
}

// checkCompleteLineage checks that target shards are open and that every
// one of them descends (through ListShards' parents) from every original
// shard whose range meets its own, and that every shard the rescale
// created is a split child inside its one parent or a merge child that is
// exactly its two parents.
func checkCompleteLineage(t *testing.T, before, after []types.Shard, target int) {
	t.Helper()
	byID := map[string]types.Shard{}
	for _, s := range after {
		byID[aws.ToString(s.ShardId)] = s
	}
	var open []types.Shard
	for _, s := range after {
		if shardOpen(s) {
			open = append(open, s)
		}
	}
	if len(open) != target {
		t.Fatalf("%d open shards, want %d", len(open), target)
	}
	one := big.NewInt(1)
	for _, s := range after[len(before):] {
		id := aws.ToString(s.ShardId)
		lo, hi := hashRange(t, s)
		switch ps := shardParents(s); len(ps) {
		case 1:
			plo, phi := hashRange(t, byID[ps[0]])
			if lo.Cmp(plo) < 0 || hi.Cmp(phi) > 0 {
				t.Fatalf("split child %s is not inside its parent %s", id, ps[0])
			}
		case 2:
			alo, ahi := hashRange(t, byID[ps[0]])
			blo, bhi := hashRange(t, byID[ps[1]])
			if !(lo.Cmp(alo) == 0 && new(big.Int).Add(ahi, one).Cmp(blo) == 0 && hi.Cmp(bhi) == 0) {
				t.Fatalf("merge child %s is not exactly its parents %s and %s", id, ps[0], ps[1])
			}
		default:
			t.Fatalf("new shard %s has no parent", id)
		}
	}
	for _, f := range open {
		anc := map[string]bool{}
		var up func(id string)
		up = func(id string) {
			for _, p := range shardParents(byID[id]) {
				if !anc[p] {
					anc[p] = true
					up(p)
				}
			}
		}
		up(aws.ToString(f.ShardId))
		flo, fhi := hashRange(t, f)
		for _, o := range before {
			olo, ohi := hashRange(t, o)
			if olo.Cmp(fhi) <= 0 && flo.Cmp(ohi) <= 0 && !anc[aws.ToString(o.ShardId)] {
				t.Fatalf("shard %s holds keys of %s but does not descend from it", aws.ToString(f.ShardId), aws.ToString(o.ShardId))
			}
		}
	}
}

// readRespectingLineage reads every shard from TRIM_HORIZON as a consumer
// that respects lineage may: a shard only once all its parents were read to
// their end, and no earlier, working back from the open shards (a shard's
// parents, depth first, then the shard), so a parent missing from a child's
// lineage is read after the child. A closed shard is read until GetRecords
// returns no NextShardIterator (its ChildShards checked against the shards
// naming it as a parent), an open one until a call returns nothing (the
// load has stopped). It returns the records' data in the order read.
func readRespectingLineage(t *testing.T, ts *testServer, name string, shards []types.Shard) []string {
	t.Helper()
	ctx := context.Background()
	byID := map[string]types.Shard{}
	children := map[string][]string{}
	for _, s := range shards {
		byID[aws.ToString(s.ShardId)] = s
		for _, p := range shardParents(s) {
			children[p] = append(children[p], aws.ToString(s.ShardId))
		}
	}
	done := map[string]bool{}
	var out []string
	var read func(id string)
	read = func(id string) {
		s, ok := byID[id]
		if !ok {
			t.Fatalf("parent %s is not in ListShards", id)
		}
		if done[id] {
			return
		}
		for _, p := range shardParents(s) {
			read(p)
		}
		it := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String(name), ShardId: aws.String(id), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		for {
			res, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Records {
				out = append(out, string(r.Data))
			}
			if res.NextShardIterator == nil {
				if shardOpen(s) {
					t.Fatalf("open shard %s returned no NextShardIterator", id)
				}
				checkChildShards(t, id, res.ChildShards, children[id], shards)
				break
			}
			if len(res.Records) == 0 && shardOpen(s) {
				break
			}
			it = aws.ToString(res.NextShardIterator)
		}
		done[id] = true
	}
	for _, s := range shards {
		if shardOpen(s) {
			read(aws.ToString(s.ShardId))
		}
	}
	for _, s := range shards {
		read(aws.ToString(s.ShardId)) // none left when every closed shard has descendants
	}
	return out
}

// checkChildShards checks ChildShards at closed shard id's end: the shards
// that name it as a parent, each with the parents ListShards gives it.
func checkChildShards(t *testing.T, id string, got []types.ChildShard, want []string, shards []types.Shard) {
	t.Helper()
	var ids []string
	for _, c := range got {
		cid := aws.ToString(c.ShardId)
		ids = append(ids, cid)
		for _, s := range shards {
			if aws.ToString(s.ShardId) == cid && !slices.Equal(c.ParentShards, shardParents(s)) {
				t.Fatalf("ChildShards of %s: %s with parents %v, ListShards says %v", id, cid, c.ParentShards, shardParents(s))
			}
		}
	}
	slices.Sort(ids)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(ids, want) {
		t.Fatalf("ChildShards of %s = %v, want %v", id, ids, want)
	}
}

// checkKeyOrder checks data of the form key/counter: each read once, each
// key's counters increasing, every acknowledged one read.
func checkKeyOrder(t *testing.T, read []string, acked map[string]bool) {
	t.Helper()
	last := map[string]int{}
	seen := map[string]bool{}
	for _, d := range read {
		if seen[d] {
			t.Fatalf("record %s read twice", d)
		}
		seen[d] = true
		key, n, _ := strings.Cut(d, "/")
		c, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("record %q", d)
		}
		if prev, ok := last[key]; ok && c <= prev {
			t.Fatalf("key %s: record %d read after %d", key, c, prev)
		}
		last[key] = c
	}
	for d := range acked {
		if !seen[d] {
			t.Fatalf("acknowledged record %s was not read", d)
		}
	}
}

// keyedLoad sends PutRecords batches from several writers, each owning a
// set of partition keys and putting one record per key per batch, the data
// key/counter; a batch goes only after the previous one was acknowledged,
// so each key's acknowledged records are in counter order.
type keyedLoad struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	acked map[string]bool // guarded by mu
	err   error           // guarded by mu; the first failure
}

func startKeyedLoad(t *testing.T, ts *testServer, name string, writers, keys int) *keyedLoad {
	l := &keyedLoad{stop: make(chan struct{}), acked: map[string]bool{}}
	for w := range writers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				in := &kinesis.PutRecordsInput{StreamName: aws.String(name)}
				for k := range keys {
					key := fmt.Sprintf("w%d.k%d", w, k)
					in.Records = append(in.Records, types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: fmt.Appendf(nil, "%s/%d", key, n)})
				}
				out, err := ts.kc.PutRecords(context.Background(), in)
				if err == nil && aws.ToInt32(out.FailedRecordCount) > 0 {
					err = errors.New("PutRecords: " + aws.ToString(out.Records[0].ErrorMessage))
				}
				l.mu.Lock()
				if err != nil {
					l.err = errors.Join(l.err, err)
					l.mu.Unlock()
					return
				}
				for _, e := range in.Records {
					l.acked[string(e.Data)] = true
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *keyedLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// waitAcked waits until more than n records were acknowledged.
func (l *keyedLoad) waitAcked(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); l.count() <= n; time.Sleep(5 * time.Millisecond) {
		l.mu.Lock()
		err := l.err
		l.mu.Unlock()
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("%d records acknowledged, waiting for %d: %v", l.count(), n, err)
		}
	}
}

// finish stops the writers and returns the acknowledged records.
func (l *keyedLoad) finish(t *testing.T) map[string]bool {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l.acked
}

// checkSubscribeChildShards subscribes (SubscribeToShard, enhanced fan-out)
// to every closed shard from TRIM_HORIZON and checks the subscription ends
// with the ChildShards GetRecords gives.
func checkSubscribeChildShards(t *testing.T, ts *testServer, name string, shards []types.Shard) {
	t.Helper()
	ctx := context.Background()
	reg, err := ts.kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN(name)), ConsumerName: aws.String("lineage")})
	if err != nil {
		t.Fatal(err)
	}
	carn := reg.Consumer.ConsumerARN
	children := map[string][]string{}
	for _, s := range shards {
		for _, p := range shardParents(s) {
			children[p] = append(children[p], aws.ToString(s.ShardId))
		}
	}
	for _, s := range shards {
		if shardOpen(s) {
			continue
		}
		id := aws.ToString(s.ShardId)
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var sub *kinesis.SubscribeToShardOutput
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			// The consumer is CREATING for a moment.
			sub, err = ts.kc.SubscribeToShard(sctx, &kinesis.SubscribeToShardInput{ConsumerARN: carn, ShardId: aws.String(id),
				StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon}})
			var inUse *types.ResourceInUseException
			if !errors.As(err, &inUse) || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			cancel()
			t.Fatalf("SubscribeToShard %s: %v", id, err)
		}
		stream := sub.GetStream()
		var got []types.ChildShard
		for ev := range stream.Events() {
			if e, ok := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent); ok {
				got = append(got, e.Value.ChildShards...)
			}
		}
		err := stream.Err()
		stream.Close()
		cancel()
		if err != nil {
			t.Fatalf("subscription to %s: %v", id, err)
		}
		checkChildShards(t, id, got, children[id], shards)
	}
}

// lineageString lists shards with their state, parents and hash ranges as
// percentages of the key space.
func lineageString(shards []types.Shard) string {
	space := new(big.Float).SetInt(new(big.Int).Lsh(big.NewInt(1), 128))
	pct := func(s string, end bool) float64 {
		v, _ := new(big.Int).SetString(s, 10)
		if end {
			v.Add(v, big.NewInt(1))
		}
		f, _ := new(big.Float).Quo(new(big.Float).SetInt(v), space).Float64()
		return 100 * f
	}
	var b strings.Builder
	for _, s := range shards {
		state := "open"
		if !shardOpen(s) {
			state = "closed"
		}
		fmt.Fprintf(&b, "\n  %s %-6s %5.1f%%-%5.1f%% parents %v", strings.TrimPrefix(aws.ToString(s.ShardId), "shardId-"), state,
			pct(aws.ToString(s.HashKeyRange.StartingHashKey), false), pct(aws.ToString(s.HashKeyRange.EndingHashKey), true), shardParents(s))
	}
	return b.String()
}
