package datastream

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestPutRecordErrorsAreDomainKinds: a record that fails alone carries a
// domain error kind, never an AWS exception name.
func TestPutRecordErrorsAreDomainKinds(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	log := newMemLog()
	s, err := New(ctx, Config{Now: clk.Now, ThroughputMode: "aws", Logger: slog.New(slog.DiscardHandler)}, openTestMeta(t), log)
	if err != nil {
		t.Fatal(err)
	}
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	createActive(t, s, clk, sc, "limited", 1)
	entries := make([]PutEntry, 1500)
	for i := range entries {
		entries[i] = PutEntry{PartitionKey: "pk", Data: []byte("x")}
	}
	res, err := s.Put(ctx, sc, "limited", entries, PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	throttled := 0
	for _, r := range res {
		if r.Err == nil {
			continue
		}
		throttled++
		if r.Err.Kind != KindThroughput || r.Err.Msg != "Rate exceeded for shard shardId-000000000000 in stream limited under account 000000000000." {
			t.Fatalf("throttled record: kind %d, %q", r.Err.Kind, r.Err.Msg)
		}
	}
	if throttled == 0 || throttled == len(res) {
		t.Fatalf("%d of %d records throttled, want some", throttled, len(res))
	}

	// The record log refuses the write: every record fails as unavailable,
	// with the cause kept for the log.
	clk.Advance(10e9)
	eio := errors.New("fsync: input/output error")
	log.setFail(eio)
	res, err = s.Put(ctx, sc, "limited", entries[:3], PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err == nil || r.Err.Kind != KindUnavailable || !errors.Is(r.Err, eio) || r.SequenceNumber != "" || strings.Contains(r.Err.Msg, "Exception") {
			t.Fatalf("record on a failing log: %+v", r)
		}
	}
	// PutRecord (Single) fails the request instead.
	if _, err := s.Put(ctx, sc, "limited", entries[:1], PutOptions{Single: true}); !IsUnavailable(err) {
		t.Fatalf("PutRecord on a failing log: %v", err)
	}
}
