package streamlog

import (
	"context"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/vfs"
)

// sectionBytes is what records from..to-1 of a shard (payload, key "k")
// take in sections, one header per section.
func sectionBytes(shard uint64, from, to, sections int) int64 {
	n := int64(sections) * sectionHdrLen
	for i := from; i < to; i++ {
		n += recordHdrLen + 1 + int64(len(payload(shard, i)))
	}
	return n
}

// KeyUsage sums one key's sections, in the active segment and in sealed
// ones, and nothing of the other keys; a dropped key's sections count
// until compaction removes them.
func TestKeyUsage(t *testing.T) {
	clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	l, err := Open(Options{FS: vfs.OS{}, Dir: t.TempDir(), SegmentBytes: 4096, Now: clk.Now, CompactBelow: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	for i := 0; i < 300; i++ {
		es := []Entry{{Shard: 1, PartitionKey: "k", Data: payload(1, i)}}
		if i%3 == 0 {
			es = append(es, Entry{Shard: 2, PartitionKey: "k", Data: payload(2, i/3)})
		}
		if _, err := l.Append(ctx, 0, es); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Millisecond)
	}
	if n := l.Stats().Segments; n < 3 {
		t.Fatalf("%d segments: the test wants sealed ones", n)
	}
	for _, c := range []struct {
		shard uint64
		n     int
	}{{1, 300}, {2, 100}} {
		u, err := l.KeyUsage(c.shard)
		if err != nil {
			t.Fatal(err)
		}
		if want := sectionBytes(c.shard, 0, c.n, u.Sections); u.Sections == 0 || u.LocalBytes != want || u.TieredBytes != 0 {
			t.Fatalf("shard %d: %+v, want %d local bytes", c.shard, u, want)
		}
	}
	if u, err := l.KeyUsage(9); err != nil || u != (KeyUsage{}) {
		t.Fatalf("unknown key: %+v, %v", u, err)
	}
	before, _ := l.KeyUsage(1)
	if err := l.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	// Shard 2 is about a quarter of each segment: dropping it compacts them.
	if _, err := l.Sweep(ctx, func(shard uint64) (int64, bool) { return 0, shard == 2 }); err != nil {
		t.Fatal(err)
	}
	if u, err := l.KeyUsage(2); err != nil || u != (KeyUsage{}) {
		t.Fatalf("dropped key: %+v, %v", u, err)
	}
	if u, err := l.KeyUsage(1); err != nil || u != before {
		t.Fatalf("after compaction: %+v, %v; want %+v", u, err, before)
	}
}

// With tiered storage, sections in uploaded segments count as tiered, the
// active segment's as local.
func TestKeyUsageTiered(t *testing.T) {
	e := newTierEnv(t)
	l := e.open()
	defer l.Close()
	e.fill(l, 0, 600)
	waitTiered(t, l)
	u, err := l.KeyUsage(1)
	if err != nil {
		t.Fatal(err)
	}
	if want := sectionBytes(1, 0, 600, u.Sections); u.TieredBytes != want || u.LocalBytes != 0 {
		t.Fatalf("after upload: %+v, want %d tiered bytes", u, want)
	}
	for i := 600; i < 610; i++ { // into the active segment, not rolled
		if _, err := l.Append(context.Background(), 0, []Entry{{Shard: 1, PartitionKey: "k", Data: payload(1, i)}}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := l.KeyUsage(1)
	if err != nil {
		t.Fatal(err)
	}
	if want := sectionBytes(1, 600, 610, v.Sections-u.Sections); v.TieredBytes != u.TieredBytes || v.LocalBytes != want {
		t.Fatalf("with an active segment: %+v, want %d local bytes", v, want)
	}
}
