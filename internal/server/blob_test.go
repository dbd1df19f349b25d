package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rheos/rheos/internal/blob"
	"github.com/rheos/rheos/internal/blob/blobtest"
	blobs3 "github.com/rheos/rheos/internal/blob/s3"
	"github.com/rheos/rheos/internal/config"
)

// TestBlobStoreOnBuiltinS3 runs the blob.Store conformance suite with the
// S3 store against this server's built-in S3 (path style, one bucket, a
// fresh prefix per subtest). The built-in S3 honours If-None-Match: * on
// PUT (a conditional write decided in its metadata commit), so Open's probe
// picks the conditional put-if-absent, exact across processes.
func TestBlobStoreOnBuiltinS3(t *testing.T) {
	ts := newServer(t)
	if _, err := ts.s3Client(t, true, "AKIDTEST", "secret").CreateBucket(context.Background(),
		&s3.CreateBucketInput{Bucket: aws.String("blobs")}); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := blobs3.Open(t.Context(), blobs3.Config{
			Bucket: "blobs", Prefix: fmt.Sprintf("t%d/", n.Add(1)), Endpoint: ts.url, PathStyle: true,
			Region: region, AccessKeyID: "AKIDTEST", SecretAccessKey: "secret",
		})
		if err != nil {
			t.Fatal(err)
		}
		if s.Mode() != blobs3.ModeConditional {
			t.Errorf("built-in S3 put-if-absent mode %v, want conditional (If-None-Match: * honoured)", s.Mode())
		}
		return s
	})
}

// TestTieringToBuiltinS3 tiers one server's sealed segments to another
// Rheos server's built-in S3 (the one S3-compatible store every Rheos user
// has): records put are uploaded, their local copies dropped, and read back
// from the other server after a restart with a cold cache.
func TestTieringToBuiltinS3(t *testing.T) {
	store := newServer(t)
	if _, err := store.s3Client(t, true, "AKIDTEST", "secret").CreateBucket(context.Background(),
		&s3.CreateBucketInput{Bucket: aws.String("segments")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mut := func(c *config.Config) {
		c.Meta = ""
		c.Blobs = "s3://segments/node-a?endpoint=" + store.url + "&path-style=true&region=" + region
		c.BlobsAccessKeyID, c.BlobsSecretAccessKey = "AKIDTEST", "secret"
		c.SegmentBytes = 1 << 20
		c.SegmentAge = config.Duration(200 * time.Millisecond)
		c.SweepInterval = config.Duration(100 * time.Millisecond)
	}
	ts := startServer(t, dir, mut)
	ts.createStream(t, "s", 1)
	ctx := context.Background()
	var want []string
	for i := range 40 {
		d := fmt.Sprintf("%03d-%s", i, strings.Repeat("z", 50_000))
		want = append(want, d)
		if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("s"), PartitionKey: aws.String("k"), Data: []byte(d)}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for st := clusterStatus(t, ts); st.Tier.TieredSegments < 2 || st.Tier.BacklogSegments > 0; st = clusterStatus(t, ts) {
		if time.Now().After(deadline) {
			t.Fatalf("not tiered to the built-in S3: %+v", st.Tier)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := clusterStatus(t, ts); !strings.Contains(st.Blobs, "put-if-absent conditional") {
		t.Fatalf("blob store %q", st.Blobs)
	}
	out, err := store.s3Client(t, true, "AKIDTEST", "secret").ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("segments"), Prefix: aws.String("node-a/")})
	if err != nil || len(out.Contents) < 4 {
		t.Fatalf("objects in the built-in S3: %v, %v", out, err)
	}
	ts.stop()
	ts = startServer(t, dir, mut)
	it := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String("s"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	var got []string
	for len(got) < len(want) {
		res, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Records) == 0 {
			break
		}
		for _, r := range res.Records {
			got = append(got, string(r.Data))
		}
		it = aws.ToString(res.NextShardIterator)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("read back %d records, want %d", len(got), len(want))
	}
	if st := clusterStatus(t, ts); st.Tier.CacheMisses == 0 {
		t.Fatalf("records read without fetching from the built-in S3: %+v", st.Tier)
	}
}
