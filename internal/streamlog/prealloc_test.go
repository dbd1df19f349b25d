package streamlog

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/vfs"
)

// TestPreallocatesActiveSegment: the active segment has its blocks reserved
// up to SegmentBytes while its size stays the end of its last frame; a
// segment sealed before it is full gives the rest back; a reopened log
// reserves again (a reservation need not survive a crash).
func TestPreallocatesActiveSegment(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMemFS()
	clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	const segBytes = 64 << 10
	opts := Options{FS: fs, Dir: "/d", SegmentBytes: segBytes, Now: clk.Now, Logger: quietLogger()}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	want := func(id uint64, size, allocated int64) {
		t.Helper()
		name := segName("/d", id, "seg")
		if got, err := fs.Stat(name); err != nil || got != size {
			t.Fatalf("segment %d: size %d (%v), want %d", id, got, err, size)
		}
		if got, err := fs.Allocated(name); err != nil || got != allocated {
			t.Fatalf("segment %d: %d bytes allocated (%v), want %d", id, got, err, allocated)
		}
	}
	want(1, segHeaderSize, segBytes)
	res, err := l.Append(ctx, 0, []Entry{{Shard: 7, PartitionKey: "k", Data: []byte("first")}})
	if err != nil {
		t.Fatal(err)
	}
	size1, _ := fs.Stat(segName("/d", 1, "seg"))
	if size1 <= segHeaderSize {
		t.Fatalf("segment size %d after an append", size1)
	}
	want(1, size1, segBytes)
	if err := l.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	want(1, size1, size1) // sealed early: the reservation is released
	want(2, segHeaderSize, segBytes)
	if _, err := l.Append(ctx, 0, []Entry{{Shard: 7, PartitionKey: "k", Data: []byte("second")}}); err != nil {
		t.Fatal(err)
	}
	size2, _ := fs.Stat(segName("/d", 2, "seg"))
	l.Close()
	fs.Crash()
	if err := truncateFile(fs, segName("/d", 2, "seg"), size2); err != nil { // drops the reservation
		t.Fatal(err)
	}
	want(2, size2, size2)
	l, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want(2, size2, segBytes)
	recs, err := l.Read(7, 0, ReadOptions{})
	if err != nil || len(recs) != 2 || recs[0].Seq != res[0].Seq || string(recs[1].Data) != "second" {
		t.Fatalf("after reopen: %v, %v", recs, err)
	}
}

// truncateFile sets a file's size through a new handle and syncs it.
func truncateFile(fs vfs.FS, name string, size int64) error {
	f, err := fs.OpenAppend(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// TestPreallocationAndDropFailuresAreHarmless: reserving blocks and dropping
// cached pages are hints; when the filesystem refuses them the log appends,
// seals, reads and reopens as usual.
func TestPreallocationAndDropFailuresAreHarmless(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMemFS()
	fs.Inject(vfs.Fault{Op: vfs.OpAllocate, Sticky: true})
	fs.Inject(vfs.Fault{Op: vfs.OpAdvise, Sticky: true})
	opts := Options{FS: fs, Dir: "/d", SegmentBytes: 1024, CachedSegments: 1, Logger: quietLogger()}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	m := &faultModel{recs: map[uint64][]Record{}, rng: rand.New(rand.NewPCG(3, 4))}
	for i := 0; i < 60; i++ { // many seals
		es := m.batch(3)
		res, err := l.Append(ctx, 0, es)
		if err != nil {
			t.Fatal(err)
		}
		m.ack(es, res)
	}
	if n := fs.Ops(vfs.OpAllocate); n < 5 {
		t.Fatalf("%d allocations attempted, want one per segment", n)
	}
	if n := fs.Ops(vfs.OpAdvise); n < 5 {
		t.Fatalf("%d page drops attempted, want one per seal", n)
	}
	m.check(t, l, nil)
	l.Close()
	fs.Crash()
	l, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m.check(t, l, nil)
}

// TestRecoverZeroTail: after a crash, a filesystem may show the active
// segment longer than the data that reached its disk, the rest reading as
// zeros (its size update was durable before the data: appends into
// reserved or unwritten blocks). Recovery treats a zero tail like any torn
// tail: every acknowledged record is served, the tail is cut, nothing is
// reported as corruption, and counters continue; a torn frame header
// followed by zeros likewise. Only a frame whose header checks out and
// which lies wholly within the file, but whose sections fail (its last
// pages zeros), is taken for possibly acknowledged damage: it is cut and its
// counters are reserved. Every case survives another power loss.
func TestRecoverZeroTail(t *testing.T) {
	for _, c := range []struct {
		name    string
		kept    int  // bytes of the unacknowledged frame that reached the disk; -1: none
		zeros   int  // zero bytes after them
		reserve bool // the damage may have been acknowledged: counters skip ahead
	}{
		{"zeros-only", -1, 5000, false},
		{"one-zero-byte", -1, 1, false},
		{"torn-header", 10, 4000, false},
		{"frame-past-end", frameHeaderLen + 40, 100, false},
		{"frame-within-file", frameHeaderLen + 40, 4000, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			fs := vfs.NewMemFS()
			var mu sync.Mutex
			var events []string
			opts := Options{FS: fs, Dir: "/d", SegmentBytes: 1 << 20, Logger: quietLogger(),
				OnEvent: func(e Event) { mu.Lock(); events = append(events, e.Kind); mu.Unlock() }}
			l, err := Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			m := &faultModel{recs: map[uint64][]Record{}, rng: rand.New(rand.NewPCG(5, 6))}
			for i := 0; i < 10; i++ {
				es := m.batch(3)
				res, err := l.Append(ctx, 0, es)
				if err != nil {
					t.Fatal(err)
				}
				m.ack(es, res)
			}
			next := map[uint64]uint64{}
			for s := range uint64(3) {
				next[s] = l.Bounds(s).Next
			}
			name := segName("/d", 1, "seg")
			acked, _ := fs.Stat(name)
			// An append whose fsync fails is not acknowledged; its frame is
			// in the file, not on the disk.
			fs.Inject(vfs.Fault{Op: vfs.OpSync, PathContains: ".seg", Sticky: true})
			big := make([]Entry, 20)
			for i := range big {
				big[i] = Entry{Shard: uint64(i % 3), PartitionKey: "lost", Data: bytes.Repeat([]byte{byte(i)}, 150)}
			}
			if _, err := l.Append(ctx, 0, big); err == nil {
				t.Fatal("append under an fsync fault succeeded")
			}
			frame := memRead(t, fs, name)[acked:]
			l.Close()
			fs.ClearFaults()
			fs.Crash()
			// What the disk shows after the crash: the acknowledged frames,
			// then kept bytes of the lost frame, then zeros.
			tail := append([]byte(nil), frame[:max(c.kept, 0)]...)
			tail = append(tail, make([]byte, c.zeros)...)
			f, err := fs.OpenAppend(name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(tail); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			f.Close()

			l, err = Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			m.check(t, l, nil)
			if size, _ := fs.Stat(name); size != acked {
				t.Fatalf("active segment is %d bytes after recovery, want %d (the tail cut)", size, acked)
			}
			if got, _ := fs.Allocated(name); got != opts.SegmentBytes {
				t.Fatalf("%d bytes reserved after the cut, want %d", got, opts.SegmentBytes)
			}
			mu.Lock()
			corrupt, torn := slices.Contains(events, "corruption"), slices.Contains(events, "torn-tail")
			mu.Unlock()
			if !torn || corrupt != c.reserve {
				t.Fatalf("events %v: want torn-tail, and corruption only for damage that may have been acknowledged", events)
			}
			for s, n := range next {
				got := l.Bounds(s).Next
				if got < n || (got > n) != c.reserve {
					t.Fatalf("shard %d: next counter %d, was %d (counters reserved: %v)", s, got, n, c.reserve)
				}
			}
			// Appends continue above every counter, and all of it survives
			// another power loss.
			for i := 0; i < 5; i++ {
				es := m.batch(3)
				res, err := l.Append(ctx, 0, es)
				if err != nil {
					t.Fatal(err)
				}
				for j, e := range es {
					if recs := m.recs[e.Shard]; len(recs) > 0 && res[j].Seq <= recs[len(recs)-1].Seq {
						t.Fatalf("shard %d: counter %d after %d", e.Shard, res[j].Seq, recs[len(recs)-1].Seq)
					}
				}
				m.ack(es, res)
			}
			l.Close()
			fs.Crash()
			l, err = Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			m.check(t, l, nil)
		})
	}
}
