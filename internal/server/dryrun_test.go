package server_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestDryRun: data-plane calls with DryRun check everything, answer
// DryRunOperationException when they would succeed, and change nothing;
// a call that would fail fails with its own error.
func TestDryRun(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "dry", 1)
	isDry := func(err error) bool {
		var d *types.DryRunOperationException
		return errors.As(err, &d)
	}
	_, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("dry"), PartitionKey: aws.String("k"), Data: []byte("x"), DryRun: aws.Bool(true)})
	if !isDry(err) {
		t.Fatalf("PutRecord DryRun: %v", err)
	}
	_, err = ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("dry"), Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("x")}}, DryRun: aws.Bool(true)})
	if !isDry(err) {
		t.Fatalf("PutRecords DryRun: %v", err)
	}
	_, err = ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("missing"), PartitionKey: aws.String("k"), Data: []byte("x"), DryRun: aws.Bool(true)})
	wantErr(t, err, "ResourceNotFoundException", notFoundMsg("missing"))
	_, err = ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("dry"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon, DryRun: aws.Bool(true)})
	if !isDry(err) {
		t.Fatalf("GetShardIterator DryRun: %v", err)
	}
	it := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String("dry"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	_, err = ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it), DryRun: aws.Bool(true)})
	if !isDry(err) {
		t.Fatalf("GetRecords DryRun: %v", err)
	}
	// Nothing was stored.
	if recs := ts.readAll(t, it); len(recs) != 0 {
		t.Fatalf("DryRun stored %d records", len(recs))
	}
}
