package server_test

// State-rule fidelity: what AWS refuses because of a resource's state.

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// TestFidelityDeleteStreamWithConsumers: DeleteStream of a stream with
// registered consumers fails with ResourceInUseException unless
// EnforceConsumerDeletion is set (the API reference; kinesalite has no
// consumers). The message is AWS's as its users quote it in
// aws/aws-cli#3580, rebuy-de/aws-nuke#497 and
// hashicorp/terraform-provider-aws#8420: "<account>:<name>", a
// typographic apostrophe (shown as "?" by one terminal).
func TestFidelityDeleteStreamWithConsumers(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "with_consumers", 1)
	if _, err := ts.kc.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamARN("with_consumers")), ConsumerName: aws.String("c1")}); err != nil {
		t.Fatal(err)
	}
	want := "DeleteStream can\u2019t delete " + acct + ":with_consumers because there are consumers associated with this data stream. " +
		"To delete with_consumers anyway, set the EnforceConsumerDeletion parameter to true to force the deletion of all the consumers that are associated with it."
	_, err := ts.kc.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("with_consumers")})
	wantErr(t, err, "ResourceInUseException", want)
	_, err = ts.kc.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("with_consumers"), EnforceConsumerDeletion: aws.Bool(false)})
	wantErr(t, err, "ResourceInUseException", want)
	if _, err := ts.kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("with_consumers")}); err != nil {
		t.Fatalf("the refused deletion changed the stream: %v", err)
	}

	// EnforceConsumerDeletion deletes the stream and its consumers.
	if _, err := ts.kc.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("with_consumers"), EnforceConsumerDeletion: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	ts.waitGone(t, "with_consumers")
	ts.createStream(t, "with_consumers", 1)
	out, err := ts.kc.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamARN("with_consumers"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Consumers) != 0 {
		t.Fatalf("the re-created stream has the old consumers: %v", out.Consumers)
	}
}

// TestFidelityMergeShardsInvertedAdjacency ports kinesalite's mergeShards.js
// "should return InvalidArgumentException if adjacency is inverted": AWS
// merges ShardToMerge with the shard directly above it only.
func TestFidelityMergeShardsInvertedAdjacency(t *testing.T) {
	ts := newServer(t)
	ts.createStream(t, fidelityStream, 3)
	r := ts.raw(t, "MergeShards", `{"StreamName":"`+fidelityStream+`","ShardToMerge":"x-1","AdjacentShardToMerge":"x-0"}`)
	want := "Shards shardId-000000000001 and shardId-000000000000 in stream " + fidelityStream + " under account " + acct + " are not an adjacent pair of shards eligible for merging"
	if r.status != 400 || r.typ != "InvalidArgumentException" || r.message != want {
		t.Fatalf("got %d %s %q", r.status, r.typ, r.message)
	}
}
