package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/clustertest"
	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/server"
)

// The storage matrix (issue 18): with RHEOS_TEST_STORAGE=s3 or etcd+s3
// (make test runs the Data Streams tests of this package once each way)
// every server startServer makes tiers its sealed segments to versitygw,
// and with etcd+s3 keeps its metadata on an etcd member, both started here.
// Segments are small and roll every second, so records are read back from
// S3 through the read cache, not only from the local tail.
var matrix *clustertest.Matrix

func TestMain(m *testing.M) { clustertest.RunMatrix(m, &matrix) }

// applyStorageMatrix points cfg at the matrix's stores (no-op without one).
func applyStorageMatrix(cfg *config.Config) {
	st := matrix.For(cfg.DataDir)
	if st.Blobs == "" {
		return
	}
	cfg.Meta, cfg.Blobs = st.Meta, st.Blobs
	cfg.BlobsAccessKeyID, cfg.BlobsSecretAccessKey = st.AccessKey, st.SecretKey
	cfg.SegmentBytes = 1 << 20
	cfg.SegmentAge = config.Duration(time.Second)
	cfg.SweepInterval = config.Duration(500 * time.Millisecond)
}

// TestStorageMatrixTiers shows that the matrix does what it says: records
// put are tiered to the blob store (nothing waits for upload), read back
// from it through the cache after the local copies are gone, the metadata
// lives in the configured store, and a restart on the same directory finds
// everything again. Without a matrix it checks the embedded default.
func TestStorageMatrixTiers(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, nil)
	ts.createStream(t, "tiered", 2)
	ctx := context.Background()
	var want []string
	for i := range 300 {
		data := fmt.Sprintf("record-%04d-%s", i, strings.Repeat("x", 4000))
		want = append(want, data)
		if _, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("tiered"),
			PartitionKey: aws.String("k"), Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
	}
	st := clusterStatus(t, ts)
	if matrix.Mode == "" {
		if st.Tier != nil || !strings.HasPrefix(st.Meta, "embedded") {
			t.Fatalf("default storage: %+v", st)
		}
	} else {
		if matrix.Etcd != nil != strings.HasPrefix(st.Meta, "etcd ") || !st.MetaOK {
			t.Fatalf("metadata store %q (reachable %v) for mode %s", st.Meta, st.MetaOK, matrix.Mode)
		}
		deadline := time.Now().Add(30 * time.Second)
		for st.Tier == nil || st.Tier.TieredSegments == 0 || st.Tier.BacklogSegments > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("segments not tiered: %+v", st.Tier)
			}
			time.Sleep(100 * time.Millisecond)
			st = clusterStatus(t, ts)
		}
		if n, err := matrix.Objects(dir); err != nil || n != 2*st.Tier.TieredSegments {
			t.Fatalf("%d objects in the bucket for %d tiered segments (%v)", n, st.Tier.TieredSegments, err)
		}
	}
	read := func(ts *testServer) []string {
		var got []string
		for _, shard := range []string{"shardId-000000000000", "shardId-000000000001"} {
			it, err := ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("tiered"),
				ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			iter := it.ShardIterator
			for iter != nil {
				out, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range out.Records {
					got = append(got, string(r.Data))
				}
				if len(out.Records) == 0 {
					break
				}
				iter = out.NextShardIterator
			}
		}
		return got
	}
	check := func(got []string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("read %d records, want %d", len(got), len(want))
		}
		seen := map[string]bool{}
		for _, g := range got {
			seen[g] = true
		}
		for _, w := range want {
			if !seen[w] {
				t.Fatalf("record %q missing", w[:11])
			}
		}
	}
	check(read(ts))
	if st := clusterStatus(t, ts); matrix.Mode != "" && st.Tier.CacheMisses == 0 {
		t.Fatalf("tiered records read without touching the blob store: %+v", st.Tier)
	}
	ts.stop()
	ts = startServer(t, dir, nil)
	ts.waitActive(t, "tiered")
	check(read(ts))
}

func clusterStatus(t testing.TB, ts *testServer) server.ClusterStatus {
	t.Helper()
	resp, err := http.Get(ts.url + "/cluster/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st server.ClusterStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}
