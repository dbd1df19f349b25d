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
