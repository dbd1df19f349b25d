package streamlog

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	bloblocal "github.com/rheos/rheos/internal/blob/local"
	"github.com/rheos/rheos/internal/vfs"
)

// BenchmarkRecoverOpen measures how long Open takes on a log that retains
// RHEOS_BENCH_RETAINED_MB megabytes (default 256) in 64 MiB segments over
// RHEOS_BENCH_SHARDS shards (default 4): the restart time of a node. Open
// reads only each sealed segment's index directory and scans the active
// segment, so the time must not grow with the data retained.
//
//	RHEOS_BENCH_RETAINED_MB=20480 go test -run '^$' -bench RecoverOpen -benchtime 5x ./internal/streamlog/
func BenchmarkRecoverOpen(b *testing.B) {
	mb, _ := strconv.Atoi(os.Getenv("RHEOS_BENCH_RETAINED_MB"))
	if mb <= 0 {
		mb = 256
	}
	shards, _ := strconv.Atoi(os.Getenv("RHEOS_BENCH_SHARDS"))
	if shards <= 0 {
		shards = 4
	}
	dir := b.TempDir()
	l, err := Open(Options{FS: vfs.OS{}, Dir: dir, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	data := make([]byte, 1024)
	batch := make([]Entry, 1000)
	start := time.Now()
	var written int64
	for i := 0; written < int64(mb)<<20; i++ {
		for j := range batch {
			batch[j] = Entry{Shard: uint64((i*len(batch) + j) % shards), PartitionKey: "pk", Data: data}
		}
		if _, err := l.Append(ctx, 0, batch); err != nil {
			b.Fatal(err)
		}
		written += int64(len(batch) * len(data))
	}
	l.Close()
	b.Logf("filled %d MiB in %v", written>>20, time.Since(start))
	benchReopen(b, func() (*Log, error) { return Open(Options{FS: vfs.OS{}, Dir: dir, Logger: quiet}) })
	b.ReportMetric(float64(mb), "MiB-retained")
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// BenchmarkRecoverOpenTiered is BenchmarkRecoverOpen with every sealed
// segment tiered to a directory blob store (blob/local): the restart time of
// a node with RHEOS_BENCH_RETAINED_MB (default 256) in the store. Open reads
// the markers and the local index directories, never the store.
//
//	RHEOS_BENCH_RETAINED_MB=20480 go test -run '^$' -bench RecoverOpenTiered -benchtime 5x ./internal/streamlog/
func BenchmarkRecoverOpenTiered(b *testing.B) {
	mb, _ := strconv.Atoi(os.Getenv("RHEOS_BENCH_RETAINED_MB"))
	if mb <= 0 {
		mb = 256
	}
	store, err := bloblocal.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	opts := func() Options {
		return Options{FS: vfs.OS{}, Dir: dir, Logger: quiet, Tier: &TierOptions{Store: store}}
	}
	l, err := Open(opts())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	data := make([]byte, 64<<10)
	batch := make([]Entry, 64)
	start := time.Now()
	var written int64
	for i := 0; written < int64(mb)<<20; i++ {
		for j := range batch {
			batch[j] = Entry{Shard: uint64((i*len(batch) + j) % 8), PartitionKey: "pk", Data: data}
		}
		if _, err := l.Append(ctx, 0, batch); err != nil {
			b.Fatal(err)
		}
		written += int64(len(batch) * len(data))
	}
	if err := l.Roll(ctx); err != nil {
		b.Fatal(err)
	}
	for l.Stats().Tier.BacklogSegments > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	st := *l.Stats().Tier
	l.Close()
	b.Logf("filled %d MiB and tiered %d segments (%d MiB) in %v", written>>20, st.TieredSegments, st.TieredBytes>>20, time.Since(start))
	benchReopen(b, func() (*Log, error) { return Open(opts()) })
	b.ReportMetric(float64(st.TieredBytes>>20), "MiB-tiered")
}

// benchReopen times b.N opens of a filled log, checking each sees its
// records (shard 0 holds at least two).
func benchReopen(b *testing.B, open func() (*Log, error)) {
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := open()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if got := l.Bounds(0).Next; got < 2 {
			b.Fatalf("shard 0 next = %d after reopen", got)
		}
		l.Close()
		b.StartTimer()
	}
}
