package server_test

// Schema fidelity against AWS's Kinesis model (issue 11's schema items):
// StreamId, RegisterStreamConsumer's Tags, ShardLevelMetrics' element enum,
// the ResourceARN pattern and TagMap's 200 entries. Each is checked before
// the stream's existence, as AWS's front end does.

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

func TestFidelitySchema(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, fidelityStream, 1)
	const missing = "fidelity_missing_stream"
	sidRE := "Member must satisfy regular expression pattern: [a-z0-9]{20}-[a-z0-9]{3}"

	t.Run("StreamId is validated", func(t *testing.T) {
		wantValidation(t, ts.raw(t, "DescribeStreamSummary", `{"StreamName":"`+missing+`","StreamId":"Not-An-Id"}`),
			"Value 'Not-An-Id' at 'streamId' failed to satisfy constraint: "+sidRE)
		long := strings.Repeat("a", 21) + "-abc"
		wantValidation(t, ts.raw(t, "PutRecord", `{"StreamName":"`+missing+`","PartitionKey":"a","Data":"","StreamId":"`+long+`"}`),
			"Value '"+long+"' at 'streamId' failed to satisfy constraint: "+sidRE,
			"Value '"+long+"' at 'streamId' failed to satisfy constraint: Member must have length less than or equal to 24")
	})
	t.Run("StreamId is otherwise ignored", func(t *testing.T) {
		// The model documents it as "Not Implemented. Reserved for future
		// use." and no output carries a stream's id, so a well-formed one
		// is accepted whatever stream it names.
		r := ts.raw(t, "DescribeStreamSummary", `{"StreamName":"`+fidelityStream+`","StreamId":"abcdefghij0123456789-abc"}`)
		if r.status != 200 {
			t.Fatalf("got %d %s %q", r.status, r.typ, r.message)
		}
		r = ts.raw(t, "DescribeStreamSummary", `{"StreamName":"`+missing+`","StreamId":"abcdefghij0123456789-abc"}`)
		if r.typ != "ResourceNotFoundException" {
			t.Fatalf("got %d %s %q", r.status, r.typ, r.message)
		}
	})

	t.Run("RegisterStreamConsumer takes Tags", func(t *testing.T) {
		out, err := ts.kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN(fidelityStream)),
			ConsumerName: aws.String("tagged"), Tags: map[string]string{"team": "data"}})
		if err != nil {
			t.Fatal(err)
		}
		if *out.Consumer.ConsumerName != "tagged" {
			t.Fatalf("consumer %v", *out.Consumer.ConsumerName)
		}
		r := ts.raw(t, "RegisterStreamConsumer", `{"StreamARN":"`+streamARN(missing)+`","ConsumerName":"c","Tags":{}}`)
		wantValidation(t, r, "Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1")
	})

	t.Run("ShardLevelMetrics members are the MetricsName enum", func(t *testing.T) {
		enum := "[IncomingBytes, IncomingRecords, OutgoingBytes, OutgoingRecords, WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, IteratorAgeMilliseconds, ALL]"
		for _, op := range []string{"EnableEnhancedMonitoring", "DisableEnhancedMonitoring"} {
			wantValidation(t, ts.raw(t, op, `{"StreamName":"`+missing+`","ShardLevelMetrics":["IncomingBytes","Bogus"]}`),
				"Value '[IncomingBytes, Bogus]' at 'shardLevelMetrics' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: "+enum+"]")
		}
		r := ts.raw(t, "EnableEnhancedMonitoring", `{"StreamName":"`+fidelityStream+`","ShardLevelMetrics":["IncomingBytes","ALL"]}`)
		if r.status != 200 {
			t.Fatalf("got %d %s %q", r.status, r.typ, r.message)
		}
	})

	t.Run("ResourceARN is a stream or consumer ARN", func(t *testing.T) {
		arn := "arn:aws:kinesis:us-east-1:" + acct + ":table/x" // the old pattern (arn:...:\d{12}:.+) took it
		wantValidation(t, ts.raw(t, "ListTagsForResource", `{"ResourceARN":"`+arn+`"}`),
			"Value '"+arn+"' at 'resourceARN' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:.*stream/\\S+")
		if r := ts.raw(t, "ListTagsForResource", `{"ResourceARN":"`+streamARN(fidelityStream)+`"}`); r.status != 200 {
			t.Fatalf("stream ARN: %d %s %q", r.status, r.typ, r.message)
		}
	})

	t.Run("TagResource takes up to 200 tags; a stream holds 50", func(t *testing.T) {
		tags := map[string]string{}
		for i := range 60 {
			tags["k"+strings.Repeat("x", i)] = "v"
		}
		_, err := ts.kc.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: aws.String(streamARN(fidelityStream)), Tags: tags})
		wantErr(t, err, "InvalidArgumentException", "Failed to add tags to stream "+fidelityStream+" under account "+acct+" because a given stream cannot have more than 50 tags associated with it.")
	})
}
