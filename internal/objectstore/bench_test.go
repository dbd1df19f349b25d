package objectstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/rheos/rheos/internal/metastore"
)

// BenchmarkPutObject measures durable PUTs on the real filesystem (a body
// streamed to a file, fsyncs, one metadata commit), by object size.
func BenchmarkPutObject(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20, 8 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			meta, err := metastore.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer meta.Close()
			s, err := Open(context.Background(), Config{Dir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)}, meta)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.CreateBucket(context.Background(), acct, "bench", ""); err != nil {
				b.Fatal(err)
			}
			data := bytes.Repeat([]byte("x"), size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.PutObject(context.Background(), acct, "bench", fmt.Sprintf("k/%d", i), bytes.NewReader(data), int64(size), ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetObject measures reading an 8 MiB object back from disk.
func BenchmarkGetObject(b *testing.B) {
	meta, err := metastore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer meta.Close()
	s, err := Open(context.Background(), Config{Dir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)}, meta)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	s.CreateBucket(ctx, acct, "bench", "")
	data := bytes.Repeat([]byte("x"), 8<<20)
	if _, err := s.PutObject(ctx, acct, "bench", "k", bytes.NewReader(data), int64(len(data)), ""); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rc, _, err := s.GetObject(ctx, acct, "bench", "k")
		if err != nil {
			b.Fatal(err)
		}
		io.CopyBuffer(io.Discard, rc, buf)
		rc.Close()
	}
}
