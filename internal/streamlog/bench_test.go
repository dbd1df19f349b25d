package streamlog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/rheos/rheos/internal/vfs"
)

// Benchmarks of the append and read paths on the real filesystem, with
// fsync. Run them with, for example:
//
//	go test ./internal/streamlog -run '^$' -bench . -benchtime=20x -count=6 | tee new.txt
//	benchstat old.txt new.txt
//
// Metrics beyond ns/op and MB/s:
//   - records/s: records appended (or read) per second.
//   - appends/fsync: Append calls acknowledged per segment fsync; above 1
//     only when concurrent appends share a group commit.
//   - disk-bytes/payload-byte: the size of every file in the log directory
//     after Close divided by the payload appended (data plus partition key,
//     the bytes Kinesis counts as a record's size): the format's space
//     overhead, not counting filesystem metadata.

// countingFS counts File.Sync calls on the files it opens for writing.
type countingFS struct {
	vfs.FS
	syncs atomic.Int64
}

type countingFile struct {
	vfs.File
	syncs *atomic.Int64
}

func (f countingFile) Sync() error { f.syncs.Add(1); return f.File.Sync() }

// The optional interfaces pass through, so the log takes the same paths as
// on the bare filesystem.
func (f countingFile) Datasync() error             { f.syncs.Add(1); return vfs.Datasync(f.File) }
func (f countingFile) Allocate(off, n int64) error { return vfs.Allocate(f.File, off, n) }
func (f countingFile) DontNeed(off, n int64) error { return vfs.DontNeed(f.File, off, n) }

func (c *countingFS) Create(name string) (vfs.File, error) {
	f, err := c.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return countingFile{f, &c.syncs}, nil
}

func (c *countingFS) OpenAppend(name string) (vfs.File, error) {
	f, err := c.FS.OpenAppend(name)
	if err != nil {
		return nil, err
	}
	return countingFile{f, &c.syncs}, nil
}

func dirBytes(b *testing.B, dir string) int64 {
	b.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			b.Fatal(err)
		}
		n += info.Size()
	}
	return n
}

const (
	benchBatch = 500                // records per Append, as in one PutRecords call
	benchKey   = "partition-key-01" // 16 bytes
)

// benchEntries returns one batch spreading records over shards, starting at
// shard (start % shards).
func benchEntries(data []byte, shards, start int) []Entry {
	es := make([]Entry, benchBatch)
	for i := range es {
		es[i] = Entry{Shard: uint64((start + i) % shards), PartitionKey: benchKey, Data: data}
	}
	return es
}

// BenchmarkAppend appends batches of 500 records with fsync: record sizes
// 100 B and 1 KiB, spread over 1 or 1000 shards, from one goroutine
// (serial: one fsync per Append) or from many (parallel: group commit
// shares fsyncs between concurrent Appends).
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{100, 1 << 10} {
		for _, shards := range []int{1, 1000} {
			for _, parallel := range []bool{false, true} {
				mode := "serial"
				if parallel {
					mode = "parallel"
				}
				b.Run(fmt.Sprintf("size=%d/shards=%d/%s", size, shards, mode), func(b *testing.B) {
					benchAppend(b, size, shards, parallel)
				})
			}
		}
	}
}

func benchAppend(b *testing.B, size, shards int, parallel bool) {
	dir := b.TempDir()
	fs := &countingFS{FS: vfs.OS{}}
	l, err := Open(Options{FS: fs, Dir: dir, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	data := make([]byte, size)
	fillRandom(rand.New(rand.NewPCG(1, 2)), data)
	payload := benchBatch * (size + len(benchKey))
	b.SetBytes(int64(payload))
	syncs := fs.syncs.Load()
	var appends atomic.Int64

	if parallel {
		var goroutine atomic.Int64
		b.SetParallelism(8) // 8 × GOMAXPROCS appenders
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			es := benchEntries(data, shards, int(goroutine.Add(1))*benchBatch)
			for pb.Next() {
				if _, err := l.Append(ctx, 0, es); err != nil {
					b.Error(err)
					return
				}
				appends.Add(1)
			}
		})
	} else {
		// Alternate two batches so that with 1000 shards every shard is hit.
		batches := [][]Entry{benchEntries(data, shards, 0), benchEntries(data, shards, benchBatch)}
		for i := 0; b.Loop(); i++ {
			if _, err := l.Append(ctx, 0, batches[i%2]); err != nil {
				b.Fatal(err)
			}
			appends.Add(1)
		}
	}
	b.StopTimer()
	n := appends.Load()
	b.ReportMetric(float64(n*benchBatch)/b.Elapsed().Seconds(), "records/s")
	if s := fs.syncs.Load() - syncs; s > 0 {
		b.ReportMetric(float64(n)/float64(s), "appends/fsync")
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(dirBytes(b, dir))/float64(n*int64(payload)), "disk-bytes/payload-byte")
}

// BenchmarkRead reads one shard of a log holding 20 000 records of 1 KiB in
// each of two interleaved shards, in 4 MiB segments (so most of it is
// sealed): the whole shard from the start in pages of 1000 records, and tail
// reads of the newest 10 records, first in the active segment, then, after
// a roll, through a sealed segment's index. The files are in the page cache
// (CachedSegments -1 keeps every page): this measures the read path, not
// the disk; sequential/uncached drops every segment's pages before each
// read, as CachedSegments does for segments out of its window.
func BenchmarkRead(b *testing.B) {
	const perShard, size = 20000, 1 << 10
	dir := b.TempDir()
	l, err := Open(Options{Dir: dir, SegmentBytes: 4 << 20, CachedSegments: -1, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	data := make([]byte, size)
	fillRandom(rand.New(rand.NewPCG(3, 4)), data)
	for i := 0; i < 2*perShard/benchBatch; i++ {
		// Shards 0 and 1 alternate within each frame.
		if _, err := l.Append(ctx, 0, benchEntries(data, 2, 0)); err != nil {
			b.Fatal(err)
		}
	}
	const shard = 1

	sequential := func(b *testing.B, uncached bool) {
		b.SetBytes(perShard * (size + int64(len(benchKey))))
		for b.Loop() {
			if uncached {
				b.StopTimer()
				l.mu.RLock()
				segs := append(slices.Clone(l.segments), l.active)
				l.mu.RUnlock()
				for _, s := range segs {
					if err := vfs.DontNeed(s.f, 0, 0); err != nil {
						b.Skipf("cannot drop cached pages here: %v", err)
					}
				}
				b.StartTimer()
			}
			n := 0
			from := uint64(0)
			for {
				recs, err := l.Read(shard, from, ReadOptions{MaxRecords: 1000})
				if err != nil {
					b.Fatal(err)
				}
				if len(recs) == 0 {
					break
				}
				n += len(recs)
				from = recs[len(recs)-1].Seq + 1
			}
			if n != perShard {
				b.Fatalf("read %d records, want %d", n, perShard)
			}
		}
		b.ReportMetric(float64(b.N*perShard)/b.Elapsed().Seconds(), "records/s")
	}
	b.Run("sequential", func(b *testing.B) { sequential(b, false) })
	b.Run("sequential/uncached", func(b *testing.B) { sequential(b, true) })
	tail := func(b *testing.B) {
		from := l.Bounds(shard).Next - 10
		for b.Loop() {
			recs, err := l.Read(shard, from, ReadOptions{})
			if err != nil || len(recs) != 10 {
				b.Fatalf("tail read: %d records, %v", len(recs), err)
			}
		}
	}
	b.Run("tail/active", tail)
	if err := l.Roll(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("tail/sealed", tail)
}

// BenchmarkSweepCompaction measures the sweep that frees a dropped shard's
// space: 64 MiB of 1 KiB records, two shards sharing every frame of 8 MiB
// segments, one shard dropped. Metrics: the log directory's size before and
// after the sweep (MiB) and the rate at which the sweep went through the
// segments (MB/s of segments rewritten).
//
//	go test ./internal/streamlog -run '^$' -bench SweepCompaction -benchtime=3x
func BenchmarkSweepCompaction(b *testing.B) {
	const total = 64 << 20
	data := make([]byte, 1<<10)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	ctx := context.Background()
	var before, after int64
	b.SetBytes(total)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		l, err := Open(Options{Dir: dir, SegmentBytes: 8 << 20, Logger: quietLogger()})
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < total; n += benchBatch * len(data) {
			if _, err := l.Append(ctx, 0, benchEntries(data, 2, 0)); err != nil {
				b.Fatal(err)
			}
		}
		if err := l.Roll(ctx); err != nil {
			b.Fatal(err)
		}
		before = dirBytes(b, dir)
		b.StartTimer()
		res, err := l.Sweep(ctx, func(shard uint64) (int64, bool) { return 0, shard == 1 })
		b.StopTimer()
		if err != nil || res.SegmentsCompacted == 0 {
			b.Fatalf("sweep: %+v, %v", res, err)
		}
		after = dirBytes(b, dir)
		l.Close()
	}
	b.ReportMetric(float64(before)/(1<<20), "MiB-before")
	b.ReportMetric(float64(after)/(1<<20), "MiB-after")
}
