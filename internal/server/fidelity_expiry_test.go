package server

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestFidelityIteratorExpiry ports kinesalite's getRecords.js "should return
// ExpiredIteratorException if ShardIterator has expired" (a 5-minute wait
// against AWS) with an injected clock: an iterator is good for exactly
// 300000 ms, then refused with AWS's message.
func TestFidelityIteratorExpiry(t *testing.T) {
	_, clk, c := startClocked(t, nil)
	ctx := context.Background()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("expiry"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	out, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("expiry"), ShardId: aws.String("shardId-0"), ShardIteratorType: types.ShardIteratorTypeLatest})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(5 * time.Minute)
	if _, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: out.ShardIterator}); err != nil {
		t.Fatalf("at exactly 300000 ms: %v", err)
	}
	clk.Add(time.Millisecond)
	_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: out.ShardIterator})
	var ex *types.ExpiredIteratorException
	if !errors.As(err, &ex) {
		t.Fatalf("want ExpiredIteratorException, got %v", err)
	}
	re := regexp.MustCompile(`^Iterator expired\. The iterator was created at time \w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4} ` +
		`while right now it is \w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4} which is further in the future than the tolerated delay of 300000 milliseconds\.$`)
	if !re.MatchString(aws.ToString(ex.Message)) {
		t.Fatalf("message %q", aws.ToString(ex.Message))
	}
}
