package server

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/config"
)

// TestThrottlingExactWithInjectedClock: with time frozen, exactly 1,000
// records per shard pass in a second and the 1,001st gets
// ProvisionedThroughputExceededException; a second later 1,000 pass again.
// GetRecords: exactly 5 calls per second.
func TestThrottlingExactWithInjectedClock(t *testing.T) {
	_, clk, c := startClocked(t, func(cfg *config.Config) { cfg.ThroughputMode = "aws" })
	ctx := context.Background()
	name := aws.String("exact")
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: name, ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	second := func() (ok, throttled int) {
		t.Helper()
		for i := 0; i < 3; i++ { // 1,500 records in one frozen instant
			recs := make([]types.PutRecordsRequestEntry, 500)
			for j := range recs {
				recs[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(j)), Data: []byte("x")}
			}
			out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: name, Records: recs})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range out.Records {
				if r.ErrorCode == nil {
					ok++
				} else if aws.ToString(r.ErrorCode) == "ProvisionedThroughputExceededException" {
					throttled++
				}
			}
		}
		return ok, throttled
	}
	if ok, thr := second(); ok != 1000 || thr != 500 {
		t.Fatalf("first second: %d passed, %d throttled; want exactly 1000 and 500", ok, thr)
	}
	clk.Add(time.Second)
	if ok, thr := second(); ok != 1000 || thr != 500 {
		t.Fatalf("next second: %d passed, %d throttled; want exactly 1000 and 500", ok, thr)
	}
	it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: name, ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator}); err != nil {
			t.Fatalf("GetRecords call %d of 5: %v", i+1, err)
		}
	}
	var pte *types.ProvisionedThroughputExceededException
	if _, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator}); err == nil || !errors.As(err, &pte) {
		t.Fatalf("sixth GetRecords in one second: %v", err)
	}
	clk.Add(time.Second)
	if _, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator}); err != nil {
		t.Fatalf("GetRecords a second later: %v", err)
	}
}
