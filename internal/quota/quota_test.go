package quota

import (
	"testing"
	"time"
)

func TestSetLimitsUnitsAndBytes(t *testing.T) {
	now := time.Unix(1000, 0)
	s := NewSet[string](func() time.Time { return now })
	lim := Limit{PerSecond: 1000, BytesPerSecond: 1 << 20}
	n := 0
	for s.Allow("a", lim, 1, 10) {
		n++
	}
	if n != 1000 {
		t.Fatalf("a full bucket allowed %d records, want 1000", n)
	}
	now = now.Add(100 * time.Millisecond)
	n = 0
	for s.Allow("a", lim, 1, 10) {
		n++
	}
	if n != 100 {
		t.Fatalf("after 100 ms: %d records, want 100", n)
	}
	// Bytes: a 1 MiB/s bucket takes one 600 KiB record, not a second.
	if !s.Allow("b", lim, 1, 600<<10) || s.Allow("b", lim, 1, 600<<10) {
		t.Fatal("bytes limit not applied")
	}
	// A refused request takes nothing.
	if !s.Allow("b", lim, 1, 400<<10) {
		t.Fatal("the refused request consumed tokens")
	}
	if !s.Allow("c", Limit{}, 1e9, 1e12) {
		t.Fatal("a zero limit must not limit")
	}
	// Idle buckets are forgotten.
	now = now.Add(2 * time.Minute)
	s.Allow("d", lim, 1, 1)
	if s.Len() != 1 {
		t.Fatalf("%d buckets kept, want 1", s.Len())
	}
}
