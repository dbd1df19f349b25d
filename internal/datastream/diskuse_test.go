package datastream

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// TestDiskUse: each stream sums its shards' keys, closed shards included,
// in account, region and name order; a failing usage fails the call.
func TestDiskUse(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s, err := New(ctx, Config{Now: clk.Now, Logger: slog.New(slog.DiscardHandler)}, openTestMeta(t), newMemLog())
	if err != nil {
		t.Fatal(err)
	}
	a, b := Scope{Account: "000000000001", Region: "us-east-1"}, Scope{Account: "000000000000", Region: "us-east-1"}
	createActive(t, s, clk, a, "big", 2)
	createActive(t, s, clk, b, "small", 1)
	if err := s.SplitShard(ctx, a, "big", "shardId-000000000000", "1000"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	keys := map[uint64]bool{}
	got, err := s.DiskUse(func(key uint64) (int64, int64, error) {
		if keys[key] {
			t.Errorf("key %d asked twice", key)
		}
		keys[key] = true
		return 100, 10, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []StreamDiskUse{
		{Account: b.Account, Region: b.Region, Name: "small", Status: StatusActive, Shards: 1, LocalBytes: 100, TieredBytes: 10},
		{Account: a.Account, Region: a.Region, Name: "big", Status: StatusActive, Shards: 4, LocalBytes: 400, TieredBytes: 40},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("DiskUse = %+v, want %+v", got, want)
	}
	boom := errors.New("boom")
	if _, err := s.DiskUse(func(uint64) (int64, int64, error) { return 0, 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}
