package streamlog

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/vfs"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openTest(t *testing.T, fs vfs.FS, dir string, clk *fakeClock, segBytes int64) *Log {
	t.Helper()
	l, err := Open(Options{FS: fs, Dir: dir, SegmentBytes: segBytes, Now: clk.Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func payload(shard uint64, i int) []byte {
	return []byte(fmt.Sprintf("shard-%d-record-%06d-%s", shard, i, bytes.Repeat([]byte("x"), i%50)))
}

func TestAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	l := openTest(t, vfs.OS{}, dir, clk, 4096) // small segments: many seals
	ctx := context.Background()
	const n = 300
	for i := 0; i < n; i++ {
		var es []Entry
		for shard := uint64(1); shard <= 3; shard++ {
			es = append(es, Entry{Shard: shard, PartitionKey: "k", Data: payload(shard, i)})
		}
		res, err := l.Append(ctx, 0, es)
		if err != nil {
			t.Fatal(err)
		}
		for j, r := range res {
			if r.Seq != FirstSeq+uint64(i) {
				t.Fatalf("record %d/%d got seq %d", i, j, r.Seq)
			}
		}
		clk.Advance(time.Millisecond)
	}
	check := func(l *Log) {
		t.Helper()
		for shard := uint64(1); shard <= 3; shard++ {
			got := 0
			from := uint64(0)
			for {
				recs, err := l.Read(shard, from, ReadOptions{MaxRecords: 37})
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) == 0 {
					break
				}
				for _, r := range recs {
					if !bytes.Equal(r.Data, payload(shard, got)) || r.Seq != FirstSeq+uint64(got) {
						t.Fatalf("shard %d record %d: seq %d data %q", shard, got, r.Seq, r.Data)
					}
					got++
				}
				from = recs[len(recs)-1].Seq + 1
			}
			if got != n {
				t.Fatalf("shard %d: read %d records, want %d", shard, got, n)
			}
			if b := l.Bounds(shard); b.Next != FirstSeq+n {
				t.Fatalf("next = %d", b.Next)
			}
			// Time seek: record i was written at base+i ms.
			seq, err := l.SeekTime(shard, 1_700_000_000_000+150)
			if err != nil || seq != FirstSeq+150 {
				t.Fatalf("SeekTime = %d, %v", seq, err)
			}
		}
	}
	check(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, vfs.OS{}, dir, clk, 4096)
	check(l)
	res, err := l.Append(ctx, 0, []Entry{{Shard: 2, PartitionKey: "k", Data: []byte("after")}})
	if err != nil || res[0].Seq != FirstSeq+n {
		t.Fatalf("append after reopen: %v %v", res, err)
	}
	l.Close()
}

func TestRetentionDeletesSegments(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	l := openTest(t, vfs.OS{}, dir, clk, 2048)
	defer l.Close()
	ctx := context.Background()
	for i := 0; i < 200; i++ {
		if _, err := l.Append(ctx, 0, []Entry{{Shard: 7, PartitionKey: "p", Data: payload(7, i)}}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	cutoff := clk.Now().Add(-100 * time.Second).UnixMilli()
	res, err := l.Sweep(ctx, func(uint64) (int64, bool) { return cutoff, false })
	if err != nil {
		t.Fatal(err)
	}
	if res.SegmentsDeleted == 0 || res.BytesReclaimed == 0 {
		t.Fatalf("nothing reclaimed: %+v", res)
	}
	recs, err := l.Read(7, 0, ReadOptions{MinTimestamp: cutoff})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 100 || recs[0].Timestamp < cutoff {
		t.Fatalf("got %d records, first ts %d", len(recs), recs[0].Timestamp)
	}
	// Counters survive the deletion of old records across a restart.
	l.Close()
	l2 := openTest(t, vfs.OS{}, dir, clk, 2048)
	defer l2.Close()
	if b := l2.Bounds(7); b.Next != FirstSeq+200 {
		t.Fatalf("next after reopen = %d", b.Next)
	}
}
