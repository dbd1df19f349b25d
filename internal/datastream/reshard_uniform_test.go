package datastream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/hashkey"
)

// lineageShard is a shard as Describe shows it, with its range parsed.
type lineageShard struct {
	ShardInfo
	r hashkey.Range
}

func (l lineageShard) open() bool { return l.EndingSequenceNumber == "" }

func (l lineageShard) parents() []string {
	var out []string
	for _, p := range []string{l.ParentShardID, l.AdjacentParentShardID} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func describeShards(t *testing.T, s *Service, sc Scope, name string) map[string]lineageShard {
	t.Helper()
	in, err := s.Describe(sc, name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]lineageShard{}
	for _, sh := range in.Shards {
		a, err1 := hashkey.Parse(sh.StartingHashKey)
		b, err2 := hashkey.Parse(sh.EndingHashKey)
		if err1 != nil || err2 != nil || a.Cmp(b) > 0 {
			t.Fatalf("shard %s has range %s-%s", sh.ShardID, sh.StartingHashKey, sh.EndingHashKey)
		}
		out[sh.ShardID] = lineageShard{sh, hashkey.Range{Start: a, End: b}}
	}
	return out
}

// openInOrder returns the open shards in hash order.
func openInOrder(shards map[string]lineageShard) []lineageShard {
	var out []lineageShard
	for _, sh := range shards {
		if sh.open() {
			out = append(out, sh)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].r.Start.Cmp(out[j].r.Start) < 0 })
	return out
}

// covers reports whether the union of rs contains r.
func covers(rs []hashkey.Range, r hashkey.Range) bool {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start.Cmp(rs[j].Start) < 0 })
	next := r.Start // the first key of r not yet covered
	for _, x := range rs {
		if x.Start.Cmp(next) > 0 {
			break
		}
		if x.End.Cmp(next) >= 0 {
			if x.End.Cmp(r.End) >= 0 {
				return true
			}
			next = x.End.Add(hashkey.Key{Lo: 1})
		}
	}
	return false
}

func overlaps(a, b hashkey.Range) bool { return a.Start.Cmp(b.End) <= 0 && b.Start.Cmp(a.End) <= 0 }

// checkScaleLineage checks the layout after UpdateShardCount against the
// shards before it (the original open shards): target open shards of uniform
// ranges (exactly hashkey.Split's when exact), tiling the key space; every
// merge child covers exactly its two adjacent parents; every split child lies
// in its parent; every closed shard is covered by its children; and every
// original shard is an ancestor of every final shard its range meets.
func checkScaleLineage(t *testing.T, before, after map[string]lineageShard, target int, exact bool) {
	t.Helper()
	open := openInOrder(after)
	if len(open) != target {
		t.Fatalf("%d open shards, want %d", len(open), target)
	}
	for i, r := range hashkey.Split(target) {
		got := open[i].r
		if exact {
			if got != r {
				t.Fatalf("open shard %d (%s) is %s-%s, want %s-%s", i, open[i].ShardID, got.Start, got.End, r.Start, r.End)
			}
		} else if keyDistance(got.Start, r.Start).Cmp(snapKeys) > 0 || keyDistance(got.End, r.End).Cmp(snapKeys) > 0 {
			t.Fatalf("open shard %d (%s) is %s-%s, not within %s keys of %s-%s", i, open[i].ShardID, got.Start, got.End, snapKeys, r.Start, r.End)
		}
	}
	if open[0].r.Start != (hashkey.Key{}) || open[len(open)-1].r.End != hashkey.Max {
		t.Fatal("the open shards do not reach both ends of the key space")
	}
	for i := 1; i < len(open); i++ {
		if !adjacent(open[i-1].r, open[i].r) {
			t.Fatalf("open shards %s and %s overlap or leave a gap", open[i-1].ShardID, open[i].ShardID)
		}
	}
	children := map[string][]lineageShard{}
	for _, sh := range after {
		for _, p := range sh.parents() {
			children[p] = append(children[p], sh)
		}
	}
	for id, sh := range after {
		_, old := before[id]
		if old && !sh.open() {
			continue // closed before the change; checked then
		}
		switch {
		case sh.AdjacentParentShardID != "":
			p, okp := after[sh.ParentShardID]
			a, oka := after[sh.AdjacentParentShardID]
			if !okp || !oka || p.open() || a.open() {
				t.Fatalf("merge child %s: parents %s, %s missing or open", id, sh.ParentShardID, sh.AdjacentParentShardID)
			}
			lo, hi := p, a
			if !adjacent(lo.r, hi.r) {
				lo, hi = a, p
			}
			if !adjacent(lo.r, hi.r) || sh.r != (hashkey.Range{Start: lo.r.Start, End: hi.r.End}) {
				t.Fatalf("merge child %s (%s-%s) is not exactly its adjacent parents %s and %s", id, sh.r.Start, sh.r.End, p.ShardID, a.ShardID)
			}
		case sh.ParentShardID != "":
			p, ok := after[sh.ParentShardID]
			if !ok || p.open() {
				t.Fatalf("split child %s: parent %s missing or open", id, sh.ParentShardID)
			}
			if p.r.Start.Cmp(sh.r.Start) > 0 || sh.r.End.Cmp(p.r.End) > 0 {
				t.Fatalf("split child %s is not inside its parent %s", id, p.ShardID)
			}
			if sh.r.End.Sub(sh.r.Start).Cmp(hashkey.Key{Lo: 1}) < 0 {
				t.Fatalf("split child %s holds fewer than two keys", id)
			}
		case !old:
			t.Fatalf("new shard %s has no parent", id)
		}
		if !sh.open() {
			var rs []hashkey.Range
			for _, c := range children[id] {
				rs = append(rs, c.r)
			}
			if !covers(rs, sh.r) {
				t.Fatalf("closed shard %s is not covered by its children %v", id, rs)
			}
		}
	}
	// Lineage is complete: walk up from every final shard.
	for _, f := range open {
		anc := map[string]bool{}
		var up func(id string)
		up = func(id string) {
			for _, p := range after[id].parents() {
				if !anc[p] {
					anc[p] = true
					up(p)
				}
			}
		}
		up(f.ShardID)
		for id, o := range before {
			if o.open() && overlaps(o.r, f.r) && !anc[id] && id != f.ShardID {
				t.Fatalf("final shard %s meets original shard %s but does not descend from it", f.ShardID, id)
			}
		}
	}
}

// readByLineage reads every shard of the stream from TRIM_HORIZON as a
// lineage-respecting consumer may: a shard only once all its listed parents
// were read to their end, and no earlier, working back from the open shards
// (parents depth first, then the shard), so a parent missing from a child's
// lineage would be read after the child. A closed shard is read until
// GetRecords gives no next iterator (its ChildShards checked against the
// shards that name it as a parent), an open shard until it gives nothing.
// It returns the records' data in reading order.
func readByLineage(t *testing.T, s *Service, sc Scope, name string) []string {
	t.Helper()
	ctx := context.Background()
	shards := describeShards(t, s, sc, name)
	children := map[string][]string{}
	for _, sh := range shards {
		for _, p := range sh.parents() {
			children[p] = append(children[p], sh.ShardID)
		}
	}
	var ids []string
	for id := range shards {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	done := map[string]bool{}
	var out []string
	var read func(id string)
	read = func(id string) {
		sh, ok := shards[id]
		if !ok {
			t.Fatalf("parent %s is not listed", id)
		}
		if done[id] {
			return
		}
		for _, p := range sh.parents() {
			read(p)
		}
		it, err := s.GetShardIterator(ctx, sc, IteratorInput{Stream: name, ShardID: id, Type: "TRIM_HORIZON"})
		if err != nil {
			t.Fatal(err)
		}
		for {
			res, err := s.GetRecords(ctx, it, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Records {
				out = append(out, string(r.Data))
			}
			if res.NextShardIterator == "" {
				if sh.open() {
					t.Fatalf("open shard %s gave no next iterator", id)
				}
				var got []string
				for _, c := range res.ChildShards {
					got = append(got, c.ShardID)
					if want := shards[c.ShardID].parents(); strings.Join(c.ParentShards, ",") != strings.Join(want, ",") {
						t.Fatalf("ChildShards of %s: %s has parents %v, Describe says %v", id, c.ShardID, c.ParentShards, want)
					}
				}
				sort.Strings(got)
				want := append([]string(nil), children[id]...)
				sort.Strings(want)
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Fatalf("ChildShards of %s = %v, want %v", id, got, want)
				}
				break
			}
			if len(res.Records) == 0 && sh.open() {
				break
			}
			it = res.NextShardIterator
		}
		done[id] = true
	}
	for _, id := range ids {
		if shards[id].open() {
			read(id)
		}
	}
	for _, id := range ids {
		read(id) // none left when every closed shard has descendants
	}
	return out
}

// checkPerKeyOrder checks that data of the form key/counter was read once
// each, every key's counters in order, and that every acknowledged one was
// read.
func checkPerKeyOrder(t *testing.T, read []string, acked map[string]bool) {
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

// putter writes records key/counter under keys, one record at a time per
// key, so every key's acknowledged records are in counter order.
type putter struct {
	mu    sync.Mutex
	acked map[string]bool
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startPutter(t *testing.T, s *Service, sc Scope, name string, writers, keysPerWriter int) *putter {
	p := &putter{acked: map[string]bool{}, stop: make(chan struct{})}
	for w := range writers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			next := make([]int, keysPerWriter)
			for i := 0; ; i++ {
				select {
				case <-p.stop:
					return
				default:
				}
				k := i % keysPerWriter
				key := fmt.Sprintf("k%d.%d", w, k)
				d := fmt.Sprintf("%s/%d", key, next[k])
				_, err := s.Put(context.Background(), sc, name, []PutEntry{{PartitionKey: key, Data: []byte(d)}}, PutOptions{Single: true})
				if err != nil {
					t.Errorf("put: %v", err)
					return
				}
				next[k]++
				p.mu.Lock()
				p.acked[d] = true
				p.mu.Unlock()
			}
		}()
	}
	return p
}

func (p *putter) finish() map[string]bool {
	close(p.stop)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acked
}

// count returns the number of records acknowledged so far.
func (p *putter) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

// waitAcked waits until the putter acknowledged more than n records.
func (p *putter) waitAcked(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if p.count() > n {
			return
		}
	}
	t.Fatalf("fewer than %d records acknowledged", n)
}

// TestUpdateShardCountLineage: UpdateShardCount under concurrent puts reaches
// uniform ranges through splits and merges whose lineage is complete, and a
// lineage-respecting reader reads every key in order.
func TestUpdateShardCountLineage(t *testing.T) {
	cases := []struct {
		from, to int
		exact    bool // the final ranges are exactly hashkey.Split's
		created  int  // 2 per split, 1 per merge
	}{
		{5, 3, true, 8},  // 2 splits, 4 merges
		{7, 4, true, 12}, // 3 splits, 6 merges
		{2, 3, true, 5},  // 2 splits, 1 merge
		{3, 5, true, 10}, // 4 splits, 2 merges
		{1, 2, true, 2},
		{4, 8, true, 8},
		{8, 4, true, 4},
		{3, 2, true, 4},  // 1 split, 2 merges
		{6, 5, true, 13}, // 4 splits, 5 merges
		// Layouts that meet a few keys apart: doubling and halving stay
		// plain splits and merges.
		{3, 6, false, 6},
		{6, 3, false, 3},
		{4, 6, false, 10}, // 4 splits, 2 merges; 1/2 kept
		{6, 4, false, 8},  // 2 splits, 4 merges; 1/2 kept
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%dto%d", c.from, c.to), func(t *testing.T) {
			clk := newTestClock()
			s, _ := newTestService(t, Config{Now: clk.Now})
			sc := Scope{Account: "000000000000", Region: "us-east-1"}
			createActive(t, s, clk, sc, "s", c.from)
			p := startPutter(t, s, sc, "s", 4, 16)
			p.waitAcked(t, 200)
			before := describeShards(t, s, sc, "s")
			cur, err := s.UpdateShardCount(context.Background(), sc, "s", c.to)
			if err != nil || cur != c.from {
				t.Fatalf("UpdateShardCount = %d, %v", cur, err)
			}
			p.waitAcked(t, p.count()+200)
			acked := p.finish()
			after := describeShards(t, s, sc, "s")
			checkScaleLineage(t, before, after, c.to, c.exact)
			if created := len(after) - len(before); created != c.created {
				t.Fatalf("%d shards created, want %d", created, c.created)
			}
			checkPerKeyOrder(t, readByLineage(t, s, sc, "s"), acked)
			if t.Failed() || testing.Verbose() {
				t.Log(describeLineage(after))
			}
		})
	}
}

// describeLineage lists shards with their parents and ranges as a
// percentage of the key space.
func describeLineage(shards map[string]lineageShard) string {
	var ids []string
	for id := range shards {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	pct := func(k hashkey.Key) float64 { return float64(k.Hi) / (1 << 64) * 100 }
	var b strings.Builder
	for _, id := range ids {
		sh := shards[id]
		state := "open"
		if !sh.open() {
			state = "closed"
		}
		end := pct(sh.r.End.Add(hashkey.Key{Lo: 1}))
		if sh.r.End == hashkey.Max {
			end = 100
		}
		fmt.Fprintf(&b, "\n%s %-6s %5.1f%%-%5.1f%% parents %v", strings.TrimPrefix(id, "shardId-"), state, pct(sh.r.Start), end, sh.parents())
	}
	return b.String()
}

// TestUpdateShardCountFromAnyLayout: from layouts left by random splits
// (some a few keys from the uniform boundaries) and merges, and after
// earlier rescales, UpdateShardCount keeps every invariant.
func TestUpdateShardCountFromAnyLayout(t *testing.T) {
	ctx := context.Background()
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 7))
		clk := newTestClock()
		s, _ := newTestService(t, Config{Now: clk.Now, ShardLimit: 10000})
		createActive(t, s, clk, sc, "s", 1+rng.IntN(8))
		for round := range 6 {
			open := openInOrder(describeShards(t, s, sc, "s"))
			switch op := rng.IntN(3); {
			case op == 0 && len(open) > 1:
				i := rng.IntN(len(open) - 1)
				if err := s.MergeShards(ctx, sc, "s", open[i].ShardID, open[i+1].ShardID); err != nil {
					t.Fatal(err)
				}
			case op <= 1:
				sh := open[rng.IntN(len(open))]
				width := sh.r.End.Sub(sh.r.Start)
				at := sh.r.Start.Add(hashkey.Key{Hi: rng.Uint64N(max(width.Hi, 1)), Lo: rng.Uint64()})
				if rng.IntN(2) == 0 {
					// Near a uniform boundary, where rescaling snaps.
					bs := hashkey.Split(2 + rng.IntN(12))
					at = bs[1+rng.IntN(len(bs)-1)].Start.Add(hashkey.Key{Lo: uint64(rng.IntN(9))}).Sub(hashkey.Key{Lo: 4})
				}
				if sh.r.Start.Add(hashkey.Key{Lo: 1}).Cmp(at) < 0 && at.Cmp(sh.r.End) < 0 {
					if err := s.SplitShard(ctx, sc, "s", sh.ShardID, at.String()); err != nil {
						t.Fatal(err)
					}
				}
			default:
				n := len(open)
				target := (n+1)/2 + rng.IntN(2*n-(n+1)/2+1)
				if target == n {
					target = 2 * n
				}
				before := describeShards(t, s, sc, "s")
				if _, err := s.UpdateShardCount(ctx, sc, "s", target); err != nil {
					t.Fatalf("seed %d round %d: %d -> %d: %v", seed, round, n, target, err)
				}
				after := describeShards(t, s, sc, "s")
				t.Run(fmt.Sprintf("seed%d/round%d/%dto%d", seed, round, n, target), func(t *testing.T) {
					defer func() {
						if t.Failed() {
							t.Logf("before:%s\nafter:%s", describeLineage(before), describeLineage(after))
						}
					}()
					checkScaleLineage(t, before, after, target, false)
				})
			}
			clk.Advance(time.Second)
		}
	}
}

// TestUpdateShardCountLimits: the rolling 24-hour limit counts calls, not
// their splits and merges, and the shard limit counts the open shards a
// rescale leaves, not the shards it creates on the way.
func TestUpdateShardCountLimits(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s, _ := newTestService(t, Config{Now: clk.Now, ShardLimit: 5})
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	createActive(t, s, clk, sc, "s", 3)
	// 3 → 5 creates 10 shards; 5 stay open.
	if _, err := s.UpdateShardCount(ctx, sc, "s", 5); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	var de *Error
	if _, err := s.UpdateShardCount(ctx, sc, "s", 6); !errors.As(err, &de) || de.Kind != KindLimitExceeded {
		t.Fatalf("5 -> 6 over a limit of 5: %v", err)
	}
	counts := []int{3, 5, 3, 4, 3, 5, 4, 3} // with 3 -> 5 above: 9 calls
	for _, n := range counts {
		if _, err := s.UpdateShardCount(ctx, sc, "s", n); err != nil {
			t.Fatalf("-> %d: %v", n, err)
		}
		clk.Advance(time.Second)
	}
	if _, err := s.UpdateShardCount(ctx, sc, "s", 4); err != nil {
		t.Fatalf("10th call: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := s.UpdateShardCount(ctx, sc, "s", 5); !errors.As(err, &de) || de.Kind != KindLimitExceeded || !strings.Contains(de.Msg, "rolling 24 hour") {
		t.Fatalf("11th call in 24 hours: %v", err)
	}
	clk.Advance(24 * time.Hour)
	if _, err := s.UpdateShardCount(ctx, sc, "s", 5); err != nil {
		t.Fatalf("a day later: %v", err)
	}
}

// TestPlanUniformScalingRefusesBadLayouts: the planner checks its input.
func TestPlanUniformScalingRefusesBadLayouts(t *testing.T) {
	two := hashkey.Split(2)
	for name, open := range map[string][]hashkey.Range{
		"none":    nil,
		"gap":     {{Start: two[0].Start, End: two[0].End.Sub(hashkey.Key{Lo: 1})}, two[1]},
		"short":   {two[0]},
		"overlap": {two[0], {Start: two[0].End, End: hashkey.Max}},
	} {
		if _, err := planUniformScaling(open, 3); err == nil {
			t.Errorf("%s: planned", name)
		}
	}
}

// TestUpdateShardCountKeepsShardsThatFit: an open shard whose range is
// already a target's stays open; only the rest is split and merged.
func TestUpdateShardCountKeepsShardsThatFit(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s, _ := newTestService(t, Config{Now: clk.Now})
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	createActive(t, s, clk, sc, "s", 4)
	if err := s.SplitShard(ctx, sc, "s", "shardId-000000000000", hashkey.Split(8)[1].Start.String()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	before := describeShards(t, s, sc, "s")
	if _, err := s.UpdateShardCount(ctx, sc, "s", 4); err != nil {
		t.Fatal(err)
	}
	after := describeShards(t, s, sc, "s")
	checkScaleLineage(t, before, after, 4, true)
	var open []string
	for _, sh := range openInOrder(after) {
		open = append(open, strings.TrimPrefix(sh.ShardID, "shardId-00000000000"))
	}
	if got := strings.Join(open, " "); got != "6 1 2 3" || len(after) != 7 {
		t.Fatalf("open shards %s of %d; want 6 1 2 3 of 7", got, len(after))
	}
	if m := after["shardId-000000000006"]; m.ParentShardID != "shardId-000000000004" || m.AdjacentParentShardID != "shardId-000000000005" {
		t.Fatalf("shard 6's parents %s, %s", m.ParentShardID, m.AdjacentParentShardID)
	}
}
