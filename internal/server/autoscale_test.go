package server

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestOnDemandAutoscale: an ON_DEMAND stream splits a shard written above
// its capacity and merges cold shards back, never below 4, with the
// lineage visible to consumers.
func TestOnDemandAutoscale(t *testing.T) {
	srv, clk, c := startClocked(t, nil)
	ctx := context.Background()
	name := aws.String("od")
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: name, StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	srv.Autoscale(ctx) // starts the measuring window
	// 3,000 records in one second, all to shard 0 (hash key 0): 3× its capacity.
	for i := 0; i < 6; i++ {
		recs := make([]types.PutRecordsRequestEntry, 500)
		for j := range recs {
			recs[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), ExplicitHashKey: aws.String("0"), Data: []byte("x")}
		}
		if _, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: name, Records: recs}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(time.Second)
	splits, merges, err := srv.Autoscale(ctx)
	if err != nil || splits != 1 || merges != 0 {
		t.Fatalf("hot shard: %d splits, %d merges, %v", splits, merges, err)
	}
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: name})
	if err != nil {
		t.Fatal(err)
	}
	children := 0
	for _, s := range shards.Shards {
		if aws.ToString(s.ParentShardId) == "shardId-000000000000" {
			children++
		}
	}
	if len(shards.Shards) != 6 || children != 2 {
		t.Fatalf("after the split: %d shards, %d children of shard 0", len(shards.Shards), children)
	}
	// Quiet traffic: cold adjacent shards merge back, down to 4 open shards.
	for i := 0; i < 3; i++ {
		clk.Add(30 * time.Second)
		srv.Autoscale(ctx)
	}
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: name})
	if err != nil {
		t.Fatal(err)
	}
	if n := aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount); n != 4 {
		t.Fatalf("after quiet time: %d open shards, want 4", n)
	}
}
