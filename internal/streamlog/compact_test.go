package streamlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/vfs"
)

// diskBytes sums the sizes of the files in dir.
func diskBytes(tb testing.TB, fsys vfs.FS, dir string) int64 {
	tb.Helper()
	names, err := fsys.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, name := range names {
		size, err := fsys.Stat(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		n += size
	}
	return n
}

// twoShards appends n records to each of shards 1 and 2, interleaved, so
// that every segment holds both, advancing clk by a second per pair, then
// seals the active segment. It returns the acknowledged records by shard.
func twoShards(tb testing.TB, l *Log, clk *fakeClock, n int) map[uint64][]Record {
	return skewedShards(tb, l, clk, 0, n)
}

// skewedShards is twoShards, except that the first skew records of shard 2
// are tiny: the segments holding them are mostly shard 1's.
func skewedShards(tb testing.TB, l *Log, clk *fakeClock, skew, n int) map[uint64][]Record {
	tb.Helper()
	ctx := context.Background()
	acked := map[uint64][]Record{}
	for i := 0; i < n; i++ {
		size := 150
		if i < skew {
			size = 1
		}
		es := []Entry{
			{Shard: 1, PartitionKey: fmt.Sprintf("a%d", i), Data: bytes.Repeat([]byte{'a'}, 150)},
			{Shard: 2, PartitionKey: fmt.Sprintf("b%d", i), Data: bytes.Repeat([]byte{'b'}, size)},
		}
		res, err := l.Append(ctx, 0, es)
		if err != nil {
			tb.Fatal(err)
		}
		for j, e := range es {
			acked[e.Shard] = append(acked[e.Shard], Record{Seq: res[j].Seq, Timestamp: res[j].Timestamp, PartitionKey: e.PartitionKey, Data: e.Data})
		}
		clk.Advance(time.Second)
	}
	if err := l.Roll(ctx); err != nil {
		tb.Fatal(err)
	}
	return acked
}

// sameRecords fails unless got is exactly want (counters, timestamps, keys,
// data), each once, in order.
func sameRecords(tb testing.TB, what string, got, want []Record) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Timestamp != w.Timestamp || g.PartitionKey != w.PartitionKey || !bytes.Equal(g.Data, w.Data) {
			tb.Fatalf("%s: record %d is %d %q, want %d %q", what, i, g.Seq, g.PartitionKey, w.Seq, w.PartitionKey)
		}
	}
}

// TestCompactionFreesSpace: two shards share every segment. Dropping one of
// them, or the expiry of one's records while the other's are retained,
// frees about half the disk within one sweep, on the OS filesystem and on
// MemFS; the survivor's records stay readable exactly once, before and after
// a restart, and counters continue where they were.
func TestCompactionFreesSpace(t *testing.T) {
	for _, fsName := range []string{"memfs", "os"} {
		for _, mode := range []string{"drop", "expire"} {
			t.Run(fsName+"/"+mode, func(t *testing.T) {
				var fsys vfs.FS = vfs.NewMemFS()
				dir := "/d"
				if fsName == "os" {
					fsys, dir = vfs.OS{}, t.TempDir()
				}
				clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
				opts := Options{FS: fsys, Dir: dir, SegmentBytes: 8 << 10, SegmentAge: time.Hour, Now: clk.Now, Logger: quietLogger()}
				l, err := Open(opts)
				if err != nil {
					t.Fatal(err)
				}
				acked := twoShards(t, l, clk, 300)
				start := clk.Now()
				before := diskBytes(t, fsys, dir)
				// Shard 2 goes: dropped, or its retention (a minute) is
				// shorter than shard 1's (a day) and all of it is older.
				clk.Advance(time.Hour)
				policy := func(shard uint64) (int64, bool) {
					if shard == 2 {
						if mode == "drop" {
							return 0, true
						}
						return clk.Now().Add(-time.Minute).UnixMilli(), false
					}
					return start.Add(-24 * time.Hour).UnixMilli(), false
				}
				res, err := l.Sweep(context.Background(), policy)
				if err != nil {
					t.Fatal(err)
				}
				after := diskBytes(t, fsys, dir)
				t.Logf("%s: %d bytes on disk before the sweep, %d after (%+v)", mode, before, after, res)
				if res.SegmentsCompacted == 0 || after > before*6/10 {
					t.Fatalf("sweep freed too little: %d -> %d bytes (%+v)", before, after, res)
				}
				check := func(l *Log, when string) {
					t.Helper()
					got, err := readAll(l, 1, 37, 1<<20)
					if err != nil {
						t.Fatal(err)
					}
					sameRecords(t, when+": shard 1", got, acked[1])
					if got, err := readAll(l, 2, 1000, 1<<20); err != nil || len(got) != 0 {
						t.Fatalf("%s: shard 2 still serves %d records (%v)", when, len(got), err)
					}
					if seq, err := l.SeekTime(1, 0); err != nil || seq != acked[1][0].Seq {
						t.Fatalf("%s: SeekTime(1, 0) = %d, %v", when, seq, err)
					}
					if mode == "expire" {
						if b := l.Bounds(2); b.Next != acked[2][len(acked[2])-1].Seq+1 {
							t.Fatalf("%s: shard 2's next counter is %d, want %d", when, b.Next, acked[2][len(acked[2])-1].Seq+1)
						}
						if seq, err := l.SeekTime(2, 0); err != nil || seq != l.Bounds(2).Next {
							t.Fatalf("%s: SeekTime(2, 0) = %d, %v; want the next counter", when, seq, err)
						}
					}
				}
				check(l, "after the sweep")
				// A second sweep has nothing left to do.
				if res, err := l.Sweep(context.Background(), policy); err != nil || res.SegmentsCompacted+res.SegmentsDeleted != 0 {
					t.Fatalf("second sweep: %+v, %v", res, err)
				}
				l.Close()
				if l, err = Open(opts); err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				check(l, "after a restart")
				res2, err := l.Append(context.Background(), 0, []Entry{{Shard: 1, Data: []byte("x")}, {Shard: 2, Data: []byte("y")}})
				if err != nil {
					t.Fatal(err)
				}
				if res2[0].Seq != acked[1][len(acked[1])-1].Seq+1 || (mode == "expire" && res2[1].Seq != acked[2][len(acked[2])-1].Seq+1) {
					t.Fatalf("counters after compaction and restart: %+v", res2)
				}
			})
		}
	}
}

// crashFS counts the operations of a MemFS, file operations included, once
// armed, and simulates power loss just before operation number at: from then
// on every operation fails, as the process is dead.
type crashFS struct {
	fs   *vfs.MemFS
	keep *rand.Rand // if set, the crash keeps a random part of unsynced appends

	mu    sync.Mutex
	armed bool
	n, at int
	dead  bool
	ops   []string // operations counted, for failure messages
}

func (c *crashFS) arm(at int) {
	c.mu.Lock()
	c.armed, c.n, c.at, c.ops = true, 0, at, nil
	c.mu.Unlock()
}

// crashNow simulates power loss now unless it already happened.
func (c *crashFS) crashNow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.crashLocked()
}

func (c *crashFS) crashLocked() {
	if c.dead {
		return
	}
	c.dead = true
	if c.keep != nil {
		c.fs.CrashKeepingSome(c.keep)
	} else {
		c.fs.Crash()
	}
}

// do runs f unless the process is dead or this is the operation to crash at.
func (c *crashFS) do(op, name string, f func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed && !c.dead {
		c.ops = append(c.ops, op+" "+filepath.Base(name))
		if c.n == c.at {
			c.crashLocked()
		}
		c.n++
	}
	if c.dead {
		return &fs.PathError{Op: op, Path: name, Err: vfs.ErrCrashed}
	}
	return f()
}

func (c *crashFS) Create(name string) (f vfs.File, err error) {
	err = c.do("create", name, func() (err error) { f, err = c.fs.Create(name); return err })
	return c.wrap(f), err
}
func (c *crashFS) OpenAppend(name string) (f vfs.File, err error) {
	err = c.do("open", name, func() (err error) { f, err = c.fs.OpenAppend(name); return err })
	return c.wrap(f), err
}
func (c *crashFS) Open(name string) (f vfs.File, err error) {
	err = c.do("open", name, func() (err error) { f, err = c.fs.Open(name); return err })
	return c.wrap(f), err
}
func (c *crashFS) Remove(name string) error {
	return c.do("remove", name, func() error { return c.fs.Remove(name) })
}
func (c *crashFS) Rename(o, n string) error {
	return c.do("rename", o+" -> "+filepath.Base(n), func() error { return c.fs.Rename(o, n) })
}
func (c *crashFS) MkdirAll(dir string) error {
	return c.do("mkdir", dir, func() error { return c.fs.MkdirAll(dir) })
}
func (c *crashFS) ReadDir(dir string) (names []string, err error) {
	err = c.do("readdir", dir, func() (err error) { names, err = c.fs.ReadDir(dir); return err })
	return names, err
}
func (c *crashFS) SyncDir(dir string) error {
	return c.do("syncdir", dir, func() error { return c.fs.SyncDir(dir) })
}
func (c *crashFS) Stat(name string) (size int64, err error) {
	err = c.do("stat", name, func() (err error) { size, err = c.fs.Stat(name); return err })
	return size, err
}

func (c *crashFS) wrap(f vfs.File) vfs.File {
	if f == nil {
		return nil
	}
	return &crashFile{File: f, c: c}
}

type crashFile struct {
	vfs.File
	c *crashFS
}

func (f *crashFile) Write(p []byte) (n int, err error) {
	err = f.c.do("write", f.Name(), func() (err error) { n, err = f.File.Write(p); return err })
	return n, err
}
func (f *crashFile) ReadAt(p []byte, off int64) (n int, err error) {
	err = f.c.do("read", f.Name(), func() (err error) { n, err = f.File.ReadAt(p, off); return err })
	return n, err
}
func (f *crashFile) Sync() error {
	return f.c.do("sync", f.Name(), f.File.Sync)
}
func (f *crashFile) Truncate(size int64) error {
	return f.c.do("truncate", f.Name(), func() error { return f.File.Truncate(size) })
}
func (f *crashFile) Close() error {
	// Closing releases nothing durable: not a crash point, and always
	// allowed (a dead process's handles are gone anyway).
	return f.File.Close()
}

// TestCompactionCrashAtEveryStep simulates power loss before each
// filesystem operation of a sweep that compacts (every write, fsync,
// create, rename and directory sync of the checkpoint, the new segment and
// its index), with plain loss and with torn appends, for a dropped shard, a
// partly expired one and a wholly expired one. The oldest segments are
// mostly the surviving shard's and are not compacted, so a sweep that
// removed the dying shard's newer sections without first making its trim
// durable would leave a hole in it, or lose its next counter. After each crash the reopened log must serve every
// acknowledged live record exactly once, never a dead record that a durable
// checkpoint already hid, only a suffix of a dead shard's records otherwise,
// no leftover temporary file; and a sweep after the restart must finish the
// job.
func TestCompactionCrashAtEveryStep(t *testing.T) {
	for _, mode := range []string{"drop", "expire", "expire-all"} {
		for _, torn := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/torn=%v", mode, torn), func(t *testing.T) {
				steps := 0
				for at := 0; ; at++ {
					done := crashCompactionAt(t, mode, torn, at)
					if done {
						steps = at
						break
					}
				}
				t.Logf("%d crash points", steps)
				if steps < 20 {
					t.Fatalf("only %d operations in a compacting sweep: the test no longer reaches compaction", steps)
				}
			})
		}
	}
}

// crashCompactionAt runs one case of TestCompactionCrashAtEveryStep and
// reports whether the sweep finished before operation at.
func crashCompactionAt(t *testing.T, mode string, torn bool, at int) bool {
	t.Helper()
	ctx := context.Background()
	mem := vfs.NewMemFS()
	cfs := &crashFS{fs: mem}
	if torn {
		cfs.keep = rand.New(rand.NewPCG(uint64(at), 7))
	}
	clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	opts := Options{FS: cfs, Dir: "/d", SegmentBytes: 2 << 10, SegmentAge: time.Hour, Now: clk.Now, Logger: quietLogger()}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	acked := skewedShards(t, l, clk, 12, 40)
	// Shard 1 keeps everything. Shard 2 is dropped, or its first 30
	// records expire (the rest stay live, so the segments holding them
	// are compacted, not deleted), or all of them do.
	cut := acked[2][30].Timestamp
	if mode == "expire-all" {
		cut = clk.Now().UnixMilli() + 1
	}
	policy := func(shard uint64) (int64, bool) {
		if shard == 2 {
			if mode == "drop" {
				return 0, true
			}
			return cut, false
		}
		return 0, false
	}
	wantDead := map[uint64]bool{} // counters of shard 2 that the sweep removes
	for _, r := range acked[2] {
		if mode == "drop" || r.Timestamp < cut {
			wantDead[r.Seq] = true
		}
	}
	cfs.arm(at)
	res, sweepErr := l.Sweep(ctx, policy)
	cfs.mu.Lock()
	finished := !cfs.dead
	ops := strings.Join(cfs.ops[max(0, len(cfs.ops)-8):], ", ")
	cfs.mu.Unlock()
	if finished && sweepErr != nil {
		t.Fatalf("sweep without a crash: %v", sweepErr)
	}
	if finished && res.SegmentsCompacted == 0 {
		t.Fatalf("the sweep compacted nothing: %+v", res)
	}
	cfs.crashNow()
	l.Close()

	// Recover on the bare filesystem.
	opts.FS = mem
	if l, err = Open(opts); err != nil {
		t.Fatalf("crash before op %d (%s): Open: %v", at, ops, err)
	}
	defer l.Close()
	names, _ := mem.ReadDir("/d")
	for _, n := range names {
		if strings.HasSuffix(n, vfs.TempSuffix) {
			t.Fatalf("crash before op %d: %s left after Open", at, n)
		}
	}
	check := func(when string, settled bool) {
		t.Helper()
		got, err := readAll(l, 1, 13, 1<<20)
		if err != nil {
			t.Fatalf("%s: shard 1: %v", when, err)
		}
		sameRecords(t, when+": shard 1", got, acked[1])
		got, err = readAll(l, 2, 13, 1<<20)
		if err != nil {
			t.Fatalf("%s: shard 2: %v", when, err)
		}
		// Shard 2 serves a suffix of what it acknowledged; live records
		// always, dead ones only until the sweep took effect.
		want := acked[2]
		if settled {
			want = nil
			for _, r := range acked[2] {
				if !wantDead[r.Seq] {
					want = append(want, r)
				}
			}
		}
		if len(got) > len(want) {
			t.Fatalf("%s: shard 2 serves %d records, more than the %d expected", when, len(got), len(want))
		}
		sameRecords(t, when+": shard 2", got, want[len(want)-len(got):])
		for _, r := range want[:len(want)-len(got)] {
			if !wantDead[r.Seq] {
				t.Fatalf("%s: shard 2 lost live record %d", when, r.Seq)
			}
		}
		if b := l.Bounds(1); b.Next != acked[1][len(acked[1])-1].Seq+1 {
			t.Fatalf("%s: shard 1's next counter is %d", when, b.Next)
		}
		if mode != "drop" {
			if b := l.Bounds(2); b.Next != acked[2][len(acked[2])-1].Seq+1 {
				t.Fatalf("%s: shard 2's next counter is %d", when, b.Next)
			}
		}
	}
	check(fmt.Sprintf("crash before op %d (after ..., %s)", at, ops), false)
	// The same sweep after the restart finishes the job.
	if _, err := l.Sweep(ctx, policy); err != nil {
		t.Fatalf("sweep after the crash before op %d: %v", at, err)
	}
	check(fmt.Sprintf("sweep after the crash before op %d", at), true)
	return finished
}

// TestCompactionKeepsReaders: a reader that took its view of a shard before
// a compaction keeps reading the old segment through it until it lets go;
// the old files close only then.
func TestCompactionKeepsReaders(t *testing.T) {
	ctx := context.Background()
	mem := vfs.NewMemFS()
	clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	l, err := Open(Options{FS: mem, Dir: "/d", SegmentBytes: 4 << 10, SegmentAge: time.Hour, Now: clk.Now, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acked := twoShards(t, l, clk, 60)
	v, ok := l.view(1)
	if !ok || len(v.sealed) == 0 {
		t.Fatal("no sealed view of shard 1")
	}
	oldSeg := v.sealed[0].seg
	res, err := l.Sweep(ctx, func(s uint64) (int64, bool) { return 0, s == 2 })
	if err != nil || res.SegmentsCompacted == 0 {
		t.Fatalf("sweep: %+v, %v", res, err)
	}
	l.mu.RLock()
	replaced := l.shards[1].sealed[0].seg != oldSeg
	l.mu.RUnlock()
	if !replaced {
		t.Fatal("the segment was not replaced")
	}
	// The old view still reads the old segment's sections.
	se := sealedEntries{ref: v.sealed[0], ndir: oldSeg.ndir}
	e, err := se.at(0)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	recs, _, err := readSection(oldSeg, e, 0, ReadOptions{MaxRecords: 100, MaxBytes: 1 << 20}, nil, &n)
	if err != nil || len(recs) == 0 || recs[0].PartitionKey != acked[1][0].PartitionKey {
		t.Fatalf("reading through the old view: %d records, %v", len(recs), err)
	}
	v.release()
	if _, err := oldSeg.f.ReadAt(make([]byte, 1), 0); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("the old segment's file is still open after its last reader let go: %v", err)
	}
	got, err := readAll(l, 1, 50, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, "shard 1 after compaction", got, acked[1])
}
