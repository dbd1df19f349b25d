package streamlog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/vfs"
)

// readSizeFS records the largest single ReadAt on a segment file.
type readSizeFS struct {
	vfs.FS
	mu      sync.Mutex
	largest int
}

func (r *readSizeFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &readSizeFile{File: f, fs: r}, nil
}
func (r *readSizeFS) Open(name string) (vfs.File, error)       { return r.wrap(r.FS.Open(name)) }
func (r *readSizeFS) OpenAppend(name string) (vfs.File, error) { return r.wrap(r.FS.OpenAppend(name)) }
func (r *readSizeFS) reset()                                   { r.mu.Lock(); r.largest = 0; r.mu.Unlock() }

type readSizeFile struct {
	vfs.File
	fs *readSizeFS
}

func (f *readSizeFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	f.fs.largest = max(f.fs.largest, len(p))
	f.fs.mu.Unlock()
	return f.File.ReadAt(p, off)
}

// streamAll opens the record at from and reads its data with a small buffer.
func streamAll(t *testing.T, l *Log, shard, from uint64, minTs int64) (*RecordStream, []byte) {
	t.Helper()
	rs, err := l.ReadStream(shard, from, minTs)
	if err != nil {
		t.Fatalf("ReadStream(%d, %d): %v", shard, from, err)
	}
	defer rs.Close()
	var out bytes.Buffer
	if _, err := io.CopyBuffer(struct{ io.Writer }{&out}, struct{ io.Reader }{rs}, make([]byte, 4<<10)); err != nil {
		t.Fatalf("streaming record %d: %v", rs.Seq, err)
	}
	if int64(out.Len()) != rs.Size {
		t.Fatalf("record %d: streamed %d bytes, Size says %d", rs.Seq, out.Len(), rs.Size)
	}
	return rs, out.Bytes()
}

// TestReadStream streams records, among them one much larger than the read
// buffer, from the active and from sealed segments, and checks that no read
// of the segment file is larger than a bounded chunk: the record is never
// loaded whole.
func TestReadStream(t *testing.T) {
	ctx := context.Background()
	rfs := &readSizeFS{FS: vfs.NewMemFS()}
	clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	l, err := Open(Options{FS: rfs, Dir: "/d", Now: clk.Now, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	entries := []Entry{
		{Shard: 4, PartitionKey: "small", Data: []byte("first")},
		{Shard: 4, PartitionKey: "big", Data: big, Flags: FlagEncrypted},
		{Shard: 4, PartitionKey: "", Data: nil},
		{Shard: 5, PartitionKey: "other", Data: []byte("shard five")},
	}
	res, err := l.Append(ctx, 0, entries)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	late, err := l.Append(ctx, 0, []Entry{{Shard: 4, PartitionKey: "late", Data: []byte("later")}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		for i, e := range entries[:3] {
			rfs.reset()
			rs, data := streamAll(t, l, 4, res[i].Seq, 0)
			if rs.Seq != res[i].Seq || rs.Timestamp != res[i].Timestamp || rs.Flags != e.Flags || rs.PartitionKey != e.PartitionKey || !bytes.Equal(data, e.Data) {
				t.Fatalf("%s: record %d streamed as %d %d %d %q (%d bytes)", when, i, rs.Seq, rs.Timestamp, rs.Flags, rs.PartitionKey, len(data))
			}
			if rfs.largest > 64<<10 {
				t.Fatalf("%s: a read of %d bytes: the record was loaded whole", when, rfs.largest)
			}
		}
		// From below the first counter: the first record.
		if rs, data := streamAll(t, l, 4, 0, 0); rs.Seq != res[0].Seq || string(data) != "first" {
			t.Fatalf("%s: from 0: record %d", when, rs.Seq)
		}
		// With a minimum timestamp: the later record.
		if rs, data := streamAll(t, l, 4, 0, late[0].Timestamp); rs.Seq != late[0].Seq || string(data) != "later" {
			t.Fatalf("%s: by timestamp: record %d %q", when, rs.Seq, data)
		}
		if _, err := l.ReadStream(4, late[0].Seq+1, 0); !errors.Is(err, ErrNoRecord) {
			t.Fatalf("%s: past the end: %v", when, err)
		}
		if _, err := l.ReadStream(99, 0, 0); !errors.Is(err, ErrNoRecord) {
			t.Fatalf("%s: unknown shard: %v", when, err)
		}
	}
	check("active segment")
	if err := l.Roll(ctx); err != nil {
		t.Fatal(err)
	}
	check("sealed segment")

	// Closed streams refuse reads; Close twice is harmless.
	rs, err := l.ReadStream(4, res[1].Seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	rs.Close()
	rs.Close()
	if _, err := rs.Read(make([]byte, 10)); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
}

// TestReadStreamOutlivesSweep: a stream opened before its segment is
// compacted away, or deleted, reads to the end; the old files close only
// when the stream does.
func TestReadStreamOutlivesSweep(t *testing.T) {
	for _, mode := range []string{"compacted", "deleted"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			mem := vfs.NewMemFS()
			clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
			l, err := Open(Options{FS: mem, Dir: "/d", Now: clk.Now, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			data := bytes.Repeat([]byte("fragment"), 40<<10)
			es := []Entry{{Shard: 1, PartitionKey: "big", Data: data}}
			if mode == "compacted" {
				// Shard 2 is most of the segment: dropping it compacts.
				es = append(es, Entry{Shard: 2, Data: bytes.Repeat([]byte{0}, 2*len(data))})
			}
			res, err := l.Append(ctx, 0, es)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Roll(ctx); err != nil {
				t.Fatal(err)
			}
			rs, err := l.ReadStream(1, res[0].Seq, 0)
			if err != nil {
				t.Fatal(err)
			}
			head := make([]byte, 1000)
			if _, err := io.ReadFull(rs, head); err != nil {
				t.Fatal(err)
			}
			seg := rs.seg
			sw, err := l.Sweep(ctx, func(s uint64) (int64, bool) { return 0, mode == "deleted" || s == 2 })
			if err != nil {
				t.Fatal(err)
			}
			if mode == "compacted" && sw.SegmentsCompacted != 1 || mode == "deleted" && sw.SegmentsDeleted != 1 {
				t.Fatalf("sweep: %+v", sw)
			}
			rest, err := io.ReadAll(rs)
			if err != nil {
				t.Fatalf("reading on after the sweep: %v", err)
			}
			if !bytes.Equal(append(head, rest...), data) {
				t.Fatal("the stream's data changed under the sweep")
			}
			if _, err := seg.f.ReadAt(make([]byte, 1), 0); err != nil {
				t.Fatalf("the old segment closed under an open stream: %v", err)
			}
			rs.Close()
			if _, err := seg.f.ReadAt(make([]byte, 1), 0); !errors.Is(err, fs.ErrClosed) {
				t.Fatalf("the old segment is still open after the stream closed: %v", err)
			}
			if mode == "compacted" {
				_, again := streamAll(t, l, 1, res[0].Seq, 0)
				if !bytes.Equal(again, data) {
					t.Fatal("the compacted segment streams other data")
				}
			}
		})
	}
}

// TestReadStreamCorruption: a damaged byte in a record's data is reported
// as ErrCorrupt by the Read that reaches the end, never as io.EOF; damage in
// a later record of the same section is caught too.
func TestReadStreamCorruption(t *testing.T) {
	ctx := context.Background()
	for _, where := range []string{"own data", "later record"} {
		t.Run(where, func(t *testing.T) {
			mem := vfs.NewMemFS()
			opts := Options{FS: mem, Dir: "/d", Logger: quietLogger()}
			l, err := Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			data := bytes.Repeat([]byte{0x5a}, 200<<10)
			res, err := l.Append(ctx, 0, []Entry{{Shard: 1, PartitionKey: "a", Data: data}, {Shard: 1, PartitionKey: "b", Data: []byte("tail")}})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Roll(ctx); err != nil {
				t.Fatal(err)
			}
			l.Close()
			name := segName("/d", 1, "seg")
			seg := memRead(t, mem, name)
			at := bytes.Index(seg, data) + 100<<10
			if where == "later record" {
				at = bytes.LastIndex(seg, []byte("tail"))
			}
			seg[at] ^= 1
			memWrite(t, mem, name, seg)
			if l, err = Open(opts); err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			rs, err := l.ReadStream(1, res[0].Seq, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			if _, err := io.ReadAll(rs); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("streaming a damaged section: %v, want ErrCorrupt", err)
			}
		})
	}
}
