package server_test

// Shard-iterator fidelity: the iterator shape kinesalite's tests recorded
// against AWS (helpers.assertShardIterator; db/index.js: "Length depends on
// name length: 152 + floor((StreamName.length + 2)/16)*16"), for stream
// names of every length, and AWS's lenient shard ids.

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// assertShardIterator is kinesalite's helpers.assertShardIterator, with
// the exact length its db/index.js documents (the helper itself comments
// the length check out as "a bit unreliable" against AWS; Rheos is exact).
func assertShardIterator(t *testing.T, it, stream string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(it)
	if err != nil || base64.StdEncoding.EncodeToString(raw) != it {
		t.Fatalf("iterator %q is not canonical base64", it)
	}
	if (len(raw)-152)%16 != 0 {
		t.Fatalf("iterator of %d bytes: (length - 152) %% 16 != 0", len(raw))
	}
	if want := 152 + (len(stream)+2)/16*16; len(raw) != want {
		t.Fatalf("iterator for a %d-character name: %d bytes, want %d", len(stream), len(raw), want)
	}
	if !bytes.Equal(raw[:8], []byte{0, 0, 0, 0, 0, 0, 0, 1}) {
		t.Fatalf("iterator starts %x, want 0000000000000001", raw[:8])
	}
}

func TestFidelityShardIterators(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, fidelityStream, 3)

	// getShardIterator.js "should work with random shard ID with hyphen".
	t.Run("should work with random shard ID with hyphen", func(t *testing.T) {
		for _, typ := range []types.ShardIteratorType{types.ShardIteratorTypeLatest, types.ShardIteratorTypeTrimHorizon} {
			out, err := ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(fidelityStream),
				ShardId: aws.String("__kinesalite_test_123.456-0"), ShardIteratorType: typ})
			if err != nil {
				t.Fatal(err)
			}
			assertShardIterator(t, *out.ShardIterator, fidelityStream)
		}
	})

	// getShardIterator.js "should work with different length stream names"
	// (29 and 30 characters, "shard-0"), extended to every length from 1
	// to 128; each iterator reads, and GetRecords' next iterator (getRecords.js
	// asserts it too) has the same shape.
	t.Run("should work with different length stream names", func(t *testing.T) {
		var names []string
		for n := 1; n <= 128; n++ {
			name := strings.Repeat("n", n)
			names = append(names, name)
			if _, err := ts.kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(1)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range names {
			ts.waitActive(t, name)
			if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: aws.String("a"), Data: []byte(name)}); err != nil {
				t.Fatal(err)
			}
			out, err := ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(name), ShardId: aws.String("shard-0"),
				ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatalf("%d characters: %v", len(name), err)
			}
			assertShardIterator(t, *out.ShardIterator, name)
			recs, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: out.ShardIterator})
			if err != nil {
				t.Fatalf("%d characters: %v", len(name), err)
			}
			if len(recs.Records) != 1 || string(recs.Records[0].Data) != name {
				t.Fatalf("%d characters: read %d records", len(name), len(recs.Records))
			}
			assertShardIterator(t, *recs.NextShardIterator, name)
		}
	})

	// getRecords.js "should return ResourceNotFoundException if shard or
	// stream does not exist": iterators of a deleted stream, and of a
	// shard the re-created stream lacks, name the shard.
	t.Run("should return ResourceNotFoundException if shard or stream does not exist", func(t *testing.T) {
		const name = "fidelity_deleted"
		ts.createStream(t, name, 2)
		var its [2]string
		for i := range its {
			its[i] = ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String(name), ShardId: aws.String([]string{"shardId-0", "shardId-1"}[i]),
				ShardIteratorType: types.ShardIteratorTypeLatest})
		}
		if _, err := ts.kc.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		ts.waitGone(t, name)
		for i, it := range its {
			_, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
			wantErr(t, err, "ResourceNotFoundException", "Shard "+[]string{"shardId-000000000000", "shardId-000000000001"}[i]+" in stream "+name+" under account "+acct+" does not exist")
		}
		ts.createStream(t, name, 1)
		_, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(its[1])})
		wantErr(t, err, "ResourceNotFoundException", "Shard shardId-000000000001 in stream "+name+" under account "+acct+" does not exist")
	})
}
