package server_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/config"
)

func TestThroughputLimitsAWSMode(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) { c.ThroughputMode = "aws" })
	ctx := context.Background()
	ts.createStream(t, "limited", 1)
	batch := func() []types.PutRecordsRequestEntry {
		recs := make([]types.PutRecordsRequestEntry, 500)
		for i := range recs {
			recs[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i)), Data: []byte("x")}
		}
		return recs
	}
	failed := int32(0)
	var sample types.PutRecordsResultEntry
	for i := 0; i < 3; i++ { // 1,500 records at once into a 1,000 records/s shard
		out, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("limited"), Records: batch()})
		if err != nil {
			t.Fatal(err)
		}
		failed += aws.ToInt32(out.FailedRecordCount)
		for _, r := range out.Records {
			if r.ErrorCode != nil {
				sample = r
			}
		}
	}
	if failed < 400 || failed > 500 {
		t.Fatalf("%d of 1,500 records throttled, want about 500", failed)
	}
	if aws.ToString(sample.ErrorCode) != "ProvisionedThroughputExceededException" ||
		aws.ToString(sample.ErrorMessage) != "Rate exceeded for shard shardId-000000000000 in stream limited under account 000000000000." {
		t.Fatalf("per-record error = %s: %s", aws.ToString(sample.ErrorCode), aws.ToString(sample.ErrorMessage))
	}
	// Bytes: 1 MiB/s per shard; two 1,000 KiB records within a second cannot
	// both pass (the second would need ~0.95 s of refill, far more than a
	// put takes even under the race detector).
	big := make([]byte, 1000<<10)
	_, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("limited"), PartitionKey: aws.String("k"), Data: big})
	if err == nil {
		_, err = ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("limited"), PartitionKey: aws.String("k"), Data: big})
	}
	wantErr(t, err, "ProvisionedThroughputExceededException", "Rate exceeded for shard shardId-000000000000 in stream limited under account 000000000000.")

	// GetRecords: 5 calls per second per shard.
	it := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String("limited"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeLatest})
	var lastErr error
	for i := 0; i < 6; i++ {
		_, lastErr = ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
		if lastErr != nil {
			break
		}
	}
	wantErr(t, lastErr, "ProvisionedThroughputExceededException", "Rate exceeded for shard shardId-000000000000 in stream limited under account 000000000000.")

	// A stream tagged rheos.throughput=off is not limited.
	ts.createStream(t, "free", 1)
	if _, err := ts.kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("free"), Tags: map[string]string{"rheos.throughput": "off"}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		out, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("free"), Records: batch()})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("untagged limits applied: %v %v", out.FailedRecordCount, err)
		}
	}
}

func TestControlPlaneRatesAWSMode(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) { c.ThroughputMode = "aws" })
	ctx := context.Background()
	var err error
	for i := 0; i < 30 && err == nil; i++ { // DescribeLimits: 1 call per second
		_, err = ts.kc.DescribeLimits(ctx, &kinesis.DescribeLimitsInput{})
	}
	wantErr(t, err, "LimitExceededException", "Rate exceeded for account 000000000000.")
	ts.createStream(t, "cp", 1)
	err = nil
	for i := 0; i < 30 && err == nil; i++ { // ListTagsForStream: 5 per second per stream
		_, err = ts.kc.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String("cp")})
	}
	wantErr(t, err, "LimitExceededException", "Rate exceeded for stream cp under account 000000000000.")
}
