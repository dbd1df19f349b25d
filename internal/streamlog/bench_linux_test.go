//go:build linux

package streamlog

import (
	"context"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/vfs"
)

// BenchmarkAppendLongRun measures the CPU, user and kernel, that appending
// costs per GiB once the page cache would have grown by gigabytes: 1 KiB
// records in batches of 500 from one goroutine, 64 MiB segments, on the
// real filesystem. Run it long enough for that (-benchtime=4000x appends
// 2 GiB):
//
//	go test ./internal/streamlog -run '^$' -bench AppendLongRun -benchtime=4000x -count=3
//
// Cases: kernel-pages leaves every page to the kernel and syncs with fsync
// into unreserved blocks (the log before the page-cache window); drop adds
// the window (CachedSegments, default); drop+reserve+fdatasync is the log as
// it is (blocks reserved, vfs.Datasync). Metrics: user-s/GiB and sys-s/GiB
// of the whole process (getrusage), per GiB of payload.
func BenchmarkAppendLongRun(b *testing.B) {
	for _, c := range []struct {
		name   string
		cached int
		plain  bool // hide Allocator and Datasyncer
	}{
		{"kernel-pages", -1, true},
		{"drop", 0, true},
		{"drop+reserve+fdatasync", 0, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			var fs vfs.FS = vfs.OS{}
			if c.plain {
				fs = adviseOnlyFS{vfs.OS{}}
			}
			dir := b.TempDir()
			l, err := Open(Options{FS: fs, Dir: dir, SegmentBytes: 64 << 20, CachedSegments: c.cached, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			data := make([]byte, 1<<10)
			fillRandom(rand.New(rand.NewPCG(5, 6)), data)
			es := benchEntries(data, 4, 0)
			payload := int64(benchBatch * (len(data) + len(benchKey)))
			b.SetBytes(payload)
			ctx := context.Background()
			u0, s0 := rusage(b)
			for b.Loop() {
				if _, err := l.Append(ctx, 0, es); err != nil {
					b.Fatal(err)
				}
			}
			u1, s1 := rusage(b)
			gib := float64(int64(b.N)*payload) / (1 << 30)
			b.ReportMetric((u1-u0).Seconds()/gib, "user-s/GiB")
			b.ReportMetric((s1-s0).Seconds()/gib, "sys-s/GiB")
		})
	}
}

// rusage returns the process's user and system CPU time so far.
func rusage(b *testing.B) (user, sys time.Duration) {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		b.Fatal(err)
	}
	return time.Duration(r.Utime.Nano()), time.Duration(r.Stime.Nano())
}

// adviseOnlyFS is an FS whose files offer DontNeed but neither Allocate nor
// Datasync, as the log's files did before it reserved blocks.
type adviseOnlyFS struct{ vfs.FS }

type adviseOnlyFile struct{ vfs.File }

func (f adviseOnlyFile) DontNeed(off, n int64) error { return vfs.DontNeed(f.File, off, n) }

func (a adviseOnlyFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return adviseOnlyFile{f}, nil
}

func (a adviseOnlyFS) Create(name string) (vfs.File, error)     { return a.wrap(a.FS.Create(name)) }
func (a adviseOnlyFS) Open(name string) (vfs.File, error)       { return a.wrap(a.FS.Open(name)) }
func (a adviseOnlyFS) OpenAppend(name string) (vfs.File, error) { return a.wrap(a.FS.OpenAppend(name)) }
