package streamlog

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/vfs"
)

// statFaultFS fails Stat of names with the given base name.
type statFaultFS struct {
	vfs.FS
	base string
	err  error
}

func (s statFaultFS) Stat(name string) (int64, error) {
	if filepath.Base(name) == s.base {
		return 0, &fs.PathError{Op: "stat", Path: name, Err: s.err}
	}
	return s.FS.Stat(name)
}

// withVersion returns a copy of a checkpoint with another version, its
// checksum made to match.
func withVersion(ck []byte, v uint16) []byte {
	b := append([]byte(nil), ck...)
	le.PutUint16(b[8:], v)
	le.PutUint32(b[len(b)-4:], crc(b[:len(b)-4]))
	return b
}

// TestCheckpointLoadErrors: the checkpoint may be the only record of a
// shard's counters (every record of it expired and deleted). An error other
// than not-exist while loading it must fail Open, not be taken for "no
// checkpoint" (counters would be reused); a checkpoint of an unknown version
// fails Open with ErrUnsupportedVersion, distinct from corruption.
func TestCheckpointLoadErrors(t *testing.T) {
	ctx := context.Background()
	mem := vfs.NewMemFS()
	clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	opts := Options{FS: mem, Dir: "/d", SegmentBytes: 1 << 10, Now: clk.Now, Logger: quietLogger()}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := l.Append(ctx, 0, []Entry{{Shard: 3, PartitionKey: "p", Data: payload(3, i)}}); err != nil {
			t.Fatal(err)
		}
	}
	next := l.Bounds(3).Next
	clk.Advance(time.Hour)
	if err := l.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Sweep(ctx, func(uint64) (int64, bool) { return clk.Now().UnixMilli(), false }); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// Only the checkpoint remembers shard 3's counters now.
	if l, err = Open(opts); err != nil {
		t.Fatal(err)
	}
	if got := l.Bounds(3).Next; got != next {
		t.Fatalf("next counter after reopen = %d, want %d", got, next)
	}
	l.Close()

	t.Run("stat-error", func(t *testing.T) {
		o := opts
		o.FS = statFaultFS{FS: mem, base: "shards.ckpt", err: fs.ErrPermission}
		l, err := Open(o)
		if err == nil {
			b := l.Bounds(3).Next
			l.Close()
			t.Fatalf("Open succeeded with the checkpoint unreadable; shard 3 would reuse counters from %d (checkpoint: %d)", b, next)
		}
		if !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("Open: %v, want the permission error", err)
		}
	})
	t.Run("open-error", func(t *testing.T) {
		mem.Inject(vfs.Fault{Op: vfs.OpOpen, PathContains: "shards.ckpt"})
		defer mem.ClearFaults()
		if _, err := Open(opts); !errors.Is(err, vfs.ErrInjected) {
			t.Fatalf("Open: %v, want the injected error", err)
		}
	})
	t.Run("read-error", func(t *testing.T) {
		mem.Inject(vfs.Fault{Op: vfs.OpRead, PathContains: "shards.ckpt"})
		defer mem.ClearFaults()
		_, err := Open(opts)
		if !errors.Is(err, vfs.ErrInjected) || errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open: %v, want the injected error, not corruption", err)
		}
	})
	t.Run("bad-version", func(t *testing.T) {
		name := "/d/shards.ckpt"
		good := memRead(t, mem, name)
		defer memWrite(t, mem, name, good)
		memWrite(t, mem, name, withVersion(good, formatVersion+1))
		l, err := Open(opts)
		if err == nil {
			l.Close()
			t.Fatal("Open accepted a checkpoint of an unknown version")
		}
		if !errors.Is(err, ErrUnsupportedVersion) || errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open: %v, want ErrUnsupportedVersion (and not ErrCorrupt)", err)
		}
	})
	// With the faults gone, the log opens with its counters.
	if l, err = Open(opts); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Bounds(3).Next; got != next {
		t.Fatalf("next counter = %d, want %d", got, next)
	}
}
