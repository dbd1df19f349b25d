package streamlog

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/rheos/rheos/internal/vfs"
)

// adviceFS records the files whose cached pages the log drops.
type adviceFS struct {
	*vfs.MemFS
	mu      sync.Mutex
	dropped []string // base names, in order
}

type adviceFile struct {
	vfs.File
	fs *adviceFS
}

func (a *adviceFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return adviceFile{File: f, fs: a}, nil
}

func (a *adviceFS) Create(name string) (vfs.File, error)     { return a.wrap(a.MemFS.Create(name)) }
func (a *adviceFS) Open(name string) (vfs.File, error)       { return a.wrap(a.MemFS.Open(name)) }
func (a *adviceFS) OpenAppend(name string) (vfs.File, error) { return a.wrap(a.MemFS.OpenAppend(name)) }

func (f adviceFile) DontNeed(off, n int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.fs.dropped = append(f.fs.dropped, filepath.Base(f.Name()))
	return vfs.DontNeed(f.File, off, n)
}

// TestSealDropsPagesOutsideWindow: when a segment is sealed, the sealed
// segment that falls out of the CachedSegments window (the active segment
// included) has its pages dropped, exactly once; a compacted segment's new
// file is dropped once written; a negative window drops nothing.
func TestSealDropsPagesOutsideWindow(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		cached int
		want   []uint64 // segments dropped after sealing 1..4
	}{
		{0, []uint64{1, 2, 3}}, // default 2: the newest sealed one stays
		{1, []uint64{1, 2, 3, 4}},
		{3, []uint64{1, 2}},
		{-1, nil},
	} {
		t.Run(fmt.Sprintf("cached=%d", c.cached), func(t *testing.T) {
			fs := &adviceFS{MemFS: vfs.NewMemFS()}
			l, err := Open(Options{FS: fs, Dir: "/d", CachedSegments: c.cached, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			for i := 0; i < 4; i++ {
				if _, err := l.Append(ctx, 0, []Entry{{Shard: uint64(i % 2), PartitionKey: "k", Data: []byte("x")}}); err != nil {
					t.Fatal(err)
				}
				if err := l.Roll(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var want []string
			for _, id := range c.want {
				want = append(want, fmt.Sprintf("%020d.seg", id))
			}
			fs.mu.Lock()
			got := slices.Clone(fs.dropped)
			fs.dropped = nil
			fs.mu.Unlock()
			if !slices.Equal(got, want) {
				t.Fatalf("dropped %v, want %v", got, want)
			}
			// Dropping pages took and gave back references properly: a
			// sweep still deletes (and closes) segments 2 and 4, which
			// hold only shard 1, and shard 0 still reads.
			res, err := l.Sweep(ctx, func(shard uint64) (int64, bool) { return 0, shard == 1 })
			if err != nil {
				t.Fatal(err)
			}
			if res.SegmentsDeleted != 2 {
				t.Fatalf("sweep %+v, want 2 segments deleted", res)
			}
			if recs, err := l.Read(0, 0, ReadOptions{}); err != nil || len(recs) != 2 {
				t.Fatalf("shard 0 after the sweep: %d records, %v", len(recs), err)
			}
		})
	}
}

// TestCompactionDropsPagesOfNewSegment: the file a compaction writes is
// cold (its records are old); its pages are dropped once it is durable.
func TestCompactionDropsPagesOfNewSegment(t *testing.T) {
	ctx := context.Background()
	fs := &adviceFS{MemFS: vfs.NewMemFS()}
	l, err := Open(Options{FS: fs, Dir: "/d", CachedSegments: -1, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < 20; i++ {
		if _, err := l.Append(ctx, 0, []Entry{{Shard: uint64(i % 4), PartitionKey: "k", Data: bytes.Repeat([]byte{'x'}, 100)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := l.Sweep(ctx, func(shard uint64) (int64, bool) { return 0, shard != 0 })
	if err != nil || res.SegmentsCompacted != 1 {
		t.Fatalf("sweep %+v, %v: want one segment compacted", res, err)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if want := []string{fmt.Sprintf("%020d.seg", 1)}; !slices.Equal(fs.dropped, want) {
		t.Fatalf("dropped %v, want %v", fs.dropped, want)
	}
}
