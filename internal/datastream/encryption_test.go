package datastream

import (
	"context"
	"testing"

	"github.com/rheos/rheos/internal/envelope"
	"github.com/rheos/rheos/internal/vfs"
)

// TestDeletedStreamDataKeysForgotten: the plaintext data keys cached for an
// encrypted stream leave memory when the stream is removed.
func TestDeletedStreamDataKeysForgotten(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMemFS()
	kr, err := envelope.OpenKeyring("/keyring.json", envelope.WithFS(fs))
	if err != nil {
		t.Fatal(err)
	}
	clk := newTestClock()
	s, _ := newTestService(t, Config{Now: clk.Now, Keys: kr})
	sc := Scope{Account: "000000000000", Region: "us-east-1"}
	createActive(t, s, clk, sc, "enc", 1)
	if err := s.StartStreamEncryption(ctx, sc, "enc", "KMS", "alias/aws/kinesis"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(1e9)
	if _, err := s.Put(ctx, sc, "enc", []PutEntry{{PartitionKey: "k", Data: []byte("secret")}}, PutOptions{}); err != nil {
		t.Fatal(err)
	}
	it, err := s.GetShardIterator(ctx, sc, IteratorInput{Stream: "enc", ShardID: "shardId-000000000000", Type: "TRIM_HORIZON"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.GetRecords(ctx, it, 10)
	if err != nil || len(res.Records) != 1 || string(res.Records[0].Data) != "secret" {
		t.Fatalf("GetRecords = %+v, %v", res, err)
	}
	cached := func() int {
		s.dkMu.Lock()
		defer s.dkMu.Unlock()
		return len(s.dataKeys)
	}
	if cached() == 0 {
		t.Fatal("no data key cached")
	}
	if err := s.DeleteStream(ctx, sc, "enc", false); err != nil {
		t.Fatal(err)
	}
	clk.Advance(1e9)
	if err := s.FinishDeletions(ctx); err != nil {
		t.Fatal(err)
	}
	if n := cached(); n != 0 {
		t.Fatalf("%d data keys cached after the stream was removed", n)
	}
}
