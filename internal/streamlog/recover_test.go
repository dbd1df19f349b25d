package streamlog

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rheos/rheos/internal/vfs"
)

// TestRecoverAfterFaultClears: a failed fsync or write stops appends; once the
// fault clears, Recover brings appends back without losing or duplicating an
// acknowledged record, and the result survives power loss.
func TestRecoverAfterFaultClears(t *testing.T) {
	for _, op := range []vfs.Op{vfs.OpSync, vfs.OpWrite} {
		t.Run(op.String(), func(t *testing.T) {
			ctx := context.Background()
			fs := vfs.NewMemFS()
			opts := Options{FS: fs, Dir: "/d", SegmentBytes: 4096, Logger: quietLogger()}
			l, err := Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			var acked []string
			put := func(i int) error {
				d := fmt.Sprintf("rec-%04d", i)
				_, err := l.Append(ctx, 0, []Entry{{Shard: 1, PartitionKey: "k", Data: []byte(d)}})
				if err == nil {
					acked = append(acked, d)
				}
				return err
			}
			for i := 0; i < 50; i++ {
				if err := put(i); err != nil {
					t.Fatal(err)
				}
			}
			fs.Inject(vfs.Fault{Op: op, PathContains: ".seg", Sticky: true})
			if err := put(50); !errors.Is(err, ErrFailed) {
				t.Fatalf("append under fault: %v", err)
			}
			if err := l.Recover(ctx); err == nil {
				t.Fatal("Recover succeeded while the fault persists")
			}
			if err := put(51); !errors.Is(err, ErrFailed) {
				t.Fatalf("append while failed: %v", err)
			}
			fs.ClearFaults()
			if err := l.Recover(ctx); err != nil {
				t.Fatalf("Recover after the fault cleared: %v", err)
			}
			for i := 52; i < 200; i++ { // crosses segment seals
				if err := put(i); err != nil {
					t.Fatal(err)
				}
			}
			check := func(l *Log, when string) {
				t.Helper()
				recs, err := l.Read(1, 0, ReadOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) != len(acked) {
					t.Fatalf("%s: %d records, want %d acknowledged", when, len(recs), len(acked))
				}
				for i, r := range recs {
					if string(r.Data) != acked[i] || (i > 0 && r.Seq <= recs[i-1].Seq) {
						t.Fatalf("%s: record %d = %q seq %d, want %q", when, i, r.Data, r.Seq, acked[i])
					}
				}
			}
			check(l, "after recovery")
			fs.Crash()
			l2, err := Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer l2.Close()
			check(l2, "after power loss")
		})
	}
}

// TestDamagedFrameCountersNeverReused: a frame that fails its checksums may
// have been acknowledged, and its counters handed to clients. Whether the
// frame is in the middle of the active segment (skipped) or at its end (cut
// like a torn tail), and even for a shard that has no other record, no
// counter it held is assigned again, before or after power loss.
func TestDamagedFrameCountersNeverReused(t *testing.T) {
	for _, last := range []bool{false, true} {
		t.Run(fmt.Sprintf("last-frame=%v", last), func(t *testing.T) {
			ctx := context.Background()
			fs := vfs.NewMemFS()
			opts := Options{FS: fs, Dir: "/d", Logger: quietLogger()}
			l, err := Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			name := segName("/d", 1, "seg")
			one := func(shard uint64, n int) []Appended {
				t.Helper()
				es := make([]Entry, n)
				for i := range es {
					es[i] = Entry{Shard: shard, PartitionKey: "k", Data: []byte(fmt.Sprintf("shard %d record %d", shard, i))}
				}
				res, err := l.Append(ctx, 0, es)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			one(1, 3)
			start, _ := fs.Stat(name)
			damaged := one(2, 5) // shard 2's only frame
			if !last {
				one(1, 3)
			}
			l.Close()
			seg := memRead(t, fs, name)
			seg[start+frameHeaderLen+sectionHdrLen+recordHdrLen+3] ^= 0x08 // a data byte
			memWrite(t, fs, name, seg)

			newOn2 := 0 // records appended to shard 2 after the damage
			check := func(when string, damageOnDisk, appendNew bool) {
				t.Helper()
				var ev eventLog
				opts.OnEvent = ev.add
				l, err = Open(opts)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				if damageOnDisk && !ev.has("corruption", 1) {
					t.Fatalf("%s: damage not reported: %+v", when, ev.events)
				}
				recs, err := l.Read(2, 0, ReadOptions{})
				if err != nil || len(recs) != newOn2 {
					t.Fatalf("%s: shard 2 serves %d records (%v), want the %d appended after the damage", when, len(recs), err, newOn2)
				}
				for _, r := range recs {
					if string(r.Data) != "new" {
						t.Fatalf("%s: shard 2 serves %q from the damaged frame", when, r.Data)
					}
				}
				if b := l.Bounds(2); b.Next <= damaged[len(damaged)-1].Seq {
					t.Fatalf("%s: shard 2 Next = %d would reuse counter %d of the damaged frame", when, b.Next, damaged[len(damaged)-1].Seq)
				}
				if appendNew {
					res, err := l.Append(ctx, 0, []Entry{{Shard: 2, PartitionKey: "k", Data: []byte("new")}})
					if err != nil || res[0].Seq <= damaged[len(damaged)-1].Seq {
						t.Fatalf("%s: new record on shard 2 got %v, %v", when, res, err)
					}
					newOn2++
				}
				if recs, err := l.Read(1, 0, ReadOptions{}); err != nil || len(recs) != 3+3*btoi(!last) {
					t.Fatalf("%s: shard 1: %d records, %v", when, len(recs), err)
				}
			}
			check("reopened", true, false)
			fs.Crash()
			// In the last-frame case the damaged frame is gone now (cut);
			// the reservation lives in the checkpoint.
			check("after power loss", !last, true)
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDamagedSegmentHeaderKeepsFrames: a bit flip in the header of the
// active segment must not discard the acknowledged frames behind it (only a
// header with no frame after it is a torn segment creation).
func TestDamagedSegmentHeaderKeepsFrames(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMemFS()
	opts := Options{FS: fs, Dir: "/d", Logger: quietLogger()}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := l.Append(ctx, 0, []Entry{{Shard: 1, PartitionKey: "k", Data: []byte(fmt.Sprint(i))}}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	name := segName("/d", 1, "seg")
	seg := memRead(t, fs, name)
	seg[21] ^= 0x04 // the creation time: the header checksum fails
	memWrite(t, fs, name, seg)
	var ev eventLog
	opts.OnEvent = ev.add
	l, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !ev.has("corruption", 1) {
		t.Fatalf("damaged header not reported: %+v", ev.events)
	}
	recs, err := l.Read(1, 0, ReadOptions{})
	if err != nil || len(recs) != 10 {
		t.Fatalf("%d records (%v) after a damaged segment header, want all 10", len(recs), err)
	}
	if res, err := l.Append(ctx, 0, []Entry{{Shard: 1, PartitionKey: "k", Data: []byte("new")}}); err != nil || res[0].Seq != recs[9].Seq+1 {
		t.Fatalf("append after recovery: %v, %v", res, err)
	}
}
