package server_test

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/clustertest"
	"github.com/rheos/rheos/internal/config"
)

// BenchmarkTieredColdGetRecords measures GetRecords from segments held only
// in S3 (versitygw on loopback) after a restart, so the read cache starts
// empty: 64 MiB of 10 KiB records in one shard, default 64 MiB segments,
// read from TRIM_HORIZON to the end with GetRecords (10 MiB or 10,000
// records per call), then read again (warm). It reports the latency of the
// first call, the p50/p99 of all cold calls, the cold read rate and the
// cache hit ratio of each pass.
//
//	go test -run '^$' -bench TieredColdGetRecords -benchtime 1x ./internal/server/
func BenchmarkTieredColdGetRecords(b *testing.B) {
	dir := b.TempDir()
	s3, err := clustertest.StartS3(filepath.Join(dir, "s3"), "tier")
	if err != nil {
		b.Fatal(err)
	}
	defer s3.Stop()
	data := filepath.Join(dir, "data")
	mut := func(c *config.Config) {
		c.Meta = ""
		c.Blobs = "s3://tier/cold?endpoint=" + s3.Endpoint + "&path-style=true"
		c.BlobsAccessKeyID, c.BlobsSecretAccessKey = s3.AccessKey, s3.SecretKey
		c.SegmentBytes = 64 << 20
		c.SegmentAge = config.Duration(time.Hour)
	}
	ts := startServer(b, data, mut)
	ts.createStream(b, "cold", 1)
	ctx := context.Background()
	rec := make([]byte, 10<<10)
	const total = 64 << 20
	for sent := 0; sent < total; sent += 100 * len(rec) {
		entries := make([]types.PutRecordsRequestEntry, 100)
		for i := range entries {
			entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: rec}
		}
		if _, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("cold"), Records: entries}); err != nil {
			b.Fatal(err)
		}
	}
	// Seal the last segment by restarting with a tiny segment age, then
	// wait for every segment to be tiered.
	ts.stop()
	ts = startServer(b, data, func(c *config.Config) {
		mut(c)
		c.SegmentAge = config.Duration(time.Millisecond)
		c.SweepInterval = config.Duration(100 * time.Millisecond)
	})
	deadline := time.Now().Add(2 * time.Minute)
	for st := clusterStatus(b, ts); st.Tier.TieredSegments == 0 || st.Tier.BacklogSegments > 0; st = clusterStatus(b, ts) {
		if time.Now().After(deadline) {
			b.Fatalf("not tiered: %+v", st.Tier)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.stop()
	b.ResetTimer()
	for range b.N {
		ts = startServer(b, data, mut) // cold cache: emptied at start
		pass := func(label string) {
			before := clusterStatus(b, ts).Tier
			it, err := ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("cold"),
				ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				b.Fatal(err)
			}
			var lat []time.Duration
			bytes := 0
			start := time.Now()
			for iter := it.ShardIterator; ; {
				t0 := time.Now()
				out, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				for _, r := range out.Records {
					bytes += len(r.Data)
				}
				if len(out.Records) == 0 || aws.ToInt64(out.MillisBehindLatest) == 0 && bytes >= total {
					break
				}
				iter = out.NextShardIterator
			}
			elapsed := time.Since(start)
			after := clusterStatus(b, ts).Tier
			hits, misses := after.CacheHits-before.CacheHits, after.CacheMisses-before.CacheMisses
			first := lat[0]
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(float64(first.Microseconds())/1000, label+"-first-ms")
			b.ReportMetric(p(0.5), label+"-p50-ms")
			b.ReportMetric(p(0.99), label+"-p99-ms")
			b.ReportMetric(float64(bytes)/(1<<20)/elapsed.Seconds(), label+"-MiB/s")
			b.ReportMetric(float64(hits)/float64(max(hits+misses, 1)), label+"-hit-ratio")
			b.Logf("%s: %d calls, %d MiB in %v; chunk reads: %d hits, %d misses", label, len(lat), bytes>>20, elapsed.Round(time.Millisecond), hits, misses)
			if bytes < total {
				b.Fatalf("%s: read %d of %d bytes", label, bytes, total)
			}
		}
		pass("cold")
		pass("warm")
		ts.stop()
	}
}
