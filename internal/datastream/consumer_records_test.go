package datastream

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestConsumerRecords: an event source mapping reading through an enhanced
// fan-out consumer needs the consumer ACTIVE and of the iterator's stream,
// and its reads are charged to the consumer's own throughput: with the
// shard's shared 5 reads per second spent, the consumer still reads.
func TestConsumerRecords(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s, err := New(ctx, Config{Now: clk.Now, ThroughputMode: "aws", Logger: slog.New(slog.DiscardHandler)}, openTestMeta(t), newMemLog())
	if err != nil {
		t.Fatal(err)
	}
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	createActive(t, s, clk, sc, "s", 1)
	createActive(t, s, clk, sc, "other", 1)
	if _, err := s.Put(ctx, sc, "s", []PutEntry{{PartitionKey: "k", Data: []byte("a")}, {PartitionKey: "k", Data: []byte("b")}}, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	c, err := s.RegisterConsumer(ctx, sc, "s", "app")
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.RegisterConsumer(ctx, sc, "other", "app")
	if err != nil {
		t.Fatal(err)
	}
	wantKind := func(err error, k Kind) {
		t.Helper()
		if de, ok := err.(*Error); !ok || de.Kind != k {
			t.Fatalf("got %v, want kind %d", err, k)
		}
	}
	iter := func() string {
		t.Helper()
		it, err := s.GetShardIterator(ctx, sc, IteratorInput{Stream: "s", ShardID: "shardId-000000000000", Type: "TRIM_HORIZON"})
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	_, err = s.ConsumerRecords(ctx, c.ARN, iter(), 10)
	wantKind(err, KindInUse) // CREATING
	clk.Advance(time.Second)
	_, err = s.ConsumerRecords(ctx, o.ARN, iter(), 10)
	wantKind(err, KindNotFound) // another stream's consumer
	it := iter()
	for i := 0; i < 5; i++ {
		if _, err := s.GetRecords(ctx, it, 10); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.GetRecords(ctx, it, 10)
	wantKind(err, KindThroughput)
	res, err := s.ConsumerRecords(ctx, c.ARN, it, 10)
	if err != nil || len(res.Records) != 2 || string(res.Records[1].Data) != "b" || res.NextShardIterator == "" {
		t.Fatalf("ConsumerRecords = %+v, %v", res, err)
	}
	if err := s.DeregisterConsumer(ctx, sc, "s", "app"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	_, err = s.ConsumerRecords(ctx, c.ARN, iter(), 10)
	wantKind(err, KindNotFound)
}
